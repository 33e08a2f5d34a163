"""The garment of a try-on: cut from its picture, its kind told, its anchor points found.

Garment pictures come two ways, and both are handled:

- **Laid flat or on a hanger** (no one in the picture): ISNet's subject mask is the garment.
  Its kind comes from the prompt when it names one ("dress", "jacket", "jeans" ...), else from
  the mask's shape: two legs at the bottom make trousers, a long narrow outline a dress, the
  rest a top. Its anchors (shoulder corners, hem corners, waist, leg ends) are found on the
  mask's outline and expressed as the *body joints* they sit on, so the fit can pair them with
  the person's pose landmarks.
- **Worn by someone** (a shop's model photo): ISNet's mask is the whole wearer, head and hands
  too, so the head is cut off at the chin, the neck (chin to shoulders) and the forearms and
  hands by the pose, and bare skin showing through a neckline by its colour, measured on the
  wearer's cheeks. The anchors are the wearer's own pose landmarks, more faithful than any
  outline rule. A photo cut through the garment (a portrait ending at the chest, or at the
  shoulders on its sides) has its fabric continued past the cut (each column's median colour
  with the fabric's grain over it), so the cloth reaches the person's hips rather than being
  stretched there. A wearer needs a face: the pose model also "finds" a body in a headless
  shirt laid flat, which is then treated as the flat garment it is.

What cannot be used is refused with :class:`GarmentError`: a picture in which no garment
separates from its background.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from kinora.engines.people.landmarks import (
    Pose,
    detect_faces,
    detect_pose,
    face_mesh,
    resolve_models_dir,
)
from kinora.engines.people.masks import subject_mask

Image = npt.NDArray[np.uint8]
Mask = npt.NDArray[np.float32]
Point = tuple[float, float]

MIN_COVERAGE = 0.02
"""Below this share of the picture the mask is a speck, not a garment."""
MAX_COVERAGE = 0.92
"""Above it the "subject" is the whole picture: nothing separated from a background."""
MIN_CONFIDENCE = 0.6
"""Share of the mask's pixels ISNet is sure of (under 0.1 or over 0.9): a garment on a
background gives a crisp mask; a picture with no subject gives a hazy one."""


class GarmentError(ValueError):
    """The garment picture holds nothing that can be worn (the reason is in the message)."""


class GarmentKind(StrEnum):
    TOP = "top"
    OUTERWEAR = "outerwear"
    DRESS = "dress"
    TROUSERS = "trousers"


KIND_WORDS: dict[GarmentKind, tuple[str, ...]] = {
    GarmentKind.OUTERWEAR: (
        "jacket",
        "coat",
        "blazer",
        "parka",
        "anorak",
        "cardigan",
        "hoodie",
        "overcoat",
        "raincoat",
        "outerwear",
    ),
    GarmentKind.DRESS: ("dress", "gown", "robe", "frock", "sundress", "kaftan"),
    GarmentKind.TROUSERS: (
        "trousers",
        "pants",
        "jeans",
        "leggings",
        "chinos",
        "slacks",
        "joggers",
        "shorts",
        "skirt",
    ),
    GarmentKind.TOP: (
        "shirt",
        "t-shirt",
        "tshirt",
        "tee",
        "top",
        "blouse",
        "sweater",
        "jumper",
        "polo",
        "vest",
        "jersey",
        "tank",
    ),
}
"""Words of a prompt that tell the garment's kind (a skirt is fitted like trousers' waist and
hem, which is all the fit knows of them)."""


def kind_from_prompt(prompt: str) -> GarmentKind | None:
    """The kind the prompt names (the first such word wins), or None."""
    words = re.findall(r"[a-z][a-z-]*", prompt.lower())
    for word in words:
        for kind, names in KIND_WORDS.items():
            if word in names or word.rstrip("s") in names:
                return kind
    return None


@dataclass(frozen=True, eq=False)
class Garment:
    """A cut-out garment: its pixels, a soft alpha, its kind, and where its anchors are.

    ``anchors`` names body joints (the pose's names: "left_shoulder", "right_hip", ...) and
    "neck"; each value is where on the garment picture that joint would be under it. Left and
    right are the wearer's (the picture's right side is the wearer's left), as in the pose.
    """

    rgb: Image = field(repr=False)
    alpha: Mask = field(repr=False)
    kind: GarmentKind
    anchors: dict[str, Point]
    worn: bool
    """Cut from a photo of someone wearing it (anchors from their pose)."""

    @property
    def colours(self) -> npt.NDArray[np.float32]:
        """The garment's pixels (N, 3) RGB, where it is solid: for measuring its colours."""
        return self.rgb[self.alpha > 0.9].astype(np.float32)


def _largest_component(binary: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    n, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    if n <= 1:
        return binary
    best = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    return np.asarray(labels == best, np.uint8)


PLAIN_STD = 4.0
"""A picture whose colours vary less than this (8-bit levels) is blank: no garment, and no
need to run ISNet to say so."""
SOLID = 0.35
"""ISNet's mask is hazy inside some fabrics (a khaki jacket reads about half subject):
cloth is opaque, so the garment is what ISNet puts above this, made solid."""


def _solid(soft: Mask) -> Mask:
    """The garment's alpha: the largest region above SOLID, opaque, edges softened a pixel."""
    binary = _largest_component((soft > SOLID).astype(np.uint8)).astype(np.float32)
    return np.asarray(np.clip(cv2.GaussianBlur(binary, (0, 0), 1.0), 0.0, 1.0), np.float32)


def _check_mask(soft: Mask) -> None:
    coverage = float((soft > 0.5).mean())
    if coverage < MIN_COVERAGE:
        raise GarmentError("no garment stands out from the background of the garment image")
    if coverage > MAX_COVERAGE:
        raise GarmentError(
            "the garment image has no background to cut the garment from (it fills the picture)"
        )
    sure = float(((soft < 0.1) | (soft > 0.9)).mean())
    if sure < MIN_CONFIDENCE:
        raise GarmentError("no garment separates clearly from the background of the garment image")


# --- a garment worn by someone ------------------------------------------------------------


def _skin_distance(image: Image, cheeks: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Each pixel's chroma distance (Lab a, b) to the skin sampled at ``cheeks`` (N, 2)."""
    lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB).astype(np.float32)
    h, w = image.shape[:2]
    xs = np.clip(cheeks[:, 0].astype(int), 0, w - 1)
    ys = np.clip(cheeks[:, 1].astype(int), 0, h - 1)
    skin = np.median(lab[ys, xs], axis=0)
    d = np.hypot(lab[..., 1] - skin[1], lab[..., 2] - skin[2])
    # Lightness matters less (shadowed skin is still skin) but a white shirt is not skin.
    d += 0.35 * np.abs(lab[..., 0] - skin[0])
    return np.asarray(d, np.float32)


CHEEK_POINTS = (50, 280, 101, 330, 205, 425)
"""Face-mesh points on the cheeks: skin, away from eyes, brows, lips and beard edges."""
SKIN_CHROMA = 10.0
"""Lab distance under which a pixel is the wearer's skin."""


def _worn_mask(image: Image, soft: Mask, pose: Pose, models_dir: Path | None) -> Mask:
    """The clothes on the wearer: the subject below the chin, less bare skin near the neck
    and hands."""
    h, w = soft.shape
    ls, rs = np.array(pose.point("left_shoulder")), np.array(pose.point("right_shoulder"))
    sw = float(np.hypot(*(ls - rs)))
    keep = soft.copy()
    faces = detect_faces(image, models_dir=models_dir)
    nose = np.array(pose.point("nose"))
    mouth = (np.array(pose.point("mouth_left")) + np.array(pose.point("mouth_right"))) / 2
    chin_y = float(mouth[1] + 0.9 * abs(mouth[1] - nose[1]))
    cheeks: npt.NDArray[np.float32] | None = None
    if faces:
        mesh = face_mesh(image, faces[0], models_dir=models_dir)
        if mesh.score >= 0.5:
            chin_y = float(mesh.points[152, 1])
            cheeks = mesh.points[list(CHEEK_POINTS), :2]
    keep[: max(0, int(chin_y)), :] = 0.0
    # The neck, chin to the shoulders' line, is the wearer's, never the garment's.
    neck = np.zeros((h, w), np.uint8)
    mid = (ls + rs) / 2
    top_y = int(chin_y)
    cv2.ellipse(
        neck,
        (int(mid[0]), top_y),
        (int(0.2 * sw), max(1, int(mid[1] - 0.05 * sw - top_y))),
        0,
        0,
        180,
        1,
        -1,
    )
    keep[neck.astype(bool)] = 0.0
    if cheeks is not None:
        skin = _skin_distance(image, cheeks) < SKIN_CHROMA
        # Bare skin is taken out only where skin shows through a garment's openings: a
        # neckline's V below the neck, and the hands. Elsewhere a skin-toned fabric (khaki,
        # beige) stays fabric: colour alone cannot tell them apart.
        region = np.zeros((h, w), np.uint8)
        x0, x1 = int(mid[0] - 0.22 * sw), int(mid[0] + 0.22 * sw)
        region[: max(0, int(mid[1] + 0.4 * sw)), max(0, x0) : max(0, x1)] = 1
        for side in ("left", "right"):
            wrist = pose.point(f"{side}_wrist")
            cv2.circle(region, (int(wrist[0]), int(wrist[1])), int(0.25 * sw), 1, -1)
        skin &= region.astype(bool)
        skin_u8 = cv2.morphologyEx(skin.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3)))
        keep[skin_u8.astype(bool)] = 0.0
    # Forearms and hands are the wearer's (bare, or a sleeve the fit does not bend to the
    # new arm): only the garment from the elbows in is kept.
    arms = np.zeros((h, w), np.uint8)
    for side in ("left", "right"):
        elbow, wrist = pose.point(f"{side}_elbow"), pose.point(f"{side}_wrist")
        hand = pose.point(f"{side}_index")
        for a, b in ((elbow, wrist), (wrist, hand)):
            cv2.line(arms, (int(a[0]), int(a[1])), (int(b[0]), int(b[1])), 1, max(1, int(0.3 * sw)))
    keep[arms.astype(bool)] = 0.0
    return _solid(keep)


