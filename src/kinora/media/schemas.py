"""Request and response shapes of the media API.

Create and Update are separate models; both accept what Python ``requests`` sends for the
spec's examples (form strings such as ``"True"`` and ``"2"``, repeated keys for lists, JSON
strings for ``media_items`` and ``audio_option``) as well as plain JSON bodies.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)


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

MAX_TEXT = 5000
MAX_URL = 2048


def _json_string(value: Any) -> Any:
    """Accept a JSON string (what the spec asks for) or an already-decoded value."""
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"must be a JSON string ({exc.msg})") from None
        except (ValueError, RecursionError):  # absurd nesting, or an over-long integer
            raise ValueError("must be a JSON string (not decodable)") from None
    return value


def _blank_to_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


def _yes_no(value: Any) -> Any:
    """The older API spells booleans "Yes"/"No"."""
    if isinstance(value, str) and value.strip().lower() in {"yes", "no"}:
        return value.strip().lower() == "yes"
    return value


def _check_narrator(value: str | None) -> str | None:
    if value is None:
        return None
    for name in NARRATORS:
        if name.lower() == value.strip().lower():
            return name
    raise ValueError(f"unknown narrator {value!r}; valid narrators: {', '.join(NARRATORS)}")


Url = Annotated[str, Field(min_length=1, max_length=MAX_URL)]
# The length limit sits on the str inside the Optional: on the Optional itself, pydantic raises
# TypeError (a 500) for a None or blank value.
OptionalText = Annotated[
    Annotated[str, Field(max_length=MAX_TEXT)] | None, BeforeValidator(_blank_to_none)
]
OptionalUrl = Annotated[
    Annotated[str, Field(max_length=MAX_URL)] | None, BeforeValidator(_blank_to_none)
]
FormBool = Annotated[bool, BeforeValidator(_yes_no)]


class MediaItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["image", "video"]
    url: Url
    position: Literal["First", "Last"] = "First"

    @field_validator("type", "position", mode="before")
    @classmethod
    def _case(cls, value: Any) -> Any:
        if isinstance(value, str):
            return (
                value.strip().lower()
                if value.strip().lower() in {"image", "video"}
                else (value.strip().capitalize())
            )
        return value


class AudioOption(BaseModel):
    model_config = ConfigDict(extra="forbid")

    narrator: Annotated[str | None, BeforeValidator(_blank_to_none)] = None
    narration: OptionalText = None
    narration_url: OptionalUrl = None
    bg_music_prompt: OptionalText = None
    bg_music_url: OptionalUrl = None

    _narrator = field_validator("narrator")(classmethod(lambda cls, v: _check_narrator(v)))


MAX_METADATA_BYTES = 2048


def _metadata(value: Any) -> Any:
    value = _json_string(value)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError("metadata must be a JSON object")
    if len(json.dumps(value)) > MAX_METADATA_BYTES:
        raise ValueError(f"metadata must be at most {MAX_METADATA_BYTES} bytes of JSON")
    return value


Metadata = Annotated[dict[str, Any] | None, BeforeValidator(_metadata)]
Seed = Annotated[Annotated[int, Field(ge=0, le=2**31 - 1)] | None, BeforeValidator(_blank_to_none)]


def _media_items(value: Any) -> Any:
    value = _json_string(value)
    if isinstance(value, dict):
        value = [value]
    return value


def _audio_option(value: Any) -> Any:
    return _json_string(value)


def _bad_text(value: Any) -> bool:
    """NUL (PostgreSQL cannot store it) or lone surrogates (not encodable UTF-8), anywhere."""
    if isinstance(value, str):
        if "\x00" in value:
            return True
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_bad_text(k) or _bad_text(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_bad_text(v) for v in value)
    return False


def _refuse_bad_text(data: Any) -> Any:
    if isinstance(data, dict):
        for name, value in data.items():
            if _bad_text(name) or _bad_text(value):
                raise ValueError(f"{str(name)[:50]!r} contains a NUL character or invalid unicode")
    return data


MediaItems = Annotated[list[MediaItem] | None, BeforeValidator(_media_items)]
AudioOptionField = Annotated[AudioOption | None, BeforeValidator(_audio_option)]


class _GenerationFields(BaseModel):
    """Fields that decide what is rendered (changing one on edit re-renders and charges)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    media_items: MediaItems = None
    prompt: Annotated[str, Field(max_length=MAX_TEXT)] = ""
    motion_type: MotionType = MotionType.AUTO
    camera_control: CameraControl = CameraControl.AUTO
    quantity: Annotated[int, Field(ge=1, le=4)] = 1
    duration: Annotated[int, Field(ge=1, le=10)] = 5
    loop: Annotated[int, Field(ge=1, le=6)] = 1
    motion_range: Annotated[int, Field(ge=1, le=10)] = 5
    aspect_ratio: Annotated[AspectRatio | None, BeforeValidator(_blank_to_none)] = None
    native_audio: FormBool = False
    audio_option: AudioOptionField = None
    model: Annotated[TryOnModel | None, BeforeValidator(_blank_to_none)] = None
    seed: Seed = None
    """Seed of the first variant (the others follow it); reproduces a render exactly."""
    negative_prompt: Annotated[str, Field(max_length=MAX_TEXT)] = ""

    @model_validator(mode="before")
    @classmethod
    def _text(cls, data: Any) -> Any:
        return _refuse_bad_text(data)

    @field_validator("media_items")
    @classmethod
    def _items(cls, value: list[MediaItem] | None) -> list[MediaItem] | None:
        if value is None:
            return None
        if len(value) > 2:
            raise ValueError("at most two media items (one First, one Last)")
        if len({item.position for item in value}) != len(value):
            raise ValueError("each position (First, Last) may appear once")
        return value


