"""Easing curves: how far along a motion is at time t, for every engine.

Each curve maps t in [0, 1] to progress, and each is defined here once. They differ on purpose
(the docstrings say what each is for): camera paths and scene growth settle with smoothstep,
periodic motion goes there and back on a cosine so a loop's seam is as smooth as any step,
and the two-image engine keeps a share of linear speed so no frame of a transition stalls.
"""

from __future__ import annotations

import math


def smoothstep(t: float) -> float:
    """Smoothstep: zero velocity at both ends, so one-way moves start and settle gently.

    Clamped: t below 0 is 0 and above 1 is 1, so callers may pass a ramp of any span.
    """
    t = min(1.0, max(0.0, t))
    return t * t * (3.0 - 2.0 * t)


def smoothstep_with_linear(t: float) -> float:
    """Mostly smoothstep with a linear share: soft starts, yet speed never reaches zero.

    Pure smoothstep stalls at the ends; a quarter of linear speed keeps every step visible,
    and the fastest step is only ~1.3x the median one.
    """
    t = min(1.0, max(0.0, t))
    return 0.25 * t + 0.75 * t * t * (3.0 - 2.0 * t)


def there_and_back(t: float) -> float:
    """0 -> 1 -> 0 over one period (a raised cosine): zero velocity at both ends and at the
    turn, and the same curve again after t = 1, so a looped motion is smooth across the seam."""
    return 0.5 - 0.5 * math.cos(2.0 * math.pi * t)


def sine_bump(t: float) -> float:
    """0 -> 1 -> 0 as half a sine, t clamped to [0, 1]: an excursion that leaves and comes
    back without stopping at the ends (both endpoints of the pass stay fixed)."""
    return math.sin(math.pi * min(1.0, max(0.0, t)))
