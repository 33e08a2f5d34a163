"""A prompt given with images steers the image engines: the camera move and particles it names.

Both are decided once, stored in the frozen RenderConfig (camera, options["particles"]), so the
render stays reproducible from its config.
"""

from __future__ import annotations

import math
import re
from typing import ClassVar

import cv2
import numpy as np

from kinora.engines.base import Frame
from kinora.vocab import CAMERA_PATH_INFO

_CAMERA_WORDS: tuple[tuple[str, str], ...] = tuple(
    (info.prompt_words, control.value)
    for control, info in sorted(CAMERA_PATH_INFO.items(), key=lambda item: item[1].prompt_rank)
    if info.prompt_words
)
"""(pattern, camera path) in the order prompts are searched (kinora.vocab.CAMERA_PATH_INFO)."""

_PARTICLE_WORDS: tuple[tuple[str, str], ...] = (
    (r"snow|snowfall|blizzard|snowflake", "snow"),
    (r"rain|drizzle|downpour|storm", "rain"),
    (r"firefl", "fireflies"),
    (r"sparkl|glitter|fairy dust|magic|twinkl|stardust", "sparkles"),
)


def camera_from_prompt(prompt: str) -> str | None:
    text = prompt.lower()
    for pattern, camera in _CAMERA_WORDS:
        if re.search(rf"\b(?:{pattern})", text):
            return camera
    return None


def particles_from_prompt(prompt: str) -> str | None:
    text = prompt.lower()
    for pattern, kind in _PARTICLE_WORDS:
        if re.search(rf"\b(?:{pattern})", text):
            return kind
    return None


class ParticleOverlay:
    """Particles drawn over finished frames; periodic over one motion, so loops stay seamless."""

    COUNTS: ClassVar[dict[str, int]] = {"snow": 160, "rain": 140, "fireflies": 36, "sparkles": 70}

    def __init__(self, kind: str, *, width: int, height: int, period: int, seed: int) -> None:
        self.kind, self.width, self.height, self.period = kind, width, height, period
        rng = np.random.default_rng(seed + 7919)
        n = self.COUNTS[kind]
        self._x = rng.uniform(0, 1, n)
        self._y = rng.uniform(0, 1, n)
        self._phase = rng.uniform(0, 2 * math.pi, n)
        self._size = rng.uniform(0.6, 1.4, n) * max(0.6, max(width, height) / 1280)
        self._laps = rng.integers(1, 3, n)

    def apply(self, frame: Frame, index: int) -> Frame:
        u = (index % self.period) / self.period
        layer = np.zeros((self.height, self.width), np.float32)
        colour = self._colour()
        x0, y0, phase, size, laps = self._x, self._y, self._phase, self._size, self._laps
        w, h = self.width, self.height
        if self.kind in ("snow", "rain"):
            fall = (y0 + laps * u) % 1.0
            sway = 0.01 * np.sin(2 * math.pi * u * laps + phase) if self.kind == "snow" else 0
            xs, ys = (x0 + sway) % 1.0 * w, fall * h
        else:
            xs = (x0 + 0.03 * np.sin(2 * math.pi * u + phase)) % 1.0 * w
            ys = (y0 + 0.03 * np.cos(2 * math.pi * u + phase)) % 1.0 * h
        brightness = np.ones_like(x0)
        if self.kind in ("sparkles", "fireflies"):
            brightness = 0.5 + 0.5 * np.sin(2 * math.pi * (laps * u) + phase)
        for x, y, s, b in zip(xs, ys, size, brightness, strict=True):
            cx, cy = int(x), int(y)
            if self.kind == "rain":
                end = (int(x - 4 * s), int(y + 30 * s))
                cv2.line(layer, (cx, cy), end, 0.5, max(1, round(1.5 * s)), cv2.LINE_AA)
            elif self.kind == "snow":
                # Bigger flakes read as nearer: softer and brighter.
                cv2.circle(layer, (cx, cy), max(1, round(4.0 * s * s)), 0.9, -1, cv2.LINE_AA)
            else:
                radius = max(1, round(2.5 * s))
                cv2.circle(layer, (cx, cy), radius, float(b), -1, cv2.LINE_AA)
                if b > 0.8:  # the brightest twinkle as four-pointed stars
                    arm = round(9 * s * b)
                    cv2.line(layer, (cx - arm, cy), (cx + arm, cy), float(b), 1, cv2.LINE_AA)
                    cv2.line(layer, (cx, cy - arm), (cx, cy + arm), float(b), 1, cv2.LINE_AA)
        scale = max(self.width, self.height) / 1280
        if self.kind == "snow":
            layer = np.asarray(cv2.GaussianBlur(layer, (0, 0), max(0.6, 1.2 * scale)), np.float32)
        elif self.kind in ("sparkles", "fireflies"):
            glow = cv2.GaussianBlur(layer, (0, 0), max(1.5, 7.0 * scale))
            layer = np.clip(layer + 3.0 * glow, 0, 1).astype(np.float32)
        alpha = layer[..., None]
        out = frame.astype(np.float32) * (1 - alpha) + np.array(colour, np.float32) * alpha
        return np.ascontiguousarray(out.astype(np.uint8))

    def _colour(self) -> tuple[int, int, int]:
        return {
            "snow": (250, 250, 255),
            "rain": (200, 210, 225),
            "fireflies": (255, 230, 120),
            "sparkles": (255, 245, 210),
        }[self.kind]
