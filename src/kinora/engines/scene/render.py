"""Drawing a scene plan: layers rasterised once, then per frame a few warps and small blends.

The painters in ``scene/draw/`` build every layer once on a canvas larger than the frame (the
sky, scenery bands, subject sprites, particle state). This module owns the camera: it resolves
the move (with the least cover zoom that keeps the canvas's edges out of view), gives each
plane its exact homography for the pose at each frame (``geometry/camera.py``), and composes
the layers far to near through it: the sky, then bands (only above the rows a nearer opaque
band hides), subjects and effects at their depths, then the style pass. Nothing loops over
pixels in Python, so a 720p frame costs a few milliseconds of OpenCV.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from kinora.engines.base import Frame, RenderConfig
from kinora.engines.geometry.camera import (
    CameraMove,
    CameraPose,
    fit_cover_zoom,
    frame_times,
    intrinsics,
    plan_move,
    plane_homography,
    with_cover_zoom,
)
from kinora.engines.geometry.camera import pose as camera_pose
from kinora.engines.geometry.warp import warp_perspective
from kinora.engines.scene.animate import Pose
from kinora.engines.scene.animate import pose as subject_pose
from kinora.engines.scene.compose import ScenePlan, Subject
from kinora.engines.scene.draw.band import REPLICATE, draw_band
from kinora.engines.scene.draw.canvas import Canvas
from kinora.engines.scene.draw.effects import Glows, Particles
from kinora.engines.scene.draw.raster import Mat
from kinora.engines.scene.draw.scenery import paint_band
from kinora.engines.scene.draw.sky import paint_sky
from kinora.engines.scene.draw.style import StylePass
from kinora.engines.scene.draw.subjects import draw_sprite, make_sprite
from kinora.engines.scene.vocabulary import IconSet

MAX_COVER_ZOOM = 0.8
"""The most border-hiding zoom a move gets (tried in steps of 0.02); past it borders may show."""


NEAR_PLANE = 0.1
"""Layers nearer the camera than this (scene units; the nearest layer rests at about 0.66)
are behind it, or so near that they would fill the frame with a few pixels: not drawn."""


class SceneRenderer:
    """Renders one plan at one size with one camera move; ``frames()`` yields them all."""

    def __init__(self, plan: ScenePlan, icons: IconSet, *, config: RenderConfig) -> None:
        self.plan, self.icons, self.config = plan, icons, config
        w, h = config.width, config.height
        self.w, self.h = w, h
        self.canvas = canvas = Canvas.around(w, h)
        self.focal = float(w)
        self.k_src = intrinsics(self.focal, w / 2 + canvas.mx, h / 2 + canvas.my)
        self.k_dst = intrinsics(self.focal, w / 2, h / 2)
        self.periodic = config.loop > 1
        self.n = config.frames_per_motion
        self.times = frame_times(self.n, periodic=self.periodic)
        self.move = self._camera()
        self.sky = paint_sky(plan, canvas)
        self.bands = [
            paint_band(layer, plan, icons, canvas) for layer in plan.layers if layer.kind != "sky"
        ]
        cover = self.move.cover_zoom
        self.sprites = [
            make_sprite(s, plan, icons, canvas, cover_zoom=cover) for s in plan.subjects
        ]
        for band in self.bands:  # built in straight alpha; drawn cropped and premultiplied
            band.finish(canvas.cw)
        glows = Glows()
        self.particles = [
            Particles(e, plan, icons, canvas, glows, periodic=self.periodic) for e in plan.effects
        ]
        self.style = StylePass(plan.style, seed=plan.seed, width=w, height=h)

    # -- geometry -----------------------------------------------------------------------
    def canvas_xy(self, u: float, v: float) -> tuple[float, float]:
        """Canvas pixel of the rest-view point (u, v) (fractions of the frame)."""
        return self.canvas.xy(u, v)

    def subject_pose(self, s: Subject, t: float) -> Pose:
        """Where the subject is at time t of a pass (``scene/animate.py``)."""
        return subject_pose(s.path, t, periodic=self.periodic)

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
        """The config's move about the first subject, with the least cover zoom (on a ladder
        of steps, ``fit_cover_zoom``) that keeps every plane's canvas edges out of view."""
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
        cw, ch = self.canvas.cw, self.canvas.ch

        def covers(cover_zoom: float) -> bool:
            """Do the frame's corners stay on every plane's canvas at 13 times of the move?"""
            trial = with_cover_zoom(move, cover_zoom)
            for t in samples:
                cam = camera_pose(trial, t)
                for d in depths:
                    hm = self._homography(cam, d)
                    src = np.linalg.inv(hm) @ corners
                    src = src[:2] / src[2]
                    if d >= 40:  # the sky must cover the frame
                        bad = src.min() < 0 or (src[0] > cw).any() or (src[1] > ch).any()
                    else:  # bands: sides and bottom (their tops are transparent anyway)
                        bad = src[0].min() < 0 or src[0].max() > cw or src[1][2:].max() > ch
                    if bad:
                        return False
            return True

        fitted = fit_cover_zoom(move, covers, limit=MAX_COVER_ZOOM, steps=40, search="ladder")
        return fitted if fitted is not None else with_cover_zoom(move, MAX_COVER_ZOOM)

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

    # -- per frame ----------------------------------------------------------------------
    def frames(self) -> Iterator[Frame]:
        canvas = self.canvas
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

            # A strong dolly can carry the camera past the nearest layers: those are behind it
            # (their homography's sign flips, so they would claim rows they never draw).
            near = float(cam.position[2]) + NEAR_PLANE
            # Occlusion: rows below a nearer opaque band need not be drawn for farther ones.
            opaque = [
                b.opaque_row(hmat(b.depth), canvas.cw) if b.depth > near else math.inf
                for b in self.bands
            ]
            cuts = [
                min(
                    [o for b2, o in zip(self.bands, opaque, strict=True) if b2.depth < b.depth],
                    default=math.inf,
                )
                for b in self.bands
            ]
            sky_cut = int(min(self.h, min(opaque, default=math.inf)))
            # Zeroed, not empty: a move the cover zoom could not fully hide (a strong crane or
            # dolly past the nearest layer) shows black there, never the buffer's old contents.
            out = np.zeros((self.h, self.w, 3), np.uint8)
            hs = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=np.float64) @ hmat(80.0)
            if sky_cut > 0:
                out[:sky_cut] = warp_perspective(self.sky, hs, (self.w, sky_cut), border=REPLICATE)
            for depth, kind, j in items:
                if depth <= near:
                    continue  # behind the camera (items are far to near: all that follow too)
                if kind == 0:
                    draw_band(out, self.bands[j], hmat(depth), cuts[j], canvas_width=canvas.cw)
                elif kind == 1:
                    sp = self.sprites[j]
                    pose = self.subject_pose(sp.subject, t)
                    draw_sprite(out, sp, hmat(sp.subject.depth), pose, canvas)
                else:
                    e = self.plan.effects[j]
                    self.particles[j].draw(out, hmat(e.depth), t)
            yield np.ascontiguousarray(self.style(out))
