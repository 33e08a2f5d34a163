"""Frames between frames: a clip brought to a higher frame rate by optical flow.

A provider's video (mostly 24 fps or less) or a lead-in clip shown at 60 fps would otherwise
repeat frames, which reads as judder. Between two neighbouring frames the motion is small, so
a cheap estimate does: DIS flow both ways at a working size, and the in-between image is the
two frames pulled toward time t along them (``A(x + t F10(x))`` and ``B(x + (1 - t) F01(x))``,
the linear approximation of Jiang et al.'s Super SloMo), blended by t. The two-image engine's
:class:`~kinora.engines.morph.flow.FlowInterpolator` handles large motion and occlusion, at
several times the cost a frame.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import cv2
import numpy as np

from kinora.engines.base import Frame
from kinora.engines.morph.flow import FloatArray, dis_flow, grid, resize_flow, to_gray

WORK_SIDE = 320
"""Long side the flow is found at (then scaled to the frame)."""
EXACT = 1e-3
"""A time this close to a source frame shows that frame."""


def positions(count: int, n_out: int) -> list[float]:
    """Where each of ``n_out`` output frames falls in a clip of ``count`` frames (both ends
    kept: the first output frame is the first source frame, the last the last)."""
    if n_out <= 1 or count <= 1:
        return [0.0] * n_out
    return [i * (count - 1) / (n_out - 1) for i in range(n_out)]


def tween(frames: Iterable[Frame], count: int, n_out: int) -> Iterator[Frame]:
    """``n_out`` frames spread evenly over the ``count`` frames of ``frames``: when there are
    fewer outputs than sources, the nearest source frames (none repeats); when more, source
    frames where a time falls on one and flow-made frames between the rest, so no two
    neighbouring output frames are the same picture."""
    places = positions(count, n_out)
    source = iter(frames)
    if n_out <= count:
        picks = [round(p) for p in places]
        i = 0
        for index, frame in enumerate(source):
            while i < n_out and picks[i] == index:
                yield frame
                i += 1
            if i >= n_out:
                return
        return
    current = next(source)
    following: Frame | None = next(source, None)
    index = 0  # current is source frame ``index``
    pair: _Pair | None = None
    for p in places:
        while p >= index + 1 - EXACT and following is not None:
            current, following = following, next(source, None)
            index += 1
            pair = None
        t = p - index
        if t <= EXACT or following is None:
            yield current
            continue
        if pair is None:
            pair = _Pair(current, following)
        yield pair.at(t)


class _Pair:
    """Two neighbouring frames and the flow between them, both ways, at frame size."""

    def __init__(self, a: Frame, b: Frame) -> None:
        h, w = a.shape[:2]
        scale = min(1.0, WORK_SIDE / max(h, w))
        size = (max(8, round(w * scale)), max(8, round(h * scale)))
        ga = np.asarray(cv2.resize(to_gray(a), size, interpolation=cv2.INTER_AREA), np.uint8)
        gb = np.asarray(cv2.resize(to_gray(b), size, interpolation=cv2.INTER_AREA), np.uint8)
        preset = cv2.DISOPTICAL_FLOW_PRESET_FAST
        self.a, self.b = a, b
        self.f01: FloatArray = resize_flow(dis_flow(ga, gb, preset=preset), h, w)
        self.f10: FloatArray = resize_flow(dis_flow(gb, ga, preset=preset), h, w)
        self.xs, self.ys = grid(h, w)

    def at(self, t: float) -> Frame:
        xs, ys = self.xs, self.ys
        from_a = cv2.remap(
            self.a,
            xs + t * self.f10[..., 0],
            ys + t * self.f10[..., 1],
            cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,
        )
        from_b = cv2.remap(
            self.b,
            xs + (1 - t) * self.f01[..., 0],
            ys + (1 - t) * self.f01[..., 1],
            cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,
        )
        return np.asarray(cv2.addWeighted(from_a, 1 - t, from_b, t, 0.0), np.uint8)