def _worn_anchors(pose: Pose) -> dict[str, Point]:
    names = (
        "left_shoulder",
        "right_shoulder",
        "left_elbow",
        "right_elbow",
        "left_hip",
        "right_hip",
        "left_knee",
        "right_knee",
        "left_ankle",
        "right_ankle",
    )
    anchors = {n: pose.point(n) for n in names}
    ls, rs = np.array(anchors["left_shoulder"]), np.array(anchors["right_shoulder"])
    mid = (ls + rs) / 2
    anchors["neck"] = (float(mid[0]), float(mid[1] - 0.12 * np.hypot(*(ls - rs))))
    return anchors


CONTINUE_BAND = 0.08
"""The share of a cut-off photo's height, at its bottom, whose fabric is continued."""


def _continue_down(rgb: Image, alpha: Mask, bottom: float) -> tuple[Image, Mask]:
    """Extend a garment its photo cut off down to ``bottom`` (its hem, in picture pixels).

    Each column goes on with the median colour of its last few rows (so a print, a button or
    a pocket there is not repeated: mirrored or tiled, they read as a pattern that is not
    the garment's), and the band's fine grain (high-passed, mirrored downwards) is laid over
    it, so the fabric keeps its weave instead of turning into flat streaks.
    """
    h = rgb.shape[0]
    extra = min(int(np.ceil(bottom - h)), 4 * h)
    if extra <= 0:
        return rgb, alpha
    k = max(4, round(CONTINUE_BAND * h))
    band = rgb[h - k :].astype(np.float32)
    base = np.median(band, axis=0)
    grain = 0.7 * (band - cv2.GaussianBlur(band, (0, 0), 1.2))
    tiled = np.pad(grain, ((0, max(0, extra - k)), (0, 0), (0, 0)), mode="symmetric")[:extra]
    more = np.clip(base[None] + tiled, 0, 255).astype(np.uint8)
    cover = np.median(alpha[h - k :], axis=0)
    more_alpha = np.repeat(cover[None], extra, axis=0)
    return (
        np.ascontiguousarray(np.concatenate([rgb, more]), dtype=np.uint8),
        np.ascontiguousarray(np.concatenate([alpha, more_alpha]), dtype=np.float32),
    )


