"""The subject's alpha for a finished video, rendered again from what its generation stored.

The transparent downloads (``bullet_video_webm_alpha``, ``bullet_video_mov_alpha``) pair the
video's own frames with the subject layer's matte. The matte is not kept with every render
(most users never ask, and it would cost each render a second warp and encode): the history
entry's spec and frozen config reproduce the render's plan exactly, so the engine moves the
matte as it moved the subject. Lead-in and lead-out clips (a video input before or after the
photo) are opaque.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from kinora.config import Settings
from kinora.engines.base import RenderConfig
from kinora.engines.registry import engine_classes, engine_for
from kinora.pipeline.inputs import decode_inputs
from kinora.pipeline.render import clip_frame_count
from kinora.spec import GenerationSpec
from kinora.storage import build_storage
from kinora.video.formats import Matte, write_mov_alpha, write_webm_alpha

WRITERS = {"webm_alpha": write_webm_alpha, "mov_alpha": write_mov_alpha}
"""Rendition kind to the writer of a video with alpha."""


@functools.cache
def draws_subject(service_name: str) -> bool:
    """Whether videos made by ``service_name`` can have a transparent background (asked for
    every media object shown: the engine table is read once per name)."""
    cls = engine_classes().get(service_name)
    return cls is not None and cls.renders_subject


def subject_mattes(recipe: Mapping[str, Any], settings: Settings) -> Iterator[Matte]:
    """The alpha of every frame of the video the recipe (``{"spec", "config",
    "service_name"}`` from its history entry) describes: opaque over lead-in and lead-out."""
    service_name = str(recipe.get("service_name", ""))
    if not draws_subject(service_name):
        raise ValueError(
            f"this video was made by {service_name or 'an engine'}, which draws no subject "
            "layer of its own: transparent versions exist for the one-image and character "
            "engines' videos"
        )
    spec = GenerationSpec.from_stored(recipe["spec"])
    config = RenderConfig.from_dict(recipe["config"])
    storage = build_storage(settings)
    decoded = decode_inputs(spec, storage.local_path, max_pixels=settings.max_image_pixels)
    engine = engine_for(service_name, models_dir=settings.resolved_models_dir)
    moving = engine.mattes(decoded.inputs, config)
    if moving is None:
        raise ValueError(f"{service_name} gave no subject matte for this video")
    opaque = np.full((config.height, config.width), 255, np.uint8)
    for _ in range(clip_frame_count(decoded.lead_in, config.fps)):
        yield opaque
    yield from moving
    while True:  # the lead-out, however long the video runs on
        yield opaque


def write_transparent(
    src: Path, dst: Path, *, kind: str, recipe: Mapping[str, Any], settings: Settings
) -> None:
    """Write the video at ``src`` with its subject's alpha as ``kind`` (a key of WRITERS)."""
    WRITERS[kind](src, dst, subject_mattes(recipe, settings))
