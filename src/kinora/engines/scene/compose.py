"""The scene plan: what is drawn where, at which depth, doing what — decided before any pixel.

The plan is plain data (tested directly): a palette from time of day, mood and weather; the
scenery as fronto-parallel layers at known depths (sky, clouds, far hills, a forest or a
skyline, the ground the subjects stand on, a foreground); the subjects with their icon, verb,
exact depth and motion path; and the particle systems. Depth and height on screen agree with
one ground plane seen by a camera at eye height: a thing at depth Z stands at
``v = HORIZON + EYE / Z`` in the rest view, and its size goes as 1 / Z.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace

import numpy as np

from kinora.engines.scene.animate import MotionPath, make_path
from kinora.engines.scene.prompt import PromptParse
from kinora.engines.scene.vocabulary import Kind

Color = tuple[int, int, int]

HORIZON = 0.56
EYE = 0.29
SUBJECT_DEPTH = 1.0
SKY_DEPTH = 80.0


def ground_v(depth: float) -> float:
    """Rest-view height (fraction of frame height) of the ground at a depth."""
    return HORIZON + EYE / depth


COLOURS: dict[str, Color] = {
    "red": (225, 50, 50),
    "orange": (245, 140, 40),
    "yellow": (250, 215, 60),
    "gold": (240, 190, 70),
    "green": (70, 180, 80),
    "blue": (60, 120, 230),
    "teal": (40, 190, 190),
    "purple": (150, 80, 210),
    "pink": (245, 120, 180),
    "white": (245, 245, 250),
    "black": (35, 35, 45),
    "brown": (140, 90, 50),
}


@dataclass(frozen=True)
class Palette:
    sky_top: Color
    sky_horizon: Color
    ground: Color
    far: Color
    """What distance fades towards (haze)."""
    light: tuple[float, float, float]
    """Multiplier on icons and ground: dim and bluish at night."""
    accent: Color
    """Particle and glow colour."""
    stars: bool = False
    sun: str = "sun"
    """"sun", "moon" or "" (none drawn)."""
    sun_u: float = 0.78
    """Where the sun or moon stands across the frame (its glitter path on water is under it)."""
    warmth: float = 0.0
    """How much the low sun's colour washes the whole scene (sunset and dawn), 0..1."""


@dataclass(frozen=True)
class Layer:
    """Scenery on one fronto-parallel plane at ``depth`` (in units of the subject's depth)."""

    kind: str
    depth: float
    colour: Color
    seed: int
    props: tuple[str, ...] = ()
    """Icons stamped along the layer's ground line (trees, houses, cacti...)."""
    density: float = 1.0


@dataclass(frozen=True)
class Subject:
    key: str
    icon: str
    kind: Kind
    verb: str
    depth: float
    height: float
    """On-screen height at rest, as a fraction of frame height (already divided by depth)."""
    path: MotionPath
    colour: str = ""
    faces_right: bool = False
    tilt: float = 0.0
    grounded: bool = True
    word: str = ""
    waterline: bool = False
    """Swims at the surface, its middle on the nearest water band's top line (ripples)."""


@dataclass(frozen=True)
class Effect:
    kind: str
    count: int
    depth: float
    colour: Color
    subject: int = -1
    """Index of the subject the effect follows (a sleeper's zzz, a lighthouse's beam)."""


@dataclass(frozen=True)
class ScenePlan:
    prompt: str
    setting: str
    time: str
    weather: tuple[str, ...]
    mood: str
    style: str
    palette: Palette
    layers: tuple[Layer, ...]
    subjects: tuple[Subject, ...]
    effects: tuple[Effect, ...]
    parse: PromptParse
    seed: int
    notes: tuple[str, ...] = field(default=())
    not_drawn: tuple[str, ...] = field(default=())
    """What the prompt asked for that the scene does not show, in words a user reads: it is
    reported with the render (``Render.metadata["not_drawn"]``), never silently replaced."""

    @property
    def icons(self) -> list[str]:
        return [s.icon for s in self.subjects]

    @property
    def verbs(self) -> list[str]:
        return [s.verb for s in self.subjects]


def _mix(a: Color, b: Color, t: float) -> Color:
    return (
        round(a[0] + (b[0] - a[0]) * t),
        round(a[1] + (b[1] - a[1]) * t),
        round(a[2] + (b[2] - a[2]) * t),
    )


