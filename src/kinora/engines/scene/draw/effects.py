"""Weather and particles: snow, rain, petals, leaves, confetti, bubbles, hearts, glows
(sparkles, twinkling stars, fireflies, fairy dust), and the full-frame fog and lightning.

Each effect is seeded once (``Particles``: positions, phases, sizes, from the plan's seed, the
effect's kind and depth, so adding an effect never moves another's particles) and drawn per
frame on its plane. Every motion is a whole number of cycles per pass (falls wrap around, sways
are sines of t), so loops are seamless. Particles are drawn with cv2 primitives or small glow
patches into their own boxes: nothing loops over pixels in Python. Fairy dust trails the first
subject along its own path (with no subject it drifts on the air); a sleeper's zzz rise from
its head; ripples spread round a swimmer at its waterline; a lighthouse's beam sweeps round
from its lamp.
"""

from __future__ import annotations

import math
import zlib

import cv2
import numpy as np
import numpy.typing as npt

from kinora.engines.geometry.easing import there_and_back
from kinora.engines.scene.animate import pose as subject_pose
from kinora.engines.scene.compose import WATER_NEAR, Color, Effect, ScenePlan, ground_v
from kinora.engines.scene.draw.canvas import Canvas
from kinora.engines.scene.draw.raster import (
    F32,
    U8,
    Mat,
    blend,
    map_point,
    place,
    premultiply,
)
from kinora.engines.scene.shapes import LAMPS
from kinora.engines.scene.vocabulary import IconSet, rasterise

F64 = npt.NDArray[np.float64]

CONFETTI: tuple[Color, ...] = (
    (240, 80, 80),
    (250, 200, 60),
    (80, 170, 240),
    (120, 220, 120),
    (230, 120, 220),
)
GLOW_SIZE = {"twinkle": 2.5, "sparkles": 7.0, "fireflies": 6.0, "fairy dust": 5.0}
"""Base radius of each glowing kind (times the particle's size and the depth's scale)."""


def glow(radius: int, *, star: bool) -> F32:
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


class Glows:
    """Glow patches by size, shape and colour, made once per render (particles share a few
    sizes) and added onto a frame."""

    def __init__(self) -> None:
        self._images: dict[tuple[int, bool, Color], U8] = {}

    def image(self, radius: int, star: bool, colour: Color) -> U8:
        """The glow in a colour, as 8-bit RGB."""
        key = (max(1, radius), star, colour)
        if key not in self._images:
            g = glow(key[0], star=star)[..., None] * np.array(colour, np.float32)
            self._images[key] = np.clip(g + 0.5, 0, 255).astype(np.uint8)
        return self._images[key]

    def add(
        self, out: U8, x: float, y: float, radius: int, colour: Color, k: float, star: bool
    ) -> None:
        """Add the glow, ``k`` times, centred on (x, y) of ``out`` (clipped to it)."""
        g = self.image(radius, star, colour)
        r = g.shape[0] // 2
        xi, yi = round(x), round(y)
        x0, y0, x1, y1 = xi - r, yi - r, xi + r + 1, yi + r + 1
        cx0, cy0, cx1, cy1 = max(0, x0), max(0, y0), min(out.shape[1], x1), min(out.shape[0], y1)
        if cx1 <= cx0 or cy1 <= cy0:
            return
        patch = g[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0]
        roi = out[cy0:cy1, cx0:cx1]
        cv2.addWeighted(roi, 1.0, patch, k, 0.0, dst=roi)


