"""What a generation request may say, as the API accepts it: one field base for create and edit.

:class:`MediaFields` declares every field once; :class:`MediaCreate` adds what only a create
takes, and :data:`MediaUpdate` is built from the same fields with every one optional (an edit
changes only what it names). Both accept what Python ``requests`` sends for the spec's
examples (form strings such as ``"True"`` and ``"2"``, repeated keys for lists, JSON strings
for ``media_items`` and ``audio_option``) as well as plain JSON bodies, and both turn into a
:class:`kinora.spec.GenerationSpec` here, the one place that maps API names to spec fields.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any, Literal, cast

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    create_model,
    field_validator,
    model_validator,
)

from kinora.domain import keyframes
from kinora.spec import AudioSpec, GenerationSpec
from kinora.vocab import (
    FRAME_RATES,
    NARRATORS,
    SPEAKERS,
    AspectRatio,
    CameraControl,
    MotionType,
    TryOnModel,
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


def _frame_rate(value: int | None) -> int | None:
    if value is not None and value not in FRAME_RATES:
        raise ValueError(f"fps must be one of {', '.join(map(str, FRAME_RATES))}")
    return value


FrameRate = Annotated[int | None, BeforeValidator(_blank_to_none), AfterValidator(_frame_rate)]


class MediaItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["image", "video"]
    url: Url
    position: Literal["First", "Last"] = "First"
    at: Annotated[float | None, Field(ge=0, le=10)] = None
    """Keyframes (kinora.domain.keyframes): the second of the motion that shows this image."""
    hold: Annotated[float | None, Field(ge=0, le=10)] = None
    """Keyframes: seconds the video stays on this image from ``at``."""

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
    speaker: Annotated[str | None, BeforeValidator(_blank_to_none)] = None
    """Which face speaks when the picture holds several: largest (the default), left, right
    or center."""

    _narrator = field_validator("narrator")(classmethod(lambda cls, v: _check_narrator(v)))

    @field_validator("speaker")
    @classmethod
    def _speaker(cls, value: str | None) -> str | None:
        if value is None:
            return None
        name = value.strip().lower()
        if name == "centre":
            name = "center"
        if name not in SPEAKERS:
            raise ValueError(f"unknown speaker {value!r}; valid speakers: {', '.join(SPEAKERS)}")
        return name


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
# 0 to 2^31-2 (docs/api.md): variant seeds wrap modulo 2^31-1 (spec.seeds_from), so 2^31-1
# would render as seed 0 and not reproduce the seed it was given.
Seed = Annotated[Annotated[int, Field(ge=0, le=2**31 - 2)] | None, BeforeValidator(_blank_to_none)]


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


class _RequestBase(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    @model_validator(mode="before")
    @classmethod
    def _text(cls, data: Any) -> Any:
        return _refuse_bad_text(data)

    @field_validator("media_items", check_fields=False)
    @classmethod
    def _items(cls, value: list[MediaItem] | None) -> list[MediaItem] | None:
        if value is None:
            return None
        if keyframes.is_keyframed(value):
            if len(value) > keyframes.MAX_KEYFRAMES:
                raise ValueError(f"at most {keyframes.MAX_KEYFRAMES} keyframes")
            if len(value) < 2:
                raise ValueError("keyframes (at, hold) need at least two images to pass between")
            if any(item.type != "image" for item in value):
                raise ValueError(
                    "keyframes (more than two media items, at, hold) are images: a video "
                    "can only be the First or Last of two items"
                )
            for k, item in enumerate(value):
                if "position" not in item.model_fields_set:
                    continue  # keyframes play in list order; position may confirm it
                if (item.position == "First") != (k == 0) or (
                    item.position == "Last" and k != len(value) - 1
                ):
                    raise ValueError(
                        f"item {k} says position {item.position}: keyframes play in list "
                        "order (First is the first item, Last the last)"
                    )
            return value
        if len(value) > 2:
            raise ValueError("at most two media items (one First, one Last)")
        if len({item.position for item in value}) != len(value):
            raise ValueError("each position (First, Last) may appear once")
        return value

    @field_validator("narrator", check_fields=False)
    @classmethod
    def _narrator(cls, value: str | None) -> str | None:
        return _check_narrator(value)

    def _audio(self, base: dict[str, Any], *, replace_top_level: bool) -> AudioSpec:
        """audio_option, with the older top-level narration/narrator/bg_music_prompt folded in."""
        fields = cast(Any, self)
        audio = dict(base)
        if fields.audio_option is not None:
            audio = fields.audio_option.model_dump(exclude_none=True)
        for name in ("narration", "narrator", "bg_music_prompt"):
            value = getattr(fields, name)
            if value is None:
                continue
            if replace_top_level and fields.audio_option is None:
                audio[name] = value  # an edit of a top-level audio field replaces it
            else:
                audio.setdefault(name, value)
        return AudioSpec(**audio)


class MediaFields(_RequestBase):
    """Every field a create or an edit may set, declared once (with a create's defaults)."""

    media_items: MediaItems = None
    prompt: Annotated[str, Field(max_length=MAX_TEXT)] = ""
    negative_prompt: Annotated[str, Field(max_length=MAX_TEXT)] = ""
    motion_type: MotionType = MotionType.AUTO
    camera_control: CameraControl = CameraControl.AUTO
    quantity: Annotated[int, Field(ge=1, le=4)] = 1
    duration: Annotated[int, Field(ge=1, le=10)] = 5
    loop: Annotated[int, Field(ge=1, le=6)] = 1
    fps: FrameRate = None
    """Frames a second (24, 25, 30, 48, 50 or 60); unset: the operator's default, 24."""
    motion_range: Annotated[int, Field(ge=1, le=10)] = 5
    aspect_ratio: Annotated[AspectRatio | None, BeforeValidator(_blank_to_none)] = None
    native_audio: FormBool = False
    sound_effects: FormBool | None = None
    """The older spelling of native_audio (native_audio wins when both are given)."""
    audio_option: AudioOptionField = None
    narration: OptionalText = None
    narrator: Annotated[str | None, BeforeValidator(_blank_to_none)] = None
    bg_music_prompt: OptionalText = None
    model: Annotated[TryOnModel | None, BeforeValidator(_blank_to_none)] = None
    """The try-on model of motion_type TryOnVideo."""
    character_animate: FormBool = False
    seed: Seed = None
    """Seed of the first variant (the others follow it); reproduces a render exactly."""
    title: Annotated[str, Field(max_length=500)] = ""
    description: Annotated[str, Field(max_length=MAX_TEXT)] = ""
    visibility_status: Literal["0", "1", "2"] = "1"
    webhook_url: OptionalUrl = None
    metadata: Metadata = None


RECORD_FIELDS: frozenset[str] = frozenset(
    {"title", "description", "visibility_status", "webhook_url", "metadata", "rating"}
)
"""Fields that change the record only: an edit of these alone re-renders nothing."""

GENERATION_FIELDS: frozenset[str] = frozenset(MediaFields.model_fields) - RECORD_FIELDS
"""Fields that decide what is rendered (changing one on edit re-renders and charges)."""

_SPEC_NAMES: dict[str, str] = {
    "prompt": "prompt",
    "negative_prompt": "negative_prompt",
    "motion_type": "motion_type",
    "camera_control": "camera_control",
    "quantity": "quantity",
    "duration": "duration",
    "loop": "loop",
    "fps": "fps",
    "motion_range": "motion_range",
    "aspect_ratio": "aspect_ratio",
    "native_audio": "native_audio",
    "character_animate": "character_animate",
    "model": "try_on_model",
}
"""Request fields copied as they are into a spec field (API name -> spec name)."""

INDIRECT_FIELDS: dict[str, tuple[str, ...]] = {
    "media_items": ("inputs",),
    "image_urls": ("inputs",),
    "sound_effects": ("native_audio",),
    "audio_option": ("audio", "inputs"),
    "narration": ("audio",),
    "narrator": ("audio",),
    "bg_music_prompt": ("audio",),
    "seed": ("seeds",),
}
"""Request fields folded into spec fields by :meth:`MediaCreate.to_spec` and
:meth:`MediaUpdateBase.apply_to` (uploads in ``image_files`` become ``inputs`` too). The
``metadata`` record field is also copied into the spec at each generation, for engines."""


def spec_field_names(request_field: str) -> tuple[str, ...]:
    """The spec fields a request field sets (empty for record-only fields)."""
    if request_field in _SPEC_NAMES:
        return (_SPEC_NAMES[request_field],)
    return INDIRECT_FIELDS.get(request_field, ())


class MediaCreate(MediaFields):
    image_urls: Annotated[list[Url], Field(max_length=2)] = []

    @field_validator("image_urls", mode="before")
    @classmethod
    def _urls(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value] if value.strip() else []
        return value

    def to_spec(self) -> GenerationSpec:
        """The generation this create asks for, seeded, without inputs (stored later)."""
        values: dict[str, Any] = {spec: getattr(self, api) for api, spec in _SPEC_NAMES.items()}
        if self.sound_effects is not None and "native_audio" not in self.model_fields_set:
            values["native_audio"] = self.sound_effects
        values["audio"] = self._audio({}, replace_top_level=False)
        values["metadata"] = self.metadata or {}
        return GenerationSpec(**values).seeded(self.seed)


class MediaUpdateBase(_RequestBase):
    """PUT /media/{id} and /edit: every field optional; only the given ones change."""

    rating: Annotated[str | None, Field(max_length=32)] = None

    if TYPE_CHECKING:
        # The MediaFields fields are added by create_model below (each optional).
        def __getattr__(self, name: str) -> Any: ...

    @property
    def regenerates(self) -> bool:
        # An explicit null changes nothing, so it must not re-render (and charge).
        return any(
            getattr(self, name) is not None for name in self.model_fields_set & GENERATION_FIELDS
        )

    def record_changes(self) -> dict[str, Any]:
        """The record-only fields this edit sets (explicit nulls change nothing)."""
        names = self.model_fields_set & RECORD_FIELDS
        return {n: getattr(self, n) for n in names if getattr(self, n) is not None}

    def apply_to(self, spec: GenerationSpec) -> GenerationSpec:
        """``spec`` with this edit's generation fields applied and new seeds (or the given
        seed); inputs are the caller's to replace."""
        fields = self
        changes: dict[str, Any] = {}
        for api, name in _SPEC_NAMES.items():
            value = getattr(fields, api)
            if api in self.model_fields_set and value is not None:
                changes[name] = value
        if fields.sound_effects is not None and "native_audio" not in self.model_fields_set:
            changes["native_audio"] = fields.sound_effects
        changes["audio"] = self._audio(
            spec.audio.model_dump(exclude_none=True), replace_top_level=True
        )
        return spec.merged(changes).seeded(fields.seed)


def _optional(name: str) -> Any:
    """A MediaFields field, optional with default None, keeping its constraints inside."""
    info = MediaFields.model_fields[name]
    inner: Any = info.annotation
    if info.metadata:
        inner = Annotated[(inner, *info.metadata)]
    return (inner | None, Field(default=None, description=info.description))


MediaUpdate: type[MediaUpdateBase] = create_model(
    "MediaUpdate",
    __base__=MediaUpdateBase,
    __doc__=MediaUpdateBase.__doc__,
    **{name: _optional(name) for name in MediaFields.model_fields},
)
"""The edit body: MediaFields, each optional; plus rating."""


class MediaExtend(_RequestBase):
    """``POST /media/{id}/extend``: more seconds after a finished media's video, from its last
    frame. Unset fields keep the media's own (its prompt, camera path, motion type)."""

    prompt: Annotated[str | None, Field(max_length=MAX_TEXT)] = None
    duration: Annotated[int, Field(ge=1, le=10)] = 5
    """Seconds to add."""
    camera_control: Annotated[CameraControl | None, BeforeValidator(_blank_to_none)] = None
    motion_type: Annotated[MotionType | None, BeforeValidator(_blank_to_none)] = None
    fps: FrameRate = None
    """Must be the video's own frame rate when given (an extension keeps it)."""
    index: Annotated[int, Field(ge=0, le=3)] = 0
    """Which of the media's videos to continue (of ``quantity``); the result is that one,
    longer."""


class BatchCreate(BaseModel):
    """``POST /media/batch``: up to 100 create requests (each one ``POST /media``'s JSON
    body), made and charged together."""

    model_config = ConfigDict(extra="forbid")

    items: list[dict[str, Any]] = Field(min_length=1, max_length=100)
    webhook_url: str = ""
    """Called once, when the last of the batch's media ends."""
    metadata: Metadata = None