def _grey(a: Color, t: float) -> Color:
    g = int(0.3 * a[0] + 0.59 * a[1] + 0.11 * a[2])
    return _mix(a, (g, g, g), t)


def _scale(a: Color, k: float) -> Color:
    return (min(255, int(a[0] * k)), min(255, int(a[1] * k)), min(255, int(a[2] * k)))


_TIME = {
    # sky top, horizon, light, accent
    "day": ((72, 142, 226), (196, 228, 250), (1.0, 1.0, 1.0), (255, 250, 210)),
    "dawn": ((118, 126, 196), (252, 196, 164), (1.0, 0.93, 0.9), (255, 220, 190)),
    "sunset": ((74, 62, 146), (253, 158, 92), (1.0, 0.84, 0.74), (255, 200, 120)),
    "dusk": ((32, 42, 104), (160, 116, 168), (0.72, 0.72, 0.88), (255, 210, 150)),
    "night": ((8, 12, 42), (38, 54, 108), (0.55, 0.6, 0.8), (255, 240, 170)),
}
_GROUND = {
    "forest": (62, 132, 62),
    "jungle": (40, 120, 60),
    "city": (118, 118, 128),
    "village": (100, 165, 80),
    "beach": (236, 212, 160),
    "ocean": (50, 120, 185),
    "underwater": (200, 180, 130),
    "lake": (90, 160, 80),
    "desert": (228, 186, 120),
    "mountains": (96, 150, 86),
    "snowfield": (236, 242, 250),
    "meadow": (104, 176, 78),
    "space": (120, 120, 140),
    "sky": (240, 244, 250),
    "kingdom": (104, 176, 78),
    "cliff": (96, 150, 86),
    "hills": (96, 172, 74),
    "room": (150, 108, 72),
    "windowsill": (150, 108, 72),
}
INDOOR = ("room", "windowsill")
SILL_V = 0.66
"""Rest-view height of the windowsill's top, where a subject on it sits."""
CLIFF_V = 0.5
"""Rest-view height of the cliff's top (the cliff stands on the left part of the frame)."""
CLIFF_DEPTH = 1.6
WALL_DEPTH = 1.3
WATER_NEAR = 1.35
"""Depth of the nearest water band of lakes, seas and cliffs."""
SURFACE = ("lake", "ocean", "cliff")
SURFACE_DEPTH = 1.6
"""Where swimmers swim: behind the nearest water band, so its top line is their waterline."""
GROUNDED_KINDS = frozenset(
    {Kind.ANIMAL, Kind.PERSON, Kind.VEHICLE, Kind.PLANT, Kind.BUILDING, Kind.BOAT}
)
UNDRAWN_FURNITURE = frozenset({"sofa", "couch", "fireplace", "armchair"})
"""Room words that set the scene indoors but that the room does not draw."""
WATERFOWL = frozenset({"duck", "swan"})
POSED_ICONS = frozenset({"person-in-bed", "person-in-lotus-position"})
"""Icons already showing a resting pose (their verb only breathes, it does not squash them)."""
OVERCAST = frozenset({"rain", "storm", "cloudy", "fog", "snow"})
"""Weather that hides the stars and the moon."""


def _infer_setting(parse: PromptParse) -> str:
    kinds = {m.kind for m in parse.subjects}
    keys = {m.key for m in parse.subjects}
    if "lighthouse" in keys:
        return "cliff"
    if keys & {"astronaut", "rocket", "ufo", "alien"}:
        return "space"
    if keys & {"fish", "octopus", "jellyfish", "mermaid", "shark", "crab"}:
        return "underwater"
    if Kind.BOAT in kinds or keys & {"dolphin", "whale", "seal"}:
        return "ocean"
    if keys & {"camel", "cactus", "dinosaur", "sauropod"}:
        return "desert"
    if keys & {"penguin", "polar bear", "snowman"} or "snow" in parse.weather:
        return "snowfield"
    if keys & {"castle", "princess", "prince", "unicorn", "wizard", "fairy", "dragon"}:
        return "kingdom"
    if keys & {"car", "taxi", "bus", "police car", "racing car", "truck", "tram", "robot"}:
        return "city"
    if keys & {"house", "cow", "pig", "sheep", "chicken", "rooster", "tractor", "goat"}:
        return "village"
    if parse.mood in ("spooky", "mysterious"):
        return "forest"
    if Kind.AIRCRAFT in kinds and len(kinds) == 1:
        return "sky"
    return "meadow"