HEM_BELOW_HIPS = {
    GarmentKind.TOP: 0.12,
    GarmentKind.OUTERWEAR: 0.25,
    GarmentKind.DRESS: 0.0,
    GarmentKind.TROUSERS: 0.0,
}
"""Where a top's or a jacket's hem sits below the hip joints, in torso lengths."""


def _cut_worn(
    image: Image, soft: Mask, pose: Pose, kind: GarmentKind, models_dir: Path | None
) -> Garment:
    alpha = _worn_mask(image, soft, pose, models_dir)
    anchors = _worn_anchors(pose)
    shoulder_y = (anchors["left_shoulder"][1] + anchors["right_shoulder"][1]) / 2
    hip_y = (anchors["left_hip"][1] + anchors["right_hip"][1]) / 2
    torso = max(hip_y - shoulder_y, 1.0)
    yy = np.arange(alpha.shape[0], dtype=np.float32)[:, None]
    if kind is GarmentKind.TROUSERS:
        top = hip_y - 0.15 * torso
        bottom = max(anchors["left_ankle"][1], anchors["right_ankle"][1])
        alpha = alpha * (yy >= top)
    elif kind is GarmentKind.DRESS:
        bottom = max(anchors["left_knee"][1], anchors["right_knee"][1])
    else:
        bottom = hip_y + HEM_BELOW_HIPS[kind] * torso
    alpha = np.asarray(alpha * (yy <= bottom), np.float32)
    if float((alpha > 0.5).mean()) < MIN_COVERAGE:
        raise GarmentError("the person in the garment image wears no garment that can be cut out")
    # A photo that ends inside the garment (a portrait cut at the chest, or through the
    # shoulders at its sides): its fabric is continued to the hem and past the shoulders.
    rgb = image
    sw = abs(anchors["left_shoulder"][0] - anchors["right_shoulder"][0])
    xs = [anchors[n][0] for n in ("left_shoulder", "right_shoulder", "left_hip", "right_hip")]
    width = alpha.shape[1]
    if alpha[:, -2:].max() > 0.5:
        rgb, alpha = _continue_side(rgb, alpha, max(xs) + 0.3 * sw - width, -1)
    if alpha[:, :2].max() > 0.5:
        shift = max(0, int(np.ceil(0.3 * sw - min(xs))))
        rgb, alpha = _continue_side(rgb, alpha, shift, 1)
        anchors = {n: (x + shift, y) for n, (x, y) in anchors.items()}
    if alpha[-2:].max() > 0.5:
        rgb, alpha = _continue_down(rgb, alpha, bottom)
        yy = np.arange(alpha.shape[0], dtype=np.float32)[:, None]
        alpha = np.asarray(alpha * (yy <= bottom), np.float32)
    return Garment(rgb=rgb, alpha=alpha, kind=kind, anchors=anchors, worn=True)


