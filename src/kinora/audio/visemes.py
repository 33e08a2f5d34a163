"""Mouth shapes from speech: how open the jaw is and how spread or rounded the lips are.

A face in the picture speaks the narration (lip sync), so the picture needs, for every video
frame, how far the mouth is open and how it is shaped. The track is read from the speech
samples themselves, so every source of speech gets the same treatment: Piper and flite
narration, an uploaded ``narration_url`` and the ``audio_option`` forms. (Piper 1.8's
synthesis chunks name their phonemes, but their timing, ``phoneme_id_samples``, comes only
from a voice model patched for alignments, which needs the ``onnx`` package; the audio alone
gives the timing for every source.)

What is read, in 10 ms steps:

- **open** (0 shut .. 1 wide): the loudness of the voice band (100-4000 Hz) in decibels under
  the speech's own loud level. Vowels are loud and open the jaw; closures before plosives
  (p, b, t, d, k, g) and pauses are quiet and close it; hissing fricatives (s, sh, f) carry
  their energy above 4 kHz with the teeth nearly together, so a hiss closes the mouth part way.
- **wide** (-1 rounded .. +1 spread): the voice band's spectral centroid against the speech's
  own median. "ee" and "ay" put energy high (a high second formant: lips spread), "oo" and
  "oh" low (lips rounded). It counts only as much as the mouth is open.

Both are smoothed the way a jaw moves: it opens in about 35 ms and closes in about 70 ms, so
syllables (4-6 a second) stay distinct while sample-level flutter does not reach the lips; and
the frames lead the sound by 40 ms, as a speaker's lips do.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import signal

FloatArray = npt.NDArray[np.float32]

HOP_SECONDS = 0.01
WINDOW_SECONDS = 0.03
VOICE_BAND = (100.0, 4000.0)
HISS_BAND = (4000.0, 10000.0)
SHAPE_BAND = (300.0, 3500.0)
OPEN_RANGE_DB = 28.0
"""The voice band's level from this far under the speech's loud level (its 95th percentile)
up to 2 dB over it maps to shut .. fully open, then expanded (``** OPEN_CURVE``) so that
syllables stand apart: a steady vowel opens the jaw about two thirds, the loudest fully."""
OPEN_CURVE = 1.3
OPEN_ATTACK_SECONDS = 0.035
OPEN_RELEASE_SECONDS = 0.07
SHAPE_SECONDS = 0.08
LEAD_SECONDS = 0.04
"""Lips move slightly ahead of the sound they make."""


@dataclass(frozen=True, eq=False)
class VisemeTrack:
    """Mouth parameters in 10 ms steps, starting ``offset_seconds`` into the clip.

    Outside the speech (before its offset, after its end) the mouth is shut and neutral.
    """

    open: FloatArray
    """(n,) 0 shut .. 1 wide open."""
    wide: FloatArray
    """(n,) -1 rounded .. 0 neutral .. +1 spread."""
    offset_seconds: float
    hop_seconds: float = HOP_SECONDS

    @property
    def seconds(self) -> float:
        return len(self.open) * self.hop_seconds

    def per_frame(self, fps: float, frames: int) -> tuple[FloatArray, FloatArray]:
        """``open`` and ``wide`` for each of ``frames`` video frames of the clip (frame ``i``
        shows the time ``i / fps``): each the mean over the frame's own span, taken
        :data:`LEAD_SECONDS` ahead of the sound."""
        opens = np.zeros(frames, np.float32)
        wides = np.zeros(frames, np.float32)
        n = len(self.open)
        if n == 0 or frames <= 0:
            return opens, wides
        for i in range(frames):
            t = i / fps - self.offset_seconds + LEAD_SECONDS
            a = math.floor((t - 0.5 / fps) / self.hop_seconds)
            b = math.ceil((t + 0.5 / fps) / self.hop_seconds)
            a, b = max(0, a), min(n, b)
            if b > a:
                opens[i] = float(self.open[a:b].mean())
                wides[i] = float(self.wide[a:b].mean())
        return opens, wides


def _band_power(
    power: npt.NDArray[np.float64], freqs: npt.NDArray[np.float64], band: tuple[float, float]
) -> npt.NDArray[np.float64]:
    pick = (freqs >= band[0]) & (freqs < band[1])
    result: npt.NDArray[np.float64] = power[pick].sum(axis=0)
    return result


def _attack_release(
    x: npt.NDArray[np.float64], attack: float, release: float
) -> npt.NDArray[np.float64]:
    """A one-pole follower that rises with ``attack`` and falls with ``release`` (seconds)."""
    up = 1.0 - math.exp(-HOP_SECONDS / attack)
    down = 1.0 - math.exp(-HOP_SECONDS / release)
    out = np.empty_like(x)
    level = 0.0
    for i, value in enumerate(x):
        level += (up if value > level else down) * (value - level)
        out[i] = level
    return out


def visemes_from_audio(
    samples: npt.ArrayLike, rate: int, *, offset_seconds: float = 0.0
) -> VisemeTrack:
    """The mouth track of speech ``samples`` (mono or (n, channels), any float scale) at
    ``rate``, to be placed ``offset_seconds`` into the clip."""
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim == 2:
        x = x.mean(axis=1)
    hop = max(1, round(HOP_SECONDS * rate))
    if len(x) < 2 * hop:
        empty = np.zeros(0, np.float32)
        return VisemeTrack(empty, empty, offset_seconds)
    window = max(hop, round(WINDOW_SECONDS * rate))
    freqs, _, spec = signal.stft(
        x, fs=rate, nperseg=window, noverlap=window - hop, boundary="even", padded=True
    )
    power = np.abs(spec) ** 2
    voice = _band_power(power, freqs, VOICE_BAND)
    hiss = _band_power(power, freqs, HISS_BAND)
    tiny = 1e-12
    level = 10.0 * np.log10(voice + tiny)
    loud = float(np.percentile(level, 95))
    opening = np.clip((level - (loud - OPEN_RANGE_DB)) / (OPEN_RANGE_DB + 2.0), 0.0, 1.0)
    opening = opening**OPEN_CURVE
    # A hiss (energy mostly above 4 kHz) is made with the teeth together.
    hiss_share = hiss / (hiss + voice + tiny)
    opening *= 1.0 - 0.6 * np.clip((hiss_share - 0.3) / 0.4, 0.0, 1.0)
    opening = _attack_release(opening, OPEN_ATTACK_SECONDS, OPEN_RELEASE_SECONDS)

    pick = (freqs >= SHAPE_BAND[0]) & (freqs < SHAPE_BAND[1])
    band = power[pick]
    centroid = (freqs[pick, None] * band).sum(axis=0) / (band.sum(axis=0) + tiny)
    voiced = opening > 0.25
    if voiced.any():
        log_c = np.log2(np.maximum(centroid, 1.0))
        centre = float(np.median(log_c[voiced]))
        spread = float(np.std(log_c[voiced])) or 1.0
        shape = np.clip((log_c - centre) / (1.5 * spread), -1.0, 1.0)
    else:
        shape = np.zeros_like(centroid)
    shape = signal.lfilter(
        [1.0 - math.exp(-HOP_SECONDS / SHAPE_SECONDS)],
        [1.0, -math.exp(-HOP_SECONDS / SHAPE_SECONDS)],
        shape * np.clip(opening / 0.5, 0.0, 1.0),
    )
    n = len(x) // hop
    return VisemeTrack(
        open=np.ascontiguousarray(opening[:n], dtype=np.float32),
        wide=np.ascontiguousarray(np.clip(shape[:n], -1.0, 1.0), dtype=np.float32),
        offset_seconds=offset_seconds,
    )


def loudness_per_frame(
    samples: npt.ArrayLike, rate: int, *, fps: float, frames: int, offset_seconds: float = 0.0
) -> FloatArray:
    """The speech's RMS level in dB for each video frame's span (-120 outside the speech): what
    a viewer hears while the frame is on screen, for measuring that the mouth follows it."""
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim == 2:
        x = x.mean(axis=1)
    out = np.full(frames, -120.0, np.float32)
    for i in range(frames):
        a = round((i / fps - offset_seconds) * rate)
        b = round(((i + 1) / fps - offset_seconds) * rate)
        a, b = max(0, a), min(len(x), b)
        if b > a:
            out[i] = 10.0 * math.log10(float(np.mean(x[a:b] ** 2)) + 1e-12)
    return out


__all__ = ["VisemeTrack", "loudness_per_frame", "visemes_from_audio"]
