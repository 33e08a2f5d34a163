"""ITU-R BS.1770-4 loudness and true peak, written out so the mix has no extra dependency.

K-weighting (a +4 dB high shelf and a 38 Hz high-pass) is built by the bilinear transform for
any sample rate, then 400 ms blocks (75 % overlap) are gated at -70 LUFS and at -10 LU below
the ungated mean, as the standard prescribes.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from scipy import signal
else:
    from kinora.audio.lazy import signal

import numpy.typing as npt

FloatArray = npt.NDArray[np.float32] | npt.NDArray[np.float64]
SILENCE_LUFS = -120.0


def k_weighting(rate: int) -> npt.NDArray[np.float64]:
    """Second-order sections of the two K-weighting biquads, for any rate (not only 48 kHz)."""
    # Stage 1: high shelf (head acoustics).
    f0, gain_db, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = math.tan(math.pi * f0 / rate)
    vh = 10.0 ** (gain_db / 20.0)
    vb = vh**0.4996667741545416
    a0 = 1.0 + k / q + k * k
    shelf = np.array(
        [
            (vh + vb * k / q + k * k) / a0,
            2.0 * (k * k - vh) / a0,
            (vh - vb * k / q + k * k) / a0,
            1.0,
            2.0 * (k * k - 1.0) / a0,
            (1.0 - k / q + k * k) / a0,
        ]
    )
    # Stage 2: RLB high-pass.
    f0, q = 38.13547087602444, 0.5003270373238773
    k = math.tan(math.pi * f0 / rate)
    a0 = 1.0 + k / q + k * k
    highpass = np.array([1.0, -2.0, 1.0, 1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / q + k * k) / a0])
    return np.stack([shelf, highpass])


def integrated_loudness(samples: FloatArray, rate: int) -> float:
    """Integrated loudness in LUFS of (n,) or (n, channels) audio; SILENCE_LUFS when silent."""
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    sos = k_weighting(rate)
    y = signal.sosfilt(sos, x, axis=0)
    block = round(0.4 * rate)
    hop = round(0.1 * rate)
    if len(y) < block:  # shorter than one gating block: measure the whole thing
        energies = np.array([float(np.sum(np.mean(y**2, axis=0)))])
    else:
        squares = np.cumsum(np.concatenate([np.zeros((1, y.shape[1])), y**2]), axis=0)
        starts = np.arange(0, len(y) - block + 1, hop)
        means = (squares[starts + block] - squares[starts]) / block
        energies = np.sum(means, axis=1)  # channel weights are 1 for L/R
    with np.errstate(divide="ignore"):
        block_lufs = -0.691 + 10.0 * np.log10(energies)
    gated = energies[block_lufs > -70.0]
    if gated.size == 0:
        return SILENCE_LUFS
    relative = -0.691 + 10.0 * math.log10(float(np.mean(gated))) - 10.0
    final = energies[(block_lufs > -70.0) & (block_lufs > relative)]
    return -0.691 + 10.0 * math.log10(float(np.mean(final)))


def true_peak_dbfs(samples: FloatArray, *, oversample: int = 4) -> float:
    """Peak of the 4x oversampled signal (BS.1770 Annex 2), in dBFS."""
    x = np.asarray(samples, dtype=np.float32)
    if x.size == 0:
        return SILENCE_LUFS
    up = signal.resample_poly(x, oversample, 1, axis=0)
    peak = max(float(np.max(np.abs(up))), float(np.max(np.abs(x))))
    return 20.0 * math.log10(peak) if peak > 0 else SILENCE_LUFS
