"""The canvas every layer is drawn on: the frame plus a margin on each side.

Layers are rasterised once, larger than the frame, so that a camera that pans, rolls or pulls
back still sees drawn scenery instead of an edge (the renderer adds just enough cover zoom to
keep the margin's outer edge out of view). Rest-view positions are fractions (u, v) of the
frame's width and height; ``xy`` turns them into canvas pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

MARGIN = 0.18
"""Canvas margin per side, as a fraction of the frame's width (left, right) or height."""


@dataclass(frozen=True)
class Canvas:
    """A frame of ``w`` x ``h`` pixels on a canvas ``mx`` / ``my`` pixels larger per side."""

    w: int
    h: int
    mx: int
    my: int

    @classmethod
    def around(cls, width: int, height: int) -> Canvas:
        return cls(width, height, round(MARGIN * width), round(MARGIN * height))

    @property
    def cw(self) -> int:
        """The canvas's width."""
        return self.w + 2 * self.mx

    @property
    def ch(self) -> int:
        """The canvas's height."""
        return self.h + 2 * self.my

    def xy(self, u: float, v: float) -> tuple[float, float]:
        """Canvas pixel of the rest-view point (u, v) (fractions of the frame)."""
        return self.mx + u * self.w, self.my + v * self.h