def _palette(parse: PromptParse, setting: str, time: str, sun_u: float) -> Palette:
    top, horizon, light, accent = _TIME[time]
    ground = _GROUND[setting]
    if "snow" in parse.weather and setting not in ("ocean", "underwater", "space", "city", *INDOOR):
        ground = _GROUND["snowfield"]
    mood = parse.mood
    if mood == "magical":
        top, horizon = _mix(top, (92, 44, 150), 0.5), _mix(horizon, (244, 168, 214), 0.45)
        accent = (255, 236, 160)
    elif mood == "spooky":
        top, horizon = _mix(top, (22, 26, 40), 0.6), _mix(horizon, (96, 118, 104), 0.6)
        light = (light[0] * 0.7, light[1] * 0.8, light[2] * 0.75)
        ground = _mix(ground, (40, 60, 50), 0.5)
        accent = (190, 255, 170)
    elif mood == "romantic":
        horizon = _mix(horizon, (250, 170, 200), 0.45)
        accent = (255, 150, 190)
    elif mood == "epic":
        top, horizon = _mix(top, (30, 60, 110), 0.35), _mix(horizon, (255, 170, 90), 0.3)
    elif mood in ("calm",):
        top, horizon, ground = _grey(top, 0.2), _grey(horizon, 0.15), _grey(ground, 0.15)
    elif mood == "sad":
        top, horizon, ground = _grey(top, 0.55), _grey(horizon, 0.5), _grey(ground, 0.45)
        light = (light[0] * 0.85, light[1] * 0.88, light[2] * 0.95)
    elif mood == "cozy":
        horizon, ground = _mix(horizon, (255, 200, 150), 0.3), _mix(ground, (150, 130, 70), 0.2)
        light = (light[0], light[1] * 0.95, light[2] * 0.85)
    elif mood == "mysterious":
        top, horizon = _mix(top, (40, 30, 80), 0.5), _mix(horizon, (110, 90, 150), 0.4)
    if "storm" in parse.weather:
        top, horizon = _scale(_grey(top, 0.7), 0.55), _scale(_grey(horizon, 0.7), 0.7)
        light = (light[0] * 0.75, light[1] * 0.78, light[2] * 0.85)
    elif "rain" in parse.weather:
        top, horizon = _scale(_grey(top, 0.6), 0.8), _grey(horizon, 0.55)
        light = (light[0] * 0.85, light[1] * 0.87, light[2] * 0.92)
    elif "cloudy" in parse.weather or "fog" in parse.weather:
        top, horizon = _grey(top, 0.45), _grey(horizon, 0.35)
    elif "snow" in parse.weather:
        top, horizon = _mix(_grey(top, 0.5), (200, 210, 225), 0.3), _grey(horizon, 0.3)
    if setting == "space":
        top, horizon, ground = (6, 6, 24), (40, 20, 70), (110, 110, 130)
        light = (0.95, 0.95, 1.0)
    elif setting == "underwater":
        top, horizon = (120, 210, 230), (20, 90, 150)
        light = (0.8, 0.95, 1.0)
        accent = (220, 250, 255)
    for c in parse.colours:
        rgb = COLOURS[c]
        horizon = _mix(horizon, rgb, 0.35)
        top = _mix(top, _scale(rgb, 0.6), 0.25)
        accent = _mix(accent, rgb, 0.6)
    overcast = bool(OVERCAST & set(parse.weather))
    warmth = 0.0
    if time in ("sunset", "dawn") and not overcast and setting not in ("space", "underwater"):
        # A low sun warms everything it lights, water and snow included, not just the sky.
        warmth = 0.35 if time == "sunset" else 0.22
        glow = (255, 150, 80) if time == "sunset" else (255, 185, 150)
        ground = _mix(ground, glow, warmth * 0.5)
        light = (light[0], light[1] * (1 - 0.1 * warmth), light[2] * (1 - 0.35 * warmth))
    far = _mix(horizon, top, 0.15)
    stars = (time in ("night", "dusk") and not overcast) or setting == "space"
    sun = "moon" if time in ("night", "dusk") else "sun"
    if setting in ("underwater",) or overcast:
        sun = ""
    return Palette(
        sky_top=top,
        sky_horizon=horizon,
        ground=ground,
        far=far,
        light=light,
        accent=accent,
        stars=stars,
        sun=sun,
        sun_u=sun_u,
        warmth=warmth,
    )


