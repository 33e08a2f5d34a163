"""Scenery bands: everything between the sky and the subjects, one band per plan layer.

Most layers are a *ridge*: a band filled below a per-column top line (smooth noise for hills
and dunes, sharp noise for mountains, flat for ground, road and water), anti-aliased and
shaded darker with depth. Icons (trees, houses, cacti, a castle...) are *stamped* along a
layer's ground line, far ones first, tinted by the light and hazed with depth. Each layer
kind has its own method, and every method seeds its own stream from ``layer.seed``, so a
layer looks the same whatever else is in the scene. Clouds are drawn by ``sky.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from kinora.engines.scene.compose import (
    CLIFF_V,
    INDOOR,
    SILL_V,
    Color,
    Layer,
    ScenePlan,
    ground_v,
)
from kinora.engines.scene.draw.band import Band
from kinora.engines.scene.draw.canvas import MARGIN, Canvas
from kinora.engines.scene.draw.raster import F32, U8, haze_amount, over, tint
from kinora.engines.scene.draw.sky import paint_clouds
from kinora.engines.scene.vocabulary import IconSet, rasterise


def paint_band(layer: Layer, plan: ScenePlan, icons: IconSet, canvas: Canvas) -> Band:
    """The band of one (non-sky) layer of the plan, in straight alpha on the canvas."""
    return SceneryPainter(plan, icons, canvas).band(layer)


INDOOR_KINDS = ("wall", "sill", "floor")
TREES = frozenset({"evergreen-tree", "deciduous-tree", "palm-tree"})


def snow_capped(icon: U8) -> U8:
    """A tree under snow: its upper parts whitened, most at the top, so falling snow and the
    trees it falls on agree."""
    h = icon.shape[0]
    ramp = np.clip(1.0 - np.arange(h, dtype=np.float32) / (0.75 * h), 0, 1)[:, None, None]
    rgb = icon[..., :3].astype(np.float32)
    white = np.array((244, 248, 255), np.float32)
    out = icon.copy()
    out[..., :3] = np.clip(rgb + (white - rgb) * (0.25 + 0.5 * ramp), 0, 255).astype(np.uint8)
    return out


def _mix_c(a: Color, b: Color, t: float) -> Color:
    return (
        round(a[0] + (b[0] - a[0]) * t),
        round(a[1] + (b[1] - a[1]) * t),
        round(a[2] + (b[2] - a[2]) * t),
    )


def _light(plan: ScenePlan, colour: tuple[int, ...]) -> tuple[int, int, int]:
    """A colour under the room's light (indoor lamps: dimmed much less than outside)."""
    k = [0.55 + 0.45 * c for c in plan.palette.light]
    return (
        min(255, int(colour[0] * k[0])),
        min(255, int(colour[1] * k[1])),
        min(255, int(colour[2] * k[2])),
    )


def smooth_noise(n: int, rng: np.random.Generator, *, octaves: int, sharp: bool = False) -> F32:
    """``n`` samples in [0, 1] of a few octaves of random sines (``sharp``: folded into
    peaks, for mountain ridges)."""
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


