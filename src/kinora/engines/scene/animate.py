"""Subject motion from verbs: where a subject is, how big, turned and squashed, at time t.

Every cyclic part of a motion has a whole number of cycles per pass, so a looped render is
seamless; travel goes once across for one pass (``periodic=False``) and out and back when
looping. Units: u, v are fractions of the frame's width and height in the rest view.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from kinora.engines.geometry.easing import smoothstep, there_and_back

VERBS = (
    "jump",
    "run",
    "walk",
    "fly",
    "swim",
    "spin",
    "dance",
    "float",
    "drive",
    "grow",
    "sleep",
    "sit",
    "idle",
)

# How far a verb travels across the frame in one pass.
_TRAVEL = {
    "jump": 0.42,
    "run": 0.55,
    "walk": 0.32,
    "fly": 0.6,
    "swim": 0.45,
    "drive": 0.6,
    "float": 0.12,
    "spin": 0.0,
    "dance": 0.0,
    "grow": 0.0,
    "sleep": 0.0,
    "sit": 0.0,
    "idle": 0.0,
}


@dataclass(frozen=True)
class MotionPath:
    """A verb's motion for one subject: travel across the rest view plus cyclic parts."""

    verb: str
    u0: float
    """Horizontal position (fraction of width) at the start of the pass."""
    u1: float
    """... at the end of a one-way pass (the far end of the out-and-back when looping)."""
    v: float
    """Rest anchor height: the ground line, or the flight height for flyers."""
    phase: float = 0.0
    amplitude: float = 1.0
    """How strongly the verb's pose shows (0 for an icon already in the pose: a person in
    bed does not lie down again)."""

    @property
    def direction(self) -> float:
        return 1.0 if self.u1 >= self.u0 else -1.0


@dataclass(frozen=True)
class Pose:
    u: float
    v: float
    scale: float = 1.0
    angle: float = 0.0
    """Degrees, counter-clockwise on screen."""
    sx: float = 1.0
    sy: float = 1.0
    facing: float = 1.0
    """+1 moving/looking right, -1 left."""
    lift: float = 0.0
    """Height above the ground as a fraction of frame height (for the shadow)."""
    flap: float = 0.0
    """Phase of the wing beat, 0..1 (which of a flying bird's wing frames is drawn)."""


def make_path(
    verb: str,
    *,
    centre: float,
    v: float,
    direction: float,
    phase: float,
    amplitude: float = 1.0,
) -> MotionPath:
    travel = _TRAVEL.get(verb, 0.0)
    return MotionPath(
        verb=verb,
        u0=centre - direction * travel / 2,
        u1=centre + direction * travel / 2,
        v=v,
        phase=phase,
        amplitude=amplitude,
    )


def pose(path: MotionPath, t: float, *, periodic: bool) -> Pose:
    """The subject at time t in [0, 1] of a pass."""
    verb, ph = path.verb, path.phase
    tau = 2.0 * math.pi
    if periodic:
        # Out and back: u0 -> u1 -> u0, with a smooth turn at each end.
        s = there_and_back(t)
        ds = math.sin(tau * t)
        facing = path.direction * (1.0 if ds >= 0 else -1.0)
    else:
        s = t
        facing = path.direction
    u = path.u0 + (path.u1 - path.u0) * s
    v = path.v
    scale, angle, sx, sy, lift, flap = 1.0, 0.0, 1.0, 1.0, 0.0, 0.0
    if verb == "jump":
        hops = 3
        k = abs(math.sin(math.pi * hops * t + ph * 0))
        lift = 0.2 * k
        v -= lift
        squash = max(0.0, 1.0 - k / 0.25)  # near the ground: squash, in the air: stretch
        sy = 1.0 - 0.16 * squash + 0.06 * (1 - squash)
        sx = 1.0 + 0.12 * squash
        angle = 10.0 * math.cos(math.pi * hops * t) * facing
    elif verb == "run":
        k = abs(math.sin(math.pi * 8 * t + ph))
        lift = 0.035 * k
        v -= lift
        angle = -8.0 * facing + 4.0 * math.sin(tau * 8 * t + ph)
        sy = 1.0 + 0.04 * (k - 0.5)
    elif verb == "walk":
        k = abs(math.sin(math.pi * 6 * t + ph))
        lift = 0.015 * k
        v -= lift
        angle = 4.0 * math.sin(tau * 3 * t + ph)
    elif verb == "fly":
        # Bobbing: up on each downstroke's push, gliding down between; 12 beats a pass.
        v += 0.05 * math.sin(tau * 2 * t + ph) - 0.012 * math.cos(tau * 12 * t + ph)
        sy = 1.0 + 0.1 * math.sin(tau * 12 * t + ph)
        flap = (12 * t + ph / tau) % 1.0
        angle = -10.0 * math.cos(tau * 2 * t + ph) * facing
    elif verb == "swim":
        v += 0.03 * math.sin(tau * 2 * t + ph)
        angle = 12.0 * math.sin(tau * 4 * t + ph)
        sx = 1.0 + 0.04 * math.sin(tau * 8 * t + ph)
    elif verb == "spin":
        turns = 2
        angle = -360.0 * turns * t
        v -= 0.02 * abs(math.sin(tau * turns * t))
        lift = 0.02
    elif verb == "dance":
        angle = 15.0 * math.sin(tau * 4 * t + ph)
        k = abs(math.sin(math.pi * 8 * t + ph))
        lift = 0.04 * k
        v -= lift
        u += 0.04 * math.sin(tau * 2 * t + ph)
        sy = 1.0 + 0.05 * math.sin(tau * 8 * t + ph)
        facing = 1.0 if math.sin(tau * 2 * t + ph) >= 0 else -1.0
    elif verb == "float":
        v += 0.04 * math.sin(tau * 2 * t + ph)
        angle = 6.0 * math.sin(tau * t + ph)
        lift = 0.05
    elif verb == "drive":
        v -= 0.004 * abs(math.sin(math.pi * 24 * t + ph))
        angle = 1.0 * math.sin(tau * 6 * t + ph)
    elif verb == "grow":
        # Looping: grows and shrinks back; one pass: grows over its first 70 % and holds.
        scale = 0.35 + 0.65 * there_and_back(t) if periodic else 0.15 + 0.85 * smoothstep(t / 0.7)
        angle = 4.0 * math.sin(tau * 2 * t + ph)
    elif verb == "sleep":
        # The sprite already lies down with its eyes shut (draw/poses.py): here it settles a
        # little lower and longer, head drooped, and breathes slowly: one breath a pass.
        a = path.amplitude
        sy = 1.0 - 0.08 * a + 0.04 * math.sin(tau * t + ph)
        sx = 1.0 + 0.06 * a - 0.015 * math.sin(tau * t + ph)
        angle = -3.0 * a * facing
    elif verb == "sit":
        sy = 1.0 - 0.14 * path.amplitude + 0.02 * math.sin(tau * 2 * t + ph)
        sx = 1.0 + 0.04 * path.amplitude
    else:  # idle: breathing
        sy = 1.0 + 0.025 * math.sin(tau * 2 * t + ph)
    return Pose(
        u=u, v=v, scale=scale, angle=angle, sx=sx, sy=sy, facing=facing, lift=lift, flap=flap
    )