def _layers(
    setting: str, parse: PromptParse, palette: Palette, rng: np.random.Generator
) -> list[Layer]:
    g = palette.ground
    snowy = "snow" in parse.weather or setting == "snowfield"
    rough = 2.2 if "storm" in parse.weather else 1.4 if "wind" in parse.weather else 1.0
    s = [int(x) for x in rng.integers(0, 2**31 - 1, size=12)]
    out: list[Layer] = [Layer("sky", SKY_DEPTH, palette.sky_top, s[0])]
    if setting not in ("space", "underwater"):
        n_clouds = 3
        if {"cloudy", "rain", "storm", "snow"} & set(parse.weather):
            n_clouds = 8
        if "clear" in parse.weather:
            n_clouds = 2
        out.append(Layer("clouds", 30.0, (255, 255, 255), s[1], density=n_clouds))
    dark = _mix(g, (20, 40, 30), 0.35)

    def water(c: Color, far: float = 0.0) -> Color:
        """Water mirrors its sky: grey under storms, dark at night, and at sunset warm, most
        towards the horizon (``far`` 1), whose colour it reflects there."""
        mirrored = _mix(c, palette.sky_top, 0.25)
        return _mix(mirrored, palette.sky_horizon, 0.15 + palette.warmth * (0.3 + 0.9 * far))

    pine: tuple[str, ...] = ("evergreen-tree",)
    broad: tuple[str, ...] = ("deciduous-tree", "evergreen-tree")
    if setting in ("forest", "jungle"):
        trees = ("palm-tree", "deciduous-tree") if setting == "jungle" else broad
        if snowy:
            trees = pine
        out += [
            Layer("hills", 9.0, _mix(g, palette.far, 0.55), s[2]),
            Layer("trees", 4.5, _mix(g, palette.far, 0.35), s[3], trees, 1.6),
            Layer("trees", 2.6, _mix(g, palette.far, 0.15), s[4], trees, 1.1),
            Layer("ground", 1.45, g, s[5], trees, 0.25),
            Layer("foreground", 0.66, dark, s[6], () if snowy else ("herb", "seedling"), 0.7),
        ]
    elif setting == "city":
        out += [
            Layer("skyline", 7.0, _mix((90, 100, 130), palette.far, 0.5), s[2]),
            Layer("buildings", 3.2, _mix((110, 110, 140), palette.far, 0.2), s[3]),
            Layer("street", 1.35, g, s[4], ("deciduous-tree",), 0.25),
            Layer("road", 1.0, (70, 72, 80), s[5]),
            Layer("foreground", 0.62, (150, 150, 158), s[6]),
        ]
    elif setting in ("village", "meadow", "kingdom"):
        props = {
            "village": ("house", "house-with-garden", "deciduous-tree", "house"),
            "kingdom": ("castle",),
            "meadow": ("deciduous-tree",),
        }[setting]
        out += [
            Layer("hills", 9.0, _mix(g, palette.far, 0.5), s[2]),
            Layer(
                "hills",
                4.0,
                _mix(g, palette.far, 0.25),
                s[3],
                props,
                0.5 if setting != "kingdom" else 0.12,
            ),
            Layer("ground", 1.45, g, s[4], ("deciduous-tree",), 0.2),
            Layer(
                "foreground",
                0.66,
                _mix(g, (30, 60, 30), 0.25),
                s[5],
                ("tulip", "blossom", "sunflower", "herb") if not snowy else ("evergreen-tree",),
                0.8,
            ),
        ]
    elif setting == "hills":
        # Rolling hills: ridge behind ridge in deepening greens, a few trees and hedges on
        # them, grass (no flower bed) in front.
        out += [
            Layer("hills", 12.0, _mix(g, palette.far, 0.6), s[2]),
            Layer("hills", 6.0, _mix(_mix(g, (60, 140, 70), 0.3), palette.far, 0.35), s[3]),
            Layer("hills", 3.0, _mix(g, palette.far, 0.15), s[4], ("deciduous-tree",), 0.25),
            Layer("ground", 1.45, _mix(g, (150, 190, 80), 0.2), s[5]),
            Layer("foreground", 0.66, _mix(g, (30, 60, 30), 0.25), s[6]),
        ]
    elif setting == "beach":
        out += [
            Layer("water", 8.0, water((70, 150, 205), 1.0), s[2]),
            Layer("water", 2.6, water((80, 165, 215), 0.5), s[3]),
            Layer("sand", 1.4, g, s[4], ("palm-tree",), 0.35),
            Layer("foreground", 0.66, _mix(g, (150, 120, 80), 0.2), s[5], ("spiral-shell",), 0.3),
        ]
    elif setting == "ocean":
        out += [
            Layer("water", 8.0, water(_mix((50, 120, 185), palette.far, 0.3), 1.0), s[2]),
            Layer("water", 2.6, water((50, 125, 190), 0.5), s[3]),
            Layer("water", 1.35, water((45, 115, 180)), s[4]),
            Layer("waves", 0.66, water((40, 100, 165)), s[5], density=rough),
        ]
    elif setting == "cliff":
        rock = _mix((128, 118, 104), palette.far, 0.1)
        out += [
            Layer("water", 8.0, water(_mix((50, 120, 185), palette.far, 0.3), 1.0), s[2]),
            Layer("water", 2.6, water((50, 125, 190), 0.5), s[3]),
            Layer("cliff", CLIFF_DEPTH, rock, s[4], density=1.0),
            Layer("water", 1.35, water((45, 115, 180)), s[5]),
            Layer("waves", 0.66, water((40, 100, 165)), s[6], density=rough),
        ]
    elif setting in INDOOR:
        # The world outside the window (seen through it, with its own weather and sky),
        # then the wall with the window, the sill and the floor.
        out += [
            Layer("hills", 9.0, _mix((104, 176, 78), palette.far, 0.5), s[2]),
            Layer("trees", 5.0, _mix((90, 160, 80), palette.far, 0.3), s[3], broad, 1.2),
            Layer("wall", WALL_DEPTH, (226, 206, 170), s[4]),
            Layer("sill", WALL_DEPTH - 0.04, (250, 248, 242), s[5]),
            Layer("floor", WALL_DEPTH - 0.08, g, s[6], ("potted-plant",), 0.3),
        ]
    elif setting == "lake":
        out += [
            Layer("hills", 9.0, _mix(g, palette.far, 0.5), s[2]),
            Layer("trees", 5.0, _mix(g, palette.far, 0.3), s[3], broad, 1.2),
            Layer("water", 2.4, water((70, 140, 190), 1.0), s[4]),
            Layer("water", WATER_NEAR, water((60, 130, 185), 0.3), s[5]),
            Layer("ground", 1.12, _mix(g, (150, 130, 90), 0.3), s[7]),
            Layer("foreground", 0.66, dark, s[6], ("herb", "seedling"), 0.7),
        ]
    elif setting == "desert":
        out += [
            Layer("dunes", 9.0, _mix(g, palette.far, 0.35), s[2]),
            Layer("dunes", 3.5, _mix(g, palette.far, 0.12), s[3], ("cactus",), 0.3),
            Layer("sand", 1.45, g, s[4], ("cactus",), 0.15),
            Layer("foreground", 0.66, _mix(g, (150, 100, 60), 0.2), s[5], ("rock",), 0.2),
        ]
    elif setting in ("mountains", "snowfield"):
        far_rock = (140, 150, 175) if setting == "mountains" else (200, 210, 230)
        out += [
            Layer("mountains", 14.0, _mix(far_rock, palette.far, 0.35), s[2]),
            Layer("mountains", 7.0, _mix(_mix(far_rock, g, 0.5), palette.far, 0.2), s[3]),
            Layer("hills", 3.2, _mix(g, palette.far, 0.12), s[4], pine, 0.9),
            Layer("ground", 1.45, g, s[5], pine, 0.15),
            Layer(
                "foreground",
                0.66,
                _mix(g, (40, 60, 50), 0.2) if not snowy else g,
                s[6],
                pine if snowy else ("herb",),
                0.4,
            ),
        ]
    elif setting == "space":
        out += [
            Layer("planets", 40.0, (0, 0, 0), s[2], ("ringed-planet", "full-moon"), 1.0),
        ]
    elif setting == "sky":
        out += [
            Layer("cloudbank", 12.0, (240, 244, 252), s[2]),
            Layer("cloudbank", 4.0, (250, 252, 255), s[3]),
            Layer("cloudbank", 0.7, (255, 255, 255), s[4]),
        ]
    elif setting == "underwater":
        out += [
            Layer("seabed", 6.0, _mix(g, (20, 90, 150), 0.6), s[2], ("coral", "herb"), 0.6),
            Layer("seabed", 2.4, _mix(g, (20, 90, 150), 0.3), s[3], ("coral", "herb"), 0.7),
            Layer("seabed", 1.35, g, s[4], ("spiral-shell", "coral"), 0.3),
            Layer("foreground", 0.66, _mix(g, (30, 80, 90), 0.5), s[5], ("coral", "herb"), 0.6),
        ]
    if any(m.kind == Kind.VEHICLE for m in parse.subjects) and setting not in (
        "city",
        "cliff",
        *INDOOR,
        "ocean",
        "underwater",
        "space",
        "sky",
    ):
        out.append(
            Layer("road", 1.0, (96, 90, 84) if setting != "desert" else (180, 140, 90), s[7])
        )
    return out


