"""Trimming the black mats, letterbox bars and stitching wedges that frame some pictures.

A scanned painting's mat, a film still's letterbox bars or the black wedges a panorama stitcher
leaves are not part of the picture: a camera move over them shows bars that slide and turn, and
a cover crop keeps them in view. They are trimmed before any engine sees the image.

What counts as such a border is deliberately narrow, because eating real content is worse than
leaving a bar: pixels near black (every channel), flat (no texture within a few pixels),
connected to the image's edge through such pixels, and ending in a sharp step to brighter
content. A night sky reaching an edge fails that last test (it brightens gradually towards the
horizon and carries stars and noise), and a trim that would take more than a third of a side, or
a border whose pixels are not one uniform colour, is refused whole.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from kinora.video.frames import Frame

Mask = npt.NDArray[np.bool_]

DARK_MAX = 40
"""Brightest channel value a border's level may have (video black is 16; scans a little more)."""
LEVEL_TOLERANCE = 8
"""How far a border pixel may be from the border's level (median of the edge's dark pixels):
tight, so that a dark picture beside a black bar (deep space, a night scene) is not taken."""
FLAT_RANGE = 8
"""Largest spread of brightest-channel values in a border pixel's 3x3 neighbourhood."""
BAR_LINE = 0.9
"""An edge line is part of a bar or mat when at least this share of it is border-like."""
STEP_LINES = 8
"""Lines within which a bar must give way to content: one JPEG block (a sky fades over many)."""
STEP_SHARE = 0.6
"""A bar has given way when a line is at most this share border-like..."""
STEP_BRIGHTER = 12
"""... and its mean is at least this much brighter than the bar's level."""
WEDGE_TOLERANCE = 4
"""How far a wedge's pixels may be from its level: stitchers fill with exact black."""
WEDGE_DARK = 12
"""Brightest a wedge's mean may be."""
FRINGE_DARK = 20
"""Brightest the mean of what a mat leaves inside its bars may be (a scan's mat is not black)."""
MIN_STEP = 24
"""Least median brightness step from a wedge to the content beside it."""
MAX_SPREAD = 6.0
"""Largest standard deviation of a wedge's pixels: stitching leaves one colour."""
EDGE_SLIVER = 0.008
"""Share of a dimension taken beyond a trimmed border (a mat's inner edge line)."""
LINE_CLEAR = 0.02
"""Wedges are peeled until every edge line is at most this share wedge."""
MAX_BAR = 0.34
"""Most of a dimension one bar may take (a 9:16 picture in 16:9 loses 34 % per side)."""
MAX_WEDGE = 0.1
"""Most of a dimension peeling wedges may take from one side."""
MAX_FRINGE = 0.015
"""Most of a dimension peeling what is left inside bars (an uneven mat edge) may take."""
FRINGE_CLEAR = 0.3
"""Lines inside bars are peeled while more than this share is left of the mat: its leftovers
fill most of a line, dark picture beside the bar does not."""


def trim_borders(image: Frame) -> Frame:
    """``image`` without its dark mat, letterbox bars or stitching wedges (the image itself,
    unchanged, when it has none or when what looks like one might be real content)."""
    h, w = image.shape[:2]
    if h < 16 or w < 16:
        return image
    bright = np.asarray(image[..., :3].max(axis=2), np.uint8)
    like = _border_like(bright)
    if like is None:
        return image
    top, bottom, left, right = _bars(bright, like)
    barred = (top, bottom, left, right) != (0, h, 0, w)
    wedges = _wedges(bright[top:bottom, left:right], after_bars=barred)
    if wedges is not None:
        t, b, lf, r = wedges
        top, bottom, left, right = top + t, top + b, left + lf, left + r
    if (top, bottom, left, right) == (0, h, 0, w):
        return image
    # Inside a mat a painting's unpainted canvas edge or a scan's frame line often remains: a
    # sliver more goes on every trimmed side.
    dy, dx = max(1, round(EDGE_SLIVER * h)), max(1, round(EDGE_SLIVER * w))
    top, bottom = top + (dy if top else 0), bottom - (dy if bottom < h else 0)
    left, right = left + (dx if left else 0), right - (dx if right < w else 0)
    return np.ascontiguousarray(image[top:bottom, left:right])


def _border_like(
    bright: npt.NDArray[np.uint8], *, tolerance: int = LEVEL_TOLERANCE, flat: bool = True
) -> Mask | None:
    """Pixels of the edge's dark colour with (``flat``) no texture around them; None when the
    edge has no dark colour to speak of."""
    ring = np.concatenate([bright[0], bright[-1], bright[:, 0], bright[:, -1]])
    dark_ring = ring[ring <= DARK_MAX]
    if dark_ring.size < 0.05 * ring.size:
        return None
    level = float(np.median(dark_ring))
    kernel = np.ones((3, 3), np.uint8)
    spread = cv2.dilate(bright, kernel).astype(np.int16) - cv2.erode(bright, kernel)
    near = np.abs(bright.astype(np.int16) - round(level)) <= tolerance
    return np.asarray(near & (spread <= FLAT_RANGE) if flat else near, np.bool_)


