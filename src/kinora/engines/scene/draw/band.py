"""A scenery layer as an RGBA band, and how it is warped into a frame through the camera.

A band is built once on the canvas (by ``sky.py`` for clouds, ``scenery.py`` for the rest),
cropped to the box it draws and premultiplied (``Band.finish``). Per frame, ``draw_band`` warps
it by its plane's homography into only the output rows it covers: the ragged ridge rows strip
by strip (each strip only over the rows its columns draw), the opaque rows below as a plain
copy, and nothing under ``cut``, where a nearer opaque band hides it (see ``opaque_row``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np
import numpy.typing as npt

from kinora.engines.geometry.warp import perspective_map, remap, warp_perspective
from kinora.engines.scene.draw.raster import U8, Mat, blend, premultiply

REPLICATE = cv2.BORDER_REPLICATE
STRIP = 256
"""Width in output pixels of the strips a band's ridge is drawn in."""


@dataclass
class Band:
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

    def finish(self, canvas_width: int) -> None:
        """Ready to draw: cropped to its content, then premultiplied (colour and coverage warp
        together, and compositing is 8-bit, see ``raster.blend``)."""
        self.crop_to_content(canvas_width)
        self.image = premultiply(self.image)

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

    def opaque_row(self, hm: Mat, canvas_width: int) -> float:
        """Output row below which the band covers the whole frame width (inf: it never does)."""
        if self.opaque_y is None:
            return math.inf
        pts = hm @ np.array(
            [[0, canvas_width], [self.opaque_y, self.opaque_y], [1, 1]], dtype=np.float64
        )
        if (pts[2] <= 1e-9).any() or self.behind_camera(hm):
            # Part of the band is behind the camera: draw_band skips it then, so it covers
            # nothing and nothing behind it may be cut (a row claimed here once cut the sky
            # and every farther band, leaving those rows of the frame uninitialised: noise).
            return math.inf
        return float(math.ceil((pts[1] / pts[2]).max())) + 1.0

    def behind_camera(self, hm: Mat) -> bool:
        """Whether a corner of the band's box is behind the camera (draw_band skips it)."""
        shift = np.array([[1, 0, self.x0], [0, 1, self.y0], [0, 0, 1]], dtype=np.float64)
        bh, bw = self.image.shape[:2]
        corners = np.array([[0, bw, 0, bw], [0, 0, bh, bh], [1, 1, 1, 1]], dtype=np.float64)
        return bool(np.any((hm @ shift @ corners)[2] <= 1e-9))


def draw_band(out: U8, band: Band, hm: Mat, cut: float, *, canvas_width: int) -> None:
    """Warp and blend a band into the rows of ``out`` it covers above ``cut`` (hidden below)."""
    height, width = out.shape[:2]
    shift = np.array([[1, 0, band.x0], [0, 1, band.y0], [0, 0, 1]], dtype=np.float64)
    hb = hm @ shift
    bh, bw = band.image.shape[:2]
    pts = hb @ np.array([[0, bw, 0, bw], [0, 0, bh, bh], [1, 1, 1, 1]], dtype=np.float64)
    if np.any(pts[2] <= 1e-9):
        return  # partly behind the camera (opaque_row then claims no rows either)
    xs, ys = pts[0] / pts[2], pts[1] / pts[2]
    y0 = int(max(0, math.floor(ys.min())))
    y1 = int(min(height, math.ceil(ys.max()), cut))
    x0 = 0 if band.wide[0] else int(max(0, math.floor(xs.min())))
    x1 = width if band.wide[1] else int(min(width, math.ceil(xs.max()) + 1))
    if y1 <= y0 or x1 <= x0:
        return
    yo = int(min(max(band.opaque_row(hm, canvas_width), y0), y1))
    m = perspective_map(hb, (x1 - x0, y1 - y0), origin=(x0, y0))
    if m is None or len(band.col_top) == 0:
        warped = warp_perspective(
            band.image, hb, (x1 - x0, y1 - y0), origin=(x0, y0), border=REPLICATE
        )
        blend(out, warped[: yo - y0], x0, y0)
        if y1 > yo:
            out[yo:y1, x0:x1] = cv2.cvtColor(warped[yo - y0 :], cv2.COLOR_RGBA2RGB)
        return
    # Ridge rows blend, strip by strip, each only over the rows where the columns it sees
    # draw something (a band's box is mostly clear above a ragged ridge of props).
    hinv: Mat = np.asarray(np.linalg.inv(hb), np.float64)
    for xa in range(x0, x1, STRIP):
        xb = min(x1, xa + STRIP)
        ya, yb = _strip_rows(band, hb, hinv, xa, xb, y0, yo)
        if yb > ya:
            part = remap(band.image, m[ya - y0 : yb - y0, xa - x0 : xb - x0], border=REPLICATE)
            blend(out, part, xa, ya)
    # The opaque rows below (full width) are a plain copy.
    if y1 > yo:
        part = remap(band.image, m[yo - y0 :], border=REPLICATE)
        out[yo:y1, x0:x1] = cv2.cvtColor(part, cv2.COLOR_RGBA2RGB)


def _strip_rows(
    band: Band, hb: Mat, hinv: Mat, xa: int, xb: int, y0: int, y1: int
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