GENERATION_FIELDS: frozenset[str] = frozenset(_GenerationFields.model_fields) | {
    "native_audio",
    "narration",
    "narrator",
    "bg_music_prompt",
    "sound_effects",
}


class MediaCreate(_GenerationFields):
    title: Annotated[str, Field(max_length=500)] = ""
    description: Annotated[str, Field(max_length=MAX_TEXT)] = ""
    visibility_status: Literal["0", "1", "2"] = "1"
    image_urls: Annotated[list[Url], Field(max_length=2)] = []
    narration: OptionalText = None
    narrator: Annotated[str | None, BeforeValidator(_blank_to_none)] = None
    bg_music_prompt: OptionalText = None
    sound_effects: FormBool | None = None
    character_animate: FormBool = False
    webhook_url: OptionalUrl = None
    metadata: Metadata = None

    _narrator = field_validator("narrator")(classmethod(lambda cls, v: _check_narrator(v)))

    @field_validator("image_urls", mode="before")
    @classmethod
    def _urls(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value] if value.strip() else []
        return value

    @model_validator(mode="after")
    def _older_spellings(self) -> MediaCreate:
        if self.sound_effects is not None and "native_audio" not in self.model_fields_set:
            self.native_audio = self.sound_effects
        return self


class MediaUpdate(BaseModel):
    """PUT /media/{id} and /edit: every field optional; only the given ones change."""

    model_config = ConfigDict(extra="forbid")

    title: Annotated[str | None, Field(max_length=500)] = None
    description: Annotated[str | None, Field(max_length=MAX_TEXT)] = None
    rating: Annotated[str | None, Field(max_length=32)] = None
    visibility_status: Literal["0", "1", "2"] | None = None
    webhook_url: OptionalUrl = None
    media_items: MediaItems = None
    prompt: Annotated[str | None, Field(max_length=MAX_TEXT)] = None
    motion_type: MotionType | None = None
    camera_control: CameraControl | None = None
    quantity: Annotated[int | None, Field(ge=1, le=4)] = None
    duration: Annotated[int | None, Field(ge=1, le=10)] = None
    loop: Annotated[int | None, Field(ge=1, le=6)] = None
    motion_range: Annotated[int | None, Field(ge=1, le=10)] = None
    aspect_ratio: Annotated[AspectRatio | None, BeforeValidator(_blank_to_none)] = None
    native_audio: FormBool | None = None
    sound_effects: FormBool | None = None
    audio_option: AudioOptionField = None
    narration: OptionalText = None
    narrator: Annotated[str | None, BeforeValidator(_blank_to_none)] = None
    bg_music_prompt: OptionalText = None
    model: Annotated[TryOnModel | None, BeforeValidator(_blank_to_none)] = None
    seed: Seed = None
    negative_prompt: Annotated[str | None, Field(max_length=MAX_TEXT)] = None
    metadata: Metadata = None

    _narrator = field_validator("narrator")(classmethod(lambda cls, v: _check_narrator(v)))

    @model_validator(mode="before")
    @classmethod
    def _text(cls, data: Any) -> Any:
        return _refuse_bad_text(data)

    @property
    def regenerates(self) -> bool:
        # An explicit null changes nothing, so it must not re-render (and charge).
        return any(
            getattr(self, name) is not None for name in self.model_fields_set & GENERATION_FIELDS
        )


class FileMapEntry(BaseModel):
    FileType: str
    FileName: str


class SubmitParams(BaseModel):
    native_audio: bool = False
    pipeline_preset: str = "Fast"
    file_size: str = ""
    scale_factor: str = "1"


class PosePreset(BaseModel):
    MotionType: str
    Params: str


class ResultVideo(BaseModel):
    url: str
    object_type: str = "bullet_video_mp4"
    index: int
    seed: int
    width: int
    height: int
    duration: float
    thumbnail_url: str
    gif_url: str


class HistoryEntry(BaseModel):
    generate_type: str = "GENERATE_VIDEO"
    pose_preset: PosePreset
    file_map: list[FileMapEntry]
    service_name: str
    service_version: str
    service_seeds: list[int]
    created_at: str
    bullet_version: str
    resolution: list[int]
    submit_params: SubmitParams
    engine_config: dict[str, Any] = {}


class MediaPublic(BaseModel):
    """The media object, typed as the spec's examples read (strings where they are strings)."""

    id: str
    title: str
    description: str
    rating: str
    customer_id: str
    batch_id: str
    base_url: str
    is_transition: Literal["Yes", "No"]
    duration_time: str
    progress_percentage: int
    processing_status: str
    visibility_status: str
    file_map: list[FileMapEntry]
    intermediate_results: list[Any]
    submit_params: SubmitParams
    pose_preset: PosePreset
    bullet_version: str
    video_history: list[HistoryEntry]
    result: list[ResultVideo]
    webhook_url: str
    nsfw: str
    service_name: str
    service_version: str
    error: str
    metadata: dict[str, Any] = {}
    stage: str = ""
    created_at: str
    updated_at: str
    version: str


class MediaEnvelope(BaseModel):
    data: MediaPublic


class ProcessingStatus(BaseModel):
    progress_percentage: str
    processing_status: str
    stage: str = ""
    queue_position: int | None = None
    eta_seconds: int | None = None


class ProcessingStatusEnvelope(BaseModel):
    data: ProcessingStatus


class MediaList(BaseModel):
    data: list[MediaPublic]
    next_cursor: str | None


class CreditsRequired(BaseModel):
    credits_required: int


class MessageResponse(BaseModel):
    message: str
