"""Mouth shapes from speech: how open the jaw is and how spread or rounded the lips are.

A face in the picture speaks the narration (lip sync), so the picture needs, for every video
frame, how far the mouth is open and how it is shaped. Two sources:

- **phonemes** (:func:`visemes_from_phonemes`), for narration the speech engine spoke: each
  phoneme's viseme (lips pressed for m, b, p; lower lip under the upper teeth for f, v;
  rounded for uw, ow, w; spread for iy, ih, eh; open for aa, ae, ah...) at its time, with
  the loudness below setting how far the jaw opens; the mouth closes in pauses. The times are
  flite's own, or flite's fitted to Piper's audio (:mod:`kinora.audio.speech`).
- **the sound alone** (:func:`visemes_from_audio`), for uploaded narration (``narration_url``)
  and anything without a phoneme timeline.

What is read from the sound, in 10 ms steps:

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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from scipy import signal
else:
    from kinora.audio.lazy import signal

import numpy.typing as npt

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
    press: FloatArray | None = None
    """(n,) 0 .. 1 lips pressed together (m, b, p); None: not known (read from sound)."""
    teeth: FloatArray | None = None
    """(n,) 0 .. 1 lower lip tucked under the upper teeth (f, v)."""
    source: str = "from the speech's sound"
    """How the track was made (recorded in the lip sync's report)."""

    @property
    def seconds(self) -> float:
        return len(self.open) * self.hop_seconds

    def per_frame(self, fps: float, frames: int) -> tuple[FloatArray, FloatArray]:
        """``open`` and the shape for each of ``frames`` video frames of the clip (frame ``i``
        shows the time ``i / fps``): each the mean over the frame's own span, taken
        :data:`LEAD_SECONDS` ahead of the sound.

        The shape is ``wide`` (frames,) for a track read from sound, and (frames, 3) holding
        ``wide``, ``press`` and ``teeth`` for one from phonemes (what
        :class:`kinora.engines.people.lipsync.LipSync` takes)."""
        channels = [self.open, self.wide]
        if self.press is not None and self.teeth is not None:
            channels += [self.press, self.teeth]
        out = np.zeros((len(channels), max(frames, 0)), np.float32)
        n = len(self.open)
        if n > 0 and frames > 0:
            stacked = np.stack(channels).astype(np.float64)
            sums = np.concatenate([np.zeros((len(channels), 1)), np.cumsum(stacked, axis=1)], 1)
            for i in range(frames):
                t = i / fps - self.offset_seconds + LEAD_SECONDS
                a = math.floor((t - 0.5 / fps) / self.hop_seconds)
                b = math.ceil((t + 0.5 / fps) / self.hop_seconds)
                a, b = max(0, a), min(n, b)
                if b > a:
                    out[:, i] = (sums[:, b] - sums[:, a]) / (b - a)
        if len(channels) == 2:
            return out[0], out[1]
        return out[0], np.ascontiguousarray(out[1:].T)


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


def _opening(
    voice: npt.NDArray[np.float64], hiss: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """The jaw's opening per step from the voice band's and the hiss band's power (not yet
    smoothed): the level under the speech's loud level, expanded; a hiss part-closes it."""
    tiny = 1e-12
    level = 10.0 * np.log10(voice + tiny)
    loud = float(np.percentile(level, 95))
    opening = np.clip((level - (loud - OPEN_RANGE_DB)) / (OPEN_RANGE_DB + 2.0), 0.0, 1.0)
    opening = opening**OPEN_CURVE
    # A hiss (energy mostly above 4 kHz) is made with the teeth together.
    hiss_share = hiss / (hiss + voice + tiny)
    result: npt.NDArray[np.float64] = opening * (
        1.0 - 0.6 * np.clip((hiss_share - 0.3) / 0.4, 0.0, 1.0)
    )
    return result


def _bands(
    x: npt.NDArray[np.float64], rate: int
) -> tuple[
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
    npt.NDArray[np.float64],
]:
    """Short-time power in 10 ms steps: (freqs, power, voice band, hiss band)."""
    hop = max(1, round(HOP_SECONDS * rate))
    window = max(hop, round(WINDOW_SECONDS * rate))
    freqs, _, spec = signal.stft(
        x, fs=rate, nperseg=window, noverlap=window - hop, boundary="even", padded=True
    )
    power = np.abs(spec) ** 2
    return freqs, power, _band_power(power, freqs, VOICE_BAND), _band_power(power, freqs, HISS_BAND)


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
    freqs, power, voice, hiss = _bands(x, rate)
    tiny = 1e-12
    opening = _opening(voice, hiss)
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


#: Phoneme (flite's ARPAbet, lower case) -> (jaw opening at most, wide: -1 rounded .. +1
#: spread, lips pressed, lower lip under the upper teeth). The opening is a ceiling on what the
#: loudness asks: a loud "m" stays shut, a quiet "aa" opens only as far as it is loud.
VISEMES: dict[str, tuple[float, float, float, float]] = {
    "pau": (0.0, 0.0, 0.0, 0.0),
    # lips pressed together
    "m": (0.0, 0.0, 1.0, 0.0),
    "b": (0.0, 0.0, 1.0, 0.0),
    "p": (0.0, 0.0, 1.0, 0.0),
    # lower lip under the upper teeth
    "f": (0.12, 0.1, 0.0, 1.0),
    "v": (0.12, 0.1, 0.0, 1.0),
    # rounded
    "uw": (0.45, -1.0, 0.0, 0.0),
    "uh": (0.5, -0.7, 0.0, 0.0),
    "ow": (0.7, -0.85, 0.0, 0.0),
    "oy": (0.7, -0.6, 0.0, 0.0),
    "w": (0.3, -1.0, 0.0, 0.0),
    "ao": (0.85, -0.5, 0.0, 0.0),
    "aw": (0.9, -0.3, 0.0, 0.0),
    "er": (0.45, -0.5, 0.0, 0.0),
    "r": (0.4, -0.6, 0.0, 0.0),
    "sh": (0.25, -0.5, 0.0, 0.0),
    "zh": (0.25, -0.5, 0.0, 0.0),
    "ch": (0.25, -0.5, 0.0, 0.0),
    "jh": (0.25, -0.5, 0.0, 0.0),
    # spread
    "iy": (0.4, 1.0, 0.0, 0.0),
    "ih": (0.5, 0.8, 0.0, 0.0),
    "eh": (0.65, 0.7, 0.0, 0.0),
    "ey": (0.6, 0.8, 0.0, 0.0),
    "y": (0.35, 0.8, 0.0, 0.0),
    "ae": (0.9, 0.5, 0.0, 0.0),
    # open
    "aa": (1.0, 0.0, 0.0, 0.0),
    "ah": (0.85, 0.1, 0.0, 0.0),
    "ax": (0.6, 0.1, 0.0, 0.0),
    "ay": (1.0, 0.2, 0.0, 0.0),
    "hh": (0.55, 0.0, 0.0, 0.0),
    # teeth nearly together, the tongue doing the work
    "s": (0.2, 0.4, 0.0, 0.0),
    "z": (0.2, 0.4, 0.0, 0.0),
    "th": (0.25, 0.2, 0.0, 0.0),
    "dh": (0.25, 0.2, 0.0, 0.0),
    "t": (0.3, 0.3, 0.0, 0.0),
    "d": (0.3, 0.3, 0.0, 0.0),
    "n": (0.3, 0.3, 0.0, 0.0),
    "l": (0.4, 0.2, 0.0, 0.0),
    "k": (0.35, 0.1, 0.0, 0.0),
    "g": (0.35, 0.1, 0.0, 0.0),
    "ng": (0.35, 0.1, 0.0, 0.0),
}
UNKNOWN_VISEME = (0.5, 0.0, 0.0, 0.0)
CLOSE_SECONDS = 0.02
"""Lips press (m, b, p) and tuck (f, v) this fast: a closure is short and must be seen."""


def _lowpass(x: npt.NDArray[np.float64], seconds: float) -> npt.NDArray[np.float64]:
    a = math.exp(-HOP_SECONDS / seconds)
    result: npt.NDArray[np.float64] = signal.lfilter([1.0 - a], [1.0, -a], x)
    return result


def visemes_from_phonemes(
    phonemes: Sequence[tuple[str, float, float]],
    samples: npt.ArrayLike,
    rate: int,
    *,
    offset_seconds: float = 0.0,
    source: str = "from the phonemes and the speech's loudness",
) -> VisemeTrack:
    """The mouth track of speech ``samples`` whose phonemes are ``phonemes`` (symbol, start,
    end seconds into the samples), placed ``offset_seconds`` into the clip.

    Each 10 ms step takes its phoneme's viseme (:data:`VISEMES`): the jaw opens as far as the
    loudness asks (as :func:`visemes_from_audio` reads it) up to the phoneme's ceiling,
    nothing in pauses; the shape and the closures follow the phonemes, smoothed as lips
    move (shape in ~50 ms, closures in :data:`CLOSE_SECONDS`)."""
    x = np.asarray(samples, dtype=np.float64)
    if x.ndim == 2:
        x = x.mean(axis=1)
    hop = max(1, round(HOP_SECONDS * rate))
    n = len(x) // hop
    if n < 2 or not phonemes:
        return visemes_from_audio(x, rate, offset_seconds=offset_seconds)
    _, _, voice, hiss = _bands(x, rate)
    loud = _opening(voice, hiss)[:n]
    # The loudness of a steady vowel (about two thirds) counts as the phoneme's full opening.
    loud = np.clip(loud / 0.7, 0.0, 1.0)
    table = np.array([VISEMES.get(sym, UNKNOWN_VISEME) for sym, _, _ in phonemes], np.float64)
    table = np.vstack([table, VISEMES["pau"]])  # steps outside every phoneme: a pause
    centres = (np.arange(n) + 0.5) * HOP_SECONDS
    starts = np.array([a for _, a, _ in phonemes], np.float64)
    ends = np.array([b for _, _, b in phonemes], np.float64)
    which = np.searchsorted(starts, centres, side="right") - 1
    inside = (which >= 0) & (centres < ends[np.clip(which, 0, None)])
    which = np.where(inside, which, len(phonemes))
    cap, wide, press, teeth = (table[which, i] for i in range(4))
    press = _attack_release(press, CLOSE_SECONDS, 0.05)
    teeth = _attack_release(teeth, CLOSE_SECONDS, 0.05)
    opening = _attack_release(cap * loud, OPEN_ATTACK_SECONDS, OPEN_RELEASE_SECONDS)
    # Pressed or tucked lips shut the jaw whatever the smoothing still holds.
    opening = opening * (1.0 - press) * (1.0 - 0.7 * teeth)
    wide = _lowpass(wide, 0.05)
    return VisemeTrack(
        open=np.ascontiguousarray(np.clip(opening, 0.0, 1.0), dtype=np.float32),
        wide=np.ascontiguousarray(np.clip(wide, -1.0, 1.0), dtype=np.float32),
        offset_seconds=offset_seconds,
        press=np.ascontiguousarray(np.clip(press, 0.0, 1.0), dtype=np.float32),
        teeth=np.ascontiguousarray(np.clip(teeth, 0.0, 1.0), dtype=np.float32),
        source=source,
    )


__all__ = [
    "VISEMES",
    "VisemeTrack",
    "loudness_per_frame",
    "visemes_from_audio",
    "visemes_from_phonemes",
]