class Particles:
    """One effect of the plan: seeded once, drawn per frame by ``draw``."""

    def __init__(
        self,
        effect: Effect,
        plan: ScenePlan,
        icons: IconSet,
        canvas: Canvas,
        glows: Glows,
        *,
        periodic: bool,
    ) -> None:
        self.effect, self.plan, self.icons, self.canvas = effect, plan, icons, canvas
        self.glows, self.periodic = glows, periodic
        self.state = self._seed()

    def _seed(self) -> dict[str, F64]:
        e, canvas = self.effect, self.canvas
        rng = np.random.default_rng(
            [self.plan.seed, zlib.crc32(e.kind.encode()), int(e.depth * 10)]
        )
        n = e.count
        st: dict[str, F64] = {
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
            st["fog"] = cv2.resize(fog, (canvas.w * 2, canvas.h)).astype(np.float64)
        return st

    def draw(self, out: U8, hm: Mat, t: float) -> None:
        """Draw the effect at time t onto ``out``, through its plane's homography ``hm``."""
        kind = self.effect.kind
        if kind == "fog":
            self._fog(out, t)
        elif kind == "lightning":
            self._lightning(out, hm, t)
        elif kind == "zzz":
            self._zzz(out, hm, t)
        elif kind == "beam":
            self._beam(out, hm, t)
        elif kind == "ripples":
            self._ripples(out, hm, t)
        else:
            self._particles(out, hm, t)

    def _zzz(self, out: U8, hm: Mat, t: float) -> None:
        """Three z's rising from the sleeper's head, growing and fading, one after another."""
        sub = self.plan.subjects[self.effect.subject]
        p = subject_pose(sub.path, t, periodic=self.periodic)
        head_u = p.u + 0.25 * sub.height * self.canvas.h / self.canvas.w * p.facing
        head_v = p.v - sub.height * 0.75
        x0, y0, scale = map_point(hm, *self.canvas.xy(head_u, head_v))
        size = sub.height * self.canvas.h * scale
        icon = premultiply(rasterise(self.icons, "zzz", max(8, int(size * 0.5))))
        for j in range(self.effect.count):
            age = (t * 2 + j / self.effect.count) % 1.0  # two rises per pass: seamless loops
            k = (0.45 + 0.55 * age) * icon.shape[0]
            fade = math.sin(math.pi * age)
            x = x0 + age * size * 0.45 * p.facing
            y = y0 - age * size * 0.9
            m = np.array([[k / icon.shape[0], 0, x - k / 2], [0, k / icon.shape[0], y - k / 2]])
            place(out, np.asarray(icon * fade, np.uint8), m)

    def _ripples(self, out: U8, hm: Mat, t: float) -> None:
        """Rings spreading on the water round a swimmer at its waterline (flat ellipses,
        growing and fading, one after another), so it is seen to be in the water."""
        sub = self.plan.subjects[self.effect.subject]
        p = subject_pose(sub.path, t, periodic=self.periodic)
        x, y, scale = map_point(hm, *self.canvas.xy(p.u, ground_v(WATER_NEAR)))
        half = 0.5 * sub.height * self.canvas.h * scale
        n = self.effect.count
        # A tight box (the rings are flat): the widest ring and its thickness, no more.
        bw, bh = int(half * 2.0) + 4, int(half * 0.28) + 4
        x0, y0 = round(x) - bw, round(y) - bh
        # Clipped to the frame; the rings are drawn in the box's own coordinates.
        cx0, cy0 = max(0, x0), max(0, y0)
        cx1, cy1 = min(out.shape[1], x0 + 2 * bw), min(out.shape[0], y0 + 2 * bh)
        if cx1 <= cx0 or cy1 <= cy0:
            return
        layer = np.zeros((cy1 - cy0, cx1 - cx0, 4), np.uint8)
        c = self.effect.colour
        for j in range(n):
            age = (t * 3 + j / n) % 1.0  # three waves a pass: seamless loops
            rx = half * (0.7 + 1.3 * age)
            alpha = int(200 * (1.0 - age) ** 1.5)
            if alpha < 8:
                continue
            cv2.ellipse(
                layer,
                (x0 + bw - cx0, y0 + bh - cy0),
                (max(1, int(rx)), max(1, int(rx * 0.14))),
                0,
                0,
                360,
                (*c, alpha),
                max(1, int(half * 0.05)),
                cv2.LINE_AA,
            )
        blend(out, premultiply(layer), cx0, cy0)

    def _beam(self, out: U8, hm: Mat, t: float) -> None:
        """The lamp's glow and its beam turning round once per pass: seen from the side it
        swings out to one side, shortens as it points at the camera (a flare), then to the
        other side."""
        sub = self.plan.subjects[self.effect.subject]
        lx, ly = LAMPS.get(sub.icon, (0.5, 0.1))
        p = subject_pose(sub.path, t, periodic=self.periodic)
        lamp_u = p.u + (lx - 0.5) * sub.height * self.canvas.h / self.canvas.w
        lamp_v = p.v - sub.height * (1 - ly)
        x, y, scale = map_point(hm, *self.canvas.xy(lamp_u, lamp_v))
        theta = 2 * math.pi * t
        reach = math.cos(theta)
        facing = max(0.0, math.sin(theta))
        length = abs(reach) * self.canvas.w * 0.55 * scale
        half = 0.05 * self.canvas.h * scale
        if length > 2:
            d = 1.0 if reach > 0 else -1.0
            polys = [
                np.array(
                    [
                        [x, y - half * 0.12],
                        [x + d * length, y - half * spread],
                        [x + d * length, y + half * spread],
                        [x, y + half * 0.12],
                    ]
                )
                for spread in (1.6, 1.0, 0.5)
            ]
            # Only the beam's box of the frame is touched.
            h, w = out.shape[:2]
            xa, ya = np.floor(polys[0].min(axis=0)).astype(int)
            xb, yb = np.ceil(polys[0].max(axis=0)).astype(int) + 1
            xa, ya, xb, yb = max(0, xa), max(0, ya), min(w, xb), min(h, yb)
            if xb > xa and yb > ya:
                light = np.zeros((yb - ya, xb - xa), np.uint8)
                for poly, level in zip(polys, (40, 70, 110), strict=True):
                    shifted = (poly - (xa, ya)).astype(np.int32)
                    cv2.fillPoly(light, [shifted], level, cv2.LINE_AA)
                tint = np.array(self.effect.colour, np.float32) / 255.0
                add = np.asarray(cv2.merge([light] * 3) * tint, np.uint8)
                cv2.add(out[ya:yb, xa:xb], add, dst=out[ya:yb, xa:xb])
        rad = max(2, int(0.03 * self.canvas.h * scale * (1 + 2.5 * facing)))
        self.glows.add(out, x, y, rad, self.effect.colour, 0.7 + 0.6 * facing, True)

    def _fog(self, out: U8, t: float) -> None:
        """A blurred band of fog drifting sideways and back once per pass."""
        canvas, e = self.canvas, self.effect
        fog = self.state["fog"]
        shift = int(there_and_back(t) * canvas.w * 0.3)
        a = fog[:, shift : shift + canvas.w].astype(np.float32)
        fill = np.full((canvas.h, canvas.w, 3), e.colour, np.uint8)
        out[:] = cv2.blendLinear(fill, out, a, 1.0 - a)

    def _lightning(self, out: U8, hm: Mat, t: float) -> None:
        """Three flashes per pass, each with the seeded bolt drawn on its plane."""
        flash = 0.0
        for c, wdt in ((0.3, 0.025), (0.36, 0.015), (0.72, 0.02)):
            flash = max(flash, 1.0 - abs(t - c) / wdt)
        if flash > 0:
            bolt = self.state["bolt"]
            pts = np.array([self.canvas.xy(float(a), float(b)) for a, b in bolt])
            hp = hm @ np.vstack([pts.T, np.ones(len(pts))])
            xy = (hp[:2] / hp[2]).T.astype(np.int32)
            white = np.full_like(out, 255)
            out[:] = cv2.addWeighted(out, 1 - 0.35 * flash, white, 0.35 * flash, 0)
            lw = max(2, self.canvas.h // 150)
            cv2.polylines(out, [xy], False, (255, 255, 235), lw, cv2.LINE_AA)

    def _positions(self, t: float) -> tuple[F64, F64, F64 | None]:
        """Rest-view (u, v) of every particle at time t, and for fairy dust how bright each
        grain still is (it fades with its age along the subject's trail)."""
        e, st, plan = self.effect, self.state, self.plan
        tau = 2 * math.pi
        kind = e.kind
        ph = st["phase"]
        u, v = st["u"].copy(), st["v"].copy()
        intensity = None
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
        elif kind == "fairy dust" and e.subject < 0:
            u = u + 0.03 * np.sin(tau * (st["k"] * t + ph))
            v = (v - 0.3 * t) % 1.0
        elif kind == "fairy dust":
            s = plan.subjects[e.subject]
            age = (np.arange(e.count) / e.count) * 0.4
            tt = t - age
            if self.periodic:
                tt = tt % 1.0
            us, vs = [], []
            for ti in tt:
                p = subject_pose(s.path, float(max(0.0, ti)), periodic=self.periodic)
                us.append(p.u)
                vs.append(p.v - (s.height * 0.4 if s.grounded else 0.0))
            u = np.array(us) + 0.03 * st["jit"][:, 0] + 0.02 * np.sin(tau * (st["k"] * t + ph))
            v = np.array(vs) + 0.03 * st["jit"][:, 1] + 0.25 * age
            alive = (t - age >= 0) | self.periodic
            intensity = (1.0 - age / 0.4) * alive
        return u, v, intensity

    def _particles(self, out: U8, hm: Mat, t: float) -> None:
        """Every particle at time t, sized by the plane's scale and the effect's depth."""
        e, st, canvas = self.effect, self.state, self.canvas
        tau = 2 * math.pi
        kind = e.kind
        ph = st["phase"]
        u, v, intensity = self._positions(t)
        pts = np.vstack([canvas.mx + u * canvas.w, canvas.my + v * canvas.h, np.ones(len(u))])
        hp = hm @ pts
        xs, ys = hp[0] / hp[2], hp[1] / hp[2]
        _, _, cam_scale = map_point(hm, canvas.cw / 2, canvas.ch / 2)
        unit = canvas.h / 360.0 * cam_scale / max(0.5, e.depth) * 1.3
        col: Color = e.colour
        if kind == "snow":
            for x, y, sz in zip(xs, ys, st["size"], strict=True):
                cv2.circle(
                    out, (int(x), int(y)), max(1, int(2.2 * sz * unit)), col, -1, cv2.LINE_AA
                )
        elif kind == "rain":
            ln = 0.045 * canvas.h
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
            for j, (x, y, sz) in enumerate(zip(xs, ys, st["size"], strict=True)):
                ang = (ph[j] * 360 + 360 * st["k"][j] * t) % 360
                pc: Color = CONFETTI[j % len(CONFETTI)] if kind == "confetti" else col
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
            heart = premultiply(rasterise(self.icons, "red-heart", max(8, int(14 * unit))))
            for j, (x, y) in enumerate(zip(xs, ys, strict=True)):
                k = 0.7 + 0.3 * math.sin(tau * (t * 2 + ph[j]))
                hh = heart.shape[0] * k * st["size"][j]
                m = np.array(
                    [[hh / heart.shape[0], 0, x - hh / 2], [0, hh / heart.shape[0], y - hh / 2]]
                )
                place(out, heart, m)
        else:  # glows: sparkles, twinkle, fireflies, fairy dust
            star = kind in ("sparkles", "twinkle", "fairy dust")
            base = GLOW_SIZE[kind]
            for j, (x, y, sz) in enumerate(zip(xs, ys, st["size"], strict=True)):
                tw = 0.5 + 0.5 * math.sin(tau * (st["k"][j] * t * 2 + ph[j]))
                if intensity is not None:  # fairy dust fading along its trail
                    tw = float(intensity[j]) * (0.6 + 0.4 * tw)
                elif kind == "sparkles":
                    tw = tw**2
                if tw < 0.05:
                    continue
                rad = max(2, int(base * sz * unit * (0.6 + 0.4 * tw)))
                self.glows.add(out, x, y, rad, col, tw * 1.1, star)
