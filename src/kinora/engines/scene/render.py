"""Drawing a scene plan: layers rasterised once, then per frame a few warps and small blends.

Each scenery layer is an RGBA band on a canvas larger than the frame; per frame it is warped
by the exact homography of its plane for the camera pose (camera.py) into only the rows it
covers, and blended with cv2. Subjects are icons rasterised once; per frame each is placed by
one ``warpAffine`` into its own bounding box. Particles are drawn in small boxes too. Nothing
loops over pixels in Python, so a 720p frame costs a few milliseconds of OpenCV.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import cv2
import numpy as np
import numpy.typing as npt

from kinora.engines.base import Frame, RenderConfig
from kinora.engines.geometry.camera import (
    CameraMove,
    CameraPose,
    frame_times,
    intrinsics,
    plan_move,
    plane_homography,
    with_cover_zoom,
)
from kinora.engines.geometry.camera import pose as camera_pose
from kinora.engines.geometry.warp import perspective_map, remap, warp_perspective
from kinora.engines.scene.animate import Pose
from kinora.engines.scene.animate import pose as subject_pose
from kinora.engines.scene.compose import COLOURS, Color, Effect, Layer, ScenePlan, Subject, ground_v
from kinora.engines.scene.vocabulary import IconSet, rasterise

U8 = npt.NDArray[np.uint8]
F32 = npt.NDArray[np.float32]
Mat = npt.NDArray[np.float64]

MARGIN = 0.18
REPLICATE = cv2.BORDER_REPLICATE
STRIP = 256
"""Width in output pixels of the strips a band's ridge is drawn in."""


@dataclass
class _Band:
    depth: float
    image: U8
    """RGBA rows [y0, canvas height) of the canvas."""
    y0: int
    opaque_y: int | None = None
    """Canvas row from which the band is opaque in every column (None: never)."""
    x0: int = 0
    """Canvas column of the image's first column (bands are cropped to what they draw)."""
    wide: tuple[bool, bool] = (True, True)
    """Does the band reach the canvas's left / right side (then it extends past it)?"""
    col_top: npt.NDArray[np.intp] = field(default_factory=lambda: np.zeros(0, np.intp))
    """Per image column, the first row that draws (the image's height where none does)."""
    col_bottom: npt.NDArray[np.intp] = field(default_factory=lambda: np.zeros(0, np.intp))
    """Per image column, one past the last row that draws (0 where none does)."""

    def crop_to_content(self, canvas_width: int) -> None:
        """Keep only the box that draws, plus two clear pixels where the box does not reach
        the image's edge: the warp replicates border pixels outwards, so clear margins keep
        the outside clear, and sides that do reach the edge keep extending as before."""
        alpha = self.image[..., 3]
        rows = np.flatnonzero(alpha.max(axis=1))
        cols = np.flatnonzero(alpha.max(axis=0))
        if len(rows) == 0:
            self.image = self.image[:1, :1]
            self.y0, self.x0, self.wide = self.y0 + self.image.shape[0], 0, (False, False)
            return
        h, w = alpha.shape
        top, bottom = max(0, int(rows[0]) - 2), min(h, int(rows[-1]) + 3)
        left = 0 if cols[0] == 0 else max(0, int(cols[0]) - 2)
        right = w if cols[-1] == w - 1 else min(w, int(cols[-1]) + 3)
        self.image = np.ascontiguousarray(self.image[top:bottom, left:right])
        self.y0 += top
        self.x0 = left
        self.wide = (left == 0, right == canvas_width)
        drawn = self.image[..., 3] > 0
        any_drawn = drawn.any(axis=0)
        h = drawn.shape[0]
        self.col_top = np.where(any_drawn, drawn.argmax(axis=0), h)
        self.col_bottom = np.where(any_drawn, h - drawn[::-1].argmax(axis=0), 0)


@dataclass
class _Sprite:
    subject: Subject
    image: U8
    anchor: tuple[float, float]
    """Pixel of the sprite that sits on the path point (feet, or centre for flyers)."""
    content_h: float
    shadow: U8 | None


def _smooth_noise(n: int, rng: np.random.Generator, *, octaves: int, sharp: bool = False) -> F32:
    x = np.linspace(0.0, 1.0, n, dtype=np.float64)
    y = np.zeros(n)
    for o in range(octaves):
        freq = rng.uniform(1.5, 2.5) * 2**o
        phase = rng.uniform(0, 2 * math.pi)
        wave = np.sin(2 * math.pi * freq * x + phase)
        if sharp:
            wave = 1.0 - 2.0 * np.abs(np.sin(math.pi * freq * x + phase))
        y += wave / 1.8**o
    y = (y - y.min()) / max(1e-9, float(y.max() - y.min()))
    return np.asarray(y, dtype=np.float32)


def _tint(rgba: U8, *, light: tuple[float, float, float], haze: Color, amount: float) -> U8:
    rgb = rgba[..., :3].astype(np.float32) * np.array(light, dtype=np.float32)
    rgb = rgb * (1 - amount) + np.array(haze, dtype=np.float32) * amount
    out = np.empty_like(rgba)
    out[..., :3] = np.clip(rgb, 0, 255).astype(np.uint8)
    out[..., 3] = rgba[..., 3]
    return out


def _over(dst: U8, src: U8, x: int, y: int) -> None:
    """Straight-alpha 'over' of src onto RGBA dst at (x, y), clipped."""
    h, w = src.shape[:2]
    x0, y0, x1, y1 = max(0, x), max(0, y), min(dst.shape[1], x + w), min(dst.shape[0], y + h)
    if x1 <= x0 or y1 <= y0:
        return
    s = src[y0 - y : y1 - y, x0 - x : x1 - x].astype(np.float32)
    d = dst[y0:y1, x0:x1].astype(np.float32)
    sa = s[..., 3:4] / 255.0
    da = d[..., 3:4] / 255.0
    oa = sa + da * (1 - sa)
    rgb = (s[..., :3] * sa + d[..., :3] * da * (1 - sa)) / np.maximum(oa, 1e-6)
    dst[y0:y1, x0:x1, :3] = np.clip(rgb, 0, 255).astype(np.uint8)
    dst[y0:y1, x0:x1, 3] = np.clip(oa[..., 0] * 255, 0, 255).astype(np.uint8)


def _premultiply(rgba: U8) -> U8:
    rgba = np.ascontiguousarray(rgba)
    a = cv2.extractChannel(rgba, 3)
    out = cv2.multiply(rgba, cv2.merge((a, a, a, np.full_like(a, 255))), scale=1.0 / 255.0)
    return np.asarray(out, np.uint8)


