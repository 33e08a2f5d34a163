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
from kinora.engines.morph.flow import FloatArray, grid, to_gray

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
    scratch = _Scratch(current)
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
            pair = _Pair(current, following, scratch)
        yield pair.at(t, scratch)


class _Pair:
    """Two neighbouring frames and the flow between them, both ways, at frame size (in the
    scratch's flow planes: one pair is in use at a time)."""

    def __init__(self, a: Frame, b: Frame, scratch: _Scratch) -> None:
        h, w = a.shape[:2]
        scale = min(1.0, WORK_SIDE / max(h, w))
        size = (max(8, round(w * scale)), max(8, round(h * scale)))
        ga = np.asarray(cv2.resize(to_gray(a), size, interpolation=cv2.INTER_AREA), np.uint8)
        gb = np.asarray(cv2.resize(to_gray(b), size, interpolation=cv2.INTER_AREA), np.uint8)
        # DIS's fast preset at its own finest scale: within 0.2 dB of the full-scale flow on
        # the film clip's in-between frames, at a third of the cost (bench/bench_fps.py)
        dis = cv2.DISOpticalFlow.create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
        self.a, self.b = a, b
        # Flow in working-size pixels, resampled to the frame plane by plane; the vectors'
        # scale to frame pixels is folded into each frame's map arithmetic (``at``).
        flows = (dis.calc(ga, gb, None), dis.calc(gb, ga, None))  # type: ignore[call-overload]
        for flow, planes in zip(flows, (scratch.f01, scratch.f10), strict=True):
            for channel, plane in zip(cv2.split(np.asarray(flow, np.float32)), planes, strict=True):
                cv2.resize(channel, (w, h), dst=plane, interpolation=cv2.INTER_LINEAR)
        self.f01, self.f10 = scratch.f01, scratch.f10
        self.sx, self.sy = w / size[0], h / size[1]
        self.xs, self.ys = grid(h, w)

    def at(self, t: float, scratch: _Scratch) -> Frame:
        """The picture at ``t`` between A (0) and B (1): both pulled toward t and blended."""
        xs, ys, (mx, my), (wa, wb) = self.xs, self.ys, scratch.maps, scratch.warped
        cv2.scaleAdd(self.f10[0], t * self.sx, xs, dst=mx)
        cv2.scaleAdd(self.f10[1], t * self.sy, ys, dst=my)
        cv2.remap(self.a, mx, my, cv2.INTER_LINEAR, dst=wa, borderMode=cv2.BORDER_REPLICATE)
        cv2.scaleAdd(self.f01[0], (1 - t) * self.sx, xs, dst=mx)
        cv2.scaleAdd(self.f01[1], (1 - t) * self.sy, ys, dst=my)
        cv2.remap(self.b, mx, my, cv2.INTER_LINEAR, dst=wb, borderMode=cv2.BORDER_REPLICATE)
        return np.asarray(cv2.addWeighted(wa, 1 - t, wb, t, 0.0), np.uint8)


class _Scratch:
    """Buffers every in-between frame of a clip reuses: fresh frame-sized arrays each time
    would cost page faults (large allocations come straight from the kernel, zeroed)."""

    def __init__(self, frame: Frame) -> None:
        h, w = frame.shape[:2]

        def plane() -> FloatArray:
            return np.empty((h, w), np.float32)

        self.maps = (plane(), plane())
        self.f01 = (plane(), plane())
        self.f10 = (plane(), plane())
        self.warped = (np.empty_like(frame), np.empty_like(frame))