def _continue_side(rgb: Image, alpha: Mask, extra: float, turn: int) -> tuple[Image, Mask]:
    """:func:`_continue_down` sideways: the picture turned so that side is at the bottom
    (``turn`` 1: the left side, -1: the right), continued by ``extra`` pixels, turned back."""
    if extra < 1:
        return rgb, alpha
    turned_rgb = np.ascontiguousarray(np.rot90(rgb, turn))
    turned_alpha = np.ascontiguousarray(np.rot90(alpha, turn))
    more_rgb, more_alpha = _continue_down(
        turned_rgb, turned_alpha, turned_rgb.shape[0] + float(extra)
    )
    return (
        np.ascontiguousarray(np.rot90(more_rgb, -turn)),
        np.ascontiguousarray(np.rot90(more_alpha, -turn)),
    )


# --- a garment on its own -------------------------------------------------------------------


def kind_from_shape(mask: npt.NDArray[np.bool_]) -> GarmentKind:
    """Trousers when the lower part splits into two legs; outerwear when the front is open
    (a narrow gap down the middle of most of its length) or when it has sleeves and a body
    long for its hem (a coat laid flat: more than twice as long as its hem is wide); a dress
    when the outline is long and narrow; else a top."""
    ys, xs = np.nonzero(mask)
    y0, y1, x0, x1 = ys.min(), ys.max(), xs.min(), xs.max()
    height, width = y1 - y0 + 1, x1 - x0 + 1
    lower = mask[y0 + int(0.7 * height) : y1 + 1, x0 : x1 + 1]
    centre = lower[:, int(0.45 * width) : int(0.55 * width) + 1]
    # Legs: most rows of the lower part are empty in the middle but filled on both sides.
    split = (~centre.any(axis=1)) & lower[:, : int(0.45 * width)].any(axis=1)
    split &= lower[:, int(0.55 * width) :].any(axis=1)
    if split.mean() > 0.6:
        return GarmentKind.TROUSERS
    if _open_front(mask, y0, height, x0, width) or _long_with_sleeves(mask, y1, height, width):
        return GarmentKind.OUTERWEAR
    if height > 1.6 * width:
        return GarmentKind.DRESS
    return GarmentKind.TOP


