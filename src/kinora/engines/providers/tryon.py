"""Hosted virtual try-on: a provider dresses the person, Kinora animates the dressed still.

Every hosted try-on model (FASHN's API, FASHN and Kling's Kolors on fal, the image-edit models
of Nano Banana Pro and Seedream on fal) answers with an IMAGE: the person of the first image
wearing the garment of the second. A video is then made from that image by the built-in
try-on engine's own motion (:meth:`~kinora.engines.people.tryon.TryOnEngine.animate`: a slow,
flattering camera path and a little sway), exactly as ``kinora-tryon`` animates the photo it
dressed itself. Both steps are named: service_name says
``"<provider> <model> + kinora-tryon animation"`` and service_version
``"<model>@<provider's version> + kinora-tryon <version>; seeds ..."``.

The adapters reuse :class:`~kinora.engines.providers.base.ProviderAdapter`'s submit/poll/
retry/deadline/download loop unchanged: :attr:`Poll.video_url` carries the result image's URL
here, and :attr:`ProviderResult.video` its bytes. A provider's failure raises
:class:`~kinora.errors.RenderError` with the provider's own message (the media fails and is
refunded, as for every provider).
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from kinora.config import Settings
from kinora.engines.base import (
    ENGINE_FIELDS,
    EngineInputs,
    Frame,
    InputKind,
    Render,
    RenderConfig,
)
from kinora.engines.people.garment import GarmentKind, kind_from_prompt
from kinora.engines.people.tryon import TryOnEngine
from kinora.engines.providers.base import (
    ProviderEngine,
    ProviderRequest,
    ProviderResult,
    aspect_of,
    data_uri,
)
from kinora.errors import RenderError

ANIMATION = "kinora-tryon"
"""The engine whose motion animates a provider's dressed still."""

TRY_ON_HONOURS = frozenset({"try_on_model", "camera_control", "motion_range", "seed"})
"""What every hosted try-on honours: the model (it picks the provider), and the camera path,
motion range and seed of the animation (the seed also picks the auto camera path)."""

TRY_ON_INSTRUCTION = (
    "Virtual try-on: dress the person in the first image in the garment shown in the second "
    "image. Keep the person's face, hair, hands, pose, body shape and the background exactly "
    "as in the first image; keep the garment's colours, pattern, print and cut; photorealistic."
)
"""What the image-edit models (Nano Banana Pro, Seedream) are asked, the request's prompt
appended (it can name the garment: "the denim jacket")."""

FASHN_CATEGORIES: dict[GarmentKind, str] = {
    GarmentKind.TOP: "tops",
    GarmentKind.OUTERWEAR: "tops",
    GarmentKind.DRESS: "one-pieces",
    GarmentKind.TROUSERS: "bottoms",
}
"""FASHN's ``category`` (``auto`` | ``tops`` | ``bottoms`` | ``one-pieces``) for the garment
kind the prompt names; ``auto`` (FASHN detects it) when the prompt names none."""

PERSON_SIDE = 1280
"""Both images are sent whole (a try-on needs the full figure), longer side at most this."""


def fashn_category(prompt: str) -> str:
    kind = kind_from_prompt(prompt)
    return FASHN_CATEGORIES.get(kind, "auto") if kind is not None else "auto"


def instruction(prompt: str) -> str:
    return TRY_ON_INSTRUCTION + (f" {prompt.strip()}" if prompt.strip() else "")


def decode_image(data: bytes, provider: str) -> Frame:
    """The provider's result image as RGB, or a RenderError naming the provider."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            return np.ascontiguousarray(np.asarray(img.convert("RGB"), dtype=np.uint8))
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise RenderError(f"{provider}: the try-on result is not an image ({exc})") from exc


class TryOnProviderEngine(ProviderEngine):
    """A hosted try-on model as an engine: the provider's dressed still, animated here.

    Built per route (``from_target``) as a subclass whose ``info.name`` names both steps, so
    the media's service_name says who dressed the person and who moved the camera.
    """

    models_dir: Path | None = None
    _animation: TryOnEngine | None = None

    @classmethod
    def accepts_for(cls, model: str) -> frozenset[InputKind]:
        return frozenset({InputKind.TWO_IMAGES})

    @classmethod
    def from_target(
        cls, *, argument: str, options: Mapping[str, str], settings: Settings
    ) -> ProviderEngine:
        engine = super().from_target(argument=argument, options=options, settings=settings)
        return cls.named(engine, argument, settings)

    @classmethod
    def named(cls, engine: ProviderEngine, model: str, settings: Settings) -> ProviderEngine:
        """``engine`` as a subclass whose name says who dresses and who animates."""
        name = service_name(cls.adapter_class.name, model)
        engine.__class__ = type(cls.__name__, (cls,), {"info": replace(cls.info, name=name)})
        if isinstance(engine, TryOnProviderEngine):
            engine.models_dir = settings.resolved_models_dir
        return engine

    # -- MotionEngine -----------------------------------------------------------------------

    def honoured_fields(self, config: RenderConfig | None = None) -> frozenset[str]:
        """The animation's fields, and what the adapter sends its model (the prompt, where
        the model takes one)."""
        return (self.adapter.honoured(config) | TRY_ON_HONOURS) & ENGINE_FIELDS

    def request_for(self, inputs: EngineInputs, config: RenderConfig) -> ProviderRequest:
        if len(inputs.images) < 2:
            raise RenderError("try-on needs two images: the person first, then the garment")
        images = [data_uri(image, long_side=PERSON_SIDE) for image in inputs.images[:2]]
        return ProviderRequest(
            prompt=inputs.prompt or config.prompt,
            images=images,
            duration=config.duration,
            aspect_ratio=aspect_of(config.width, config.height),
            width=config.width,
            height=config.height,
            seed=config.seed,
        )

    def animation(self) -> TryOnEngine:
        """The built-in try-on engine, for its motion only (made on first use)."""
        if self._animation is None:
            self._animation = TryOnEngine(self.models_dir)
        return self._animation

    def version_of(self, results: Sequence[ProviderResult]) -> str:
        """``model@version + kinora-tryon <version>; seeds ...``."""
        text = super().version_of(results)
        model, sep, seeds = text.partition("; seeds ")
        return f"{model} + {ANIMATION} {self.animation().service_version()}{sep}{seeds}"

    def service_version(self) -> str:
        return f"{self.adapter.model} + {ANIMATION} {self.animation().service_version()}"

    def render(self, inputs: EngineInputs, config: RenderConfig) -> Render:
        """The provider's dressed still (its job id, version and seed in the Render),
        then the built-in animation over it."""
        out = Render(iter(()))
        out.metadata.update(
            {
                "try_on_model": config.try_on_model,
                "try_on_engine": f"{self.adapter.name}:{self.adapter.model}",
                "try_on_animation": ANIMATION,
            }
        )

        def frames() -> Iterator[Frame]:
            result = self.adapter.generate(self.request_for(inputs, config))
            dressed = decode_image(result.video, self.adapter.name)
            out.metadata["provider"] = result.metadata()
            out.metadata["try_on_result"] = {"width": dressed.shape[1], "height": dressed.shape[0]}
            out.version = self.version_of([result])
            yield from self.animation().animate(dressed, config)

        out.frames = frames()
        return out


def service_name(provider: str, model: str) -> str:
    """``"fashn tryon-v1.6 + kinora-tryon animation"``: who dressed, and who animated."""
    return f"{provider} {model} + {ANIMATION} animation"[:100]
