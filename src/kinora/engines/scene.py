"""Text to video: a procedural illustrated title scene.

No diffusion model runs here (none can be shipped offline on CPU): the scene is drawn from the
prompt's words — sky colours from time-of-day and mood words, layered hills at different depths,
drifting particles — and the camera moves through the layers while the prompt is set as a title.
The name says what it is: ``kinora-scene``, a procedural renderer.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

from kinora.engines.base import (
    EngineInfo,
    EngineInputs,
    Frame,
    InputKind,
    MotionEngine,
    RenderConfig,
)

Color = tuple[int, int, int]

_PALETTES: dict[str, tuple[Color, Color, Color]] = {
    # sky top, sky horizon, land
    "day": ((70, 140, 220), (190, 225, 250), (70, 140, 70)),
    "sunset": ((60, 50, 120), (250, 150, 80), (60, 70, 60)),
    "night": ((8, 12, 40), (40, 50, 110), (20, 35, 40)),
    "forest": ((90, 150, 120), (200, 230, 190), (30, 90, 45)),
    "snow": ((150, 170, 200), (235, 240, 250), (220, 228, 240)),
    "desert": ((120, 170, 230), (250, 220, 170), (210, 170, 100)),
    "ocean": ((40, 110, 190), (170, 215, 240), (30, 90, 150)),
    "magic": ((60, 30, 110), (230, 140, 200), (60, 60, 120)),
}
_KEYWORDS: dict[str, tuple[str, ...]] = {
    "night": ("night", "moon", "star", "dark", "midnight"),
    "sunset": ("sunset", "sunrise", "dusk", "dawn", "evening", "golden"),
    "forest": ("forest", "jungle", "woods", "tree", "garden", "meadow"),
    "snow": ("snow", "winter", "ice", "frozen", "arctic"),
    "desert": ("desert", "sand", "dune", "canyon"),
    "ocean": ("ocean", "sea", "beach", "water", "lake", "river", "underwater"),
    "magic": ("magic", "magical", "fairy", "dream", "fantasy", "sparkl"),
}


@dataclass(frozen=True)
class ScenePlan:
    palette: tuple[Color, Color, Color]
    particles: bool
    title: str


def plan_scene(prompt: str) -> ScenePlan:
    words = prompt.lower()
    theme = "day"
    for name, keys in _KEYWORDS.items():
        if any(k in words for k in keys):
            theme = name
            break
    particles = any(
        k in words for k in ("sparkl", "dust", "snow", "star", "firefl", "rain", "magic")
    )
    return ScenePlan(palette=_PALETTES[theme], particles=particles, title=prompt.strip())


def _ridge(
    width: int, rng: np.random.Generator, *, base: float, amp: float
) -> npt.NDArray[np.float64]:
    x = np.linspace(0, 1, width)
    y = np.full(width, base)
    for octave in range(1, 5):
        phase = rng.uniform(0, 2 * math.pi)
        freq = rng.uniform(1.0, 2.0) * 2**octave
        y += amp / 2**octave * np.sin(2 * math.pi * freq * x + phase)
    return y


class SceneEngine(MotionEngine):
    info = EngineInfo(
        name="kinora-scene",
        version="0.1",
        accepts=frozenset({InputKind.TEXT}),
        description="Procedural illustrated scene (sky, layered hills, particles, title) "
        "with camera motion through the layers. Not a diffusion model.",
    )

    def frames(self, inputs: EngineInputs, config: RenderConfig) -> Iterator[Frame]:
        w, h = config.width, config.height
        seed = int.from_bytes(
            hashlib.sha256(f"{config.seed}:{inputs.prompt}".encode()).digest()[:4]
        )
        rng = np.random.default_rng(seed)
        plan = plan_scene(inputs.prompt or config.prompt)
        margin = 0.25
        cw, ch = int(w * (1 + margin)), int(h * (1 + margin))
        top, horizon, land = (np.array(c, dtype=np.float32) for c in plan.palette)
        t = np.linspace(0, 1, ch, dtype=np.float32)[:, None, None]
        sky = (top * (1 - t) + horizon * t).repeat(cw, axis=1)
        layers: list[tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], float]] = []
        for depth_index in range(3):
            depth = 1.0 + depth_index
            ridge = _ridge(cw, rng, base=0.55 + 0.12 * depth_index, amp=0.18) * ch
            rows = np.arange(ch)[:, None]
            hard = (rows >= ridge[None, :]).astype(np.float32)
            alpha = np.asarray(cv2.GaussianBlur(hard, (0, 0), 1.2), np.float32)[..., None]
            shade = 0.55 + 0.2 * depth_index
            colour = np.clip(land * shade + horizon * (0.45 - 0.15 * depth_index), 0, 255)
            layers.append((alpha, np.broadcast_to(colour, (ch, cw, 3)).astype(np.float32), depth))
        n_particles = 120 if plan.particles else 0
        px = rng.uniform(0, cw, n_particles)
        py = rng.uniform(0, ch * 0.8, n_particles)
        pr = rng.uniform(1.0, 3.0, n_particles) * w / 640
        title = _title_layer(plan.title, w, h)
        amp = 0.02 * config.motion_range
        direction = -1.0 if rng.random() < 0.5 else 1.0
        n = config.frames_per_motion
        for i in range(config.total_frames):
            u = (i % n) / (n - 1) if config.loop == 1 else (i % n) / n
            s = 0.5 - 0.5 * math.cos(math.pi * u) if config.loop == 1 else math.sin(math.pi * u)
            canvas = sky.copy()
            for alpha, colour, depth in layers:
                dx = direction * amp * s * w / (4 - depth) * 1.5
                m = np.array([[1, 0, dx], [0, 1, 0]], dtype=np.float32)
                a = cv2.warpAffine(alpha, m, (cw, ch), borderMode=cv2.BORDER_REPLICATE)[..., None]
                canvas = canvas * (1 - a) + colour * a
            frame = canvas.astype(np.uint8)
            if n_particles:
                phase = 2 * math.pi * (i % n) / n
                xs = (px + 8 * np.sin(phase + px)) % cw
                ys = (py + 6 * np.cos(phase + py)) % ch
                for x, y, r in zip(xs, ys, pr, strict=True):
                    cv2.circle(
                        frame, (int(x), int(y)), max(1, int(r)), (255, 245, 200), -1, cv2.LINE_AA
                    )
            zoom = 1 + 0.15 * amp * s * 5
            ox, oy = (cw - w / zoom) / 2, (ch - h / zoom) / 2
            m2 = np.array([[zoom, 0, -ox * zoom], [0, zoom, -oy * zoom]], dtype=np.float32)
            out = np.asarray(
                cv2.warpAffine(
                    frame, m2, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
                ),
                np.uint8,
            )
            fade = min(1.0, (i % n) / max(1, n * 0.25)) if config.loop == 1 else 1.0
            out = _blend_title(out, title, fade)
            yield np.ascontiguousarray(out)


def _title_layer(text: str, w: int, h: int) -> npt.NDArray[np.uint8]:
    """RGBA overlay with the prompt set in two lines at most, with a soft shadow."""
    img = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    if not text:
        return np.asarray(img, dtype=np.uint8)
    size = max(14, w // 28)
    font = ImageFont.load_default(size=size)
    draw = ImageDraw.Draw(img)
    words, lines, line = text.split(), [], ""
    for word in words:
        trial = f"{line} {word}".strip()
        if draw.textlength(trial, font=font) > w * 0.85 and line:
            lines.append(line)
            line = word
        else:
            line = trial
    lines.append(line)
    lines = lines[:3]
    y = int(h * 0.12)
    for text_line in lines:
        x = int((w - draw.textlength(text_line, font=font)) / 2)
        draw.text((x + 2, y + 2), text_line, font=font, fill=(0, 0, 0, 140))
        draw.text((x, y), text_line, font=font, fill=(255, 255, 255, 235))
        y += int(size * 1.3)
    return np.asarray(img, dtype=np.uint8)


def _blend_title(frame: npt.NDArray[np.uint8], title: npt.NDArray[np.uint8], fade: float) -> Frame:
    a = title[..., 3:4].astype(np.float32) / 255 * fade
    out = frame.astype(np.float32) * (1 - a) + title[..., :3].astype(np.float32) * a
    return out.astype(np.uint8)
