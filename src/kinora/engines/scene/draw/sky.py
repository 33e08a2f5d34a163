"""The sky and the clouds: what lies behind every other layer.

The sky is one opaque canvas-sized image on the farthest plane (the renderer warps it per
frame); its parts come in a fixed order because they share one seeded stream (stars, nebulae,
light rays, then where the sun sits). The sun's or moon's glow is smooth, so it is computed on
a quarter-size grid and only the disc is drawn at full resolution. Clouds are bands like any
scenery (``band.Band``), built here because they are sky-coloured and weather-coloured.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from kinora.engines.scene.compose import OVERCAST, Layer, ScenePlan
from kinora.engines.scene.draw.band import Band
from kinora.engines.scene.draw.canvas import Canvas
from kinora.engines.scene.draw.raster import U8

Floats = npt.NDArray[np.floating[Any]]

RAINBOW: tuple[tuple[int, int, int], ...] = (
    (230, 60, 60),
    (245, 150, 50),
    (245, 220, 70),
    (80, 190, 90),
    (70, 130, 230),
    (140, 80, 200),
)


def paint_sky(plan: ScenePlan, canvas: Canvas) -> U8:
    """The sky for the whole canvas, RGB: gradient, stars, nebulae (space), light rays
    (underwater), sun or moon with its glow, and a rainbow or the northern lights when the
    weather has them."""
    p = plan.palette
    cw, ch = canvas.cw, canvas.ch
    v = (np.arange(ch, dtype=np.float32) - canvas.my) / canvas.h
    t = np.clip(v / 0.6, 0, 1) ** 1.3
    top, hor = np.array(p.sky_top, np.float32), np.array(p.sky_horizon, np.float32)
    col = top[None] * (1 - t[:, None]) + hor[None] * t[:, None]
    if plan.setting == "underwater":
        col = top[None] * (1 - np.clip(v, 0, 1)[:, None]) + hor[None] * np.clip(v, 0, 1)[:, None]
    sky = np.ascontiguousarray(np.broadcast_to(col[:, None, :], (ch, cw, 3))).astype(np.float32)
    rng = np.random.default_rng(plan.seed + 1)
    if p.stars:
        n = int(cw * ch / 2500)
        xs, ys = rng.integers(0, cw, n), rng.integers(0, int(ch * 0.75), n)
        b = rng.uniform(0.4, 1.0, n)
        sky[ys, xs] = np.maximum(sky[ys, xs], (255 * b)[:, None])
    if plan.setting == "space":
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
    if plan.setting == "underwater":
        yy, xx = np.mgrid[:ch, :cw].astype(np.float32)
        for k in range(6):  # light rays from the surface
            x0 = rng.uniform(0, cw)
            slope = rng.uniform(-0.4, 0.4)
            d = np.abs(xx - (x0 + slope * yy))
            width = rng.uniform(0.02, 0.05) * cw
            ray = np.exp(-((d / width) ** 2)) * np.clip(1 - yy / ch, 0, 1) * 0.25
            sky += ray[..., None] * 255 * (0.5 + 0.1 * k / 6)
    if p.sun:
        sky = _sun(sky, plan, canvas, col)
    if "rainbow" in plan.weather:
        sky = _rainbow(sky, canvas)
    if "aurora" in plan.weather and not OVERCAST & set(plan.weather):
        sky = _aurora(sky, canvas, rng)
    return np.ascontiguousarray(np.clip(sky, 0, 255).astype(np.uint8))


def _sun(sky: Floats, plan: ScenePlan, canvas: Canvas, col: Floats) -> Floats:
    """The sun or moon (with a crescent shadow in the sky's own colour) and its glow; low on
    the horizon at sunset and dawn."""
    p = plan.palette
    cw, ch = canvas.cw, canvas.ch
    cx, cy = canvas.xy(p.sun_u, 0.2)
    if plan.time in ("sunset", "dawn"):
        cy = canvas.xy(0, 0.47)[1]
    rad = 0.07 * canvas.h
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
    return sky


def _rainbow(sky: Floats, canvas: Canvas) -> Floats:
    """Six translucent arcs centred below the horizon."""
    cw, ch = canvas.cw, canvas.ch
    cx, cy = canvas.xy(0.5, 0.75)
    yy, xx = np.ogrid[:ch, :cw]
    rr = np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2).astype(np.float32) / canvas.h
    for k, c in enumerate(RAINBOW):
        r0 = 0.62 - k * 0.03
        ab = np.clip(1 - np.abs(rr - r0) / 0.016, 0, 1).astype(np.float32) * 0.55
        sky = sky * (1 - ab[..., None]) + np.array(c, np.float32) * ab[..., None]
    return sky


def paint_clouds(
    layer: Layer,
    plan: ScenePlan,
    canvas: Canvas,
    *,
    base_v: float,
    spread: float,
    n: int,
    big: bool = False,
) -> Band:
    """``n`` clouds of blurred puffs on a flat base, from ``base_v`` down to ``base_v +
    spread``; ``big`` makes a cloud bank whose underside fills down to the canvas bottom (the
    "above the clouds" floor). Grey in rain and storms, whiter when cloudy, tinted by the
    light and a fifth of the horizon colour so they sit in their sky."""
    cw, ch = canvas.cw, canvas.ch
    rng = np.random.default_rng(layer.seed)
    mask = np.zeros((ch, cw), np.float32)
    for _ in range(n):
        u = rng.uniform(-0.1, 1.1)
        v = base_v + rng.uniform(0, spread)
        cx, cy = canvas.xy(u, v)
        size = (rng.uniform(0.05, 0.09) if not big else rng.uniform(0.08, 0.16)) * canvas.h
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
        cy = int(canvas.my + min(0.99, base_v + spread) * canvas.h)
        mask[cy:] = 1.0
    mask = np.asarray(cv2.GaussianBlur(mask, (0, 0), max(1.0, canvas.h / 300)), np.float32)
    ys = np.nonzero(mask.max(1) > 0.01)[0]
    y0 = int(ys.min()) if len(ys) else 0
    weather = set(plan.weather)
    colour = np.array(layer.colour, np.float32)
    if {"rain", "storm"} & weather:
        colour = np.array((150, 155, 165), np.float32)
    elif "cloudy" in weather:
        colour = np.array((225, 228, 235), np.float32)
    colour = colour * np.array(plan.palette.light, np.float32)
    colour = colour * 0.8 + np.array(plan.palette.sky_horizon, np.float32) * 0.2
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
    return Band(layer.depth, img, y0)


def _aurora(sky: Floats, canvas: Canvas, rng: np.random.Generator) -> Floats:
    """The northern lights: two wavy curtains, green at their sharp lower hem fading to violet
    upwards, with vertical rays. Smooth, so computed on a quarter-size grid and upsampled."""
    cw, ch = canvas.cw, canvas.ch
    f = 4
    gw, gh = -(-cw // f), -(-ch // f)
    x = (np.arange(gw, dtype=np.float32) * f - canvas.mx) / canvas.w
    y = ((np.arange(gh, dtype=np.float32) * f - canvas.my) / canvas.h)[:, None]
    green, violet = np.array((90, 255, 160), np.float32), np.array((170, 90, 230), np.float32)
    light = np.zeros((gh, gw, 3), np.float32)
    for k in range(2):
        ph = rng.uniform(0, 2 * np.pi, 3)
        hem = (
            0.32
            - 0.1 * k
            + 0.06 * np.sin(2 * np.pi * 0.9 * x + ph[0])
            + 0.025 * np.sin(2 * np.pi * 2.3 * x + ph[1])
        )[None, :]
        above = hem - y  # > 0 above the hem
        a = np.where(above > 0, np.exp(-above / 0.14), np.exp(-((above / 0.015) ** 2)))
        rays = 0.65 + 0.35 * np.sin(2 * np.pi * 11 * x + ph[2]) ** 2
        a = (a * rays[None, :] * (0.55 - 0.15 * k)).astype(np.float32)
        mix = np.clip(above / 0.25, 0, 1)[..., None]
        light += a[..., None] * (green * (1 - mix) + violet * mix)
    big = cv2.resize(light, (gw * f, gh * f))[:ch, :cw]
    return sky + big * 0.8
