"""The mix: speech on top, music ducked under speech, effects below; -16 LUFS, -1 dBTP.

Stems are first set to fixed loudness offsets relative to each other (measured, not guessed),
music is sidechain-ducked by the speech envelope, then the sum is normalised to the target and
a look-ahead true-peak limiter keeps inter-sample peaks under the ceiling. Limiting lowers
loudness a little, so normalise + limit runs twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from scipy import ndimage, signal
else:
    from kinora.audio.lazy import ndimage, signal

from kinora.audio.loudness import SILENCE_LUFS, integrated_loudness, true_peak_dbfs

TARGET_LUFS = -16.0
CEILING_DBTP = -1.0
#: Loudness of each stem relative to the speech (or, without speech, to the music).
MUSIC_UNDER_SPEECH_LU = -9.0
DUCK_DB = -9.0
EFFECTS_UNDER_SPEECH_LU = -15.0
EFFECTS_UNDER_MUSIC_LU = -9.0

Stereo = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False, kw_only=True)
class Mix:
    samples: npt.NDArray[np.float32]
    lufs: float
    true_peak_dbfs: float


def _at(x: Stereo, rate: int, lufs: float) -> Stereo:
    current = integrated_loudness(x, rate)
    if current <= SILENCE_LUFS:
        return x
    return x * 10 ** ((lufs - current) / 20)


def duck_envelope(speech: Stereo, rate: int, *, depth_db: float = DUCK_DB) -> Stereo:
    """Per-sample music gain: ``depth_db`` while speech is active, 40 ms attack (started 60 ms
    early so the first syllable is clear), 400 ms release."""
    mono = np.abs(speech).mean(axis=1)
    hop = max(1, rate // 100)
    frames = len(mono) // hop + 1
    padded = np.zeros(frames * hop)
    padded[: len(mono)] = mono
    rms = np.sqrt(np.mean(padded.reshape(frames, hop) ** 2, axis=1))
    peak = float(rms.max()) if rms.size else 0.0
    if peak <= 0:
        return np.ones(len(speech))
    active = (rms > peak * 10 ** (-35 / 20)).astype(np.float64)
    active = ndimage.maximum_filter1d(active, size=21)  # bridge gaps between words (±100 ms)
    active = np.roll(active, -6)
    active[-6:] = active[-7] if frames > 6 else active[-1]
    attack, release = np.exp(-1 / 4.0), np.exp(-1 / 40.0)  # time constants in frames
    smooth = np.empty(frames)
    level = 0.0
    for i, target in enumerate(active):
        coeff = attack if target > level else release
        level = coeff * level + (1 - coeff) * target
        smooth[i] = level
    gain_db = depth_db * smooth
    per_sample = np.interp(np.arange(len(speech)) / hop, np.arange(frames), gain_db)
    return np.asarray(10 ** (per_sample / 20))


def limit(x: Stereo, rate: int, *, ceiling_db: float = CEILING_DBTP - 0.3) -> Stereo:
    """Look-ahead limiter on the 4x oversampled peak; gain never exceeds the needed reduction.

    The minimum over +-H samples, averaged over a window of H, is at every sample <= the gain
    that sample needs, so the output cannot overshoot; H = 20 ms keeps it from distorting.
    """
    n = len(x)
    if n == 0:
        return x
    ceiling = 10 ** (ceiling_db / 20)
    up = np.abs(signal.resample_poly(x.astype(np.float32), 4, 1, axis=0))[: 4 * n]
    peak = np.maximum(up.reshape(n, 4, x.shape[1]).max(axis=(1, 2)), np.abs(x).max(axis=1))
    need = np.minimum(1.0, ceiling / np.maximum(peak, 1e-12))
    if float(need.min()) >= 1.0:
        return x
    hold = max(1, int(0.02 * rate))
    gain = ndimage.minimum_filter1d(need, size=2 * hold + 1, mode="nearest")
    gain = ndimage.uniform_filter1d(gain, size=hold + 1, mode="nearest")
    return np.asarray(x * np.minimum(gain, need.max())[:, None])


def mix(
    *,
    rate: int,
    n: int,
    speech: Stereo | None = None,
    music: Stereo | None = None,
    effects: Stereo | None = None,
    target_lufs: float = TARGET_LUFS,
) -> Mix:
    """Balance, duck, normalise and limit stems (each (n, 2) float) into one (n, 2) float32."""
    out = np.zeros((n, 2))
    ref: float | None = None
    if speech is not None:
        out += _at(speech, rate, target_lufs)
        ref = target_lufs
    if music is not None:
        if ref is None:
            out += _at(music, rate, target_lufs)
            ref_music = True
        else:
            ducked = _at(music, rate, ref + MUSIC_UNDER_SPEECH_LU)
            out += ducked * duck_envelope(speech if speech is not None else out, rate)[:, None]
            ref_music = False
    else:
        ref_music = False
    if effects is not None:
        if ref is not None:
            level = ref + EFFECTS_UNDER_SPEECH_LU
        elif ref_music:
            level = target_lufs + EFFECTS_UNDER_MUSIC_LU
        else:
            level = target_lufs
        out += _at(effects, rate, level)
    for _ in range(2):
        out = limit(_at(out, rate, target_lufs), rate)
        if abs(integrated_loudness(out, rate) - target_lufs) < 0.2:
            break
    peak = true_peak_dbfs(out)
    if peak > CEILING_DBTP - 0.05:  # safety net: never ship over the ceiling
        out *= 10 ** ((CEILING_DBTP - 0.1 - peak) / 20)
        peak = true_peak_dbfs(out)
    samples = out.astype(np.float32)
    return Mix(samples=samples, lufs=integrated_loudness(samples, rate), true_peak_dbfs=peak)
