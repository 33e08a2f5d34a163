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
from dataclasses import dataclass, field

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


@dataclass(frozen=True)
class Effect:
    kind: str
    count: int
    depth: float
    colour: Color


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
}


def _infer_setting(parse: PromptParse) -> str:
    kinds = {m.kind for m in parse.subjects}
    keys = {m.key for m in parse.subjects}
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


def _palette(parse: PromptParse, setting: str, time: str) -> Palette:
    top, horizon, light, accent = _TIME[time]
    ground = _GROUND[setting]
    if "snow" in parse.weather and setting not in ("ocean", "underwater", "space", "city"):
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
    far = _mix(horizon, top, 0.15)
    stars = time in ("night", "dusk") or setting == "space"
    sun = "moon" if time in ("night", "dusk") else "sun"
    if setting in ("underwater",) or {"rain", "storm", "fog"} & set(parse.weather):
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
    )


def _layers(
    setting: str, parse: PromptParse, palette: Palette, rng: np.random.Generator
) -> list[Layer]:
    g = palette.ground
    snowy = "snow" in parse.weather or setting == "snowfield"
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
            Layer("foreground", 0.66, dark, s[6], ("herb", "seedling"), 0.7),
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
    elif setting == "beach":
        out += [
            Layer("water", 8.0, (70, 150, 205), s[2]),
            Layer("water", 2.6, (80, 165, 215), s[3]),
            Layer("sand", 1.4, g, s[4], ("palm-tree",), 0.35),
            Layer("foreground", 0.66, _mix(g, (150, 120, 80), 0.2), s[5], ("spiral-shell",), 0.3),
        ]
    elif setting == "ocean":
        out += [
            Layer("water", 8.0, _mix((50, 120, 185), palette.far, 0.3), s[2]),
            Layer("water", 2.6, (50, 125, 190), s[3]),
            Layer("water", 1.35, (45, 115, 180), s[4]),
            Layer("waves", 0.66, (40, 100, 165), s[5]),
        ]
    elif setting == "lake":
        out += [
            Layer("hills", 9.0, _mix(g, palette.far, 0.5), s[2]),
            Layer("trees", 5.0, _mix(g, palette.far, 0.3), s[3], broad, 1.2),
            Layer("water", 2.4, (70, 140, 190), s[4]),
            Layer("water", 1.35, (60, 130, 185), s[5]),
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
    watery = setting in ("ocean", "beach", "lake")
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
            grounded = True
            if kind == Kind.BUILDING:
                depth, du, verb = 2.6 + 0.6 * n, 0.28 if n % 2 == 0 else -0.28, "idle"
                if n == 0:
                    du = 0.0
            if kind == Kind.PLANT and verb == "grow" and len(parse.subjects) == 1:
                base *= 1.1
            v = ground_v(depth)
            airborne = verb in ("fly", "float") or kind in (Kind.BIRD, Kind.FLYER, Kind.AIRCRAFT)
            if airborne and (verb in ("fly", "float", "spin", "dance") or kind != Kind.PERSON):
                grounded = False
                v = 0.36 + 0.06 * ((n % 3) - 1)
            if kind == Kind.BOAT:
                grounded, v = True, ground_v(depth) - 0.01
            if kind == Kind.AQUATIC or verb == "swim":
                grounded = False
                v = 0.55 if setting == "underwater" else ground_v(depth) - 0.02
            if floating_world and kind != Kind.BUILDING and setting != "underwater":
                grounded, v = False, 0.5 + 0.08 * ((n % 3) - 1)
            if setting == "underwater" and kind not in (Kind.AQUATIC, Kind.PLANT):
                grounded, v = False, 0.5
            if watery and kind in (Kind.ANIMAL, Kind.PERSON) and setting == "ocean":
                grounded, v = False, ground_v(depth) - 0.02
            if kind == Kind.THING and not grounded and not floating_world:
                pass
            if kind == Kind.THING and verb in ("float", "spin", "idle"):
                grounded, v = False, 0.52
                base *= 1.3 if len(parse.subjects) == 1 else 1.0
            height = float(np.clip(base, 0.1, 0.6)) / depth
            direction = 1.0 if rng.random() < 0.5 else -1.0
            path = make_path(
                verb,
                centre=0.5 + du,
                v=v,
                direction=direction,
                phase=float(rng.uniform(0, 6.283)),
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
                )
            )
            n += 1
    return out


def _effects(parse: PromptParse, setting: str, time: str, palette: Palette) -> list[Effect]:
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
    for k in dict.fromkeys(kinds):
        if k == "snow":
            out += [Effect("snow", 90, 2.5, (255, 255, 255)), Effect("snow", 40, 0.8, (255,) * 3)]
        elif k in ("rain", "storm"):
            out.append(Effect("rain", 160, 1.5, (190, 205, 225)))
            if k == "storm":
                out.append(Effect("lightning", 1, SKY_DEPTH, (255, 255, 240)))
        elif k == "fog":
            out.append(Effect("fog", 1, 2.0, _mix(palette.sky_horizon, (230, 230, 235), 0.5)))
        elif k == "sparkles":
            out.append(Effect("sparkles", 70, 1.3, _mix(acc, (255, 255, 255), 0.3)))
        elif k == "fairy dust":
            out.append(Effect("fairy dust", 60, 1.0, _mix(acc, (255, 220, 250), 0.4)))
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
    if not parse.setting:
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
    palette = _palette(parse, setting, time)
    subjects = _subjects(parse, setting, rng)
    if not subjects:
        notes.append("no subject recognised: scenery, mood and colour only")
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
        effects=tuple(_effects(parse, setting, time, palette)),
        parse=parse,
        seed=int.from_bytes(digest[8:12], "little"),
        notes=tuple(notes),
    )