def _subjects(parse: PromptParse, setting: str, rng: np.random.Generator) -> list[Subject]:
    out: list[Subject] = []
    slots = [(1.0, 0.0), (1.35, 0.22), (0.85, -0.2), (1.7, -0.3), (1.2, 0.32), (2.0, 0.1)]
    floating_world = setting in ("space", "sky", "underwater")
    on_sill = setting == "windowsill"
    n = 0
    for m in parse.subjects:
        for copy in range(m.count):
            if n >= 8:
                break
            depth, du = slots[n % len(slots)]
            if copy and n < len(slots):
                depth = 1.0 + 0.25 * copy * (1 if copy % 2 else -0.6)
                du = 0.18 * copy * (1 if copy % 2 else -1)
            kind = m.kind
            c = m.concept
            base = 0.27 * (c.size if c else 1.0) * m.size
            verb = m.verb
            if m.key in WATERFOWL and not m.verb_word and setting in SURFACE:
                verb = "swim"  # a swan on a pond floats on it
            grounded = True
            sits_on_sill = False
            if kind == Kind.BUILDING:
                depth, du, verb = 2.6 + 0.6 * n, 0.28 if n % 2 == 0 else -0.28, "idle"
                if n == 0:
                    du = 0.0
            if kind == Kind.PLANT and verb == "grow" and len(parse.subjects) == 1:
                base *= 1.1
            if setting in INDOOR and kind != Kind.BUILDING:
                # Indoors: the first subject on the sill (when there is one), the rest on
                # the floor in front of the wall.
                sits_on_sill = on_sill and n == 0
                if kind == Kind.PERSON and verb not in ("sit", "sleep"):
                    sits_on_sill = False  # a person stands by the window, on the floor
                if sits_on_sill:
                    depth, du = WALL_DEPTH - 0.1, 0.0
                    if kind == Kind.THING and not m.verb_word:
                        verb = "idle"  # a thing on the sill rests there
                    base *= 1.5  # the window frames it: it is the picture's subject
                else:
                    depth = min(depth, 1.15)
            on_cliff = setting == "cliff" and kind in (Kind.BUILDING, Kind.ANIMAL, Kind.PERSON)
            if on_cliff and kind == Kind.BUILDING:
                depth, du = CLIFF_DEPTH, -0.23 - 0.12 * n
            elif on_cliff and verb != "swim":  # beside the lighthouse, on the plateau
                depth, du = CLIFF_DEPTH - 0.05, -0.08 - 0.08 * (n % 3)
            v = ground_v(depth)
            if sits_on_sill:
                v = SILL_V
            elif on_cliff and verb != "swim":
                v = CLIFF_V
            resting = verb in ("sleep", "sit")
            airborne = verb in ("fly", "float") or (
                kind in (Kind.BIRD, Kind.FLYER, Kind.AIRCRAFT) and not resting
            )
            if airborne and (verb in ("fly", "float", "spin", "dance") or kind != Kind.PERSON):
                grounded = False
                v = 0.36 + 0.06 * ((n % 3) - 1)
            if kind == Kind.BOAT:
                grounded, v = True, ground_v(depth) - 0.01
            if kind == Kind.AQUATIC or verb == "swim":
                grounded = False
                v = 0.55 if setting == "underwater" else ground_v(depth) - 0.02
            if floating_world and kind != Kind.BUILDING and setting != "underwater" and not resting:
                grounded, v = False, 0.5 + 0.08 * ((n % 3) - 1)
            if setting == "underwater" and kind not in (Kind.AQUATIC, Kind.PLANT):
                grounded, v = False, 0.5
            at_surface = False
            swimmer = verb == "swim" or kind in (Kind.ANIMAL, Kind.PERSON)
            if kind == Kind.AQUATIC:
                swimmer = setting == "lake"  # sea creatures leap from the open sea
            elif setting in ("lake", "cliff"):
                swimmer = verb == "swim"  # on the shore or the cliff top unless swimming
            if swimmer and setting in SURFACE:
                # In the water, not on it: just behind the nearest water band, whose top
                # line hides the lower half (a dog swimming shows its head and back).
                depth = SURFACE_DEPTH + 0.2 * copy
                base *= 1.4
                grounded, v = False, ground_v(WATER_NEAR) + 0.004
                at_surface = True
            if kind == Kind.THING and verb in ("float", "spin", "idle") and not sits_on_sill:
                grounded, v = False, 0.52
                base *= 1.3 if len(parse.subjects) == 1 else 1.0
            height = float(np.clip(base, 0.1, 0.6)) / depth
            if at_surface and m.key in WATERFOWL:
                v -= 0.3 * height  # a duck floats high: only its belly is under the water
            direction = 1.0 if rng.random() < 0.5 else -1.0
            path = make_path(
                verb,
                centre=0.5 + du,
                v=v,
                direction=direction,
                phase=float(rng.uniform(0, 6.283)),
                amplitude=0.0 if m.icon in POSED_ICONS else 1.0,
            )
            if on_cliff and verb != "swim" and kind != Kind.BUILDING:
                # Stay on the plateau: travel ends before the cliff's edge.
                path = replace(
                    path,
                    u0=float(np.clip(path.u0, 0.05, 0.4)),
                    u1=float(np.clip(path.u1, 0.05, 0.4)),
                )
            out.append(
                Subject(
                    key=m.key,
                    icon=m.icon,
                    kind=kind,
                    verb=verb,
                    depth=float(depth),
                    height=height,
                    path=path,
                    colour=m.colour,
                    faces_right=c.faces_right if c else False,
                    tilt=c.tilt if c else 0.0,
                    grounded=grounded,
                    word=m.word,
                    waterline=at_surface,
                )
            )
            n += 1
    return out