def _open_front(mask: npt.NDArray[np.bool_], y0: int, height: int, x0: int, width: int) -> bool:
    """A gap down the middle (between filled cloth a tenth of the width either side) in
    most rows from a quarter of the way down to the hem: an open coat or jacket."""
    rows = mask[y0 + int(0.25 * height) : y0 + int(0.95 * height)]
    if rows.shape[0] == 0:
        return False
    cx = x0 + width // 2
    reach = max(2, int(0.1 * width))
    band = rows[:, cx - reach : cx + reach + 1]
    sides = rows[:, cx - reach] & rows[:, cx + reach]
    gap = sides & ~band.all(axis=1)
    return bool(gap.mean() > 0.6)


def _long_with_sleeves(mask: npt.NDArray[np.bool_], y1: int, height: int, width: int) -> bool:
    hem = np.flatnonzero(mask[max(0, y1 - max(1, height // 50))])
    if hem.size == 0:
        return False
    hem_width = float(hem.max() - hem.min() + 1)
    return width > 1.5 * hem_width and height > 2.0 * hem_width


def _row_extent(mask: npt.NDArray[np.bool_], y: int) -> tuple[float, float]:
    xs = np.flatnonzero(mask[y])
    return float(xs.min()), float(xs.max())


def flat_anchors(mask: npt.NDArray[np.bool_], kind: GarmentKind) -> dict[str, Point]:
    """Anchors of a garment laid flat, as the body joints under them.

    The shoulder corners are the outline's points furthest up-and-out (the maxima of
    ``-y +- 0.5 x``: a sleeve hangs below that line, a neckline dips under it); the joint
    is a tenth of the shoulder span inside each corner. The hem's ends give the hips, a
    little inside them. Trousers: the waistband's ends give the hips, each leg's hem its
    ankle. The garment's own left is the picture's right (it faces the viewer, as a person
    does).
    """
    ys, xs = np.nonzero(mask)
    y0, y1 = int(ys.min()), int(ys.max())
    height = y1 - y0 + 1
    cx = float(xs.mean())
    anchors: dict[str, Point] = {}
    if kind is GarmentKind.TROUSERS:
        wl, wr = _row_extent(mask, y0 + max(1, height // 50))
        inset = 0.18 * (wr - wl)
        hip_y = y0 + 0.1 * height
        anchors["right_hip"] = (wl + inset, hip_y)
        anchors["left_hip"] = (wr - inset, hip_y)
        hem = y1 - max(1, height // 50)
        row = np.flatnonzero(mask[hem])
        left_leg, right_leg = row[row < cx], row[row >= cx]
        if left_leg.size and right_leg.size:
            anchors["right_ankle"] = (float(left_leg.mean()), float(hem))
            anchors["left_ankle"] = (float(right_leg.mean()), float(hem))
        anchors["right_knee"] = (
            (anchors["right_hip"][0] + anchors.get("right_ankle", anchors["right_hip"])[0]) / 2,
            (hip_y + hem) / 2,
        )
        anchors["left_knee"] = (
            (anchors["left_hip"][0] + anchors.get("left_ankle", anchors["left_hip"])[0]) / 2,
            (hip_y + hem) / 2,
        )
        return anchors
    pts = np.stack([xs, ys], axis=1).astype(np.float64)
    right_corner = pts[np.argmax(-pts[:, 1] - 0.5 * (pts[:, 0] - cx))]
    left_corner = pts[np.argmax(-pts[:, 1] + 0.5 * (pts[:, 0] - cx))]
    span = float(left_corner[0] - right_corner[0])
    shoulder_y = float(right_corner[1] + left_corner[1]) / 2 + 0.04 * span
    anchors["right_shoulder"] = (float(right_corner[0]) + 0.1 * span, shoulder_y)
    anchors["left_shoulder"] = (float(left_corner[0]) - 0.1 * span, shoulder_y)
    anchors["neck"] = (cx, shoulder_y - 0.12 * 0.8 * span)
    if kind is GarmentKind.DRESS:
        hem = y1 - max(1, height // 50)
        hl, hr = _row_extent(mask, hem)
        hip_y = shoulder_y + 0.4 * (hem - shoulder_y)
        wl, wr = _row_extent(mask, int(hip_y))
        anchors["right_hip"] = (wl + 0.15 * (wr - wl), hip_y)
        anchors["left_hip"] = (wr - 0.15 * (wr - wl), hip_y)
        anchors["right_knee"] = (hl + 0.25 * (hr - hl), float(hem))
        anchors["left_knee"] = (hr - 0.25 * (hr - hl), float(hem))
        return anchors
    hem = y1 - max(1, height // 50)
    hl, hr = _row_extent(mask, hem)
    # The hem sits a little below the hip joints (HEM_BELOW_HIPS of the torso).
    torso = (hem - shoulder_y) / (1.0 + HEM_BELOW_HIPS[kind])
    hip_y = shoulder_y + torso
    inset = 0.15 * (hr - hl)
    anchors["right_hip"] = (hl + inset, hip_y)
    anchors["left_hip"] = (hr - inset, hip_y)
    return anchors


def _worn(image: Image, pose: Pose, models_dir: Path | None) -> bool:
    """Whether someone wears the garment. The pose model also "finds" a body in a shirt laid
    flat (shoulders, even a nose above them), so a wearer needs a face too: one the face
    detector finds in a crop around the pose's head (a crop, because BlazeFace misses faces
    under an eighth of the picture, as a full-length shot's are)."""
    if not (pose.visible("left_shoulder") and pose.visible("right_shoulder")):
        return False
    sw = abs(pose.point("left_shoulder")[0] - pose.point("right_shoulder")[0])
    nx, ny = pose.point("nose")
    half = max(1.25 * sw, 32.0)
    h, w = image.shape[:2]
    x0, y0 = max(0, int(nx - half)), max(0, int(ny - half))
    x1, y1 = min(w, int(nx + half)), min(h, int(ny + half))
    if x1 - x0 < 16 or y1 - y0 < 16:
        return False
    crop = np.ascontiguousarray(image[y0:y1, x0:x1])
    return bool(detect_faces(crop, models_dir=models_dir))


def check_not_plain(image: Image) -> None:
    """Refuse a blank garment picture at once (before any model runs)."""
    small = cv2.resize(image[..., :3], (64, 64), interpolation=cv2.INTER_AREA)
    if float(small.astype(np.float32).std(axis=(0, 1)).max()) < PLAIN_STD:
        raise GarmentError("the garment image is plain: it shows no garment")


def cut_garment(image: Image, *, prompt: str = "", models_dir: Path | None = None) -> Garment:
    """The garment of a try-on's second picture (see the module docstring)."""
    rgb = np.ascontiguousarray(image[..., :3], dtype=np.uint8)
    check_not_plain(rgb)
    seg = subject_mask(rgb, models_dir=resolve_models_dir(models_dir))
    soft = seg.mask
    _check_mask(soft)
    told = kind_from_prompt(prompt)
    pose = detect_pose(rgb, models_dir=models_dir)
    if pose is not None and _worn(rgb, pose, models_dir):
        return _cut_worn(rgb, soft, pose, told or GarmentKind.TOP, models_dir)
    alpha = _solid(soft)
    mask = alpha > 0.5
    kind = told or kind_from_shape(mask)
    return Garment(rgb=rgb, alpha=alpha, kind=kind, anchors=flat_anchors(mask, kind), worn=False)
