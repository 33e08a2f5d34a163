"""The API's vocabularies, each defined once: motion types, camera paths, aspect ratios,
try-on models and narrators.

Each vocabulary is an enum plus one table of data rows keyed by its members
(:data:`MOTION_TYPE_INFO`, :data:`CAMERA_PATH_INFO`, :data:`ASPECT_RATIO_INFO`,
:data:`TRY_ON_MODEL_INFO`): a camera path's label, its weight when Auto picks a path, the
words that name it in a prompt, its whoosh and its two-image stand-in are all in its row.
What is code stays with its layer in a table keyed by the same enum (the camera poses in
:data:`kinora.engines.geometry.camera.POSES`); tests/test_vocabulary.py checks that every table
covers every member and nothing else. ``GET /vocabulary`` serves the rows to clients (the
studio builds its choices from it). Nothing here imports the rest of Kinora, so every layer
may read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Literal


class MotionType(StrEnum):
    AUTO = "Auto"
    AUTO_T3 = "AutoT3"
    KLING_AI = "KlingAI"
    KLING_T4 = "KlingT4"
    LUMA_AI = "LumaAI"
    LUMA_RAY2 = "LumaRay2"
    VEO_FAST = "VeoFast"
    VEO = "Veo"
    RUNWAY_ML = "RunwayML"
    MINIMAX_HAILUO = "MinimaxHailuo"
    SEEDANCE = "Seedance"
    SEEDANCE_FAST = "SeedanceFast"
    HUNYUAN = "Hunyuan"
    PIXVERSE = "Pixverse"
    PIXVERSE_T3 = "PixverseT3"
    PICO_MOTION = "PicoMotion"
    STATIC_MOTION = "StaticMotion"
    WAN = "Wan"
    SORA = "Sora"
    SORA_PRO = "SoraPro"
    TRY_ON_VIDEO = "TryOnVideo"


class CameraControl(StrEnum):
    AUTO = ""
    STATIC = "Static"
    CRANE_UP = "Crane up"
    CRANE_DOWN = "Crane down"
    TILT_UP = "Tilt up"
    TILT_DOWN = "Tilt down"
    PAN_RIGHT = "Pan right"
    PAN_LEFT = "Pan left"
    ROLL_RIGHT = "Roll right"
    ROLL_LEFT = "Roll left"
    ORBIT_RIGHT = "Orbit right"
    ORBIT_LEFT = "Orbit left"
    ROTATE_360 = "Rotate 360"
    DOLLY_ZOOM = "Dolly zoom"
    ZOOM_IN = "Zoom in"
    ZOOM_OUT = "Zoom out"
    AERIAL = "Aerial"


class TryOnModel(StrEnum):
    SEEDREAM = "SeedreamTryOn"
    NANO_BANANA_PRO = "NanoBananaProTryOn"
    FASHN = "FashnTryOn"
    VIDU = "ViduTryOn"
    KLING = "KlingTryOn"


class AspectRatio(StrEnum):
    LANDSCAPE = "16:9"
    STANDARD = "4:3"
    SQUARE = "1:1"
    PORTRAIT = "3:4"
    VERTICAL = "9:16"


NARRATORS: tuple[str, ...] = (
    "Rachel",
    "Aria",
    "Roger",
    "Sarah",
    "Laura",
    "Charlie",
    "George",
    "Callum",
    "River",
    "Liam",
    "Charlotte",
    "Alice",
    "Matilda",
    "Will",
    "Jessica",
    "Eric",
    "Chris",
    "Brian",
    "Daniel",
    "Lily",
    "Bill",
)

DEFAULT_NARRATOR = "Rachel"
"""Who speaks a narration that names no narrator."""


# ---------------------------------------------------------------- rows

InputName = Literal["text", "one_image", "two_images"]
"""An input kind, spelled as :class:`kinora.engines.base.InputKind` spells it."""

_ANY: frozenset[InputName] = frozenset({"text", "one_image", "two_images"})
_TEXT_OR_IMAGE: frozenset[InputName] = frozenset({"text", "one_image"})


@dataclass(frozen=True, kw_only=True)
class MotionTypeInfo:
    """One motion_type: what it names and what that model takes."""

    label: str
    """How a person reads it (the studio, docs)."""
    family: str
    """The model family it names ("Kling", "Veo", ...; "Kinora" for the built-in motions)."""
    description: str
    inputs: frozenset[InputName]
    """What the named model takes itself, so what a route for it should accept. Kinora takes
    every input for every motion type: what no configured route accepts runs on the built-in."""
    auto: bool = False
    """Picks among every configured engine instead of naming one."""


@dataclass(frozen=True)
class AutoPick:
    """A path's share of the seeded pick when camera_control is "" (Auto)."""

    slot: int
    """Its place in the seeded draw (0 first). Fixed so a seed picks what it always picked."""
    weight: float
    """Relative chance of being picked."""