def _effects(
    parse: PromptParse, setting: str, time: str, palette: Palette, subjects: list[Subject]
) -> list[Effect]:
    kinds = list(parse.effects)
    if parse.mood == "magical" and not kinds:
        kinds.append("sparkles")
    if parse.mood == "romantic" and "hearts" not in kinds:
        kinds.append("hearts")
    if setting == "underwater" and "bubbles" not in kinds:
        kinds.append("bubbles")
    if "wind" in parse.weather and "leaves" not in kinds:
        kinds.append("leaves")
    for w in ("snow", "rain", "storm", "fog"):
        if w in parse.weather:
            kinds.append(w)
    if parse.mood in ("spooky", "mysterious") and "fog" not in kinds:
        kinds.append("fog")
    if palette.stars:
        kinds.append("twinkle")
    out: list[Effect] = []
    acc = palette.accent
    dark = time in ("night", "dusk") or bool({"storm", "fog", "rain"} & set(parse.weather))
    for i, sub in enumerate(subjects):
        if sub.verb == "sleep":
            out.append(Effect("zzz", 3, sub.depth - 0.01, (255, 255, 255), subject=i))
        if sub.waterline:
            # Rings on the water round a swimmer, in front of the band its waterline is.
            ripple = _mix(palette.sky_horizon, (255, 255, 255), 0.6)
            out.append(Effect("ripples", 3, WATER_NEAR - 0.01, ripple, subject=i))
        if sub.key == "lighthouse" and dark:
            out.append(Effect("beam", 1, sub.depth - 0.005, (255, 238, 170), subject=i))
    # Indoors the weather is outside: behind the wall, seen through the window only.
    outside = WALL_DEPTH + 1.5 if setting in INDOOR else 0.0
    for k in dict.fromkeys(kinds):
        if k == "snow":
            out += [
                Effect("snow", 90, max(2.5, outside), (255, 255, 255)),
                Effect("snow", 40, max(0.8, outside), (255,) * 3),
            ]
        elif k in ("rain", "storm"):
            out.append(Effect("rain", 160, max(1.5, outside), (190, 205, 225)))
            if k == "storm":
                out.append(Effect("lightning", 1, SKY_DEPTH, (255, 255, 240)))
        elif k == "fog":
            fog = _mix(palette.sky_horizon, (230, 230, 235), 0.5)
            out.append(Effect("fog", 1, max(2.0, outside), fog))
        elif k == "sparkles":
            out.append(Effect("sparkles", 70, 1.3, _mix(acc, (255, 255, 255), 0.3)))
        elif k == "fairy dust":  # trails the first subject; with none, it drifts on the air
            dust = _mix(acc, (255, 220, 250), 0.4)
            out.append(Effect("fairy dust", 60, 1.0, dust, subject=0 if subjects else -1))
        elif k == "fireflies":
            out.append(Effect("fireflies", 45, 1.4, (255, 240, 120)))
        elif k == "bubbles":
            out.append(Effect("bubbles", 40, 1.2, (220, 245, 255)))
        elif k == "petals":
            out.append(Effect("petals", 50, 1.3, (250, 180, 200)))
        elif k == "leaves":
            out.append(Effect("leaves", 40, 1.3, (230, 130, 40)))
        elif k == "hearts":
            out.append(Effect("hearts", 14, 1.3, (240, 80, 120)))
        elif k == "confetti":
            out.append(Effect("confetti", 90, 1.2, acc))
        elif k == "twinkle":
            out.append(Effect("twinkle", 40, SKY_DEPTH, (255, 250, 230)))
    return out