def _recolour(rgba: U8, colour: Color) -> U8:
    """Turn an icon's saturated parts towards a named colour, keeping its shading."""
    rgb = np.ascontiguousarray(rgba[..., :3])
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV).astype(np.float32)
    target = cv2.cvtColor(np.array([[colour]], dtype=np.uint8), cv2.COLOR_RGB2HSV)[0, 0]
    mask = hsv[..., 1] > 50
    hsv[..., 0] = np.where(mask, float(target[0]), hsv[..., 0])
    if colour in ((245, 245, 250), (35, 35, 45)):  # white / black: drain colour, set value
        hsv[..., 1] *= 0.15
        hsv[..., 2] = hsv[..., 2] * 0.3 + (200.0 if colour[0] > 128 else 20.0) * 0.7
    else:
        hsv[..., 1] = np.where(mask, np.maximum(hsv[..., 1], float(target[1]) * 0.8), hsv[..., 1])
    out = rgba.copy()
    out[..., :3] = cv2.cvtColor(np.clip(hsv, 0, 255).astype(np.uint8), cv2.COLOR_HSV2RGB)
    return out


def _glow(radius: int, *, star: bool) -> F32:
    """An additive glow (0..1), with a four-point star for sparkles."""
    size = 2 * radius + 1
    yy, xx = np.mgrid[-radius : radius + 1, -radius : radius + 1].astype(np.float32) / max(
        1, radius
    )
    r2 = xx * xx + yy * yy
    g = np.exp(-r2 * 9.0)
    if star:
        g = (
            g
            + 0.9 * np.exp(-(np.abs(xx) * 18 + yy * yy * 1.2))
            + 0.9 * np.exp(-(np.abs(yy) * 18 + xx * xx * 1.2))
        )
    g = np.clip(g, 0, 1).astype(np.float32)
    return np.asarray(g.reshape(size, size), np.float32)


