"""Keyframes: media_items placed in time (``at``, ``hold``), checked against the duration.

A request is keyframed when its media_items hold more than two items or any item gives
``at`` or ``hold``. Its images play in list order; each one's time is its ``at``, or for the
first 0, for the last the duration, and for the others a time spaced evenly between the
neighbours whose times are known. ``hold`` keeps the video on that image for so many seconds
from its time; between keyframes the motion never stops (one continuous move), so a pause is
only where it was asked for.

Everything here is checked before anything is fetched or charged, with the failing item's
field in the error (a 422).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from kinora.errors import InputError

MAX_KEYFRAMES = 10
MIN_GAP = 0.25
"""Seconds of motion at least between one keyframe (after its hold) and the next."""


class _Item(Protocol):
    @property
    def at(self) -> float | None: ...
    @property
    def hold(self) -> float | None: ...


@dataclass(frozen=True)
class Keyframe:
    at: float
    """Seconds from the start of the motion at which the video shows this image."""
    hold: float = 0.0
    """Seconds it stays on it from ``at``."""


def is_keyframed(items: Sequence[_Item] | None) -> bool:
    return bool(items) and (
        len(items or ()) > 2 or any(i.at is not None or i.hold is not None for i in items or ())
    )


def resolve(items: Sequence[_Item] | None, duration: float) -> list[Keyframe] | None:
    """Each item's time and hold (None when the request is not keyframed)."""
    if not items or not is_keyframed(items):
        return None
    n = len(items)
    field = ("body", "media_items")
    times: list[float | None] = [i.at for i in items]
    if times[0] is None:
        times[0] = 0.0
    if n > 1 and times[-1] is None:
        times[-1] = float(duration)
    # the others evenly between their known neighbours
    known = [k for k, t in enumerate(times) if t is not None]
    for left, right in itertools.pairwise(known):
        t0, t1 = times[left], times[right]
        assert t0 is not None and t1 is not None
        for k in range(left + 1, right):
            times[k] = t0 + (t1 - t0) * (k - left) / (right - left)
    out: list[Keyframe] = []
    for k, (item, at) in enumerate(zip(items, times, strict=True)):
        assert at is not None
        hold = float(item.hold or 0.0)
        if at + hold > duration + 1e-6:
            name = "hold" if hold and at <= duration else "at"
            raise InputError(
                (*field, k, name),
                f"keyframe {k} ends at {at + hold:g} s, after the video's {duration:g} s "
                "(duration)",
            )
        if out:
            previous = out[-1]
            if at < previous.at + previous.hold + MIN_GAP - 1e-6:
                raise InputError(
                    (*field, k, "at"),
                    f"keyframe {k} at {at:g} s comes less than {MIN_GAP:g} s after keyframe "
                    f"{k - 1} (at {previous.at:g} s, held {previous.hold:g} s): keyframes go "
                    "in time order",
                )
        out.append(Keyframe(at=round(at, 4), hold=round(hold, 4)))
    return out


def check_fits(keyframes: Sequence[Keyframe], duration: float) -> None:
    """An edit's new duration must still hold the stored keyframes."""
    if keyframes and keyframes[-1].at + keyframes[-1].hold > duration + 1e-6:
        last = keyframes[-1]
        raise InputError(
            ("body", "duration"),
            f"the media's keyframes run to {last.at + last.hold:g} s: a duration of at least "
            "that is needed (or send new media_items)",
        )