def plan_scene(parse: PromptParse, *, seed: int) -> ScenePlan:
    """Decide the whole scene from a parsed prompt; the same prompt and seed give the same plan."""
    digest = hashlib.sha256(f"{seed}:{parse.prompt}".encode()).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
    notes: list[str] = []
    setting = parse.setting or _infer_setting(parse)
    if setting == "sky" and any(m.kind in GROUNDED_KINDS for m in parse.subjects):
        setting = _infer_setting(parse)  # "a castle under a night sky" stands on the ground
        notes.append(f"a grounded subject under the sky: setting {setting}")
    elif not parse.setting:
        notes.append(f"setting inferred: {setting}")
    time = parse.time
    if not time:
        time = {
            "spooky": "night",
            "romantic": "sunset",
            "mysterious": "dusk",
            "cozy": "sunset",
        }.get(parse.mood, "day")
        if "fireflies" in parse.effects:
            time = "dusk"
        if "aurora" in parse.weather:
            time = "night"  # the northern lights are seen only in the dark
    palette = _palette(parse, setting, time, 0.78 if rng.random() < 0.5 else 0.22)
    subjects = _subjects(parse, setting, rng)
    if not subjects:
        notes.append("no subject recognised: scenery, mood and colour only")
    not_drawn = list(parse.unknown)
    words = set(parse.prompt.lower().replace(",", " ").split())
    not_drawn += sorted(words & UNDRAWN_FURNITURE)  # the room is drawn, not this furniture
    if "aurora" in parse.weather and OVERCAST & set(parse.weather):
        not_drawn.append("northern lights (hidden by the clouds)")  # weather and sky agree
    asked = sum(m.count for m in parse.subjects)
    if asked > len(subjects):
        not_drawn.append(f"{asked - len(subjects)} of {asked} subjects (at most 8 are drawn)")
    return ScenePlan(
        prompt=parse.prompt,
        setting=setting,
        time=time,
        weather=parse.weather,
        mood=parse.mood,
        style=parse.style,
        palette=palette,
        layers=tuple(_layers(setting, parse, palette, rng)),
        subjects=tuple(subjects),
        effects=tuple(_effects(parse, setting, time, palette, subjects)),
        parse=parse,
        seed=int.from_bytes(digest[8:12], "little"),
        notes=tuple(notes),
        not_drawn=tuple(not_drawn),
    )
