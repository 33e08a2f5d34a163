"""GenerationSpec: every field that affects a render, typed, frozen and versioned.

A spec is built once from a create request (:meth:`kinora.domain.requests.MediaCreate.to_spec`),
merged for an edit, stored typed in the Media row (validated on read) and turned into render
configs by one planner (:func:`kinora.pipeline.plan.plan`) that the worker and ``kinora render``
both call. So what a generation was asked to do is one value, not a dict read with defaults in
several places, and a stored spec reproduces its render.

This module imports only :mod:`kinora.vocab`: every layer may read a spec.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
)

from kinora.vocab import FRAME_RATES, AspectRatio, CameraControl, MotionType, TryOnModel

SPEC_VERSION: Literal[1] = 1
MAX_SEED = 2**31 - 1


def new_seeds(quantity: int) -> tuple[int, ...]:
    """Fresh seeds, one per variant."""
    return tuple(secrets.randbelow(MAX_SEED) + 1 for _ in range(quantity))


def seeds_from(seed: int, quantity: int) -> tuple[int, ...]:
    """The seeds of a request that gave one: it is the first variant's, the others follow it."""
    return tuple((seed + i) % MAX_SEED for i in range(quantity))


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class InputRef(_Frozen):
    """A stored input file: an image or video (First/Last), or narration or music audio."""

    kind: Literal["image", "video", "audio"]
    position: str
    """First or Last for images and videos; narration or music for audio."""
    name: str
    """The file's name as the caller gave it (the media's file_map)."""
    key: str
    """Where the file lies in storage."""
    at: float | None = None
    """Keyframed images only: the second of the motion that shows it (with ``hold``, how
    long the video stays on it); kinora.domain.keyframes checked both."""
    hold: float = 0.0

    @model_serializer(mode="wrap")
    def _dump(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # Inputs that are not keyframes are stored as they always were (no at/hold keys).
        data: dict[str, Any] = handler(self)
        if self.at is None:
            data.pop("at", None)
            data.pop("hold", None)
        return data

    @property
    def visual(self) -> bool:
        return self.kind in ("image", "video")


class AudioSpec(_Frozen):
    """What the soundtrack says and plays (files given by URL are inputs of kind audio)."""

    narrator: str | None = None
    narration: str | None = None
    narration_url: str | None = None
    bg_music_prompt: str | None = None
    bg_music_url: str | None = None
    speaker: str | None = None
    """Which face speaks the narration (one of :data:`kinora.vocab.SPEAKERS`); None: the
    largest."""


class Extension(_Frozen):
    """What an extension continues (``POST /media/{id}/extend``): the media's video it
    follows, by its stored key, and that video's shape, which the new seconds keep."""

    key: str
    bullet_version: str
    """The version (video_history entry) whose video is continued."""
    frames: int
    fps: int
    width: int
    height: int
    last_frame: str = ""
    """The stored key of that video's last frame (a PNG kept with it), if it has one: read
    instead of decoding the video through."""


class GenerationSpec(_Frozen):
    """Every render-affecting field of one generation. See the module docstring."""

    version: Literal[1] = SPEC_VERSION
    inputs: tuple[InputRef, ...] = ()
    prompt: str = ""
    negative_prompt: str = ""
    motion_type: MotionType = MotionType.AUTO
    camera_control: CameraControl = CameraControl.AUTO
    quantity: Annotated[int, Field(ge=1, le=4)] = 1
    duration: Annotated[int, Field(ge=1, le=10)] = 5
    """Seconds of one pass of the motion."""
    loop: Annotated[int, Field(ge=1, le=6)] = 1
    fps: int | None = None
    """Frames a second, one of FRAME_RATES; None: the operator's default (``KINORA_FPS``)."""
    motion_range: Annotated[int, Field(ge=1, le=10)] = 5
    aspect_ratio: AspectRatio | None = None
    """None: the nearest supported shape to the first image's (16:9 for text)."""
    seeds: tuple[int, ...] = ()
    """One per variant; empty only before :meth:`seeded`."""
    native_audio: bool = False
    """Sound effects (and, once an engine makes speech on faces, lip sync)."""
    audio: AudioSpec = AudioSpec()
    character_animate: bool = False
    try_on_model: TryOnModel | None = None
    extends: Extension | None = None
    """Set for an extension: the render starts at that video's last frame and its result is
    that video followed by the new seconds."""
    metadata: Mapping[str, Any] = Field(default_factory=dict)
    """The caller's own JSON object; engines may read it, nothing in Kinora depends on it."""

    @field_validator("fps")
    @classmethod
    def _frame_rate(cls, value: int | None) -> int | None:
        if value is not None and value not in FRAME_RATES:
            raise ValueError(f"fps must be one of {', '.join(map(str, FRAME_RATES))}")
        return value

    # ------------------------------------------------------------------ derived

    @property
    def visuals(self) -> tuple[InputRef, ...]:
        """Image and video inputs, First before Last."""
        items = [i for i in self.inputs if i.visual]
        return tuple(sorted(items, key=lambda i: i.position != "First"))

    @property
    def audio_inputs(self) -> dict[str, InputRef]:
        return {i.position: i for i in self.inputs if i.kind == "audio"}

    @property
    def needs(self) -> frozenset[str]:
        """Engine fields this spec cannot do without (names of kinora.engines.base's
        ENGINE_FIELDS): routing passes over engines that do not honour them."""
        wanted = {"try_on_model": self.try_on_model is not None}
        wanted["character_animate"] = self.character_animate
        wanted["keyframes"] = self.keyframed
        return frozenset(name for name, on in wanted.items() if on)

    @property
    def keyframed(self) -> bool:
        """Whether its images were placed in time (media_items with at/hold, or more than
        two of them): only an engine that honours ``keyframes`` can render it."""
        return any(item.at is not None for item in self.visuals)

    @property
    def motion_seconds(self) -> float:
        return float(self.duration) * self.loop

    def seeded(self, seed: int | None = None) -> GenerationSpec:
        """This spec with seeds for every variant: from ``seed``, else fresh ones."""
        seeds = seeds_from(seed, self.quantity) if seed is not None else new_seeds(self.quantity)
        return self.model_copy(update={"seeds": seeds})

    def with_inputs(self, inputs: Sequence[InputRef]) -> GenerationSpec:
        return self.model_copy(update={"inputs": tuple(inputs)})

    def merged(self, changes: Mapping[str, Any]) -> GenerationSpec:
        """A new spec with ``changes`` (spec field names) applied, validated again."""
        data = self.model_dump(mode="json")
        data.update(changes)
        return GenerationSpec.model_validate(data)

    # ------------------------------------------------------------------ storage

    def to_stored(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @classmethod
    def from_stored(cls, data: Mapping[str, Any] | None) -> GenerationSpec:
        """A spec from what a Media row holds, including rows written before specs existed
        (``params`` plus ``inputs``: see :func:`from_legacy`)."""
        if not data:
            return cls()
        if "version" not in data:
            return cls.model_validate(from_legacy(data, data.get("inputs") or []))
        return cls.model_validate(dict(data))


def from_legacy(params: Mapping[str, Any], inputs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The stored form of a spec from a pre-spec row's ``params`` and ``inputs`` columns
    (used by the Alembic migration that introduced specs, and on read of any such row)."""
    audio = dict(params.get("audio_option") or {})
    return {
        "version": SPEC_VERSION,
        "inputs": [
            {k: item[k] for k in ("kind", "position", "name", "key") if k in item}
            for item in inputs
        ],
        "prompt": params.get("prompt", "") or "",
        "negative_prompt": params.get("negative_prompt", "") or "",
        "motion_type": params.get("motion_type", "Auto") or "Auto",
        "camera_control": params.get("camera_control", "") or "",
        "quantity": int(params.get("quantity", 1)),
        "duration": int(params.get("duration", 5)),
        "loop": int(params.get("loop", 1)),
        "motion_range": int(params.get("motion_range", 5)),
        "aspect_ratio": params.get("aspect_ratio") or None,
        "seeds": [int(s) for s in params.get("seeds", [])],
        "native_audio": bool(params.get("native_audio", False)),
        "audio": {k: v for k, v in audio.items() if k in AudioSpec.model_fields},
        "character_animate": bool(params.get("character_animate", False)),
        "try_on_model": params.get("model") or None,
        "metadata": {},
    }
