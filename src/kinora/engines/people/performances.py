"""Built-in performances: keyframed motions on the pose skeleton, picked by the prompt.

Each performance is a loop of keyframes over a few named channels, written once for any body
(angles in degrees, body-relative, mirrored per side; shifts as fractions of the body's
height), so :mod:`.character` can retarget it to a character's own proportions:

- ``body:<limb>`` a body angle the limb turns to (0 hanging, 90 straight out, 180 straight
  up; both sides, mirrored), ``main:<limb>`` the same for one arm only (a wave);
- ``turn:<limb>`` an outward turn of both sides, ``swing:<limb>`` an outward turn of the left
  and an inward turn of the right (walking, dancing), ``turn:spine`` / ``turn:head`` a lean
  toward the picture's right;
- ``root_x``, ``root_y`` the body's shift, ``stretch`` the spine's length factor;
- ``head_x``, ``head_y`` the head's shift on its neck, in face heights;
- the face's ``mouth``, ``brow``, ``yaw``, ``pitch`` (see :class:`.faceparts.FaceState`).

Blinks are added to every performance at seeded, irregular times, and ``talk`` gets a
seeded syllable rhythm for the mouth instead of a fixed loop. A performance fades in from the
photo's own pose and back to it at the end of the clip, so a looped clip is seamless.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

KeyValues = Mapping[str, float]


@dataclass(frozen=True)
class Performance:
    name: str
    words: tuple[str, ...]
    """Prompt words that pick it (matched as whole words, plurals and -ing forms too)."""
    cycle: float
    """Seconds of one loop of the keyframes."""
    keys: tuple[KeyValues, ...]
    """Evenly spaced keyframes of one loop (the loop returns to the first)."""
    talks: bool = False
    """Drive the mouth with a syllable rhythm."""
    needs_arms: bool = False


@dataclass(frozen=True)
class Beat:
    """One moment of a performance: channel values, scaled, faded, blinks added."""

    values: dict[str, float] = field(default_factory=dict)
    weight: float = 1.0
    """How far body angles go from the photo's pose to the performance's (the fade)."""
    blink: float = 0.0


PERFORMANCES: tuple[Performance, ...] = (
    Performance(
        "wave",
        ("wave", "waving", "hello", "hi", "greet", "greeting", "bye", "goodbye"),
        0.8,
        (
            {"main:upper_arm": 140, "main:forearm": 150, "turn:head": 0.04, "brow": 0.01},
            {"main:upper_arm": 135, "main:forearm": 200, "turn:head": 0.05, "brow": 0.01},
        ),
        needs_arms=True,
    ),
    Performance(
        "clap",
        ("clap", "clapping", "applaud", "applauding", "applause", "cheer", "cheering"),
        0.5,
        (
            {"body:upper_arm": 28, "body:forearm": -120, "root_y": 0.0},
            {"body:upper_arm": 18, "body:forearm": -160, "root_y": 0.004},
        ),
        needs_arms=True,
    ),
    Performance(
        "dance",
        ("dance", "dancing", "groove", "grooving", "boogie", "party", "celebrate"),
        1.0,
        (
            {
                "body:upper_arm": 115,
                "body:forearm": 150,
                "swing:upper_arm": 18,
                "turn:spine": 0.07,
                "turn:head": -0.06,
                "root_x": 0.02,
                "root_y": 0.0,
                "swing:thigh": 6,
            },
            {
                "body:upper_arm": 125,
                "body:forearm": 165,
                "swing:upper_arm": 0,
                "turn:spine": 0.0,
                "turn:head": 0.0,
                "root_x": 0.0,
                "root_y": -0.025,
                "swing:thigh": 0,
            },
            {
                "body:upper_arm": 115,
                "body:forearm": 150,
                "swing:upper_arm": -18,
                "turn:spine": -0.07,
                "turn:head": 0.06,
                "root_x": -0.02,
                "root_y": 0.0,
                "swing:thigh": -6,
            },
            {
                "body:upper_arm": 125,
                "body:forearm": 165,
                "swing:upper_arm": 0,
                "turn:spine": 0.0,
                "turn:head": 0.0,
                "root_x": 0.0,
                "root_y": -0.025,
                "swing:thigh": 0,
            },
        ),
    ),
    Performance(
        "walk",
        ("walk", "walking", "march", "marching", "step", "stepping", "stroll"),
        1.0,
        (
            {
                "swing:thigh": 9,
                "swing:shin": -16,
                "swing:upper_arm": -12,
                "swing:forearm": -8,
                "root_y": -0.012,
                "turn:spine": 0.015,
            },
            {
                "swing:thigh": 0,
                "swing:shin": 0,
                "swing:upper_arm": 0,
                "swing:forearm": 0,
                "root_y": 0.004,
                "turn:spine": 0.0,
            },
            {
                "swing:thigh": -9,
                "swing:shin": 16,
                "swing:upper_arm": 12,
                "swing:forearm": 8,
                "root_y": -0.012,
                "turn:spine": -0.015,
            },
            {
                "swing:thigh": 0,
                "swing:shin": 0,
                "swing:upper_arm": 0,
                "swing:forearm": 0,
                "root_y": 0.004,
                "turn:spine": 0.0,
            },
        ),
    ),
    Performance(
        "jump",
        ("jump", "jumping", "hop", "hopping", "leap", "leaping", "bounce", "bouncing"),
        1.2,
        (
            {"root_y": 0.0, "stretch": 1.0, "turn:upper_arm": 0, "turn:thigh": 0},
            {"root_y": 0.03, "stretch": 0.95, "turn:upper_arm": -10, "turn:thigh": 8},
            {"root_y": -0.13, "stretch": 1.02, "turn:upper_arm": 60, "turn:thigh": -4},
            {"root_y": -0.05, "stretch": 1.0, "turn:upper_arm": 30, "turn:thigh": 0},
            {"root_y": 0.02, "stretch": 0.97, "turn:upper_arm": 0, "turn:thigh": 5},
        ),
    ),
    Performance(
        "nod",
        ("nod", "nodding", "nods", "agree", "agreeing", "yes"),
        0.9,
        (
            {"pitch": -0.15, "head_y": -0.015, "turn:head": 0.0, "brow": 0.006},
            {"pitch": 0.45, "head_y": 0.05, "turn:head": 0.02, "brow": 0.0},
        ),
    ),
    Performance(
        "look",
        ("look", "looking", "glance", "glancing", "around", "turn", "turning", "gaze"),
        3.2,
        (
            {"yaw": 0.0, "turn:head": 0.0, "pitch": 0.0},
            {"yaw": -0.6, "head_x": -0.03, "turn:head": -0.04, "pitch": -0.05},
            {"yaw": -0.6, "head_x": -0.03, "turn:head": -0.04, "pitch": -0.05},
            {"yaw": 0.0, "turn:head": 0.0, "pitch": 0.05},
            {"yaw": 0.6, "head_x": 0.03, "turn:head": 0.04, "pitch": -0.05},
            {"yaw": 0.6, "head_x": 0.03, "turn:head": 0.04, "pitch": -0.05},
        ),
    ),
    Performance(
        "talk",
        (
            "talk",
            "talking",
            "talks",
            "speak",
            "speaking",
            "say",
            "saying",
            "says",
            "chat",
            "chatting",
            "tell",
            "telling",
            "sing",
            "singing",
            "explain",
            "explaining",
        ),
        2.4,
        (
            {"pitch": 0.0, "yaw": 0.0, "turn:head": 0.0, "brow": 0.0},
            {"pitch": 0.12, "yaw": 0.1, "turn:head": 0.02, "brow": 0.012},
            {"pitch": -0.05, "yaw": -0.08, "turn:head": -0.015, "brow": 0.0},
            {"pitch": 0.08, "yaw": 0.05, "turn:head": 0.01, "brow": 0.008},
        ),
        talks=True,
    ),
)

IDLE = Performance(
    "idle",
    (),
    4.0,
    (
        {
            "stretch": 1.0,
            "turn:clavicle": 0.0,
            "turn:spine": -0.012,
            "turn:head": 0.02,
            "root_x": -0.004,
            "yaw": 0.06,
        },
        {
            "stretch": 1.012,
            "turn:clavicle": -1.0,
            "turn:spine": 0.0,
            "turn:head": 0.0,
            "root_x": 0.0,
            "yaw": 0.0,
        },
        {
            "stretch": 1.0,
            "turn:clavicle": 0.0,
            "turn:spine": 0.012,
            "turn:head": -0.02,
            "root_x": 0.004,
            "yaw": -0.06,
        },
        {
            "stretch": 1.006,
            "turn:clavicle": -0.5,
            "turn:spine": 0.0,
            "turn:head": 0.0,
            "root_x": 0.0,
            "yaw": 0.0,
        },
    ),
)
"""Nothing asked for: breathing (the spine lengthens, shoulders rise), a small sway."""

FADE_SECONDS = 0.45
BLINK_SECONDS = 0.18


def pick(prompt: str) -> Performance:
    """The performance whose word comes first in the prompt; the idle when none does."""
    words = re.findall(r"[a-z]+", prompt.lower())
    for word in words:
        for performance in PERFORMANCES:
            stem = word[:-1] if word.endswith("s") and len(word) > 3 else word
            if word in performance.words or stem in performance.words:
                return performance
    return IDLE


def amplitude(motion_range: int) -> float:
    """motion_range 1-10 as a factor on the moves (5: as written)."""
    return 0.5 + 0.1 * max(1, min(10, motion_range))


def _interpolate(keys: tuple[KeyValues, ...], phase: float) -> dict[str, float]:
    """Cosine-eased values between the two keyframes around ``phase`` (0-1, looping)."""
    n = len(keys)
    pos = (phase % 1.0) * n
    i = int(pos) % n
    f = pos - int(pos)
    ease = 0.5 - 0.5 * math.cos(math.pi * f)
    a, b = keys[i], keys[(i + 1) % n]
    out: dict[str, float] = {}
    for name in set(a) | set(b):
        va, vb = a.get(name, 0.0), b.get(name, 0.0)
        out[name] = va + (vb - va) * ease
    return out


def _means(keys: tuple[KeyValues, ...]) -> dict[str, float]:
    names = {name for key in keys for name in key}
    return {name: float(np.mean([key.get(name, 0.0) for key in keys])) for name in names}


class Timeline:
    """A performance laid over a clip of ``duration`` seconds for one seed."""

    def __init__(
        self, performance: Performance, duration: float, *, motion_range: int, seed: int
    ) -> None:
        self.performance = performance
        self.duration = duration
        self.amp = amplitude(motion_range)
        rng = np.random.default_rng(seed)
        core = max(performance.cycle, duration - 2 * FADE_SECONDS * 0.5)
        self.cycles = max(1, round(core / performance.cycle))
        self.means = _means(performance.keys)
        self.blinks = self._blink_times(rng, duration)
        self.syllables = self._syllables(rng, duration) if performance.talks else None

    @staticmethod
    def _blink_times(rng: np.random.Generator, duration: float) -> list[float]:
        times: list[float] = []
        t = float(rng.uniform(0.6, 2.2))
        while t < duration - BLINK_SECONDS:
            times.append(t)
            t += float(rng.uniform(2.2, 4.8))
        return times

    @staticmethod
    def _syllables(rng: np.random.Generator, duration: float) -> list[tuple[float, float, float]]:
        """(start, length, opening) of each syllable; phrases of 4-9 syllables, then a
        pause with the mouth shut."""
        out: list[tuple[float, float, float]] = []
        t = 0.35
        while t < duration - 0.4:
            for _ in range(int(rng.integers(4, 10))):
                length = float(rng.uniform(0.14, 0.26))
                if t + length > duration - 0.3:
                    break
                out.append((t, length, float(rng.uniform(0.35, 1.0))))
                t += length
            t += float(rng.uniform(0.3, 0.6))
        return out

    def fade(self, t: float) -> float:
        """0 at the clip's ends, 1 between (smoothstep over FADE_SECONDS)."""
        edge = min(t, self.duration - t) / FADE_SECONDS
        x = min(1.0, max(0.0, edge))
        return x * x * (3 - 2 * x)

    def mouth(self, t: float) -> float:
        if self.syllables is None:
            return 0.0
        for start, length, opening in self.syllables:
            if start <= t < start + length:
                return float(opening * math.sin(math.pi * (t - start) / length) ** 0.8 * 0.085)
        return 0.0

    def blink(self, t: float) -> float:
        for start in self.blinks:
            if start <= t < start + BLINK_SECONDS:
                return math.sin(math.pi * (t - start) / BLINK_SECONDS)
        return 0.0

    def at(self, t: float) -> Beat:
        phase = (t / max(self.duration, 1e-6)) * self.cycles
        raw = _interpolate(self.performance.keys, phase)
        weight = self.fade(t)
        values: dict[str, float] = {}
        for name, value in raw.items():
            if name.startswith(("body:", "main:")):
                mean = self.means[name]
                values[name] = mean + (value - mean) * self.amp
            elif name == "stretch":
                values[name] = 1.0 + (value - 1.0) * self.amp * weight
            else:
                values[name] = value * self.amp * weight
        values["mouth"] = values.get("mouth", 0.0) + self.mouth(t) * min(1.0, self.amp)
        return Beat(values=values, weight=weight, blink=self.blink(t))
