"""Subjects: an icon rasterised once as a sprite, then placed per frame by its pose.

The sprite is rasterised a little larger than it appears (and larger still by the move's cover
zoom), so the camera's push-in never magnifies it past its pixels. It is recoloured when the
prompt names a colour, lit and hazed like the scenery at its depth, and anchored at its feet
(grounded subjects, which also get a soft shadow) or its centre (flyers and swimmers). Per
frame the subject's pose (``scene/animate.py``) is mapped through its plane's homography and
the sprite drawn with one affine warp into its bounding box; the shadow stays on the ground
and fades as the subject lifts off it.

An action the icon is not drawn in changes the sprite itself (``draw/poses.py``): a sleeper
lies down with its eyes shut, a flying bird beats its wings (a few frames of one beat, picked
per frame by the pose's flap phase).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from kinora.engines.scene.animate import Pose
from kinora.engines.scene.compose import COLOURS, Color, ScenePlan, Subject
from kinora.engines.scene.draw import poses
from kinora.engines.scene.draw.canvas import Canvas
from kinora.engines.scene.draw.raster import (
    U8,
    Mat,
    haze_amount,
    map_point,
    place,
    premultiply,
    tint,
)
from kinora.engines.scene.vocabulary import IconSet, Kind, rasterise

FLAPPERS = frozenset({Kind.BIRD, Kind.FLYER})
"""Kinds whose flight is a wing beat (the pose's squash); an aircraft or a balloon glides."""


@dataclass
class Sprite:
    subject: Subject
    image: U8
    """Premultiplied RGBA."""
    anchor: tuple[float, float]
    """Pixel of the sprite that sits on the path point (feet, or centre for flyers)."""
    content_h: float
    """Height of the icon's drawn part, in sprite pixels (what ``subject.height`` sizes)."""
    shadow: U8 | None
    """Premultiplied RGBA ellipse drawn on the ground under grounded subjects."""
    beats: tuple[U8, ...] = ()
    """Premultiplied frames of one wing beat (a flying bird), the same size as ``image``;
    empty when the subject has one drawing."""


def recolour(rgba: U8, colour: Color) -> U8:
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


def make_sprite(
    s: Subject, plan: ScenePlan, icons: IconSet, canvas: Canvas, *, cover_zoom: float
) -> Sprite:
    """The subject's sprite, anchor and shadow (see the module docstring)."""
    px = max(8, round(s.height * canvas.h * 1.25 * (1 + cover_zoom)))
    img = np.array(rasterise(icons, s.icon, px))
    if s.colour:
        img = recolour(img, COLOURS[s.colour])
    alpha = img[..., 3]
    ys, xs = np.nonzero(alpha > 24)
    if len(ys) == 0:
        ys, xs = np.array([0, px - 1]), np.array([0, px - 1])
    # Sized by the icon as drawn: a sleeper lying down is lower, not scaled back up.
    content_h = float(ys.max() - ys.min() + 1)
    if s.verb == "sleep" and s.path.amplitude > 0:
        img, _ = poses.lie_down(img)
        img, _ = poses.close_eyes(img)
    frames: list[U8] = []
    margin = 0
    if s.verb == "fly" and s.kind == Kind.BIRD:
        frames, margin = poses.wing_beat(img, faces_right=s.faces_right)
        img = frames[0]
    lit = [
        tint(f, light=plan.palette.light, haze=plan.palette.far, amount=haze_amount(s.depth))
        for f in (frames or [img])
    ]
    img = lit[0]
    cx = (xs.min() + xs.max()) / 2 + margin
    bottom = float(ys.max()) + margin
    anchor = (float(cx), bottom if s.grounded else (ys.min() + ys.max()) / 2 + margin)
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
        shadow = premultiply(sh_img)
    beats = tuple(premultiply(f) for f in lit) if frames else ()
    return Sprite(s, premultiply(img), anchor, content_h, shadow, beats)


def draw_sprite(out: U8, sp: Sprite, hm: Mat, p: Pose, canvas: Canvas) -> None:
    """Draw a sprite (and its shadow) at pose ``p``, through the homography ``hm`` of the
    subject's plane: sized by the plane's local scale where it stands, flipped to face its
    way, turned by the pose's angle and the subject's own tilt, squashed by sx and sy."""
    s = sp.subject
    x, y = canvas.xy(p.u, p.v)
    ox, oy, cam_scale = map_point(hm, x, y)
    k = s.height * canvas.h * p.scale * cam_scale / max(1.0, sp.content_h)
    if sp.shadow is not None:
        gx, gy = canvas.xy(p.u, s.path.v)
        sx_, sy_, _ = map_point(hm, gx, gy)
        fade = max(0.25, 1.0 - p.lift * 4)
        sh = sp.shadow
        ks = k * fade
        m = np.array([[ks, 0, sx_ - ks * sh.shape[1] / 2], [0, ks, sy_ - ks * sh.shape[0] / 2]])
        place(out, sh, m)
    flip = -1.0 if (p.facing > 0) != (s.faces_right or s.tilt != 0) else 1.0
    ang = math.radians(p.angle)
    ca, sa = math.cos(ang), math.sin(ang)
    rot = np.array([[ca, sa], [-sa, ca]])
    tilt = math.radians(-s.tilt)
    rt = np.array([[math.cos(tilt), math.sin(tilt)], [-math.sin(tilt), math.cos(tilt)]])
    # Wing-beat frames flap by themselves; an aircraft does not flap at all.
    sy = p.sy if not sp.beats and (s.verb != "fly" or s.kind in FLAPPERS) else 1.0
    lin = rot @ np.diag([k * p.sx * flip, k * sy]) @ rt
    ax, ay = sp.anchor
    offset = np.array([ox, oy]) - lin @ np.array([ax, ay])
    image = sp.beats[int(p.flap * len(sp.beats)) % len(sp.beats)] if sp.beats else sp.image
    place(out, image, np.hstack([lin, offset[:, None]]))