class SceneRenderer:
    """Renders one plan at one size with one camera move; ``frames()`` yields them all."""

    def __init__(self, plan: ScenePlan, icons: IconSet, *, config: RenderConfig) -> None:
        self.plan, self.icons, self.config = plan, icons, config
        w, h = config.width, config.height
        self.w, self.h = w, h
        self.mx, self.my = round(MARGIN * w), round(MARGIN * h)
        self.cw, self.ch = w + 2 * self.mx, h + 2 * self.my
        self.focal = float(w)
        self.k_src = intrinsics(self.focal, w / 2 + self.mx, h / 2 + self.my)
        self.k_dst = intrinsics(self.focal, w / 2, h / 2)
        self.rng = np.random.default_rng(plan.seed)
        self.periodic = config.loop > 1
        self.n = config.frames_per_motion
        self.times = frame_times(self.n, periodic=self.periodic)
        self.move = self._camera()
        self.sky = self._sky()
        self.bands = [self._band(layer) for layer in plan.layers if layer.kind != "sky"]
        self.sprites = [self._sprite(s) for s in plan.subjects]
        # Drawn premultiplied from here on: colour and coverage warp together, and
        # compositing is 8-bit (see ``_blend``).
        for band in self.bands:
            band.crop_to_content(self.cw)
            band.image = _premultiply(band.image)
        for sp in self.sprites:
            sp.image = _premultiply(sp.image)
            sp.shadow = None if sp.shadow is None else _premultiply(sp.shadow)
        self._glows: dict[tuple[int, bool, Color], U8] = {}
        self._effect_state = [self._init_effect(e) for e in plan.effects]

    # -- geometry -----------------------------------------------------------------------
    def canvas_xy(self, u: float, v: float) -> tuple[float, float]:
        return self.mx + u * self.w, self.my + v * self.h

    def _pivot(self) -> tuple[float, float, float]:
        if self.plan.subjects:
            s = self.plan.subjects[0]
            u = (s.path.u0 + s.path.u1) / 2
            v = s.path.v - (s.height / 2 if s.grounded else 0.0)
            z = s.depth
        else:
            u, v, z = 0.5, 0.6, 2.0
        x = (u * self.w - self.w / 2) / self.focal * z
        y = (v * self.h - self.h / 2) / self.focal * z
        return (x, y, z)

    def _camera(self) -> CameraMove:
        cfg = self.config
        move = plan_move(
            cfg.camera,
            motion_range=cfg.motion_range,
            seed=cfg.seed,
            periodic=self.periodic,
            pivot=self._pivot(),
            has_subject=bool(self.plan.subjects),
        )
        depths = sorted({layer.depth for layer in self.plan.layers})
        samples = [i / 12 for i in range(13)]
        corners = np.array(
            [[0, 0, 1], [self.w, 0, 1], [0, self.h, 1], [self.w, self.h, 1]], dtype=np.float64
        ).T
        for cz in np.arange(0.0, 0.8, 0.02):
            trial = with_cover_zoom(move, float(cz))
            ok = True
            for t in samples:
                cam = camera_pose(trial, t)
                for d in depths:
                    hm = self._homography(cam, d)
                    src = np.linalg.inv(hm) @ corners
                    src = src[:2] / src[2]
                    if d >= 40:  # the sky must cover the frame
                        bad = src.min() < 0 or (src[0] > self.cw).any() or (src[1] > self.ch).any()
                    else:  # bands: sides and bottom (their tops are transparent anyway)
                        bad = (
                            src[0].min() < 0 or src[0].max() > self.cw or src[1][2:].max() > self.ch
                        )
                    if bad:
                        ok = False
                        break
                if not ok:
                    break
            if ok:
                return trial
        return with_cover_zoom(move, 0.8)

    def _homography(self, cam: CameraPose, depth: float) -> Mat:
        piv = self._pivot()
        zc = (self.focal * piv[0] / piv[2] + self.w / 2, self.focal * piv[1] / piv[2] + self.h / 2)
        return plane_homography(
            cam,
            plane=np.array([0.0, 0.0, 1.0 / depth]),
            k_src=self.k_src,
            k_dst=self.k_dst,
            zoom_center=zc,
        )

    # -- building -----------------------------------------------------------------------
    def _haze(self, depth: float) -> float:
        return float(np.clip((depth - 1.2) / 14.0, 0.0, 0.55))

    def _sky(self) -> U8:
        p = self.plan.palette
        cw, ch = self.cw, self.ch
        v = (np.arange(ch, dtype=np.float32) - self.my) / self.h
        t = np.clip(v / 0.6, 0, 1) ** 1.3
        top, hor = np.array(p.sky_top, np.float32), np.array(p.sky_horizon, np.float32)
        col = top[None] * (1 - t[:, None]) + hor[None] * t[:, None]
        if self.plan.setting == "underwater":
            col = (
                top[None] * (1 - np.clip(v, 0, 1)[:, None]) + hor[None] * np.clip(v, 0, 1)[:, None]
            )
        sky = np.ascontiguousarray(np.broadcast_to(col[:, None, :], (ch, cw, 3))).astype(np.float32)
        rng = np.random.default_rng(self.plan.seed + 1)
        if p.stars:
            n = int(cw * ch / 2500)
            xs, ys = rng.integers(0, cw, n), rng.integers(0, int(ch * 0.75), n)
            b = rng.uniform(0.4, 1.0, n)
            sky[ys, xs] = np.maximum(sky[ys, xs], (255 * b)[:, None])
        if self.plan.setting == "space":
            for _ in range(3):  # nebula glows
                cx, cy = rng.uniform(0, cw), rng.uniform(0, ch)
                rad = rng.uniform(0.2, 0.4) * cw
                colour = np.array(
                    [(120, 60, 200), (40, 120, 200), (200, 60, 140)][int(rng.integers(0, 3))],
                    np.float32,
                )
                yy, xx = np.ogrid[:ch, :cw]
                g = np.exp(-(((xx - cx) ** 2 + (yy - cy) ** 2) / rad**2) * 2.5).astype(np.float32)
                sky += g[..., None] * colour * 0.35
        if self.plan.setting == "underwater":
            yy, xx = np.mgrid[:ch, :cw].astype(np.float32)
            for k in range(6):  # light rays from the surface
                x0 = rng.uniform(0, cw)
                slope = rng.uniform(-0.4, 0.4)
                d = np.abs(xx - (x0 + slope * yy))
                width = rng.uniform(0.02, 0.05) * cw
                ray = np.exp(-((d / width) ** 2)) * np.clip(1 - yy / ch, 0, 1) * 0.25
                sky += ray[..., None] * 255 * (0.5 + 0.1 * k / 6)
        if p.sun:
            cx, cy = self.canvas_xy(0.78 if rng.random() < 0.5 else 0.22, 0.2)
            if self.plan.time in ("sunset", "dawn"):
                cy = self.canvas_xy(0, 0.47)[1]
            rad = 0.07 * self.h
            sun_col = (
                np.array((255, 244, 200), np.float32)
                if p.sun == "sun"
                else np.array((240, 240, 225), np.float32)
            )
            # The glow is smooth: computed on a quarter-size grid and upsampled.
            f = 4
            gy, gx = np.ogrid[: -(-ch // f), : -(-cw // f)]
            r_small = np.sqrt((gx * f + (f - 1) / 2 - cx) ** 2 + (gy * f + (f - 1) / 2 - cy) ** 2)
            glow_small = np.exp(-((r_small / (rad * 4)) ** 2)).astype(np.float32)
            glow = cv2.resize(glow_small, (glow_small.shape[1] * f, glow_small.shape[0] * f))
            glow = glow[:ch, :cw, None] * np.float32(0.5 if p.sun == "sun" else 0.25)
            sky = sky * (1 - glow) + sun_col * glow
            # The disc (and the moon's shadow) only within its box, at full resolution.
            bx0, by0 = max(0, int(cx - rad - 2)), max(0, int(cy - rad - 2))
            bx1, by1 = min(cw, int(cx + rad + 3)), min(ch, int(cy + rad + 3))
            if bx1 > bx0 and by1 > by0:
                yy, xx = np.ogrid[by0:by1, bx0:bx1]
                r = np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2).astype(np.float32)
                disc = np.clip(rad - r + 1, 0, 1)[..., None]
                box = sky[by0:by1, bx0:bx1]
                box = box * (1 - disc) + sun_col * disc
                if p.sun == "moon":  # crescent shadow
                    r2 = np.sqrt((xx - cx - rad * 0.45) ** 2 + (yy - cy + rad * 0.2) ** 2)
                    shade = np.clip(rad * 0.9 - r2 + 1, 0, 1)[..., None] * disc * 0.85
                    box = box * (1 - shade) + col[np.clip(int(cy), 0, ch - 1)] * shade
                sky[by0:by1, bx0:bx1] = box
        if "rainbow" in self.plan.weather:
            cx, cy = self.canvas_xy(0.5, 0.75)
            yy, xx = np.ogrid[:ch, :cw]
            rr = np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2).astype(np.float32) / self.h
            bands = [
                (230, 60, 60),
                (245, 150, 50),
                (245, 220, 70),
                (80, 190, 90),
                (70, 130, 230),
                (140, 80, 200),
            ]
            for k, c in enumerate(bands):
                r0 = 0.62 - k * 0.03
                ab = np.clip(1 - np.abs(rr - r0) / 0.016, 0, 1).astype(np.float32) * 0.55
                sky = sky * (1 - ab[..., None]) + np.array(c, np.float32) * ab[..., None]
        return np.ascontiguousarray(np.clip(sky, 0, 255).astype(np.uint8))

    def _ridge_band(
        self, layer: Layer, top_v: F32, colour: Color, *, headroom: float = 0.0
    ) -> _Band:
        """A band filled below ``top_v`` (per canvas column), anti-aliased, gently shaded.

        ``headroom`` (fraction of frame height) keeps room above the ridge for stamped props.
        """
        cw, ch = self.cw, self.ch
        top_y = self.my + top_v * self.h
        y0 = int(max(0, math.floor(float(top_y.min()) - headroom * self.h) - 2))
        rows = np.arange(y0, ch, dtype=np.float32)[:, None]
        alpha = np.clip(rows - top_y[None, :] + 0.5, 0, 1)
        depth_fade = np.clip((rows - top_y[None, :]) / (0.25 * self.h), 0, 1)
        base = np.array(colour, np.float32) * np.array(self.plan.palette.light, np.float32)
        shade = 1.0 - 0.18 * depth_fade
        rgb = base[None, None, :] * shade[..., None]
        img = np.zeros((ch - y0, cw, 4), np.uint8)
        img[..., :3] = np.clip(rgb, 0, 255).astype(np.uint8)
        img[..., 3] = (alpha * 255).astype(np.uint8)
        return _Band(layer.depth, img, y0, math.ceil(float(top_y.max())) + 2)

    def _stamp(
        self,
        band: _Band,
        layer: Layer,
        *,
        count: int,
        height: float,
        at_v: float,
        avoid_centre: bool = False,
        jitter: float = 0.02,
    ) -> None:
        if not layer.props:
            return
        rng = np.random.default_rng(layer.seed + 7)
        names = [n for n in layer.props if n in self.icons]
        if not names:
            return
        haze = self._haze(layer.depth)
        us = np.sort(rng.uniform(-MARGIN, 1 + MARGIN, count))
        # Far ones first so nearer ones (lower on screen) overlap them.
        items = []
        for u in us:
            if avoid_centre and 0.3 < u < 0.7:
                continue
            dv = float(rng.uniform(-jitter, jitter))
            scale = float(rng.uniform(0.75, 1.2))
            items.append((dv, float(u), scale, names[int(rng.integers(0, len(names)))]))
        items.sort(key=lambda it: it[0])
        for dv, u, scale, name in items:
            px = max(6, int(height * scale * self.h))
            icon = rasterise(self.icons, name, px)
            icon = _tint(
                icon, light=self.plan.palette.light, haze=self.plan.palette.far, amount=haze
            )
            x, y = self.canvas_xy(u, at_v + dv)
            _over(band.image, icon, int(x - px / 2), int(y - px * 0.97) - band.y0)

    def _band(self, layer: Layer) -> _Band:
        cw = self.cw
        u = (np.arange(cw, dtype=np.float32) - self.mx) / self.w
        rng = np.random.default_rng(layer.seed)
        gv = ground_v(layer.depth)
        kind = layer.kind
        if kind == "clouds":
            return self._clouds(layer, base_v=0.08, spread=0.3, n=int(layer.density))
        if kind == "cloudbank":
            return self._clouds(layer, base_v=min(0.98, gv), spread=0.06, n=14, big=True)
        if kind == "planets":
            band = _Band(layer.depth, np.zeros((self.ch, cw, 4), np.uint8), 0)
            for name, (pu, pv, size) in zip(
                layer.props, [(0.2, 0.28, 0.26), (0.82, 0.18, 0.12)], strict=False
            ):
                if name in self.icons:
                    px = int(size * self.h)
                    x, y = self.canvas_xy(pu, pv)
                    _over(
                        band.image,
                        rasterise(self.icons, name, px),
                        int(x - px / 2),
                        int(y - px / 2),
                    )
            return band
        if kind in ("hills", "ground", "sand", "street", "seabed", "dunes"):
            amp = {"hills": 0.07, "dunes": 0.05}.get(kind, 0.012)
            noise = _smooth_noise(cw, rng, octaves=3 if kind != "dunes" else 2)
            head = 0.0
            if layer.props:
                head = 0.75 / layer.depth if kind != "seabed" else 0.45 / layer.depth
                head = max(head, 0.5 if "castle" in layer.props else 0.0)
            band = self._ridge_band(layer, gv - 0.01 - amp * noise, layer.colour, headroom=head)
            if kind == "seabed":
                n = int(10 * layer.density)
                self._stamp(band, layer, count=n, height=0.3 / layer.depth, at_v=gv + 0.005)
            elif kind in ("ground", "sand", "street"):
                n = max(1, int(10 * layer.density))
                self._stamp(
                    band, layer, count=n, height=0.5 / layer.depth, at_v=gv, avoid_centre=True
                )
            elif layer.props:
                n = max(1, int(12 * layer.density))
                height = (0.62 if "castle" in layer.props else 0.45) / layer.depth
                if "castle" in layer.props:
                    height = 0.4
                self._stamp(band, layer, count=n, height=height, at_v=gv - 0.01 - amp * 0.5)
            return band
        if kind == "trees":
            noise = _smooth_noise(cw, rng, octaves=3)
            band = self._ridge_band(
                layer, gv - 0.02 * noise, layer.colour, headroom=1.0 / layer.depth
            )
            n = int(14 * layer.density * (1 + 2 * MARGIN))
            self._stamp(band, layer, count=n, height=0.7 / layer.depth, at_v=gv, jitter=0.01)
            return band
        if kind == "mountains":
            noise = _smooth_noise(cw, rng, octaves=4, sharp=True)
            amp = 0.24 if layer.depth > 10 else 0.16
            top = gv - 0.01 - amp * noise
            band = self._ridge_band(layer, top, layer.colour)
            cap = top + amp * 0.3
            rows = np.arange(band.y0, self.ch, dtype=np.float32)[:, None]
            capy = self.my + cap * self.h
            snow = np.clip((capy[None, :] - rows) / 3.0, 0, 1) * (noise[None, :] > 0.45)
            white = np.array((250, 252, 255), np.float32) * np.array(
                self.plan.palette.light, np.float32
            )
            rgb = band.image[..., :3].astype(np.float32)
            rgb = rgb * (1 - snow[..., None] * 0.85) + white * snow[..., None] * 0.85
            band.image[..., :3] = np.clip(rgb, 0, 255).astype(np.uint8)
            return band
        if kind in ("skyline", "buildings"):
            return self._city(layer, gv)
        if kind == "road":
            road_top, bottom = ground_v(1.15), ground_v(0.86)
            band = self._ridge_band(layer, np.full(cw, road_top, np.float32), layer.colour)
            y_bot = int(self.my + bottom * self.h) - band.y0
            band.image[y_bot:, :, 3] = 0
            band.opaque_y = None
            y_mid = int(self.my + ground_v(1.0) * self.h) - band.y0
            lw = max(1, int(self.h * 0.006))
            dash = max(4, int(self.w * 0.05))
            for x in range(0, cw, 2 * dash):
                cv2.rectangle(
                    band.image, (x, y_mid - lw), (x + dash, y_mid + lw), (235, 235, 225, 255), -1
                )
            return band
        if kind in ("water", "waves"):
            if kind == "waves":
                wave = 0.012 * np.sin(u * 2 * math.pi * 6 + rng.uniform(0, 6)).astype(np.float32)
                band = self._ridge_band(layer, 0.93 + wave, layer.colour)
            else:
                band = self._ridge_band(layer, np.full(cw, gv - 0.004, np.float32), layer.colour)
            # Glints: short light strokes, denser near the horizon.
            hi = np.clip(np.array(layer.colour, np.float32) * 1.35 + 30, 0, 255)
            hi = hi * np.array(self.plan.palette.light, np.float32)
            bh = band.image.shape[0]
            for _ in range(int(60 * cw / 1000)):
                x = int(rng.uniform(0, cw))
                y = int(rng.uniform(0, bh) ** 1.0)
                ln = int(rng.uniform(0.01, 0.04) * self.w / max(0.6, layer.depth / 2))
                cv2.line(
                    band.image,
                    (x, y),
                    (x + ln, y),
                    (*[int(c) for c in hi], 255),
                    max(1, int(self.h / 500)),
                )
            band.image[..., 3] = (
                np.where(
                    np.arange(bh)[:, None] < int(self.my + gv * self.h) - band.y0 - 1,
                    band.image[..., 3] * 0,
                    band.image[..., 3],
                )
                if kind == "water"
                else band.image[..., 3]
            )
            return band
        if kind == "foreground":
            noise = _smooth_noise(cw, rng, octaves=4)
            blades = 0.015 * np.abs(np.sin(u * 2 * math.pi * 90 + rng.uniform(0, 6))) ** 3
            band = self._ridge_band(
                layer,
                np.asarray(0.965 - 0.03 * noise - blades, np.float32),
                layer.colour,
                headroom=0.2,
            )
            self._stamp(
                band,
                layer,
                count=int(14 * layer.density),
                height=0.16,
                at_v=1.03,
                avoid_centre=True,
                jitter=0.01,
            )
            return band
        return self._ridge_band(layer, np.full(cw, gv, np.float32), layer.colour)

    def _clouds(
        self, layer: Layer, *, base_v: float, spread: float, n: int, big: bool = False
    ) -> _Band:
        cw, ch = self.cw, self.ch
        rng = np.random.default_rng(layer.seed)
        mask = np.zeros((ch, cw), np.float32)
        for _ in range(n):
            u = rng.uniform(-0.1, 1.1)
            v = base_v + rng.uniform(0, spread)
            cx, cy = self.canvas_xy(u, v)
            size = (rng.uniform(0.05, 0.09) if not big else rng.uniform(0.08, 0.16)) * self.h
            size /= max(0.6, layer.depth / 20) if not big else 1.0
            xs = []
            for _ in range(6):
                ox = rng.uniform(-2.2, 2.2) * size
                oy = rng.uniform(-0.5, 0.3) * size
                r = rng.uniform(0.6, 1.1) * size
                cv2.circle(mask, (int(cx + ox), int(cy + oy)), int(r), 1.0, -1, cv2.LINE_AA)
                xs.append(cx + ox)
            # A flat base under the puffs only (a wider one stuck out as a bare slab).
            cv2.rectangle(
                mask,
                (int(min(xs)), int(cy)),
                (int(max(xs)), int(cy + 0.6 * size)),
                1.0,
                -1,
            )
        if big:
            cy = int(self.my + min(0.99, base_v + spread) * self.h)
            mask[cy:] = 1.0
        mask = np.asarray(cv2.GaussianBlur(mask, (0, 0), max(1.0, self.h / 300)), np.float32)
        ys = np.nonzero(mask.max(1) > 0.01)[0]
        y0 = int(ys.min()) if len(ys) else 0
        weather = set(self.plan.weather)
        colour = np.array(layer.colour, np.float32)
        if {"rain", "storm"} & weather:
            colour = np.array((150, 155, 165), np.float32)
        elif "cloudy" in weather:
            colour = np.array((225, 228, 235), np.float32)
        colour = colour * np.array(self.plan.palette.light, np.float32)
        colour = colour * 0.8 + np.array(self.plan.palette.sky_horizon, np.float32) * 0.2
        m = mask[y0:]
        img = np.zeros((ch - y0, cw, 4), np.uint8)
        # Shade (darker undersides) only around the clouds: the rest of the band is clear.
        cols = np.flatnonzero(m.max(axis=0) > 0)
        if len(cols):
            x0, x1 = max(0, int(cols[0]) - 40), min(cw, int(cols[-1]) + 41)
            part = m[:, x0:x1]
            slope = np.gradient(cv2.GaussianBlur(part, (0, 0), 6), axis=0)
            shade = 1.0 - 0.1 * np.clip(slope * 20, 0, 1)
            rgb = np.clip(colour[None, None] * shade[..., None], 0, 255).astype(np.uint8)
            img[:, x0:x1, :3] = rgb
        img[..., 3] = np.clip(m * (235 if not big else 255), 0, 255).astype(np.uint8)
        return _Band(layer.depth, img, y0)

    def _city(self, layer: Layer, gv: float) -> _Band:
        cw = self.cw
        rng = np.random.default_rng(layer.seed)
        top = np.full(cw, 2.0, np.float32)
        x = 0
        rects = []
        near = layer.kind == "buildings"
        while x < cw:
            bw = int(rng.uniform(0.05, 0.11 if near else 0.07) * self.w)
            bh = rng.uniform(0.1, 0.32 if near else 0.24)
            top[x : x + bw] = gv - bh
            rects.append((x, bw, gv - bh))
            x += bw + int(rng.uniform(0, 0.01) * self.w)
        top = np.minimum(top, gv + 0.01)
        band = self._ridge_band(layer, top, layer.colour)
        night = self.plan.time in ("night", "dusk") or self.plan.style == "neon"
        lit = (255, 220, 130, 255) if night else (200, 225, 245, 255)
        dark = (*tuple(int(c * 0.7) for c in layer.colour), 255)
        for x0, bw, tv in rects:
            shade = float(rng.uniform(0.85, 1.1))
            y_top = int(self.my + tv * self.h) - band.y0
            y_bot = int(self.my + gv * self.h) - band.y0
            px = band.image[min(band.image.shape[0] - 1, y_top + 2), min(cw - 1, x0 + 1), :3]
            col = (*tuple(int(min(255, c * shade)) for c in px), 255)
            cv2.rectangle(band.image, (x0, y_top), (x0 + bw - 1, y_bot), col, -1)
            ww = max(2, int(bw / 7))
            wh = max(2, int(self.h * (0.016 if near else 0.01)))
            for wy in range(y_top + wh, y_bot - wh, 2 * wh):
                for wx in range(x0 + ww, x0 + bw - ww, 2 * ww):
                    on = rng.random() < (0.55 if night else 0.9)
                    cv2.rectangle(
                        band.image, (wx, wy), (wx + ww - 1, wy + wh - 1), lit if on else dark, -1
                    )
        return band

    def _sprite(self, s: Subject) -> _Sprite:
        px = max(8, round(s.height * self.h * 1.25 * (1 + self.move.cover_zoom)))
        img = np.array(rasterise(self.icons, s.icon, px))
        if s.colour:
            img = _recolour(img, COLOURS[s.colour])
        img = _tint(
            img,
            light=self.plan.palette.light,
            haze=self.plan.palette.far,
            amount=self._haze(s.depth),
        )
        alpha = img[..., 3]
        ys, xs = np.nonzero(alpha > 24)
        if len(ys) == 0:
            ys, xs = np.array([0, px - 1]), np.array([0, px - 1])
        cx = (xs.min() + xs.max()) / 2
        bottom = float(ys.max())
        content_h = float(ys.max() - ys.min() + 1)
        anchor = (float(cx), bottom if s.grounded else (ys.min() + ys.max()) / 2)
        shadow = None
        if s.grounded:
            sw = max(4, int(xs.max() - xs.min()))
            sh = max(2, sw // 5)
            sh_img = np.zeros((sh * 3, sw * 2, 4), np.uint8)
            cv2.ellipse(
                sh_img,
                (sw, int(sh * 1.5)),
                (int(sw * 0.45), sh // 2 + 1),
                0,
                0,
                360,
                (0, 0, 0, 110),
                -1,
            )
            sh_img[..., 3] = cv2.GaussianBlur(sh_img[..., 3], (0, 0), max(1.0, sh / 3))
            shadow = sh_img
        return _Sprite(s, img, anchor, content_h, shadow)

    # -- per frame ----------------------------------------------------------------------
    def _blend(self, out: U8, img: U8, x0: int, y0: int) -> None:
        """Composite a premultiplied RGBA image over ``out`` at (x0, y0), in 8-bit."""
        h, w = img.shape[:2]
        if h == 0 or w == 0:
            return
        roi = out[y0 : y0 + h, x0 : x0 + w]
        clear = cv2.bitwise_not(cv2.extractChannel(img, 3))
        back = cv2.multiply(roi, cv2.merge((clear, clear, clear)), scale=1.0 / 255.0)
        cv2.add(cv2.cvtColor(img, cv2.COLOR_RGBA2RGB), back, dst=roi)

    def _opaque_out(self, band: _Band, hm: Mat) -> float:
        """Output row below which the band covers the whole frame width (inf: it never does)."""
        if band.opaque_y is None:
            return math.inf
        pts = hm @ np.array(
            [[0, self.cw], [band.opaque_y, band.opaque_y], [1, 1]], dtype=np.float64
        )
        return float(math.ceil((pts[1] / pts[2]).max())) + 1.0

    def _draw_band(self, out: U8, band: _Band, hm: Mat, cut: float) -> None:
        """Warp and blend a band into the rows it covers above ``cut`` (hidden below it)."""
        shift = np.array([[1, 0, band.x0], [0, 1, band.y0], [0, 0, 1]], dtype=np.float64)
        hb = hm @ shift
        bh, bw = band.image.shape[:2]
        pts = hb @ np.array([[0, bw, 0, bw], [0, 0, bh, bh], [1, 1, 1, 1]], dtype=np.float64)
        if np.any(pts[2] <= 1e-9):
            return
        xs, ys = pts[0] / pts[2], pts[1] / pts[2]
        y0 = int(max(0, math.floor(ys.min())))
        y1 = int(min(self.h, math.ceil(ys.max()), cut))
        x0 = 0 if band.wide[0] else int(max(0, math.floor(xs.min())))
        x1 = self.w if band.wide[1] else int(min(self.w, math.ceil(xs.max()) + 1))
        if y1 <= y0 or x1 <= x0:
            return
        yo = int(min(max(self._opaque_out(band, hm), y0), y1))
        m = perspective_map(hb, (x1 - x0, y1 - y0), origin=(x0, y0))
        if m is None or len(band.col_top) == 0:
            warped = warp_perspective(
                band.image, hb, (x1 - x0, y1 - y0), origin=(x0, y0), border=REPLICATE
            )
            self._blend(out, warped[: yo - y0], x0, y0)
            if y1 > yo:
                out[yo:y1, x0:x1] = cv2.cvtColor(warped[yo - y0 :], cv2.COLOR_RGBA2RGB)
            return
        # Ridge rows blend, strip by strip, each only over the rows where the columns it sees
        # draw something (a band's box is mostly clear above a ragged ridge of props).
        hinv: Mat = np.asarray(np.linalg.inv(hb), np.float64)
        for xa in range(x0, x1, STRIP):
            xb = min(x1, xa + STRIP)
            ya, yb = self._strip_rows(band, hb, hinv, xa, xb, y0, yo)
            if yb > ya:
                part = remap(band.image, m[ya - y0 : yb - y0, xa - x0 : xb - x0], border=REPLICATE)
                self._blend(out, part, xa, ya)
        # The opaque rows below (full width) are a plain copy.
        if y1 > yo:
            part = remap(band.image, m[yo - y0 :], border=REPLICATE)
            out[yo:y1, x0:x1] = cv2.cvtColor(part, cv2.COLOR_RGBA2RGB)

    @staticmethod
    def _strip_rows(
        band: _Band, hb: Mat, hinv: Mat, xa: int, xb: int, y0: int, y1: int
    ) -> tuple[int, int]:
        """Output rows [ya, yb) within [y0, y1) where the band may draw in columns [xa, xb):
        the source columns that strip sees (its corners mapped back), their first and last
        drawn rows, and that box mapped forward (boxes map to convex quads, so corners bound)."""
        bh, bw = band.image.shape[:2]
        src = hinv @ np.array([[xa, xb, xa, xb], [y0, y0, y1, y1], [1, 1, 1, 1]], np.float64)
        if np.any(src[2] <= 1e-9):
            return y0, y1
        sx = src[0] / src[2]
        u0, u1 = math.floor(sx.min()) - 3, math.ceil(sx.max()) + 3
        # Columns past the image's sides repeat its edge columns (replicated border).
        c0, c1 = int(min(bw - 1, max(0, u0))), int(min(bw - 1, max(0, u1)))
        top = int(band.col_top[c0 : c1 + 1].min())
        bottom = int(band.col_bottom[c0 : c1 + 1].max())
        if bottom <= top:
            return y0, y0
        # Drawn rows at the image's edge repeat beyond it (replicated border).
        r0 = -1e6 if top == 0 else top - 1.0
        r1 = 1e6 if bottom == bh else bottom + 1.0
        if r0 < -1e5 and r1 > 1e5:
            return y0, y1
        box = np.array([[u0, u1, u0, u1], [r0, r0, r1, r1], [1, 1, 1, 1]], np.float64)
        dst = hb @ box
        if np.any(dst[2] <= 1e-9):
            return y0, y1
        ys = dst[1] / dst[2]
        return max(y0, math.floor(ys.min()) - 1), min(y1, math.ceil(ys.max()) + 2)

    def _place(self, out: U8, img: U8, m: Mat) -> None:
        """Warp a small RGBA image by the 2x3 affine m into its bounding box and blend."""
        h, w = img.shape[:2]
        corners = m @ np.array([[0, w, 0, w], [0, 0, h, h], [1, 1, 1, 1]], dtype=np.float64)
        x0 = int(max(0, math.floor(corners[0].min())))
        y0 = int(max(0, math.floor(corners[1].min())))
        x1 = int(min(self.w, math.ceil(corners[0].max()) + 1))
        y1 = int(min(self.h, math.ceil(corners[1].max()) + 1))
        if x1 <= x0 or y1 <= y0:
            return
        mr = m.copy()
        mr[0, 2] -= x0
        mr[1, 2] -= y0
        warped: U8 = cv2.warpAffine(  # type: ignore[assignment]
            img,
            mr,
            (x1 - x0, y1 - y0),
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=(0, 0, 0, 0),
        )
        self._blend(out, warped, x0, y0)

    @staticmethod
    def _map(hm: Mat, x: float, y: float) -> tuple[float, float, float]:
        p = hm @ np.array([x, y, 1.0])
        q = hm @ np.array([x + 1.0, y, 1.0])
        r = hm @ np.array([x, y + 1.0, 1.0])
        px, py = p[0] / p[2], p[1] / p[2]
        jx = (q[0] / q[2] - px, q[1] / q[2] - py)
        jy = (r[0] / r[2] - px, r[1] / r[2] - py)
        scale = math.sqrt(abs(jx[0] * jy[1] - jx[1] * jy[0]))
        return px, py, scale

    def subject_pose(self, s: Subject, t: float) -> Pose:
        return subject_pose(s.path, t, periodic=self.periodic)

    def _draw_subject(self, out: U8, sp: _Sprite, hm: Mat, t: float) -> None:
        s = sp.subject
        p = self.subject_pose(s, t)
        x, y = self.canvas_xy(p.u, p.v)
        ox, oy, cam_scale = self._map(hm, x, y)
        k = s.height * self.h * p.scale * cam_scale / max(1.0, sp.content_h)
        if sp.shadow is not None:
            gx, gy = self.canvas_xy(p.u, s.path.v)
            sx_, sy_, _ = self._map(hm, gx, gy)
            fade = max(0.25, 1.0 - p.lift * 4)
            sh = sp.shadow
            ks = k * fade
            m = np.array([[ks, 0, sx_ - ks * sh.shape[1] / 2], [0, ks, sy_ - ks * sh.shape[0] / 2]])
            self._place(out, sh, m)
        flip = -1.0 if (p.facing > 0) != (s.faces_right or s.tilt != 0) else 1.0
        ang = math.radians(p.angle)
        ca, sa = math.cos(ang), math.sin(ang)
        rot = np.array([[ca, sa], [-sa, ca]])
        tilt = math.radians(-s.tilt)
        rt = np.array([[math.cos(tilt), math.sin(tilt)], [-math.sin(tilt), math.cos(tilt)]])
        lin = rot @ np.diag([k * p.sx * flip, k * p.sy]) @ rt
        ax, ay = sp.anchor
        offset = np.array([ox, oy]) - lin @ np.array([ax, ay])
        self._place(out, sp.image, np.hstack([lin, offset[:, None]]))

    def _glow_img(self, radius: int, star: bool, colour: Color) -> U8:
        """The glow in a colour, as 8-bit RGB (cached: particles share a few sizes)."""
        key = (max(1, radius), star, colour)
        if key not in self._glows:
            g = _glow(key[0], star=star)[..., None] * np.array(colour, np.float32)
            self._glows[key] = np.clip(g + 0.5, 0, 255).astype(np.uint8)
        return self._glows[key]

    def _add_glow(
        self, out: U8, x: float, y: float, radius: int, colour: Color, k: float, star: bool
    ) -> None:
        g = self._glow_img(radius, star, colour)
        r = g.shape[0] // 2
        xi, yi = round(x), round(y)
        x0, y0, x1, y1 = xi - r, yi - r, xi + r + 1, yi + r + 1
        cx0, cy0, cx1, cy1 = max(0, x0), max(0, y0), min(self.w, x1), min(self.h, y1)
        if cx1 <= cx0 or cy1 <= cy0:
            return
        patch = g[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0]
        roi = out[cy0:cy1, cx0:cx1]
        cv2.addWeighted(roi, 1.0, patch, k, 0.0, dst=roi)

    def _init_effect(self, e: Effect) -> dict[str, npt.NDArray[np.float64]]:
        rng = np.random.default_rng(
            [self.plan.seed, zlib.crc32(e.kind.encode()), int(e.depth * 10)]
        )
        n = e.count
        st: dict[str, npt.NDArray[np.float64]] = {
            "u": rng.uniform(-0.1, 1.1, n),
            "v": rng.uniform(0.0, 1.0, n),
            "phase": rng.uniform(0, 1, n),
            "k": rng.integers(1, 4, n).astype(np.float64),
            "size": rng.uniform(0.6, 1.4, n),
            "jit": rng.uniform(-1, 1, (n, 2)),
        }
        if e.kind == "twinkle":
            st["v"] = rng.uniform(0.0, 0.45, n)
        if e.kind in ("sparkles",):
            st["u"] = rng.uniform(0.02, 0.98, n)
            st["v"] = rng.uniform(0.15, 0.92, n)
        if e.kind == "fireflies":
            st["v"] = rng.uniform(0.45, 0.9, n)
        if e.kind == "lightning":
            pts = [(rng.uniform(0.3, 0.7), -0.05)]
            while pts[-1][1] < 0.55:
                pts.append(
                    (pts[-1][0] + rng.uniform(-0.05, 0.05), pts[-1][1] + rng.uniform(0.04, 0.09))
                )
            st["bolt"] = np.array(pts)
        if e.kind == "fog":
            noise = np.zeros((64, 256), np.float32)
            noise[:] = rng.uniform(0, 1, (64, 256)).astype(np.float32)
            noise = np.asarray(cv2.GaussianBlur(noise, (0, 0), 6), np.float32)
            noise = (noise - noise.min()) / max(1e-6, float(noise.max() - noise.min()))
            vv = np.linspace(0, 1, 64, dtype=np.float32)[:, None]
            band = np.exp(-(((vv - 0.68) / 0.2) ** 2))
            fog = np.clip(band * (0.35 + 0.45 * noise), 0, 0.75)
            st["fog"] = cv2.resize(fog, (self.w * 2, self.h)).astype(np.float64)
        return st

    def _draw_effect(
        self, out: U8, e: Effect, st: dict[str, npt.NDArray[np.float64]], hm: Mat, t: float, i: int
    ) -> None:
        tau = 2 * math.pi
        kind = e.kind
        ph = st["phase"]
        u, v = st["u"].copy(), st["v"].copy()
        if kind == "fog":
            fog = st["fog"]
            shift = int((0.5 - 0.5 * math.cos(tau * t)) * self.w * 0.3)
            a = fog[:, shift : shift + self.w].astype(np.float32)
            fill = np.full((self.h, self.w, 3), e.colour, np.uint8)
            out[:] = cv2.blendLinear(fill, out, a, 1.0 - a)
            return
        if kind == "lightning":
            flash = 0.0
            for c, wdt in ((0.3, 0.025), (0.36, 0.015), (0.72, 0.02)):
                flash = max(flash, 1.0 - abs(t - c) / wdt)
            if flash > 0:
                bolt = st["bolt"]
                pts = np.array([self.canvas_xy(float(a), float(b)) for a, b in bolt])
                hp = hm @ np.vstack([pts.T, np.ones(len(pts))])
                xy = (hp[:2] / hp[2]).T.astype(np.int32)
                white = np.full_like(out, 255)
                out[:] = cv2.addWeighted(out, 1 - 0.35 * flash, white, 0.35 * flash, 0)
                cv2.polylines(out, [xy], False, (255, 255, 235), max(2, self.h // 150), cv2.LINE_AA)
            return
        if kind == "snow":
            fall = 1.0 if e.depth > 1.5 else 2.0
            v = (v + fall * t) % 1.1 - 0.05
            u = u + 0.02 * np.sin(tau * (st["k"] * t + ph))
        elif kind == "rain":
            v = (v + 4.0 * t) % 1.2 - 0.1
        elif kind in ("petals", "leaves", "confetti"):
            v = (v + (1.0 if kind != "confetti" else 2.0) * t) % 1.1 - 0.05
            u = u + 0.04 * np.sin(tau * (st["k"] * t + ph))
        elif kind in ("bubbles", "hearts"):
            v = 1.05 - ((1.0 - v + (1.0 if kind == "bubbles" else 0.5 * 2) * t) % 1.1)
            u = u + 0.015 * np.sin(tau * (2 * st["k"] * t + ph))
        elif kind == "fireflies":
            u = u + 0.05 * np.sin(tau * (st["k"] * t + ph))
            v = v + 0.04 * np.sin(tau * ((st["k"] % 2 + 1) * t + ph * 1.7))
        elif kind == "fairy dust" and self.plan.subjects:
            s = self.plan.subjects[0]
            age = (np.arange(e.count) / e.count) * 0.4
            tt = t - age
            if self.periodic:
                tt = tt % 1.0
            us, vs = [], []
            for ti in tt:
                p = self.subject_pose(s, float(max(0.0, ti)))
                us.append(p.u)
                vs.append(p.v - (s.height * 0.4 if s.grounded else 0.0))
            u = np.array(us) + 0.03 * st["jit"][:, 0] + 0.02 * np.sin(tau * (st["k"] * t + ph))
            v = np.array(vs) + 0.03 * st["jit"][:, 1] + 0.25 * age
            alive = (t - age >= 0) | self.periodic
            st_int = (1.0 - age / 0.4) * alive
        pts = np.vstack([self.mx + u * self.w, self.my + v * self.h, np.ones(len(u))])
        hp = hm @ pts
        xs, ys = hp[0] / hp[2], hp[1] / hp[2]
        _, _, cam_scale = self._map(hm, self.cw / 2, self.ch / 2)
        unit = self.h / 360.0 * cam_scale / max(0.5, e.depth) * 1.3
        col: Color = e.colour
        if kind == "snow":
            for x, y, sz in zip(xs, ys, st["size"], strict=True):
                cv2.circle(
                    out, (int(x), int(y)), max(1, int(2.2 * sz * unit)), col, -1, cv2.LINE_AA
                )
        elif kind == "rain":
            ln = 0.045 * self.h
            for x, y, sz in zip(xs, ys, st["size"], strict=True):
                cv2.line(
                    out,
                    (int(x), int(y)),
                    (int(x - 0.15 * ln), int(y - ln * sz)),
                    col,
                    max(1, int(unit * 0.7)),
                    cv2.LINE_AA,
                )
        elif kind in ("petals", "leaves", "confetti"):
            palette = [
                (240, 80, 80),
                (250, 200, 60),
                (80, 170, 240),
                (120, 220, 120),
                (230, 120, 220),
            ]
            for j, (x, y, sz) in enumerate(zip(xs, ys, st["size"], strict=True)):
                ang = (ph[j] * 360 + 360 * st["k"][j] * t) % 360
                pc: Color = palette[j % len(palette)] if kind == "confetti" else col
                if kind == "leaves":
                    pc = (230, 130 + int(60 * ph[j]), 40)
                ax = max(1, int(3.2 * sz * unit))
                cv2.ellipse(
                    out, (int(x), int(y)), (ax, max(1, ax // 2)), ang, 0, 360, pc, -1, cv2.LINE_AA
                )
        elif kind == "bubbles":
            for x, y, sz in zip(xs, ys, st["size"], strict=True):
                r = max(2, int(3.5 * sz * unit))
                cv2.circle(out, (int(x), int(y)), r, col, max(1, r // 4), cv2.LINE_AA)
                cv2.circle(
                    out,
                    (int(x - r / 3), int(y - r / 3)),
                    max(1, r // 4),
                    (255, 255, 255),
                    -1,
                    cv2.LINE_AA,
                )
        elif kind == "hearts":
            heart = _premultiply(rasterise(self.icons, "red-heart", max(8, int(14 * unit))))
            for j, (x, y) in enumerate(zip(xs, ys, strict=True)):
                k = 0.7 + 0.3 * math.sin(tau * (t * 2 + ph[j]))
                hh = heart.shape[0] * k * st["size"][j]
                m = np.array(
                    [[hh / heart.shape[0], 0, x - hh / 2], [0, hh / heart.shape[0], y - hh / 2]]
                )
                self._place(out, heart, m)
        else:  # glows: sparkles, twinkle, fireflies, fairy dust
            star = kind in ("sparkles", "twinkle", "fairy dust")
            base = {"twinkle": 2.5, "sparkles": 7.0, "fireflies": 6.0, "fairy dust": 5.0}[kind]
            for j, (x, y, sz) in enumerate(zip(xs, ys, st["size"], strict=True)):
                tw = 0.5 + 0.5 * math.sin(tau * (st["k"][j] * t * 2 + ph[j]))
                if kind == "fairy dust":
                    tw = float(st_int[j]) * (0.6 + 0.4 * tw)
                elif kind == "sparkles":
                    tw = tw**2
                if tw < 0.05:
                    continue
                rad = max(2, int(base * sz * unit * (0.6 + 0.4 * tw)))
                self._add_glow(out, x, y, rad, col, tw * 1.1, star)

    def _style(self, out: U8) -> U8:
        style = self.plan.style
        if style == "pixel":
            f = max(2, self.w // 160)
            small = cv2.resize(out, (self.w // f, self.h // f), interpolation=cv2.INTER_AREA)
            return np.asarray(
                cv2.resize(small, (self.w, self.h), interpolation=cv2.INTER_NEAREST), np.uint8
            )
        if style == "pastel":
            return np.asarray(cv2.addWeighted(out, 0.68, np.full_like(out, 250), 0.32, 0), np.uint8)
        if style == "vintage":
            m = np.array([[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]])
            return np.asarray(cv2.transform(out, m * 0.9), np.uint8)
        if style == "noir":
            g = cv2.cvtColor(out, cv2.COLOR_RGB2GRAY)
            g = cv2.convertScaleAbs(g, alpha=1.25, beta=-25)
            return np.asarray(cv2.cvtColor(g, cv2.COLOR_GRAY2RGB), np.uint8)
        if style == "watercolor":
            if not hasattr(self, "_paper"):
                rng = np.random.default_rng(self.plan.seed + 3)
                paper = rng.normal(0, 1, (self.h // 4 + 1, self.w // 4 + 1)).astype(np.float32)
                paper = np.asarray(
                    cv2.resize(cv2.GaussianBlur(paper, (0, 0), 1.5), (self.w, self.h)), np.float32
                )
                self._paper = np.clip(0.93 + 0.05 * paper, 0.8, 1.0)[..., None].astype(np.float32)
            soft = cv2.bilateralFilter(out, 5, 40, 5) if self.w <= 640 else out
            return np.asarray(np.clip(soft * self._paper + 8, 0, 255), np.uint8)
        if style == "neon":
            return np.asarray(cv2.convertScaleAbs(out, alpha=1.15, beta=-10), np.uint8)
        return out

    def frames(self) -> Iterator[Frame]:
        items: list[tuple[float, int, int]] = []  # depth, kind order, index
        for j, b in enumerate(self.bands):
            items.append((b.depth, 0, j))
        for j, s in enumerate(self.sprites):
            items.append((s.subject.depth - 1e-3, 1, j))
        for j, e in enumerate(self.plan.effects):
            items.append((e.depth - 2e-3, 2, j))
        items.sort(key=lambda it: (-it[0], it[1]))
        for i in range(self.config.total_frames):
            t = self.times[i % self.n]
            cam = camera_pose(self.move, t)
            cache: dict[float, Mat] = {}

            def hmat(d: float, cam: CameraPose = cam, cache: dict[float, Mat] = cache) -> Mat:
                if d not in cache:
                    cache[d] = self._homography(cam, d)
                return cache[d]

            # Occlusion: rows below a nearer opaque band need not be drawn for farther ones.
            opaque = [self._opaque_out(b, hmat(b.depth)) for b in self.bands]
            cuts = [
                min(
                    [o for b2, o in zip(self.bands, opaque, strict=True) if b2.depth < b.depth],
                    default=math.inf,
                )
                for b in self.bands
            ]
            sky_cut = int(min(self.h, min(opaque, default=math.inf)))
            out = np.empty((self.h, self.w, 3), np.uint8)
            hs = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=np.float64) @ hmat(80.0)
            if sky_cut > 0:
                out[:sky_cut] = warp_perspective(self.sky, hs, (self.w, sky_cut), border=REPLICATE)
            for depth, kind, j in items:
                if kind == 0:
                    self._draw_band(out, self.bands[j], hmat(depth), cuts[j])
                elif kind == 1:
                    sp = self.sprites[j]
                    self._draw_subject(out, sp, hmat(sp.subject.depth), t)
                else:
                    e = self.plan.effects[j]
                    self._draw_effect(out, e, self._effect_state[j], hmat(e.depth), t, i)
            yield np.ascontiguousarray(self._style(out))