@dataclass(frozen=True)
class Whoosh:
    """The sound of a camera move: a noise sweep panned along it."""

    start_pan: float
    """Stereo position at the start, -1 left to +1 right."""
    end_pan: float
    rising: bool
    """The sweep's pitch rises (moves that go out or up) or falls (back or down)."""


MorphKind = Literal["shift", "zoom", "roll"]


@dataclass(frozen=True)
class MorphMove:
    """How the two-image engine shows a camera path in 2D.

    ``shift``: the picture content drifts along ``direction`` (x right, y down; a whip pan
    for unrelated images); ``zoom``: ``sign`` +1 in, -1 out (a zoom-through); ``roll``: the
    picture turns, ``sign`` +1 the way Roll left turns it (a zoom-through with a roll).
    """

    kind: MorphKind
    direction: tuple[float, float] = (0.0, 0.0)
    sign: float = 1.0


@dataclass(frozen=True, kw_only=True)
class CameraPathInfo:
    """One camera_control value. Its pose (code) is in kinora.engines.geometry.camera.POSES."""

    label: str
    description: str
    prompt_words: str = ""
    """A regular expression (alternatives, lower case) for words in a prompt that name this
    path; "" when no words do."""
    prompt_rank: int = 0
    """Prompts are searched in rising rank, first match wins: specific words ("orbit left",
    "dolly zoom") rank before the general ones they contain ("orbit", "zoom")."""
    auto_subject: AutoPick | None = None
    """Its chance when Auto picks for a picture with a subject (None: never picked)."""
    auto_scenery: AutoPick | None = None
    """Its chance when Auto picks for scenery (no subject found)."""
    whoosh: Whoosh | None = None
    """Its sound effect (None: the move makes none)."""
    morph: MorphMove | None = None
    """How the two-image engine shows it (None: Auto picks at random, Static reveals)."""


@dataclass(frozen=True, kw_only=True)
class AspectRatioInfo:
    """One aspect_ratio value."""

    width: int
    """The width : height ratio's terms (16 and 9 for 16:9)."""
    height: int
    label: str
    description: str


@dataclass(frozen=True, kw_only=True)
class TryOnModelInfo:
    """One try-on model (the ``model`` field of TryOnVideo)."""

    label: str
    maker: str


# ---------------------------------------------------------------- tables

