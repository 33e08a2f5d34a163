"""The engine plug point.

An engine turns decoded inputs plus a frozen :class:`RenderConfig` into a stream of RGB frames.
Everything that decides what a render looks like lives in the config, which is stored with each
generation, so a render can be reproduced from it alone. Engines never encode, store or report
progress themselves: the pipeline counts the frames they yield (progress), checks for
cancellation between frames and encodes as frames arrive, so memory stays bounded.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from kinora.video.frames import Clip as Clip  # re-exported: engines name it from here
from kinora.video.frames import Frame as Frame
from kinora.vocab import AspectRatio


class InputKind(StrEnum):
    TEXT = "text"
    ONE_IMAGE = "one_image"
    TWO_IMAGES = "two_images"


@dataclass(frozen=True)
class RenderConfig:
    """What decides a render. Frozen and JSON-serialisable; stored with each generation."""

    width: int
    height: int
    fps: int = 24
    duration: float = 5.0
    """Seconds of one pass of the motion."""
    loop: int = 1
    """How many times the motion is repeated (seamlessly) in the output."""
    camera: str = ""
    """A camera_control value of the API; "" lets the engine choose."""
    motion_range: int = 5
    """Amplitude, 1-10."""
    seed: int = 0
    prompt: str = ""
    negative_prompt: str = ""
    """What the render should avoid; engines that take one say so in ``EngineInfo.honours``."""
    character_animate: bool = False
    """Animate the character in the image (a person or figure) rather than only the camera."""
    try_on_model: str = ""
    """A TryOnVideo model name (kinora.vocab.TryOnModel) for a person and a garment image."""
    options: Mapping[str, Any] = field(default_factory=dict)
    """Engine-specific extras (kept JSON-serialisable)."""

    @property
    def frames_per_motion(self) -> int:
        return max(2, round(self.duration * self.fps))

    @property
    def total_frames(self) -> int:
        return self.frames_per_motion * self.loop

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["options"] = dict(self.options)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RenderConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class EngineInputs:
    """Decoded inputs, at their original size (engines fit them to the output size)."""

    images: list[Frame] = field(default_factory=list)
    """RGB uint8 images: none (text), one, or two (start and end frame)."""
    prompt: str = ""
    driver: Clip | None = None
    """A driving video (character_animate): the character performs its motion."""
    keyframes: tuple[tuple[float, float], ...] = ()
    """With keyframed images (more than two, or placed in time): each image's (at, hold) as
    shares of one pass of the motion (0-1), one per image in order; empty otherwise."""

    @property
    def kind(self) -> InputKind:
        if len(self.images) >= 2:
            return InputKind.TWO_IMAGES
        if len(self.images) == 1:
            return InputKind.ONE_IMAGE
        return InputKind.TEXT


@dataclass(frozen=True)
class EngineInfo:
    """What an engine declares about itself (listed by the API, used for routing)."""

    name: str
    version: str
    accepts: frozenset[InputKind]
    needs_gpu: bool = False
    max_duration: float = 10.0
    description: str = ""
    min_duration: float = 1.0
    aspect_ratios: tuple[str, ...] = tuple(a.value for a in AspectRatio)
    """Output shapes it can make (any size of these shapes: the output is fitted to it)."""
    max_side: int = 0
    """Longest side it renders natively before fitting to the output (0: any)."""
    honours: frozenset[str] = frozenset()
    """Which engine-dependent request fields it really uses (names in
    :data:`ENGINE_FIELDS`). The pipeline records every other one a request set as ignored,
    with the reason, in that generation's history: nothing is dropped silently."""
    can_honour: frozenset[str] = frozenset()
    """Fields it honours only for some targets (a provider's models, a pipeline's call): which
    ones, for a given target and render, :meth:`MotionEngine.honoured_fields` says."""

    @property
    def reachable(self) -> frozenset[str]:
        """Everything some configuration of this engine honours."""
        return self.honours | self.can_honour


ENGINE_FIELDS: frozenset[str] = frozenset(
    {
        "prompt",
        "negative_prompt",
        "camera_control",
        "motion_range",
        "seed",
        "character_animate",
        "try_on_model",
        "keyframes",
    }
)
"""Request fields whose effect depends on the engine that runs (the pipeline itself honours
the rest: inputs, quantity, duration, loop, aspect_ratio, audio, motion_type routing)."""


