"""Measurements used by tests and the bench: pitch, spectral centroid, tempo, speech activity.

They exist so that claims about the output (distinct voices, different tempi) are measured
from the samples rather than read back from the parameters that produced them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from scipy import signal
else:
    from kinora.audio.lazy import signal

import numpy.typing as npt

FloatArray = npt.NDArray[np.float32] | npt.NDArray[np.float64]


def _mono(samples: FloatArray) -> npt.NDArray[np.float64]:
    x = np.asarray(samples, dtype=np.float64)
    return x.mean(axis=1) if x.ndim == 2 else x


def median_f0(samples: FloatArray, rate: int, *, fmin: float = 60.0, fmax: float = 400.0) -> float:
    """Median fundamental (Hz) over voiced 40 ms frames: normalised autocorrelation peak.

    Frames count as voiced when loud (within 30 dB of the loudest) and periodic (peak > 0.5).
    """
    x = _mono(samples)
    if rate > 16000:  # pitch lives below 400 Hz: decimate for speed
        x = signal.resample_poly(x, 16000, rate)
        rate = 16000
    frame, hop = int(0.04 * rate), int(0.01 * rate)
    if len(x) < frame:
        return 0.0
    frames = np.lib.stride_tricks.sliding_window_view(x, frame)[::hop]
    frames = frames - frames.mean(axis=1, keepdims=True)
    rms = np.sqrt(np.mean(frames**2, axis=1))
    loud = rms > rms.max() * 10 ** (-30 / 20)
    frames = frames[loud]
    if frames.size == 0:
        return 0.0
    spec = np.fft.rfft(frames, n=2 * frame, axis=1)
    ac = np.fft.irfft(np.abs(spec) ** 2, axis=1)[:, :frame]
    lo, hi = int(rate / fmax), int(rate / fmin)
    # Bias against the window's own taper, which favours short lags.
    norm = ac / np.maximum(ac[:, :1], 1e-12) / (1.0 - np.arange(frame) / frame)
    band = norm[:, lo:hi]
    # The first lag reaching 90 % of the best (then its local peak) avoids sub-octave errors.
    first = np.argmax(band >= 0.9 * band.max(axis=1, keepdims=True), axis=1)
    lags = np.array(
        [
            lo + f + int(np.argmax(row[f : f + max(2, (lo + f) // 2)]))
            for row, f in zip(band, first, strict=True)
        ],
        dtype=np.int64,
    )
    strength = norm[np.arange(len(lags)), lags]
    voiced = lags[strength > 0.5]
    if voiced.size == 0:
        return 0.0
    return float(np.median(rate / voiced))


def spectral_centroid(samples: FloatArray, rate: int) -> float:
    """Power-weighted mean frequency (Hz) of the whole signal."""
    x = _mono(samples)
    freqs, power = signal.welch(x, fs=rate, nperseg=4096)
    total = float(np.sum(power))
    return float(np.sum(freqs * power) / total) if total > 0 else 0.0


def band_energy_ratio(samples: FloatArray, rate: int, *, split_hz: float) -> float:
    """Fraction of power above ``split_hz``."""
    x = _mono(samples)
    freqs, power = signal.welch(x, fs=rate, nperseg=4096)
    total = float(np.sum(power))
    return float(np.sum(power[freqs >= split_hz]) / total) if total > 0 else 0.0


def onset_envelope(samples: FloatArray, rate: int) -> tuple[npt.NDArray[np.float64], float]:
    """Half-wave rectified log-spectral flux at 100 frames/s; returns (envelope, frame rate)."""
    x = _mono(samples)
    hop = rate // 100
    _, _, z = signal.stft(x, fs=rate, nperseg=2048, noverlap=2048 - hop, boundary=None)
    mag = np.log1p(100.0 * np.abs(z))
    flux = np.maximum(np.diff(mag, axis=1), 0.0).sum(axis=0)
    return flux - flux.mean(), rate / hop


def estimate_tempo(
    samples: FloatArray, rate: int, *, bpm_min: float = 50.0, bpm_max: float = 180.0
) -> float:
    """Tempo (BPM) from the autocorrelation of the onset envelope."""
    env, fps = onset_envelope(samples, rate)
    ac = np.correlate(env, env, mode="full")[len(env) - 1 :]
    lo, hi = int(fps * 60.0 / bpm_max), int(fps * 60.0 / bpm_min) + 1
    if hi >= len(ac):
        return 0.0
    lags = np.arange(lo, hi)
    # Mild preference for ~100 BPM, as listeners have, to settle octave ambiguity.
    weight = np.exp(-0.5 * (np.log2(60.0 * fps / lags / 100.0) / 1.0) ** 2)
    best = int(lags[np.argmax(ac[lo:hi] * weight)])
    # A bar-level pattern can out-correlate the beat: take the faster metrical level when it
    # holds most of the periodicity (a sparse slow piece has ~none at half the period).
    half = round(best / 2)
    if half >= lo and ac[half] >= 0.6 * ac[best]:
        best = half
    # Parabolic refinement of the peak for sub-frame precision.
    if 1 <= best < len(ac) - 1:
        a, b, c = ac[best - 1], ac[best], ac[best + 1]
        denom = a - 2 * b + c
        shift = 0.5 * (a - c) / denom if denom != 0 else 0.0
    else:
        shift = 0.0
    return float(60.0 * fps / (best + shift))


def active_seconds(samples: FloatArray, rate: int, *, floor_db: float = -40.0) -> float:
    """Seconds between the first and the last 10 ms frame within ``floor_db`` of the peak."""
    x = _mono(samples)
    hop = max(1, rate // 100)
    n = len(x) // hop
    if n == 0:
        return 0.0
    rms = np.sqrt(np.mean(x[: n * hop].reshape(n, hop) ** 2, axis=1))
    on = np.nonzero(rms > rms.max() * 10 ** (floor_db / 20))[0]
    return float((on[-1] - on[0] + 1) * hop / rate) if on.size else 0.0