MOTION_TYPE_INFO: Mapping[MotionType, MotionTypeInfo] = MappingProxyType(
    {
        MotionType.AUTO: MotionTypeInfo(
            label="Auto",
            family="Kinora",
            description="The best configured engine for the inputs, else the built-in",
            inputs=_ANY,
            auto=True,
        ),
        MotionType.AUTO_T3: MotionTypeInfo(
            label="Auto (T3)",
            family="Kinora",
            description="Like Auto: the best configured engine for the inputs",
            inputs=_ANY,
            auto=True,
        ),
        MotionType.KLING_AI: MotionTypeInfo(
            label="Kling AI",
            family="Kling",
            description="Kuaishou's Kling video model; first and last frames",
            inputs=_ANY,
        ),
        MotionType.KLING_T4: MotionTypeInfo(
            label="Kling (T4)",
            family="Kling",
            description="Kuaishou's Kling video model, higher tier",
            inputs=_ANY,
        ),
        MotionType.LUMA_AI: MotionTypeInfo(
            label="Luma AI",
            family="Luma",
            description="Luma Dream Machine; keyframes at both ends",
            inputs=_ANY,
        ),
        MotionType.LUMA_RAY2: MotionTypeInfo(
            label="Luma Ray 2",
            family="Luma",
            description="Luma's Ray 2 video model; keyframes at both ends",
            inputs=_ANY,
        ),
        MotionType.VEO_FAST: MotionTypeInfo(
            label="Veo Fast",
            family="Veo",
            description="Google's Veo video model, fast variant",
            inputs=_ANY,
        ),
        MotionType.VEO: MotionTypeInfo(
            label="Veo",
            family="Veo",
            description="Google's Veo video model",
            inputs=_ANY,
        ),
        MotionType.RUNWAY_ML: MotionTypeInfo(
            label="Runway ML",
            family="Runway",
            description="Runway's Gen-4 Turbo and Gen-3 Alpha Turbo: a first (and last) frame",
            inputs=frozenset({"one_image", "two_images"}),
        ),
        MotionType.MINIMAX_HAILUO: MotionTypeInfo(
            label="MiniMax Hailuo",
            family="Hailuo",
            description="MiniMax's Hailuo video model; first and last frames",
            inputs=_ANY,
        ),
        MotionType.SEEDANCE: MotionTypeInfo(
            label="Seedance",
            family="Seedance",
            description="ByteDance's Seedance video model; first and last frames",
            inputs=_ANY,
        ),
        MotionType.SEEDANCE_FAST: MotionTypeInfo(
            label="Seedance Fast",
            family="Seedance",
            description="ByteDance's Seedance video model, fast variant",
            inputs=_ANY,
        ),
        MotionType.HUNYUAN: MotionTypeInfo(
            label="Hunyuan",
            family="Hunyuan",
            description="Tencent's open HunyuanVideo model",
            inputs=_TEXT_OR_IMAGE,
        ),
        MotionType.PIXVERSE: MotionTypeInfo(
            label="PixVerse",
            family="PixVerse",
            description="PixVerse's video model; first and last frames",
            inputs=_ANY,
        ),
        MotionType.PIXVERSE_T3: MotionTypeInfo(
            label="PixVerse (T3)",
            family="PixVerse",
            description="PixVerse's video model, another tier",
            inputs=_ANY,
        ),
        MotionType.PICO_MOTION: MotionTypeInfo(
            label="Pico Motion",
            family="Kinora",
            description="Light motion from one photo; runs on the built-in engine unless routed",
            inputs=frozenset({"one_image"}),
        ),
        MotionType.STATIC_MOTION: MotionTypeInfo(
            label="Static Motion",
            family="Kinora",
            description="A camera move over one photo; runs on the built-in engine unless routed",
            inputs=frozenset({"one_image"}),
        ),
        MotionType.WAN: MotionTypeInfo(
            label="Wan",
            family="Wan",
            description="Alibaba's open Wan models: text, image, first and last frames",
            inputs=_ANY,
        ),
        MotionType.SORA: MotionTypeInfo(
            label="Sora",
            family="Sora",
            description="OpenAI's Sora video model",
            inputs=_TEXT_OR_IMAGE,
        ),
        MotionType.SORA_PRO: MotionTypeInfo(
            label="Sora Pro",
            family="Sora",
            description="OpenAI's Sora video model, pro variant",
            inputs=_TEXT_OR_IMAGE,
        ),
        MotionType.TRY_ON_VIDEO: MotionTypeInfo(
            label="Try-on video",
            family="Try-on",
            description="A person wearing a garment: a person image and a garment image",
            inputs=frozenset({"two_images"}),
        ),
    }
)

