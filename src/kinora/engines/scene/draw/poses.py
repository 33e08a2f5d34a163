"""Poses an icon does not have: changing a whole-sprite icon so it shows the prompt's action.

The icons are single drawings (a cat standing, an owl perched), so an action that needs another
pose is made from the drawing itself, once per render, on the straight-alpha RGBA sprite:

- **lying down** (sleep): the legs, found as the rows under the body where the silhouette is
  thin (gaps between legs), are folded under it (squashed to a sliver), so a standing cat
  becomes a cat lying on its belly; an icon with no legs (a face) is left as drawn;
- **closed eyes** (sleep): the eyes, found as small dark blobs inside the silhouette (a pair
  level with each other, or the single one of a profile), are painted over with the colour
  around them and drawn as a closed lid (a dark downward arc);
- **wing beats** (fly): a few frames of one wing beat. An icon drawn with spread wings (an
  eagle, a dove, a bat) has the part above its body folded down and up again; a bird drawn
  perched (an owl, a parrot) gets wings built from shapes in its own darker colour, beating
  from its shoulders.

Everything is found from the pixels, so it applies to any icon of the kind, not to a list.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from kinora.engines.scene.draw.raster import U8

WING_FRAMES = 8
"""Frames of one wing beat drawn ahead (the pose's flap phase picks one per video frame)."""


def _content_box(alpha: U8) -> tuple[int, int, int, int] | None:
    ys, xs = np.nonzero(alpha > 24)
    if len(ys) == 0:
        return None
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def _runs(row: np.ndarray) -> int:
    """How many separate solid runs a row of the silhouette has (gaps of 2 px or more)."""
    r = row.astype(np.int8)
    return int((np.diff(r) == 1).sum() + r[0])


def leg_rows(rgba: U8) -> tuple[int, int] | None:
    """The rows (top, bottom) of the legs: the rows at the bottom of the silhouette that are
    cut into separate runs (legs with air between them), up to the belly, where the
    silhouette becomes one run. None when the bottom is whole (a face, a fish, a bed, a
    rabbit's outlined feet) or the legs are short."""
    box = _content_box(rgba[..., 3])
    if box is None:
        return None
    x0, y0, x1, y1 = box
    solid = cv2.morphologyEx(
        (rgba[y0:y1, x0:x1, 3] > 128).astype(np.uint8), cv2.MORPH_CLOSE, np.ones((1, 3), np.uint8)
    )
    h = y1 - y0
    top, whole = h, 0
    for y in range(h - 1, -1, -1):
        if _runs(solid[y]) >= 2:
            top, whole = y, 0
        else:
            whole += 1
            if whole > max(3, h // 40):
                break
    legs = h - top
    if legs < 0.12 * h or legs > 0.6 * h:
        return None
    return y0 + top, y1


def lie_down(rgba: U8, *, fold: float = 0.22) -> tuple[U8, bool]:
    """The icon lying on its belly: its legs (``leg_rows``) squashed to ``fold`` of their
    height under the body, the body lowered onto them. Returns the image (same size, content
    standing on the same bottom row) and whether it had legs to fold."""
    rows = leg_rows(rgba)
    if rows is None:
        return rgba, False
    top, bottom = rows
    h_legs = bottom - top
    folded = max(1, round(h_legs * fold))
    out = np.zeros_like(rgba)
    shift = h_legs - folded
    out[shift : top + shift] = rgba[:top]  # the body moves down by what the legs lost
    legs = cv2.resize(rgba[top:bottom], (rgba.shape[1], folded), interpolation=cv2.INTER_AREA)
    out[top + shift : top + shift + folded] = legs
    return np.ascontiguousarray(out), True


def _eye_blobs(rgba: U8) -> list[tuple[int, int, int, int, int]]:
    """Candidate eyes: small compact dark blobs (x, y, w, h, area) wholly inside the
    silhouette, in its upper three quarters."""
    box = _content_box(rgba[..., 3])
    if box is None:
        return []
    bx0, by0, bx1, by1 = box
    ch = by1 - by0
    area_ref = float((bx1 - bx0) * ch)
    rgb = rgba[..., :3].astype(np.float32)
    luma = 0.3 * rgb[..., 0] + 0.59 * rgb[..., 1] + 0.11 * rgb[..., 2]
    dark = ((luma < 75) & (rgba[..., 3] > 200)).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(dark, connectivity=8)
    inside = rgba[..., 3] > 200
    found: list[tuple[int, int, int, int, int]] = []
    for i in range(1, n):
        x, y, w, h, area = (int(v) for v in stats[i])
        if not (0.0004 * area_ref <= area <= 0.03 * area_ref):
            continue
        if max(w, h) > 2.6 * min(w, h) or area < 0.45 * w * h:
            continue  # a stroke or an outline, not an eye
        if y + h / 2 > by0 + 0.75 * ch:
            continue
        # Inside the drawing: the ring around the blob is the icon's own colour, not the air.
        pad = max(2, int(0.5 * max(w, h)))
        ys0, ys1 = max(0, y - pad), min(rgba.shape[0], y + h + pad)
        xs0, xs1 = max(0, x - pad), min(rgba.shape[1], x + w + pad)
        ring = labels[ys0:ys1, xs0:xs1] != i
        if inside[ys0:ys1, xs0:xs1][ring].mean() < 0.9:
            continue
        found.append((x, y, w, h, area))
    return found


def _pick_eyes(
    blobs: list[tuple[int, int, int, int, int]],
) -> list[tuple[int, int, int, int, int]]:
    """A level pair of like size (a face seen from the front), else the highest blob (the one
    eye of a profile; a nose or a mouth sits lower)."""
    best: tuple[float, int, int] | None = None
    for i, a in enumerate(blobs):
        for j in range(i + 1, len(blobs)):
            b = blobs[j]
            size = max(a[3], b[3])
            level = abs((a[1] + a[3] / 2) - (b[1] + b[3] / 2)) / size
            like = max(a[4], b[4]) / max(1, min(a[4], b[4]))
            apart = abs((a[0] + a[2] / 2) - (b[0] + b[2] / 2)) / size
            if level < 0.6 and like < 2.0 and apart > 1.5:
                score = level + like - 1.0
                if best is None or score < best[0]:
                    best = (score, i, j)
    if best is not None:
        return [blobs[best[1]], blobs[best[2]]]
    if blobs:
        return [min(blobs, key=lambda b: b[1] + b[3] / 2)]
    return []


def close_eyes(rgba: U8) -> tuple[U8, int]:
    """The icon with its eyes shut: each eye painted over with the colour around it and drawn
    as a closed lid (a dark arc, curving down, as wide as the eye). Returns the image and how
    many eyes it closed (0 when none was found: the icon is returned as it was)."""
    eyes = _pick_eyes(_eye_blobs(rgba))
    if not eyes:
        return rgba, 0
    out = rgba.copy()
    for x, y, w, h, _ in eyes:
        pad = max(2, int(0.6 * max(w, h)))
        ys0, ys1 = max(0, y - pad), min(rgba.shape[0], y + h + pad)
        xs0, xs1 = max(0, x - pad), min(rgba.shape[1], x + w + pad)
        patch = out[ys0:ys1, xs0:xs1]
        rgb = patch[..., :3].astype(np.float32)
        luma = 0.3 * rgb[..., 0] + 0.59 * rgb[..., 1] + 0.11 * rgb[..., 2]
        blob = luma < 75
        around = (~blob) & (patch[..., 3] > 200)
        if not around.any():
            continue
        colour = np.median(patch[..., :3][around], axis=0).astype(np.uint8)
        grown = cv2.dilate(blob.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
        patch[..., :3][grown & (patch[..., 3] > 0)] = colour
        lid = tuple(int(c) for c in (np.asarray(colour, np.float32) * 0.25).astype(np.uint8))
        cx, cy = x + w / 2 - xs0, y + h / 2 - ys0
        thick = max(1, round(min(w, h) * 0.28))
        rgb_view = np.ascontiguousarray(patch[..., :3])
        cv2.ellipse(
            rgb_view,
            (round(cx), round(cy - h * 0.15)),
            (max(1, round(w * 0.6)), max(1, round(h * 0.4))),
            0,
            20,
            160,
            lid,
            thick,
            cv2.LINE_AA,
        )
        patch[..., :3] = rgb_view
    return out, len(eyes)


def _body_colour(rgba: U8) -> tuple[int, int, int]:
    """The icon's main colour (median of its opaque pixels), darkened: a wing's colour."""
    opaque = rgba[..., 3] > 200
    if not opaque.any():
        return (90, 70, 60)
    med = np.median(rgba[..., :3][opaque], axis=0)
    return tuple(int(c * 0.72) for c in med)  # type: ignore[return-value]


def _pad(rgba: U8, px: int) -> U8:
    return np.pad(rgba, ((px, px), (px, px), (0, 0)))


def shows_wings(rgba: U8) -> bool:
    """Is the icon drawn with wings spread? Its silhouette is then wider at the top than at
    the bottom (wings raised over a body: an eagle, a dove, a bat), where a perched bird
    stands on narrow feet below a round body, widest in the middle, and fills its box."""
    box = _content_box(rgba[..., 3])
    if box is None:
        return False
    x0, y0, x1, y1 = box
    solid = rgba[y0:y1, x0:x1, 3] > 128
    h = y1 - y0
    top = solid[: h // 3].sum(axis=1).max()
    mid = solid[h // 3 : 2 * h // 3].sum(axis=1).max()
    # Or sparse: wings spread out on a diagonal leave most of the box empty (a bat).
    return bool(top >= 0.9 * mid or solid.mean() < 0.45)


def wing_beat(
    rgba: U8, *, faces_right: bool = False, frames: int = WING_FRAMES
) -> tuple[list[U8], int]:
    """``frames`` drawings of one wing beat (see the module docstring), all the same size:
    the icon padded by the returned margin on every side, so wings may reach past it.
    ``faces_right``: which way the icon looks (its tail, where a profile's wing points, is
    the other way)."""
    box = _content_box(rgba[..., 3])
    if box is None:
        return [rgba] * frames, 0
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    margin = int(0.45 * max(w, h))
    base = _pad(rgba, margin)
    frontal = _symmetric(rgba)
    if not frontal and shows_wings(rgba):
        return _fold_wings(base, (y0 + margin, y1 + margin), frames), margin
    x0, y0, x1, y1 = x0 + margin, y0 + margin, x1 + margin, y1 + margin
    colour = _body_colour(rgba)
    length, width = 0.55 * h, 0.2 * h
    back = -1.0 if faces_right else 1.0
    out: list[U8] = []
    for f in range(frames):
        # Raised at the start of the beat, down at its middle.
        lift = math.cos(2 * math.pi * f / frames)
        wings = np.zeros_like(base)
        if frontal:  # both wings, out from the shoulders, behind the body
            ang = math.radians(-10 - 45 * lift)
            shoulders = [(x0 + 0.2 * w, y0 + 0.45 * h, -1.0), (x1 - 0.2 * w, y0 + 0.45 * h, 1.0)]
        else:  # the near wing, from the shoulder towards the tail, in front of the body
            ang = math.radians(-20 - 45 * lift)
            shoulders = [(x0 + (0.45 if back > 0 else 0.55) * w, y0 + 0.4 * h, back)]
        for sx, sy, side in shoulders:
            dx, dy = math.cos(ang) * side, math.sin(ang)
            cx, cy = sx + dx * length / 2, sy + dy * length / 2
            cv2.ellipse(
                wings,
                (round(cx), round(cy)),
                (round(length / 2), round(width / 2)),
                math.degrees(math.atan2(dy, dx)),
                0,
                360,
                (*colour, 255),
                -1,
                cv2.LINE_AA,
            )
        under, top = (wings, base) if frontal else (base, wings)
        out.append(_over(top, under))
    return out, margin


def _over(top: U8, under: U8) -> U8:
    """Straight-alpha ``top`` over ``under`` (same size)."""
    a = top[..., 3:4].astype(np.float32) / 255.0
    b = under[..., 3:4].astype(np.float32) / 255.0
    alpha = a + b * (1 - a)
    rgb = (top[..., :3] * a + under[..., :3] * b * (1 - a)) / np.maximum(alpha, 1e-6)
    img = np.empty_like(top)
    img[..., :3] = np.clip(rgb, 0, 255).astype(np.uint8)
    img[..., 3] = np.clip(alpha[..., 0] * 255, 0, 255).astype(np.uint8)
    return img


def _fold_wings(base: U8, rows: tuple[int, int], frames: int) -> list[U8]:
    """Spread wings beating: the columns whose drawing reaches the top of the icon (the
    wings; a head stands lower) are folded down towards the body's middle and back up."""
    y0, y1 = rows
    h = y1 - y0
    solid = base[..., 3] > 128
    has = solid.any(axis=0)
    first = np.where(has, solid.argmax(axis=0), base.shape[0]).astype(np.float32) - y0
    weight = np.clip((0.3 * h - first) / (0.15 * h), 0.0, 1.0).astype(np.float32)
    weight = cv2.GaussianBlur(weight[None, :], (0, 0), max(1.0, 0.04 * h))[0]
    pivot = y0 + 0.55 * h
    ys = np.arange(base.shape[0], dtype=np.float32)[:, None]
    mx = np.repeat(np.arange(base.shape[1], dtype=np.float32)[None, :], base.shape[0], axis=0)
    out: list[U8] = []
    for f in range(frames):
        k = 1.0 - 0.6 * (0.5 - 0.5 * math.cos(2 * math.pi * f / frames)) * weight[None, :]
        my = np.where(ys < pivot, pivot - (pivot - ys) / k, ys).astype(np.float32)
        img = cv2.remap(base, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        out.append(np.asarray(img, np.uint8))
    return out


def _symmetric(rgba: U8) -> bool:
    """Is the silhouette (nearly) mirror-symmetric: a bird drawn from the front?"""
    box = _content_box(rgba[..., 3])
    if box is None:
        return False
    x0, y0, x1, y1 = box
    solid = rgba[y0:y1, x0:x1, 3] > 128
    overlap = (solid & solid[:, ::-1]).sum() / max(1, solid.sum())
    return bool(overlap > 0.9)