@dataclass(frozen=True)
class SceneryPainter:
    """Builds scenery bands for one plan on one canvas (see the module docstring)."""

    plan: ScenePlan
    icons: IconSet
    canvas: Canvas

    def band(self, layer: Layer) -> Band:
        kind = layer.kind
        if kind == "clouds":
            return paint_clouds(
                layer, self.plan, self.canvas, base_v=0.08, spread=0.3, n=int(layer.density)
            )
        if kind == "cloudbank":
            base_v = min(0.98, ground_v(layer.depth))
            return paint_clouds(
                layer, self.plan, self.canvas, base_v=base_v, spread=0.06, n=14, big=True
            )
        if kind == "planets":
            return self._planets(layer)
        if kind in ("hills", "ground", "sand", "street", "seabed", "dunes"):
            return self._ground(layer)
        if kind == "trees":
            return self._trees(layer)
        if kind == "mountains":
            return self._mountains(layer)
        if kind in ("skyline", "buildings"):
            return self._city(layer)
        if kind == "road":
            return self._road(layer)
        if kind in ("water", "waves"):
            return self._water(layer)
        if kind == "foreground":
            return self._foreground(layer)
        if kind == "cliff":
            return self._cliff(layer)
        if kind == "wall":
            return self._wall(layer)
        if kind == "sill":
            return self._sill(layer)
        if kind == "floor":
            return self._floor(layer)
        return self.ridge(layer, np.full(self.canvas.cw, ground_v(layer.depth), np.float32))

    # -- the layer kinds ------------------------------------------------------------------
    def _planets(self, layer: Layer) -> Band:
        canvas = self.canvas
        band = Band(layer.depth, np.zeros((canvas.ch, canvas.cw, 4), np.uint8), 0)
        for name, (pu, pv, size) in zip(
            layer.props, [(0.2, 0.28, 0.26), (0.82, 0.18, 0.12)], strict=False
        ):
            if name in self.icons:
                px = int(size * canvas.h)
                x, y = canvas.xy(pu, pv)
                over(
                    band.image,
                    rasterise(self.icons, name, px),
                    int(x - px / 2),
                    int(y - px / 2),
                )
        return band

    def _ground(self, layer: Layer) -> Band:
        """Hills, dunes, ground, sand, street and seabed: a gentle ridge with props."""
        kind, cw = layer.kind, self.canvas.cw
        rng = np.random.default_rng(layer.seed)
        gv = ground_v(layer.depth)
        amp = {"hills": 0.07, "dunes": 0.05}.get(kind, 0.012)
        noise = smooth_noise(cw, rng, octaves=3 if kind != "dunes" else 2)
        head = 0.0
        if layer.props:
            head = 0.75 / layer.depth if kind != "seabed" else 0.45 / layer.depth
            head = max(head, 0.5 if "castle" in layer.props else 0.0)
        band = self.ridge(layer, gv - 0.01 - amp * noise, headroom=head)
        if kind == "seabed":
            n = int(10 * layer.density)
            self.stamp(band, layer, count=n, height=0.3 / layer.depth, at_v=gv + 0.005)
        elif kind in ("ground", "sand", "street"):
            n = max(1, int(10 * layer.density))
            self.stamp(band, layer, count=n, height=0.5 / layer.depth, at_v=gv, avoid_centre=True)
        elif layer.props:
            n = max(1, int(12 * layer.density))
            height = (0.62 if "castle" in layer.props else 0.45) / layer.depth
            if "castle" in layer.props:
                height = 0.4
            self.stamp(band, layer, count=n, height=height, at_v=gv - 0.01 - amp * 0.5)
        return band

    def _trees(self, layer: Layer) -> Band:
        rng = np.random.default_rng(layer.seed)
        gv = ground_v(layer.depth)
        noise = smooth_noise(self.canvas.cw, rng, octaves=3)
        band = self.ridge(layer, gv - 0.02 * noise, headroom=1.0 / layer.depth)
        n = int(14 * layer.density * (1 + 2 * MARGIN))
        self.stamp(band, layer, count=n, height=0.7 / layer.depth, at_v=gv, jitter=0.01)
        return band

    def _mountains(self, layer: Layer) -> Band:
        """Sharp ridges with snow caps on the higher peaks."""
        canvas = self.canvas
        rng = np.random.default_rng(layer.seed)
        gv = ground_v(layer.depth)
        noise = smooth_noise(canvas.cw, rng, octaves=4, sharp=True)
        amp = 0.24 if layer.depth > 10 else 0.16
        top = gv - 0.01 - amp * noise
        band = self.ridge(layer, top)
        cap = top + amp * 0.3
        rows = np.arange(band.y0, canvas.ch, dtype=np.float32)[:, None]
        capy = canvas.my + cap * canvas.h
        snow = np.clip((capy[None, :] - rows) / 3.0, 0, 1) * (noise[None, :] > 0.45)
        white = np.array((250, 252, 255), np.float32) * np.array(
            self.plan.palette.light, np.float32
        )
        rgb = band.image[..., :3].astype(np.float32)
        rgb = rgb * (1 - snow[..., None] * 0.85) + white * snow[..., None] * 0.85
        band.image[..., :3] = np.clip(rgb, 0, 255).astype(np.uint8)
        return band

    def _road(self, layer: Layer) -> Band:
        """A strip of road (clear below its near edge) with a dashed centre line."""
        canvas = self.canvas
        cw = canvas.cw
        road_top, bottom = ground_v(1.15), ground_v(0.86)
        band = self.ridge(layer, np.full(cw, road_top, np.float32))
        y_bot = int(canvas.my + bottom * canvas.h) - band.y0
        band.image[y_bot:, :, 3] = 0
        band.opaque_y = None
        y_mid = int(canvas.my + ground_v(1.0) * canvas.h) - band.y0
        lw = max(1, int(canvas.h * 0.006))
        dash = max(4, int(canvas.w * 0.05))
        for x in range(0, cw, 2 * dash):
            cv2.rectangle(
                band.image, (x, y_mid - lw), (x + dash, y_mid + lw), (235, 235, 225, 255), -1
            )
        return band

    def _water(self, layer: Layer) -> Band:
        """Water (flat, from the horizon down) or waves (near the bottom), with glints."""
        canvas = self.canvas
        kind, cw = layer.kind, canvas.cw
        u = (np.arange(cw, dtype=np.float32) - canvas.mx) / canvas.w
        rng = np.random.default_rng(layer.seed)
        gv = ground_v(layer.depth)
        if kind == "waves":
            amp = 0.012 * layer.density
            wave = amp * np.sin(u * 2 * math.pi * 6 + rng.uniform(0, 6)).astype(np.float32)
            band = self.ridge(layer, 0.93 + wave - (layer.density - 1) * 0.02)
        else:
            band = self.ridge(layer, np.full(cw, gv - 0.004, np.float32))
        # Glints: short light strokes, denser near the horizon.
        hi = np.clip(np.array(layer.colour, np.float32) * 1.35 + 30, 0, 255)
        hi = hi * np.array(self.plan.palette.light, np.float32)
        bh = band.image.shape[0]
        coverage = band.image[..., 3].copy()
        for _ in range(int(60 * cw / 1000)):
            x = int(rng.uniform(0, cw))
            y = int(rng.uniform(0, bh))
            ln = int(rng.uniform(0.01, 0.04) * canvas.w / max(0.6, layer.depth / 2))
            cv2.line(
                band.image,
                (x, y),
                (x + ln, y),
                (*[int(c) for c in hi], 255),
                max(1, int(canvas.h / 500)),
            )
        if kind == "water":  # the near waves are magnified by the camera: no strokes there
            self._glitter_path(band, layer, rng)
        # Strokes only where there is water: one above the waves' crest was the band's top
        # row, which the warp replicates upwards (a light block over the sea).
        band.image[..., 3] = coverage
        band.image[..., 3] = (
            np.where(
                np.arange(bh)[:, None] < int(canvas.my + gv * canvas.h) - band.y0 - 1,
                band.image[..., 3] * 0,
                band.image[..., 3],
            )
            if kind == "water"
            else band.image[..., 3]
        )
        return band

    def _glitter_path(self, band: Band, layer: Layer, rng: np.random.Generator) -> None:
        """The sun's or moon's reflection: a column of bright strokes on the water under it,
        warm at sunset and dawn, silver under the moon."""
        p, canvas = self.plan.palette, self.canvas
        if not p.sun or self.plan.setting in INDOOR:
            return
        colour = (255, 236, 200) if p.sun == "moon" else (255, 200, 120)
        if p.sun == "sun" and p.warmth == 0:
            colour = (255, 250, 235)
        cx = canvas.xy(p.sun_u, 0)[0]
        bh = band.image.shape[0]
        lw = max(1, int(canvas.h / 400))
        for _ in range(int(90 * canvas.w / 1000)):
            y = int(rng.uniform(0, bh))
            spread = 0.02 + 0.07 * y / max(1, bh)
            x = int(cx + rng.normal(0, spread) * canvas.w)
            ln = int(rng.uniform(0.01, 0.03) * canvas.w)
            cv2.line(band.image, (x - ln // 2, y), (x + ln // 2, y), (*colour, 255), lw)

    def _foreground(self, layer: Layer) -> Band:
        """Grass blades along the bottom edge, with props kept off the centre."""
        canvas = self.canvas
        cw = canvas.cw
        u = (np.arange(cw, dtype=np.float32) - canvas.mx) / canvas.w
        rng = np.random.default_rng(layer.seed)
        noise = smooth_noise(cw, rng, octaves=4)
        blades = 0.015 * np.abs(np.sin(u * 2 * math.pi * 90 + rng.uniform(0, 6))) ** 3
        band = self.ridge(
            layer, np.asarray(0.965 - 0.03 * noise - blades, np.float32), headroom=0.2
        )
        self.stamp(
            band,
            layer,
            count=int(14 * layer.density),
            height=0.16,
            at_v=1.03,
            avoid_centre=True,
            jitter=0.01,
        )
        return band

    def _city(self, layer: Layer) -> Band:
        """A skyline (far) or buildings (near): boxes of seeded widths and heights with
        windows, lit warm at night (and in neon), pale blue by day."""
        canvas, plan = self.canvas, self.plan
        cw = canvas.cw
        gv = ground_v(layer.depth)
        rng = np.random.default_rng(layer.seed)
        top = np.full(cw, 2.0, np.float32)
        x = 0
        rects = []
        near = layer.kind == "buildings"
        while x < cw:
            bw = int(rng.uniform(0.05, 0.11 if near else 0.07) * canvas.w)
            bh = rng.uniform(0.1, 0.32 if near else 0.24)
            top[x : x + bw] = gv - bh
            rects.append((x, bw, gv - bh))
            x += bw + int(rng.uniform(0, 0.01) * canvas.w)
        top = np.minimum(top, gv + 0.01)
        band = self.ridge(layer, top)
        night = plan.time in ("night", "dusk") or plan.style == "neon"
        lit = (255, 220, 130, 255) if night else (200, 225, 245, 255)
        dark = (*tuple(int(c * 0.7) for c in layer.colour), 255)
        for x0, bw, tv in rects:
            shade = float(rng.uniform(0.85, 1.1))
            y_top = int(canvas.my + tv * canvas.h) - band.y0
            y_bot = int(canvas.my + gv * canvas.h) - band.y0
            px = band.image[min(band.image.shape[0] - 1, y_top + 2), min(cw - 1, x0 + 1), :3]
            col = (*tuple(int(min(255, c * shade)) for c in px), 255)
            cv2.rectangle(band.image, (x0, y_top), (x0 + bw - 1, y_bot), col, -1)
            ww = max(2, int(bw / 7))
            wh = max(2, int(canvas.h * (0.016 if near else 0.01)))
            for wy in range(y_top + wh, y_bot - wh, 2 * wh):
                for wx in range(x0 + ww, x0 + bw - ww, 2 * ww):
                    on = rng.random() < (0.55 if night else 0.9)
                    cv2.rectangle(
                        band.image, (wx, wy), (wx + ww - 1, wy + wh - 1), lit if on else dark, -1
                    )
        return band

    def window(self) -> tuple[float, float, float, float]:
        """The window's opening in the rest view (u0, v0, u1, v1): wide and centred over the
        sill when the subject sits on it, else a smaller one to the side of the room."""
        if self.plan.setting == "windowsill":
            return (0.27, 0.1, 0.73, SILL_V - 0.005)
        return (0.6, 0.16, 0.86, 0.52)

    def _cliff(self, layer: Layer) -> Band:
        """A sea cliff on the left of the frame: a grassy plateau (where a lighthouse
        stands) dropping steeply to the water, with rock strata."""
        canvas = self.canvas
        cw = canvas.cw
        rng = np.random.default_rng(layer.seed)
        u = (np.arange(cw, dtype=np.float32) - canvas.mx) / canvas.w
        noise = smooth_noise(cw, rng, octaves=4)
        edge = 0.44 + 0.02 * float(rng.uniform(-1, 1))
        drop = np.clip((u - edge) / 0.07, 0, 1) ** 1.6
        top = CLIFF_V - 0.012 * noise + drop * (1.2 - CLIFF_V)
        top_v = np.asarray(np.where(u > edge + 0.07, 3.0, top), np.float32)
        band = self.ridge(layer, top_v, headroom=0.02)
        band.opaque_y = None
        img = band.image
        rows = np.arange(band.y0, canvas.ch, dtype=np.float32)[:, None]
        top_y = canvas.my + top_v * canvas.h
        depth_in = rows - top_y[None, :]
        # Strata: darker wavy lines across the rock face.
        strata = 0.5 + 0.5 * np.sin(rows / (0.035 * canvas.h) * 2 * math.pi + noise[None, :] * 3)
        rgb = img[..., :3].astype(np.float32) * (0.88 + 0.12 * strata[..., None])
        # The grass cap: a strip below the plateau's edge.
        light = np.array(self.plan.palette.light, np.float32)
        grass = np.array(_mix_c(self.plan.palette.ground, (60, 120, 60), 0.4), np.float32) * light
        cap = ((depth_in >= 0) & (depth_in < 0.025 * canvas.h) & (drop[None, :] < 0.35))[..., None]
        rgb = np.where(cap, grass, rgb)
        img[..., :3] = np.clip(rgb, 0, 255).astype(np.uint8)
        return band

    def _wall(self, layer: Layer) -> Band:
        """The room's back wall, covering the frame, with a framed window cut through it to
        the sky and scenery behind (so the weather and the time of day show outside)."""
        canvas = self.canvas
        cw = canvas.cw
        top = np.full(cw, -MARGIN - 0.01, np.float32)
        band = self.ridge(layer, top)
        img = band.image
        # A gentle wallpaper stripe and a darker top (lamp light falls off upwards).
        xs = np.arange(cw, dtype=np.float32)
        stripe = 0.97 + 0.03 * (np.sin(xs / (0.03 * canvas.w) * 2 * math.pi) > 0.6)
        rows = np.arange(band.y0, canvas.ch, dtype=np.float32)
        fall = 0.85 + 0.15 * np.clip((rows - canvas.my) / (0.7 * canvas.h), 0, 1)
        base = np.array(layer.colour, np.float32)
        rgb = base[None, None, :] * fall[:, None, None] * stripe[None, :, None]
        img[..., :3] = np.clip(rgb, 0, 255).astype(np.uint8)
        u0, v0, u1, v1 = self.window()
        x0, y0 = (int(c) for c in canvas.xy(u0, v0))
        x1, y1 = (int(c) for c in canvas.xy(u1, v1))
        y0 -= band.y0
        y1 -= band.y0
        f = max(2, int(0.018 * canvas.h))
        frame_col = (*_light(self.plan, (248, 246, 240)), 255)
        cv2.rectangle(img, (x0 - f, y0 - f), (x1 + f, y1 + f), frame_col, -1)
        # The glass: mostly clear, faintly tinted, so the world behind shows through.
        img[y0:y1, x0:x1] = (210, 225, 240, 28)
        xm, ym = (x0 + x1) // 2, (y0 + y1) // 2
        bar = max(1, f // 2)
        cv2.rectangle(img, (xm - bar, y0), (xm + bar, y1), frame_col, -1)
        cv2.rectangle(img, (x0, ym - bar), (x1, ym + bar), frame_col, -1)
        band.opaque_y = band.y0 + y1 + f + 2
        return band

    def _sill(self, layer: Layer) -> Band:
        """The windowsill: a ledge under the window, a lit top face over a shaded front."""
        canvas = self.canvas
        u0, _, u1, v1 = self.window()
        cw = canvas.cw
        u = (np.arange(cw, dtype=np.float32) - canvas.mx) / canvas.w
        inside = (u > u0 - 0.05) & (u < u1 + 0.05)
        top = np.where(inside, v1 - 0.004, 3.0).astype(np.float32)
        band = self.ridge(layer, top)
        band.opaque_y = None
        img = band.image
        y_face = int(canvas.my + (v1 + 0.012) * canvas.h) - band.y0
        y_bot = int(canvas.my + (v1 + 0.05) * canvas.h) - band.y0
        img[max(0, y_bot) :, :, 3] = 0
        front = (*_light(self.plan, tuple(int(c * 0.8) for c in layer.colour)), 255)
        cols = np.flatnonzero(inside)
        if len(cols):
            cv2.rectangle(img, (int(cols[0]), y_face), (int(cols[-1]), y_bot - 1), front, -1)
        return band

    def _floor(self, layer: Layer) -> Band:
        """Wooden floor boards from the skirting board down, with a few props at the sides."""
        canvas = self.canvas
        cw = canvas.cw
        band = self.ridge(layer, np.full(cw, 0.8, np.float32), headroom=0.25)
        img = band.image
        y_top = int(canvas.my + 0.8 * canvas.h) - band.y0
        skirt = max(2, int(0.025 * canvas.h))
        cv2.rectangle(
            img, (0, y_top), (cw, y_top + skirt), (*_light(self.plan, (240, 236, 226)), 255), -1
        )
        line = (*tuple(int(c * 0.8) for c in layer.colour), 255)
        y, gap = float(y_top + skirt), 0.03 * canvas.h
        while y < img.shape[0]:
            cv2.line(img, (0, int(y)), (cw, int(y)), line, max(1, canvas.h // 300))
            y += gap
            gap *= 1.25  # boards widen towards the viewer
        self.stamp(band, layer, count=4, height=0.3, at_v=0.97, avoid_centre=True)
        return band

    # -- the pieces ---------------------------------------------------------------------
    def ridge(self, layer: Layer, top_v: F32, *, headroom: float = 0.0) -> Band:
        """A band filled below ``top_v`` (per canvas column) in the layer's colour,
        anti-aliased, gently shaded.

        ``headroom`` (fraction of frame height) keeps room above the ridge for stamped props.
        """
        canvas = self.canvas
        cw, ch = canvas.cw, canvas.ch
        top_y = canvas.my + top_v * canvas.h
        y0 = int(max(0, math.floor(float(top_y.min()) - headroom * canvas.h) - 2))
        rows = np.arange(y0, ch, dtype=np.float32)[:, None]
        alpha = np.clip(rows - top_y[None, :] + 0.5, 0, 1)
        depth_fade = np.clip((rows - top_y[None, :]) / (0.25 * canvas.h), 0, 1)
        light = np.array(self.plan.palette.light, np.float32)
        if layer.kind in INDOOR_KINDS:
            light = 0.55 + 0.45 * light  # a room is lit by its lamps: it dims less at night
        base = np.array(layer.colour, np.float32) * light
        shade = 1.0 - 0.18 * depth_fade
        rgb = base[None, None, :] * shade[..., None]
        img = np.zeros((ch - y0, cw, 4), np.uint8)
        img[..., :3] = np.clip(rgb, 0, 255).astype(np.uint8)
        img[..., 3] = (alpha * 255).astype(np.uint8)
        return Band(layer.depth, img, y0, math.ceil(float(top_y.max())) + 2)

    def stamp(
        self,
        band: Band,
        layer: Layer,
        *,
        count: int,
        height: float,
        at_v: float,
        avoid_centre: bool = False,
        jitter: float = 0.02,
    ) -> None:
        """Stamp ``count`` of the layer's props (seeded picks, sizes and heights) along the
        line ``at_v``, across the canvas and its margins; ``avoid_centre`` keeps the middle
        clear for the subject."""
        if not layer.props:
            return
        canvas, plan = self.canvas, self.plan
        rng = np.random.default_rng(layer.seed + 7)
        names = [n for n in layer.props if n in self.icons]
        if not names:
            return
        haze = haze_amount(layer.depth)
        snowy = "snow" in plan.weather or plan.setting == "snowfield"
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
            px = max(6, int(height * scale * canvas.h))
            icon = rasterise(self.icons, name, px)
            if snowy and name in TREES:
                icon = snow_capped(icon)
            icon = tint(icon, light=plan.palette.light, haze=plan.palette.far, amount=haze)
            x, y = canvas.xy(u, at_v + dv)
            over(band.image, icon, int(x - px / 2), int(y - px * 0.97) - band.y0)