CAMERA_PATH_INFO: Mapping[CameraControl, CameraPathInfo] = MappingProxyType(
    {
        CameraControl.AUTO: CameraPathInfo(
            label="Auto",
            description="The engine picks a move that suits the picture",
        ),
        CameraControl.STATIC: CameraPathInfo(
            label="Static",
            description="The camera holds still",
            prompt_words=r"static|still camera|locked[- ]off|tripod",
            prompt_rank=15,
        ),
        CameraControl.CRANE_UP: CameraPathInfo(
            label="Crane up",
            description="The camera rises, keeping the subject in view",
            prompt_words=r"crane (?:shot )?up|rising shot|rise up",
            prompt_rank=4,
            auto_subject=AutoPick(5, 1.0),
            auto_scenery=AutoPick(4, 1.0),
            whoosh=Whoosh(0.0, 0.0, rising=True),
            morph=MorphMove("shift", direction=(0.0, 1.0)),
        ),
        CameraControl.CRANE_DOWN: CameraPathInfo(
            label="Crane down",
            description="The camera sinks, keeping the subject in view",
            prompt_words=r"crane (?:shot )?down|descend",
            prompt_rank=5,
            whoosh=Whoosh(0.0, 0.0, rising=False),
            morph=MorphMove("shift", direction=(0.0, -1.0)),
        ),
        CameraControl.TILT_UP: CameraPathInfo(
            label="Tilt up",
            description="The camera tilts up on its head",
            prompt_words=r"tilt(?:s|ing)? up",
            prompt_rank=6,
            whoosh=Whoosh(0.0, 0.0, rising=True),
            morph=MorphMove("shift", direction=(0.0, 1.0)),
        ),
        CameraControl.TILT_DOWN: CameraPathInfo(
            label="Tilt down",
            description="The camera tilts down on its head",
            prompt_words=r"tilt(?:s|ing)? down",
            prompt_rank=7,
            whoosh=Whoosh(0.0, 0.0, rising=False),
            morph=MorphMove("shift", direction=(0.0, -1.0)),
        ),
        CameraControl.PAN_RIGHT: CameraPathInfo(
            label="Pan right",
            description="The camera travels to the right",
            prompt_words=r"pan(?:s|ning)?(?: (?:to the )?right)?\b",
            prompt_rank=9,
            auto_subject=AutoPick(6, 1.0),
            auto_scenery=AutoPick(2, 1.5),
            whoosh=Whoosh(-0.8, 0.8, rising=True),
            morph=MorphMove("shift", direction=(-1.0, 0.0)),
        ),
        CameraControl.PAN_LEFT: CameraPathInfo(
            label="Pan left",
            description="The camera travels to the left",
            prompt_words=r"pan(?:s|ning)? (?:to the )?left",
            prompt_rank=8,
            auto_subject=AutoPick(7, 1.0),
            auto_scenery=AutoPick(3, 1.5),
            whoosh=Whoosh(0.8, -0.8, rising=True),
            morph=MorphMove("shift", direction=(1.0, 0.0)),
        ),
        CameraControl.ROLL_RIGHT: CameraPathInfo(
            label="Roll right",
            description="The camera rolls to the right, turning the picture",
            prompt_words=r"roll(?:s|ing)? right|dutch",
            prompt_rank=11,
            whoosh=Whoosh(-0.6, 0.6, rising=True),
            morph=MorphMove("roll", sign=-1.0),
        ),
        CameraControl.ROLL_LEFT: CameraPathInfo(
            label="Roll left",
            description="The camera rolls to the left, turning the picture",
            prompt_words=r"roll(?:s|ing)? left",
            prompt_rank=10,
            whoosh=Whoosh(0.6, -0.6, rising=True),
            morph=MorphMove("roll", sign=1.0),
        ),
        CameraControl.ORBIT_RIGHT: CameraPathInfo(
            label="Orbit right",
            description="The camera circles to the right around the subject",
            prompt_words=r"orbit|circl(?:e|es|ing) around|arc shot",
            prompt_rank=3,
            auto_subject=AutoPick(0, 3.0),
            auto_scenery=AutoPick(5, 1.0),
            whoosh=Whoosh(-0.9, 0.9, rising=True),
            morph=MorphMove("shift", direction=(-1.0, 0.0)),
        ),
        CameraControl.ORBIT_LEFT: CameraPathInfo(
            label="Orbit left",
            description="The camera circles to the left around the subject",
            prompt_words=r"orbit(?:s|ing)? (?:to the )?left|circle(?:s)? left",
            prompt_rank=2,
            auto_subject=AutoPick(1, 3.0),
            auto_scenery=AutoPick(6, 1.0),
            whoosh=Whoosh(0.9, -0.9, rising=True),
            morph=MorphMove("shift", direction=(1.0, 0.0)),
        ),
        CameraControl.ROTATE_360: CameraPathInfo(
            label="Rotate 360",
            description="The camera circles once while facing the subject (always loops)",
            prompt_words=r"rotate 360|360[- ]degree|full circle|spin(?:s|ning)? around",
            prompt_rank=1,
            auto_subject=AutoPick(4, 1.5),
            whoosh=Whoosh(-1.0, 1.0, rising=True),
            morph=MorphMove("roll", sign=1.0),
        ),
        CameraControl.DOLLY_ZOOM: CameraPathInfo(
            label="Dolly zoom",
            description="The camera pulls back while zooming in: the subject keeps its size",
            prompt_words=r"dolly[ -]?zoom|vertigo",
            prompt_rank=0,
            auto_subject=AutoPick(3, 1.5),
            whoosh=Whoosh(0.0, 0.0, rising=True),
            morph=MorphMove("zoom", sign=1.0),
        ),
        CameraControl.ZOOM_IN: CameraPathInfo(
            label="Zoom in",
            description="The camera pushes in towards the subject",
            prompt_words=r"zoom(?:s|ing)?(?: in)?|push(?:es|ing)? in|close[- ]up",
            prompt_rank=13,
            auto_subject=AutoPick(2, 2.0),
            auto_scenery=AutoPick(1, 2.0),
            whoosh=Whoosh(0.0, 0.0, rising=True),
            morph=MorphMove("zoom", sign=1.0),
        ),
        CameraControl.ZOOM_OUT: CameraPathInfo(
            label="Zoom out",
            description="The camera pulls back, ending on the input's framing",
            prompt_words=r"zoom(?:s|ing)? out|pull(?:s|ing)? back|reveal",
            prompt_rank=12,
            whoosh=Whoosh(0.0, 0.0, rising=False),
            morph=MorphMove("zoom", sign=-1.0),
        ),
        CameraControl.AERIAL: CameraPathInfo(
            label="Aerial",
            description="The camera flies forward and up over the scene, like a drone",
            prompt_words=r"aerial|drone|fpv|fly(?:ing)? over|bird'?s[- ]eye",
            prompt_rank=14,
            auto_scenery=AutoPick(0, 2.0),
            whoosh=Whoosh(-0.4, 0.4, rising=True),
            morph=MorphMove("zoom", sign=1.0),
        ),
    }
)