def _bars(bright: npt.NDArray[np.uint8], like: Mask) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) inside the full-width bars and mat: runs of edge lines that
    are all border colour and then end within a few lines in a step to brighter content (the
    step's blurred lines that are still about as dark as the bar go with it)."""
    h, w = like.shape
    shares = {"rows": like.mean(axis=1), "cols": like.mean(axis=0)}
    means = {"rows": bright.mean(axis=1), "cols": bright.mean(axis=0)}

    def depth(axis: str, *, reverse: bool, limit: float) -> int:
        share, mean = shares[axis], means[axis]
        if reverse:
            share, mean = share[::-1], mean[::-1]
        n = 0
        while n < len(share) and share[n] >= BAR_LINE:
            n += 1
        if n == 0 or n > limit:
            return 0
        level = float(mean[:n].mean())
        edge = n  # the bar's blurred edge: lines still about as dark as the bar
        for k in range(n, min(len(share), n + STEP_LINES)):
            brighter = float(mean[k]) - level
            if share[k] <= STEP_SHARE and brighter >= STEP_BRIGHTER:
                return edge
            if edge == k and brighter <= STEP_BRIGHTER / 2:
                edge = k + 1

        return 0

    top = depth("rows", reverse=False, limit=MAX_BAR * h)
    bottom = h - depth("rows", reverse=True, limit=MAX_BAR * h)
    left = depth("cols", reverse=False, limit=MAX_BAR * w)
    right = w - depth("cols", reverse=True, limit=MAX_BAR * w)
    if bottom - top < 0.3 * h or right - left < 0.3 * w:
        return 0, h, 0, w
    return top, bottom, left, right


def _wedges(bright: npt.NDArray[np.uint8], *, after_bars: bool) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right) of the box left when the black regions that grow from the
    corners (a stitched panorama's wedges), or after bars any that reach the edge (a mat's
    uneven inner edge), are peeled off line by line, the most covered line
    first; None when there are none, or they look like dark picture (more than MAX_WEDGE deep,
    several colours, or no sharp step to the content beside them)."""
    h, w = bright.shape
    # A fringe line lies against the content's step, so no pixel of it looks flat.
    if after_bars:
        like = _border_like(bright, tolerance=LEVEL_TOLERANCE, flat=False)
    else:
        like = _border_like(bright, tolerance=WEDGE_TOLERANCE)
    if like is None:
        return None
    count, labels = cv2.connectedComponents(like.astype(np.uint8), connectivity=4)
    if count <= 1:
        return None
    if after_bars:
        # What a mat leaves inside its straight bars (a scan's uneven edge): anywhere, but thin.
        seeds = np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])
        cap, clear = MAX_FRINGE, FRINGE_CLEAR
    else:
        # A stitcher's wedges grow from the corners; dark picture touching an edge need not.
        seeds = labels[[0, 0, -1, -1], [0, -1, 0, -1]]
        cap, clear = MAX_WEDGE, LINE_CLEAR
    seeds = np.unique(seeds)
    seeds = seeds[seeds > 0]
    if seeds.size == 0:
        return None
    wedge = np.isin(labels, seeds)
    values = bright[wedge].astype(np.float32)
    darkest = FRINGE_DARK if after_bars else WEDGE_DARK
    if float(values.std()) > MAX_SPREAD or float(values.mean()) > darkest:
        return None
    # The content beside the wedges, two to three pixels out (past any JPEG ringing).
    near = cv2.dilate(wedge.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
    touching = cv2.dilate(wedge.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    beside = near & ~touching
    if not beside.any() or float(np.median(bright[beside])) - float(values.mean()) < MIN_STEP:
        return None
    top, bottom, left, right = 0, h, 0, w
    while bottom - top > 2 and right - left > 2:
        shares = (
            float(wedge[top, left:right].mean()),
            float(wedge[bottom - 1, left:right].mean()),
            float(wedge[top:bottom, left].mean()),
            float(wedge[top:bottom, right - 1].mean()),
        )
        side = int(np.argmax(shares))
        if shares[side] <= clear:
            break
        if side == 0:
            top += 1
        elif side == 1:
            bottom -= 1
        elif side == 2:
            left += 1
        else:
            right -= 1
    if max(top, h - bottom) > cap * h or max(left, w - right) > cap * w:
        return None
    return top, bottom, left, right
