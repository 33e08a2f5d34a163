"""GET /vocabulary: every choice a request field offers, with its label, from kinora.vocab.

Public like /health (the values are the API's own, documented in its schema): clients such as
the studio build their pickers from it instead of keeping copies of the lists.
"""

from __future__ import annotations

from functools import cache

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict

from kinora.vocab import (
    ASPECT_RATIO_INFO,
    CAMERA_PATH_INFO,
    DEFAULT_NARRATOR,
    DEFAULT_SPEAKER,
    MOTION_TYPE_INFO,
    NARRATORS,
    SPEAKERS,
    TRY_ON_MODEL_INFO,
    InputName,
)

router = APIRouter(tags=["Other"])


class _Choice(BaseModel):
    model_config = ConfigDict(frozen=True)

    value: str
    """What a request sends."""
    label: str
    """What a person reads."""


class MotionTypeChoice(_Choice):
    family: str
    description: str
    inputs: list[InputName]
    auto: bool


class CameraControlChoice(_Choice):
    description: str


class AspectRatioChoice(_Choice):
    width: int
    height: int
    description: str


class TryOnModelChoice(_Choice):
    maker: str


class NarratorChoice(_Choice):
    default: bool
    """Speaks a narration that names no narrator."""


class SpeakerChoice(_Choice):
    description: str
    default: bool
    """Chosen when ``audio_option.speaker`` is not given."""


class Vocabulary(BaseModel):
    """The values of motion_type, camera_control, aspect_ratio, model, narrator and
    audio_option.speaker, in order."""

    model_config = ConfigDict(frozen=True)

    motion_types: list[MotionTypeChoice]
    camera_controls: list[CameraControlChoice]
    aspect_ratios: list[AspectRatioChoice]
    try_on_models: list[TryOnModelChoice]
    narrators: list[NarratorChoice]
    speakers: list[SpeakerChoice]


_INPUT_ORDER: tuple[InputName, ...] = ("text", "one_image", "two_images")


@cache
def vocabulary() -> Vocabulary:
    """Built once from the vocabulary's tables (they are constants)."""
    return Vocabulary(
        motion_types=[
            MotionTypeChoice(
                value=m.value,
                label=i.label,
                family=i.family,
                description=i.description,
                inputs=[k for k in _INPUT_ORDER if k in i.inputs],
                auto=i.auto,
            )
            for m, i in MOTION_TYPE_INFO.items()
        ],
        camera_controls=[
            CameraControlChoice(value=c.value, label=i.label, description=i.description)
            for c, i in CAMERA_PATH_INFO.items()
        ],
        aspect_ratios=[
            AspectRatioChoice(
                value=a.value,
                label=i.label,
                width=i.width,
                height=i.height,
                description=i.description,
            )
            for a, i in ASPECT_RATIO_INFO.items()
        ],
        try_on_models=[
            TryOnModelChoice(value=t.value, label=i.label, maker=i.maker)
            for t, i in TRY_ON_MODEL_INFO.items()
        ],
        narrators=[
            NarratorChoice(value=n, label=n, default=n == DEFAULT_NARRATOR) for n in NARRATORS
        ],
        speakers=[
            SpeakerChoice(value=s, label=s, description=d, default=s == DEFAULT_SPEAKER)
            for s, d in SPEAKERS.items()
        ],
    )


@router.get("/vocabulary", summary="The choices of the request fields", response_model=Vocabulary)
def get_vocabulary(response: Response) -> Vocabulary:
    """Every value of motion_type, camera_control, aspect_ratio, model (try-on) and narrator,
    in the API's order, with a label and what it means. No API key needed."""
    response.headers["Cache-Control"] = "public, max-age=300"
    return vocabulary()