ASPECT_RATIO_INFO: Mapping[AspectRatio, AspectRatioInfo] = MappingProxyType(
    {
        AspectRatio.LANDSCAPE: AspectRatioInfo(
            width=16, height=9, label="16:9", description="Widescreen landscape"
        ),
        AspectRatio.STANDARD: AspectRatioInfo(
            width=4, height=3, label="4:3", description="Standard landscape"
        ),
        AspectRatio.SQUARE: AspectRatioInfo(width=1, height=1, label="1:1", description="Square"),
        AspectRatio.PORTRAIT: AspectRatioInfo(
            width=3, height=4, label="3:4", description="Portrait"
        ),
        AspectRatio.VERTICAL: AspectRatioInfo(
            width=9, height=16, label="9:16", description="Vertical, for phones and stories"
        ),
    }
)

TRY_ON_MODEL_INFO: Mapping[TryOnModel, TryOnModelInfo] = MappingProxyType(
    {
        TryOnModel.SEEDREAM: TryOnModelInfo(label="Seedream try-on", maker="ByteDance"),
        TryOnModel.NANO_BANANA_PRO: TryOnModelInfo(label="Nano Banana Pro try-on", maker="Google"),
        TryOnModel.FASHN: TryOnModelInfo(label="FASHN try-on", maker="FASHN"),
        TryOnModel.VIDU: TryOnModelInfo(label="Vidu try-on", maker="Shengshu"),
        TryOnModel.KLING: TryOnModelInfo(label="Kling try-on", maker="Kuaishou"),
    }
)

TABLES: Mapping[type[StrEnum], Mapping[Any, object]] = MappingProxyType(
    {
        MotionType: MOTION_TYPE_INFO,
        CameraControl: CAMERA_PATH_INFO,
        AspectRatio: ASPECT_RATIO_INFO,
        TryOnModel: TRY_ON_MODEL_INFO,
    }
)
"""Every vocabulary's table of rows, by its enum (the coverage test walks it)."""

FRAME_RATES: tuple[int, ...] = (24, 25, 30, 48, 50, 60)
"""The frame rates a video may be asked for (``fps``): film, PAL, NTSC-ish and their doubles."""
DEFAULT_FRAME_RATE = 24

SPEAKERS: Mapping[str, str] = MappingProxyType(
    {
        "largest": "The largest face in the picture (the default)",
        "left": "The face furthest to the left",
        "right": "The face furthest to the right",
        "center": "The face nearest the picture's centre",
    }
)
"""Which face speaks the narration when the picture holds several (``audio_option.speaker``);
the face is chosen where lip sync first finds faces, and followed from there."""
DEFAULT_SPEAKER = "largest"
