"""Background music from a description: words -> style -> MIDI (mido) -> SoundFont (tinysoundfont).

The description picks a genre preset (tempo, General MIDI instruments, drum pattern), mood
words bend tempo, mode and energy, instrument words override the preset, and an explicit
"120 bpm" or "in D minor" wins. The seed (mixed with the description) picks key, chord
progression and melody, so the same description and seed give the same music.
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, cast

import mido
import numpy as np
import numpy.typing as npt

from kinora.errors import RenderError

Mode = Literal["major", "minor"]
Drums = Literal["none", "four_on_floor", "rock", "boom_bap", "jazz", "epic", "soft"]

#: Preferred first: MuseScore General Lite (MIT, better instruments, ~3 s to load once per
#: process), then TimGM6mb (GPL-2.0, loads in 10 ms). KINORA_SOUNDFONT overrides.
SOUNDFONTS: tuple[str, ...] = (
    "/usr/share/sounds/sf3/MuseScore_General_Lite.sf3",
    "/usr/share/sounds/sf2/TimGM6mb.sf2",
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
)
DRUM_CHANNEL = 9
NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


@dataclass(frozen=True, kw_only=True)
class MusicStyle:
    """Everything the composer needs; derived from the description, shown in docs/tests."""

    genre: str
    tempo: float
    tonic: int  # pitch class 0..11
    mode: Mode
    lead: int  # General MIDI programs (0-based)
    chords: int
    bass: int
    drums: Drums
    energy: float  # 0..1: velocities, drum density
    swing: float = 0.0  # 0..1/3 of an eighth
    arpeggio: bool = False

    @property
    def key(self) -> str:
        return f"{NOTE_NAMES[self.tonic]} {self.mode}"


_GENRES: tuple[tuple[tuple[str, ...], MusicStyle], ...] = tuple(
    (
        words,
        MusicStyle(
            genre=name,
            tempo=tempo,
            tonic=0,
            mode=cast(Mode, mode),
            lead=lead,
            chords=chords,
            bass=bass,
            drums=cast(Drums, drums),
            energy=energy,
            swing=swing,
            arpeggio=arp,
        ),
    )
    for words, name, tempo, mode, lead, chords, bass, drums, energy, swing, arp in (
        (
            (
                "edm",
                "electronic",
                "dance",
                "techno",
                "house",
                "trance",
                "club",
                "synthwave",
                "rave",
                "disco",
            ),
            "electronic",
            126.0,
            "major",
            81,
            90,
            38,
            "four_on_floor",
            0.8,
            0.0,
            True,
        ),
        (
            ("rock", "punk", "metal", "grunge"),
            "rock",
            120.0,
            "major",
            29,
            30,
            34,
            "rock",
            0.85,
            0.0,
            False,
        ),
        (
            ("jazz", "swing", "lounge", "bebop", "blues"),
            "jazz",
            112.0,
            "major",
            65,
            4,
            32,
            "jazz",
            0.55,
            0.33,
            False,
        ),
        (
            ("lofi", "lo-fi", "hip hop", "hip-hop", "hiphop", "rap", "trap", "beat"),
            "lofi",
            84.0,
            "minor",
            11,
            4,
            33,
            "boom_bap",
            0.5,
            0.2,
            False,
        ),
        (
            (
                "orchestral",
                "cinematic",
                "epic",
                "film",
                "trailer",
                "heroic",
                "symphonic",
                "adventure",
            ),
            "cinematic",
            96.0,
            "minor",
            40,
            48,
            43,
            "epic",
            0.7,
            0.0,
            False,
        ),
        (
            ("ambient", "meditation", "relaxing", "spa", "drone", "atmospheric", "dreamy", "space"),
            "ambient",
            70.0,
            "major",
            88,
            89,
            89,
            "none",
            0.25,
            0.0,
            True,
        ),
        (
            ("folk", "acoustic", "country", "campfire", "indie"),
            "acoustic",
            100.0,
            "major",
            25,
            25,
            32,
            "soft",
            0.5,
            0.0,
            True,
        ),
        (
            ("piano", "classical", "lullaby", "ballad"),
            "piano",
            84.0,
            "major",
            0,
            0,
            0,
            "none",
            0.45,
            0.0,
            True,
        ),
        (
            ("corporate", "pop", "commercial", "advert", "uplifting"),
            "pop",
            108.0,
            "major",
            0,
            48,
            33,
            "soft",
            0.6,
            0.0,
            False,
        ),
    )
)
_DEFAULT = replace(_GENRES[-1][1], genre="pop")

_INSTRUMENTS: Mapping[str, int] = MappingProxyType(
    {
        "piano": 0,
        "electric piano": 4,
        "rhodes": 4,
        "harpsichord": 6,
        "music box": 10,
        "vibraphone": 11,
        "marimba": 12,
        "bells": 14,
        "organ": 19,
        "accordion": 21,
        "guitar": 25,
        "electric guitar": 27,
        "bass": 33,
        "violin": 40,
        "cello": 42,
        "strings": 48,
        "harp": 46,
        "choir": 52,
        "trumpet": 56,
        "brass": 61,
        "horn": 60,
        "sax": 65,
        "saxophone": 65,
        "clarinet": 71,
        "flute": 73,
        "pan flute": 75,
        "synth": 81,
        "pad": 89,
        "sitar": 104,
        "banjo": 105,
        "kalimba": 108,
    }
)
#: (words, tempo factor, energy delta, forced mode or None)
_MOODS: tuple[tuple[tuple[str, ...], float, float, Mode | None], ...] = (
    (
        (
            "sad",
            "melancholy",
            "melancholic",
            "somber",
            "sombre",
            "tragic",
            "mournful",
            "grief",
            "lonely",
            "dark",
            "moody",
            "emotional",
        ),
        0.85,
        -0.2,
        "minor",
    ),
    (
        (
            "happy",
            "joyful",
            "cheerful",
            "bright",
            "fun",
            "playful",
            "sunny",
            "upbeat",
            "uplifting",
            "triumphant",
        ),
        1.08,
        0.15,
        "major",
    ),
    (
        ("mysterious", "suspense", "tense", "spooky", "eerie", "horror", "ominous"),
        0.9,
        0.0,
        "minor",
    ),
    (("slow", "gentle", "soft", "calm", "peaceful", "quiet", "tender", "sleepy"), 0.8, -0.2, None),
    (
        ("fast", "energetic", "intense", "driving", "powerful", "aggressive", "hype"),
        1.12,
        0.2,
        None,
    ),
)
_PROGRESSIONS: Mapping[Mode, tuple[tuple[int, ...], ...]] = MappingProxyType(
    {  # scale degrees (0-based) of the chord roots
        "major": ((0, 4, 5, 3), (0, 5, 3, 4), (0, 3, 5, 4), (5, 3, 0, 4)),
        "minor": ((0, 5, 2, 6), (0, 3, 5, 4), (0, 6, 5, 6), (0, 5, 3, 4)),
    }
)
_SCALES: Mapping[Mode, tuple[int, ...]] = MappingProxyType(
    {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10)}
)


def _has(text: str, word: str) -> bool:
    return re.search(rf"(?<![a-z]){re.escape(word)}(?![a-z])", text) is not None


def _rng(prompt: str, seed: int) -> np.random.Generator:
    digest = hashlib.sha256(f"{prompt.strip().lower()}\0{seed}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def derive_style(prompt: str, *, seed: int = 0) -> MusicStyle:
    """Read tempo, key, mode, instruments, drums and energy out of a free-text description."""
    text = prompt.lower()
    rng = _rng(prompt, seed)
    style = next((s for words, s in _GENRES if any(_has(text, w) for w in words)), _DEFAULT)
    tempo, energy, mode = style.tempo, style.energy, style.mode
    for words, factor, delta, forced in _MOODS:
        if any(_has(text, w) for w in words):
            tempo *= factor
            energy += delta
            mode = forced or mode
    found = sorted(
        (
            (m.start(), name)
            for name in _INSTRUMENTS
            for m in [re.search(rf"\b{name}", text)]
            if m is not None
        ),
    )
    lead, chords = style.lead, style.chords
    if found:
        lead = _INSTRUMENTS[found[0][1]]
        chords = (
            _INSTRUMENTS[found[1][1]]
            if len(found) > 1
            else (lead if style.genre in {"piano", "pop", "acoustic"} else chords)
        )
    drums = style.drums
    if any(_has(text, w) for w in ("no drums", "without drums", "solo")):
        drums = "none"
    if (bpm := re.search(r"(\d{2,3})\s*bpm", text)) is not None:
        tempo = float(bpm.group(1))
    tonic = int(rng.integers(0, 12))
    if (key := re.search(r"\b([a-g])\s*(#|b|sharp|flat)?\s+(major|minor)\b", text)) is not None:
        tonic = NOTE_NAMES.index(key.group(1).upper())
        tonic = (tonic + {"#": 1, "sharp": 1, "b": -1, "flat": -1}.get(key.group(2) or "", 0)) % 12
        mode = "major" if key.group(3) == "major" else "minor"
    tempo = float(min(180.0, max(50.0, round(tempo))))
    return replace(
        style,
        tempo=tempo,
        tonic=tonic,
        mode=mode,
        lead=lead,
        chords=chords,
        drums=drums,
        energy=float(min(1.0, max(0.1, energy))),
    )


# --------------------------------------------------------------------------- composition


@dataclass(frozen=True)
class _Note:
    start: float  # beats
    length: float  # beats
    pitch: int
    velocity: int
    channel: int


def _drum_hits(style: MusicStyle, bar: int, vel: float) -> list[_Note]:
    hits: list[tuple[float, int, float]] = []
    e = style.energy
    if style.drums == "four_on_floor":
        hits += [(b, 36, 1.0) for b in range(4)] + [(1, 39, 0.8), (3, 39, 0.8)]
        hits += [(b + 0.5, 42, 0.6) for b in range(4)]
        if e > 0.7:
            hits += [(b + 0.25, 42, 0.3) for b in range(4)] + [
                (b + 0.75, 42, 0.3) for b in range(4)
            ]
    elif style.drums == "rock":
        hits += [(0, 36, 1.0), (2, 36, 0.9), (2.5, 36, 0.7), (1, 38, 1.0), (3, 38, 1.0)]
        hits += [(b / 2, 42, 0.6) for b in range(8)]
    elif style.drums == "boom_bap":
        hits += [(0, 36, 1.0), (1.75, 36, 0.7), (2.5, 36, 0.8), (1, 38, 0.9), (3, 38, 0.9)]
        hits += [(b / 2, 42, 0.45) for b in range(8)]
    elif style.drums == "jazz":
        hits += [(b, 51, 0.7) for b in range(4)] + [(1.66, 51, 0.5), (3.66, 51, 0.5)]
        hits += [(1, 44, 0.5), (3, 44, 0.5)]
    elif style.drums == "epic":
        hits += [(0, 36, 1.0), (2, 41, 0.9), (2.5, 41, 0.6), (3, 43, 0.8)]
        hits += [(1, 38, 0.6), (3, 38, 0.7)]
    elif style.drums == "soft":
        hits += [(0, 36, 0.8), (2, 36, 0.6), (1, 37, 0.6), (3, 37, 0.6)]
        hits += [(b, 42, 0.4) for b in range(4)]
    if bar == 0 and style.drums != "none":
        hits.append((0, 49, 0.8))
    return [
        _Note(bar * 4 + t, 0.25, p, int(min(127, 30 + 90 * vel * w)), DRUM_CHANNEL)
        for t, p, w in hits
    ]


def compose(style: MusicStyle, *, seconds: float, seed: int, prompt: str = "") -> mido.MidiFile:
    """Chords, bass, melody and drums as a type-1 MIDI file that ends on the tonic.

    Notes stop before the fade-out starts except the final chord, which rings into the fade so
    nothing is cut off mid-note.
    """
    rng = _rng(prompt + style.genre, seed + 1)
    beat = 60.0 / style.tempo
    fade = min(2.5, max(0.5, 0.2 * seconds))
    total_beats = max(1.0, (seconds - fade) / beat)
    bars = max(1, int(total_beats // 4))
    scale = [style.tonic + s for s in _SCALES[style.mode]]
    prog = _PROGRESSIONS[style.mode][int(rng.integers(0, len(_PROGRESSIONS[style.mode])))]
    vel = 0.45 + 0.5 * style.energy
    notes: list[_Note] = []

    def degree(d: int, octave: int) -> int:
        return 12 * (octave + d // 7) + scale[d % 7]

    last_melody = 4
    for bar in range(bars + 1):
        final = bar == bars
        root = 0 if final else prog[bar % len(prog)]
        start = bar * 4.0
        length = (seconds / beat) - start if final else 4.0  # final chord rings to the end
        triad = [degree(root + i, 5) for i in (0, 2, 4)]
        bass_pitch = degree(root, 3)
        if final or not style.arpeggio:
            notes += [_Note(start, length, p, int(70 * vel + 20), 1) for p in triad]
        else:
            pattern = [*triad, triad[1]]
            notes += [
                _Note(start + i, 1.0, pattern[i % 4], int(62 * vel + 20), 1) for i in range(4)
            ]
            notes += [_Note(start, 4.0, p, int(45 * vel + 10), 1) for p in triad]
        notes.append(_Note(start, length if final else 4.0, bass_pitch, int(80 * vel + 20), 2))
        if style.drums in {"four_on_floor", "rock", "boom_bap"} and not final:
            notes.append(_Note(start + 2, 2.0, bass_pitch, int(70 * vel + 20), 2))
        if final:
            notes.append(_Note(start, length, degree(0, 6), int(70 * vel + 20), 0))
            continue
        # Melody: chord tones on strong beats, stepwise motion between, rests for breath.
        step = 1.0 if style.tempo < 100 or style.genre in {"piano", "ambient"} else 0.5
        t = 0.0
        while t < 4.0:
            if rng.random() < 0.18:
                t += step
                continue
            strong = t in (0.0, 2.0)
            if strong:
                target = root + int(rng.choice([0, 2, 4]))
                last_melody = target + 7 * round((last_melody - target) / 7)
            else:
                last_melody += int(rng.choice([-2, -1, 1, 2]))
            last_melody = int(min(11, max(0, last_melody)))
            dur = step * (2 if strong and rng.random() < 0.4 else 1)
            dur = min(dur, 4.0 - t)
            notes.append(
                _Note(start + t, dur * 0.95, degree(last_melody, 5), int(85 * vel + 25), 0)
            )
            t += dur
        notes += _drum_hits(style, bar, vel)

    ticks = 480
    midi = mido.MidiFile(type=1, ticks_per_beat=ticks)
    meta = mido.MidiTrack()
    meta.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(style.tempo), time=0))
    meta.append(mido.MetaMessage("key_signature", key=_mido_key(style), time=0))
    midi.tracks.append(meta)
    programs = {0: style.lead, 1: style.chords, 2: style.bass}
    for channel in (0, 1, 2, DRUM_CHANNEL):
        track = mido.MidiTrack()
        if channel in programs:
            track.append(mido.Message("program_change", channel=channel, program=programs[channel]))
        events: list[tuple[int, int, mido.Message]] = []
        for n in notes:
            if n.channel != channel:
                continue
            swung = n.start + (style.swing * 0.5 if (n.start * 2) % 2 == 1 else 0.0)
            on, off = round(swung * ticks), round((swung + n.length) * ticks)
            events.append(
                (
                    on,
                    1,
                    mido.Message(
                        "note_on",
                        channel=channel,
                        note=n.pitch,
                        velocity=max(1, min(127, n.velocity)),
                    ),
                )
            )
            events.append(
                (
                    max(on + 1, off),
                    0,
                    mido.Message("note_off", channel=channel, note=n.pitch, velocity=0),
                )
            )
        now = 0
        for tick, _, msg in sorted(events, key=lambda e: (e[0], e[1])):
            track.append(msg.copy(time=tick - now))
            now = tick
        midi.tracks.append(track)
    return midi


def _mido_key(style: MusicStyle) -> str:
    if style.mode == "major":
        return ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")[style.tonic]
    return ("Cm", "C#m", "Dm", "Ebm", "Em", "Fm", "F#m", "Gm", "G#m", "Am", "Bbm", "Bm")[
        style.tonic
    ]


# --------------------------------------------------------------------------- rendering


def soundfont_path() -> Path:
    override = os.environ.get("KINORA_SOUNDFONT")
    for candidate in ((override,) if override else ()) + SOUNDFONTS:
        if Path(candidate).is_file():
            return Path(candidate)
    raise RenderError("no General MIDI SoundFont installed (musescore-general-soundfont-small)")


_LOCK = threading.Lock()


@functools.lru_cache(maxsize=2)
def _synth(path: str, rate: int) -> tuple[Any, int]:
    """One loaded synth per SoundFont and rate: an .sf3 decodes its Vorbis samples on load."""
    import tinysoundfont

    synth = tinysoundfont.Synth(samplerate=rate, gain=-3.0)
    return synth, synth.sfload(path)


def warm_up(rate: int = 48000) -> None:
    """Load the SoundFont now (worker start) so the first render does not pay for it."""
    _synth(str(soundfont_path()), rate)


def render_midi(midi: mido.MidiFile, *, seconds: float, rate: int) -> npt.NDArray[np.float32]:
    """Play the MIDI through the SoundFont: exactly round(seconds*rate) stereo frames."""
    n = round(seconds * rate)
    out = np.zeros((n, 2), dtype=np.float32)
    with _LOCK:
        synth, sfid = _synth(str(soundfont_path()), rate)
        for chan in range(16):
            synth.program_select(
                chan, sfid, 128 if chan == DRUM_CHANNEL else 0, 0, is_drums=chan == DRUM_CHANNEL
            )
        synth.sounds_off()
        pos = 0.0
        frame = 0
        for msg in midi:  # mido merges tracks and converts ticks to seconds
            pos += msg.time
            target = min(n, round(pos * rate))
            if target > frame:
                buf = synth.generate(target - frame)
                out[frame:target] = np.frombuffer(buf, dtype=np.float32).reshape(-1, 2)
                frame = target
            if msg.is_meta:
                continue
            _apply(synth, msg)
        if frame < n:
            buf = synth.generate(n - frame)
            out[frame:] = np.frombuffer(buf, dtype=np.float32).reshape(-1, 2)
        synth.sounds_off()
        synth.generate(rate // 10)  # flush voices so the next render starts silent
    return out


def _apply(synth: Any, msg: mido.Message) -> None:
    if msg.type == "note_on" and msg.velocity > 0:
        synth.noteon(msg.channel, msg.note, msg.velocity)
    elif msg.type in {"note_on", "note_off"}:
        synth.noteoff(msg.channel, msg.note)
    elif msg.type == "program_change":
        synth.program_change(msg.channel, msg.program, is_drums=msg.channel == DRUM_CHANNEL)
    elif msg.type == "control_change":
        synth.control_change(msg.channel, msg.control, msg.value)


def fade_out(samples: npt.NDArray[np.float32], *, rate: int, seconds: float) -> None:
    """Equal-power fade to silence over the last ``seconds`` (in place)."""
    n = min(len(samples), int(seconds * rate))
    if n > 0:
        samples[-n:] *= np.cos(np.linspace(0.0, math.pi / 2, n, dtype=np.float32))[:, None]


@dataclass(frozen=True, eq=False, kw_only=True)
class Music:
    samples: npt.NDArray[np.float32]
    rate: int
    style: MusicStyle
    midi: mido.MidiFile
    soundfont: str


def generate_music(prompt: str, *, seconds: float, seed: int = 0, rate: int = 48000) -> Music:
    """Compose and render music for ``prompt`` that lasts exactly ``seconds``, fading out."""
    style = derive_style(prompt, seed=seed)
    midi = compose(style, seconds=seconds, seed=seed, prompt=prompt)
    samples = render_midi(midi, seconds=seconds, rate=rate)
    fade_out(samples, rate=rate, seconds=min(2.5, max(0.5, 0.2 * seconds)))
    fade_in = min(len(samples), int(0.01 * rate))
    samples[:fade_in] *= np.linspace(0.0, 1.0, fade_in, dtype=np.float32)[:, None]
    return Music(
        samples=samples, rate=rate, style=style, midi=midi, soundfont=str(soundfont_path())
    )


def loop_to_length(
    samples: npt.NDArray[np.float32], *, seconds: float, rate: int, crossfade: float = 1.0
) -> npt.NDArray[np.float32]:
    """Fit user music to the clip: loop with a crossfade when short, fade out when long."""
    n = round(seconds * rate)
    x = samples
    xf = min(int(crossfade * rate), len(x) // 4)
    while len(x) < n and xf > 0:
        ramp = np.linspace(0.0, 1.0, xf, dtype=np.float32)[:, None]
        joined = x[-xf:] * (1 - ramp) + samples[:xf] * ramp
        x = np.concatenate([x[:-xf], joined, samples[xf:]])
    if len(x) < n:
        x = np.concatenate([x, np.zeros((n - len(x), 2), dtype=np.float32)])
    out = np.array(x[:n], dtype=np.float32)
    fade_out(out, rate=rate, seconds=min(2.0, 0.15 * seconds))
    return out


def describe(styles: Sequence[MusicStyle]) -> list[str]:
    return [f"{s.genre} {s.tempo:.0f} BPM {s.key} drums={s.drums}" for s in styles]