@dataclass(frozen=True)
class ModelFile:
    """A model file an engine needs, checked when a server or worker starts."""

    name: str
    path: Path
    fix: str = "run `make install` (or `kinora models install`)"
    """What the operator does when it is missing."""


@dataclass
class Render:
    """One render: its frames, and what the engine reports about this render alone.

    Engines hand per-render facts back here (a provider's job id, model version and seed),
    never through instance state: one engine serves many renders, and a worker reuses it.
    ``metadata`` and ``version`` are complete once ``frames`` is exhausted.
    """

    frames: Iterator[Frame]
    metadata: dict[str, Any] = field(default_factory=dict)
    """Recorded with the generation's config (``provider`` for hosted models)."""
    version: str = ""
    """This render's service_version, when it depends on the render ("": the engine's)."""


_cancel_check: ContextVar[Callable[[], bool] | None] = ContextVar("kinora_cancel", default=None)


@contextmanager
def cancellation(check: Callable[[], bool] | None) -> Iterator[None]:
    """While frames are drawn from an engine, :func:`cancel_requested` asks ``check``."""
    token = _cancel_check.set(check)
    try:
        yield
    finally:
        _cancel_check.reset(token)


def cancel_requested() -> bool:
    """Whether the render being drawn was cancelled. The pipeline checks between frames; an
    engine that waits on something outside before its first frame (a hosted provider's job)
    asks here while it waits, to stop that work too."""
    check = _cancel_check.get()
    return bool(check is not None and check())


class MotionEngine(ABC):
    """Base class of every engine, built-in or plugged in through the ``kinora.engines`` group."""

    info: ClassVar[EngineInfo]
    encoder_niceness: ClassVar[int] = 10
    """Niceness added to the encoder's threads while this engine's frames stream into them:
    behind the renderer for engines slower than the encoder (their render is the critical
    path), 0 for engines that render faster than x264 encodes (then x264 is)."""

    @classmethod
    def model_files(cls, models_dir: Path) -> list[ModelFile]:
        """Model files this engine needs under ``models_dir`` (none by default)."""
        return []

    def honoured_fields(self, config: RenderConfig | None = None) -> frozenset[str]:
        """Which of :data:`ENGINE_FIELDS` this engine, as configured (its model, its target),
        really uses; with ``config``, for that render's values (an engine may honour a
        camera path only if its model has that move). ``info.honours`` is what the engine
        honours whatever its target; engines whose answer depends on the target override
        this. Cheap: no model loading, no network."""
        return self.info.honours

    def service_version(self) -> str:
        """The version reported in the media object; may say which components were available."""
        return self.info.version

    def render(self, inputs: EngineInputs, config: RenderConfig) -> Render:
        """This render's frames and what the engine reports about it (see :class:`Render`).
        The default wraps :meth:`frames`; engines with per-render facts override it."""
        return Render(self.frames(inputs, config))

    @abstractmethod
    def frames(self, inputs: EngineInputs, config: RenderConfig) -> Iterator[Frame]:
        """Yield exactly ``config.total_frames`` frames of ``config.height`` x ``config.width``."""

    def frames_i420(self, inputs: EngineInputs, config: RenderConfig) -> Iterator[Frame] | None:
        """The same frames in the encoder's own I420 (``kinora.video.colour``), for engines
        that render in YUV natively; None (the default) has the encoder convert RGB frames."""
        return None

    renders_subject: ClassVar[bool] = False
    """Whether :meth:`mattes` gives the subject's alpha (the transparent downloads exist)."""

    def mattes(self, inputs: EngineInputs, config: RenderConfig) -> Iterator[Frame] | None:
        """The subject's alpha (``uint8``, height x width, 255 opaque) in each of the frames
        :meth:`frames` yields for the same inputs and config, for the downloads with a
        transparent background; None (the default) when the engine draws no subject layer
        of its own (one picture, a provider's video)."""
        return None


class FakeEngine(MotionEngine):
    """A flat-colour engine for tests of the code around engines (queue, API, encoding)."""

    info = EngineInfo(
        name="fake",
        version="1",
        accepts=frozenset(InputKind),
        description="Solid frames whose brightness ramps; for tests only.",
    )

    def frames(self, inputs: EngineInputs, config: RenderConfig) -> Iterator[Frame]:
        n = config.total_frames
        for i in range(n):
            value = int(255 * i / max(1, n - 1))
            yield np.full((config.height, config.width, 3), value, dtype=np.uint8)
