"""Native sound effects, synthesised from noise and oscillators (no samples to ship or fetch).

Scene words in the prompt choose ambient layers (wind, rain, birds, sea, city, fire, water,
thunder); the camera move gets a whoosh whose peak sits where the move is fastest (mid-clip for
the eased moves the renderer makes) and whose stereo path follows the move's direction; magic
words add sparkle chimes.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from scipy import interpolate, signal
else:
    from kinora.audio.lazy import interpolate, signal

from kinora.vocab import CAMERA_PATH_INFO

Stereo = npt.NDArray[np.float64]

SCENES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "wind": (
            "wind",
            "windy",
            "breeze",
            "storm",
            "mountain",
            "desert",
            "snow",
            "cliff",
            "blizzard",
            "sky",
            "aerial",
        ),
        "rain": ("rain", "rainy", "raining", "drizzle", "downpour", "storm", "monsoon"),
        "birds": (
            "forest",
            "bird",
            "birds",
            "garden",
            "jungle",
            "park",
            "meadow",
            "spring",
            "tree",
            "trees",
            "woods",
            "woodland",
            "countryside",
        ),
        "sea": (
            "sea",
            "ocean",
            "beach",
            "wave",
            "waves",
            "shore",
            "coast",
            "surf",
            "harbor",
            "harbour",
            "island",
        ),
        "city": (
            "city",
            "street",
            "traffic",
            "urban",
            "downtown",
            "cafe",
            "crowd",
            "market",
            "town",
            "cars",
            "night city",
        ),
        "fire": ("fire", "campfire", "fireplace", "flame", "flames", "bonfire", "candle"),
        "water": ("river", "stream", "waterfall", "creek", "brook", "fountain", "lake"),
        "thunder": ("thunder", "thunderstorm", "lightning", "storm"),
    }
)
MAGIC_WORDS = (
    "magic",
    "magical",
    "sparkle",
    "sparkles",
    "sparkling",
    "fairy",
    "glitter",
    "enchanted",
    "spell",
    "wizard",
    "witch",
    "glow",
    "glowing",
    "twinkle",
    "shimmer",
    "stars",
    "starry",
    "dream",
    "dreamy",
    "unicorn",
    "potion",
    "christmas",
)
#: camera_control -> (stereo start, stereo end, filter sweep up?) ; -1 = left, +1 = right
#: (each path's ``whoosh`` in kinora.vocab.CAMERA_PATH_INFO; paths without one make no sound)
_MOVES: Mapping[str, tuple[float, float, bool]] = MappingProxyType(
    {
        control.value: (info.whoosh.start_pan, info.whoosh.end_pan, info.whoosh.rising)
        for control, info in CAMERA_PATH_INFO.items()
        if info.whoosh is not None
    }
)


@dataclass(frozen=True, eq=False, kw_only=True)
class Effects:
    samples: Stereo
    layers: tuple[str, ...]


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


def scene_layers(prompt: str) -> tuple[str, ...]:
    words = _words(prompt)
    return tuple(name for name, keys in SCENES.items() if words & set(keys))


def _rng(seed: int, tag: str) -> np.random.Generator:
    digest = hashlib.sha256(f"{tag}\0{seed}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def _lfo(rng: np.random.Generator, n: int, rate: int, hz: float, depth: float) -> Stereo:
    """Smooth random positive modulation: random points at ``hz``, cubic-spline interpolated."""
    points = max(4, int(n / rate * hz) + 2)
    spline = interpolate.CubicSpline(np.arange(points) / hz, rng.normal(0.0, depth, points))
    return np.exp(np.asarray(spline(np.arange(n) / rate), dtype=np.float64))


def _band(rng: np.random.Generator, n: int, rate: int, lo: float, hi: float) -> Stereo:
    sos = signal.butter(2, [lo, min(hi, rate / 2 * 0.95)], btype="bandpass", fs=rate, output="sos")
    return np.asarray(signal.sosfilt(sos, rng.standard_normal((n, 2)), axis=0))


def _wind(rng: np.random.Generator, n: int, rate: int) -> Stereo:
    out = np.zeros((n, 2))
    for lo, hi, hz in ((150, 500, 0.15), (400, 1200, 0.25), (900, 2500, 0.35)):
        out += _band(rng, n, rate, lo, hi) * _lfo(rng, n, rate, hz, 0.8)[:, None]
    return out


def _rain(rng: np.random.Generator, n: int, rate: int) -> Stereo:
    hiss = _band(rng, n, rate, 1500, 9000) * 0.6
    drops = np.zeros((n, 2))
    count = int(n / rate * 60)
    idx = rng.integers(0, n, count)
    drops[idx, rng.integers(0, 2, count)] = rng.uniform(0.5, 3.0, count)
    sos = signal.butter(2, [2500, 7000], btype="bandpass", fs=rate, output="sos")
    return np.asarray(hiss + np.asarray(signal.sosfilt(sos, drops, axis=0)) * 4, dtype=np.float64)


def _birds(rng: np.random.Generator, n: int, rate: int) -> Stereo:
    out = _band(rng, n, rate, 200, 3000) * 0.08  # leaves
    for _ in range(int(n / rate * 1.2) + 1):
        start = int(rng.integers(0, max(1, n - rate // 2)))
        f0 = rng.uniform(2200, 4800)
        notes = int(rng.integers(1, 5))
        pan = rng.uniform(-0.8, 0.8)
        t0 = start
        for _ in range(notes):
            dur = int(rate * rng.uniform(0.04, 0.14))
            t = np.arange(dur) / rate
            sweep = f0 * (1 + rng.uniform(-0.35, 0.35) * t / t[-1])
            phase = 2 * np.pi * np.cumsum(sweep) / rate + 0.3 * np.sin(2 * np.pi * 35 * t)
            chirp = np.sin(phase) * np.sin(np.pi * np.arange(dur) / dur) ** 2
            end = min(n, t0 + dur)
            gain = rng.uniform(0.2, 0.5)
            out[t0:end, 0] += chirp[: end - t0] * gain * math.sqrt((1 - pan) / 2)
            out[t0:end, 1] += chirp[: end - t0] * gain * math.sqrt((1 + pan) / 2)
            t0 = end + int(rate * rng.uniform(0.03, 0.09))
            if t0 >= n:
                break
    return out


def _sea(rng: np.random.Generator, n: int, rate: int) -> Stereo:
    t = np.arange(n) / rate
    period = rng.uniform(6.0, 9.0)
    swell = 0.25 + 0.75 * np.maximum(0.0, np.sin(2 * np.pi * t / period + rng.uniform(0, 6))) ** 3
    return (_band(rng, n, rate, 80, 900) + _band(rng, n, rate, 1000, 5000) * 0.35) * swell[:, None]


def _city(rng: np.random.Generator, n: int, rate: int) -> Stereo:
    rumble = _band(rng, n, rate, 40, 400) * 1.2
    t = np.arange(n) / rate
    hum = (0.05 * np.sin(2 * np.pi * 60 * t) + 0.03 * np.sin(2 * np.pi * 120 * t))[:, None]
    cars = np.zeros((n, 2))
    for _ in range(int(n / rate / 4) + 1):
        c = int(rng.integers(0, n))
        width = rate * rng.uniform(1.5, 3.0)
        env = np.exp(-0.5 * ((np.arange(n) - c) / (width / 3)) ** 2)
        pan = np.clip((np.arange(n) - c) / width, -1, 1) * rng.choice([-1.0, 1.0])
        car = _band(rng, n, rate, 200, 1500)[:, 0] * env
        cars[:, 0] += car * np.sqrt((1 - pan) / 2)
        cars[:, 1] += car * np.sqrt((1 + pan) / 2)
    return rumble + hum + cars * 0.8


def _fire(rng: np.random.Generator, n: int, rate: int) -> Stereo:
    base = _band(rng, n, rate, 60, 600) * 0.5
    crack = np.zeros((n, 2))
    count = int(n / rate * 25)
    crack[rng.integers(0, n, count), rng.integers(0, 2, count)] = rng.pareto(2.0, count) + 0.5
    sos = signal.butter(2, [800, 6000], btype="bandpass", fs=rate, output="sos")
    return np.asarray(base + np.asarray(signal.sosfilt(sos, crack, axis=0)) * 3, dtype=np.float64)


def _water(rng: np.random.Generator, n: int, rate: int) -> Stereo:
    return _band(rng, n, rate, 300, 3000) * _lfo(rng, n, rate, 12.0, 0.6)[:, None]


def _thunder(rng: np.random.Generator, n: int, rate: int) -> Stereo:
    out = np.zeros((n, 2))
    rumble = _band(rng, n, rate, 25, 180) * 3
    for _ in range(max(1, int(n / rate / 8))):
        c = int(rng.integers(0, n))
        env = np.where(np.arange(n) >= c, np.exp(-(np.arange(n) - c) / (rate * 1.5)), 0.0)
        out += rumble * env[:, None]
    return out


_LAYERS: Mapping[str, tuple[Callable[[np.random.Generator, int, int], Stereo], float]] = (
    MappingProxyType(
        {  # layer -> (generator, relative level in dB)
            "wind": (_wind, -3.0),
            "rain": (_rain, -2.0),
            "birds": (_birds, -4.0),
            "sea": (_sea, 0.0),
            "city": (_city, -2.0),
            "fire": (_fire, -2.0),
            "water": (_water, -3.0),
            "thunder": (_thunder, 0.0),
        }
    )
)


def _norm(x: Stereo) -> Stereo:
    rms = float(np.sqrt(np.mean(x**2)))
    return x / rms if rms > 0 else x


def whoosh(camera: str, *, seconds: float, rate: int, seed: int) -> Stereo | None:
    """A filtered-noise sweep peaking mid-move, panned along the move; None when static."""
    move = _MOVES.get(camera.strip())
    if move is None:
        return None
    start_pan, end_pan, rising = move
    n = round(seconds * rate)
    rng = _rng(seed, "whoosh" + camera)
    length = min(n, int(rate * min(2.5, max(0.6, 0.5 * seconds))))
    begin = max(0, (n - length) // 2)
    t = np.linspace(0.0, 1.0, length)
    env = np.sin(np.pi * t) ** 3
    noise = rng.standard_normal(length)
    # Time-varying band: crossfade four fixed bands along the sweep (cheap, smooth).
    centres = [300.0, 700.0, 1500.0, 3200.0]
    pos = t * (len(centres) - 1) if rising else (1 - t) * (len(centres) - 1)
    y = np.zeros(length)
    for i, fc in enumerate(centres):
        sos = signal.butter(2, [fc / 1.6, fc * 1.6], btype="bandpass", fs=rate, output="sos")
        weight = np.clip(1 - np.abs(pos - i), 0, 1)
        y += np.asarray(signal.sosfilt(sos, noise)) * weight
    y *= env
    pan = start_pan + (end_pan - start_pan) * t
    out = np.zeros((n, 2))
    out[begin : begin + length, 0] = y * np.sqrt((1 - pan) / 2)
    out[begin : begin + length, 1] = y * np.sqrt((1 + pan) / 2)
    return out


def sparkles(prompt: str, *, seconds: float, rate: int, seed: int) -> Stereo | None:
    """Bell-like chimes (inharmonic partials, fast decay) on a high pentatonic; magic words only."""
    if not _words(prompt) & set(MAGIC_WORDS):
        return None
    n = round(seconds * rate)
    rng = _rng(seed, "sparkle")
    out = np.zeros((n, 2))
    pentatonic = [0, 2, 4, 7, 9]
    count = max(3, int(seconds * 2.5))
    dur = int(rate * 0.9)
    t = np.arange(dur) / rate
    for _ in range(count):
        start = int(rng.uniform(0, max(1, n - rate * 0.3)))
        midi = 84 + int(rng.choice(pentatonic)) + 12 * int(rng.integers(0, 2))
        f = 440.0 * 2 ** ((midi - 69) / 12)
        tone = sum(
            a * np.sin(2 * np.pi * f * r * t) * np.exp(-t * d)
            for r, a, d in ((1.0, 1.0, 6.0), (2.76, 0.5, 10.0), (5.4, 0.25, 16.0))
        )
        tone = np.asarray(tone) * np.minimum(1.0, t / 0.003)
        pan = rng.uniform(-0.9, 0.9)
        end = min(n, start + dur)
        gain = rng.uniform(0.3, 1.0)
        out[start:end, 0] += tone[: end - start] * gain * math.sqrt((1 - pan) / 2)
        out[start:end, 1] += tone[: end - start] * gain * math.sqrt((1 + pan) / 2)
    return out


def native_effects(prompt: str, camera: str, *, seconds: float, rate: int, seed: int) -> Effects:
    """Ambient bed + camera whoosh + sparkles, balanced against each other (RMS-normalised)."""
    n = round(seconds * rate)
    layers = scene_layers(prompt)
    out = np.zeros((n, 2))
    names: list[str] = []
    for name in layers or ("room",):
        if name == "room":
            bed = _norm(_band(_rng(seed, "room"), n, rate, 60, 1200)) * 10 ** (-14 / 20)
        else:
            fn, level = _LAYERS[name]
            bed = _norm(fn(_rng(seed, name), n, rate)) * 10 ** (level / 20)
        out += bed
        names.append(name)
    if n > 0:  # fade the bed in and out so it doesn't start with a click
        ramp = min(n // 2, int(0.3 * rate))
        fade = np.ones(n)
        fade[:ramp] = np.linspace(0, 1, ramp)
        fade[n - ramp :] = np.linspace(1, 0, ramp)
        out *= fade[:, None]
    if (w := whoosh(camera, seconds=seconds, rate=rate, seed=seed)) is not None:
        active = max(1, int(np.count_nonzero(w[:, 0])))
        out += _norm(w) * 10 ** (2 / 20) * math.sqrt(n / active)
        names.append("whoosh")
    if (s := sparkles(prompt, seconds=seconds, rate=rate, seed=seed)) is not None:
        out += _norm(s) * 10 ** (-4 / 20)
        names.append("sparkles")
    return Effects(samples=out, layers=tuple(names))
