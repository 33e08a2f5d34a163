"""One generation's render, from its spec to finished videos and its history fields.

The worker runs this in a render child (``kinora.jobs.children``); everything it takes and
returns is picklable and it touches neither the database nor the queue: inputs are read
through a storage built from the settings, videos are written into ``work`` for the worker
to store.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from kinora.config import Settings
from kinora.engines.base import MotionEngine
from kinora.engines.registry import Route
from kinora.pipeline.lipsync_step import service_version_note
from kinora.pipeline.render import RenderedVideo, render_all
from kinora.pipeline.run import after_render, prepare
from kinora.spec import GenerationSpec
from kinora.storage import build_storage
from kinora.video.encode import read_frames, write_thumbnail
from kinora.video.join import join_videos

log = logging.getLogger(__name__)

Message = Callable[..., None]
"""``on_message("progress", done, total)`` while frames render; ``on_message("stage", name)``
when a step after the render starts (lip sync)."""


@dataclass
class GenerationRender:
    """A finished render's videos (in ``work``) and what its history entry records."""

    videos: list[RenderedVideo]
    service_name: str
    service_version: str
    configs: list[dict[str, Any]]
    aspect_ratio: str
    ignored: list[dict[str, str]] = field(default_factory=list)


def render_generation(
    spec: GenerationSpec,
    work: Path,
    *,
    settings: Settings,
    on_message: Message,
    cancelled: Callable[[], bool],
) -> GenerationRender:
    """Decode the inputs, route, plan, render every variant and run the steps after it.

    Raises :class:`kinora.errors.CancelledError` (with the variants done) when ``cancelled()``
    turns true between frames.
    """
    storage = build_storage(settings)
    extends = spec.extends
    prepared = prepare(
        spec,
        storage.local_path,
        settings=settings,
        long_side=max(extends.width, extends.height) if extends is not None else None,
        fps=extends.fps if extends is not None else None,
    )
    chosen, planned = prepared.route, prepared.plan

    def on_progress(done: int, total: int) -> None:
        on_message("progress", done, total)

    outcome = render_all(
        engine=chosen.engine,
        job=prepared.job,
        out_dir=work,
        on_progress=on_progress,
        cancelled=cancelled,
    )
    if prepared.lip_sync_step is not None:
        on_message("stage", "lip sync")
    after_render(prepared, outcome, cancelled=cancelled)
    videos = list(outcome.videos)
    if extends is not None:
        on_message("stage", "joining")
        previous = storage.local_path(extends.key)
        videos = [_joined(previous, video, work) for video in videos]
    return GenerationRender(
        videos=videos,
        service_name=chosen.engine.info.name,
        service_version=service_version(chosen.engine, outcome.videos)
        + service_version_note(outcome.videos),
        configs=config_records(chosen, outcome.videos),
        aspect_ratio=planned.aspect_ratio,
        ignored=[item.to_dict() for item in (*planned.ignored, *outcome.ignored)],
    )


def _joined(previous: Path, video: RenderedVideo, work: Path) -> RenderedVideo:
    """An extension's video: the one it continues, then the new seconds (``video``)."""
    fps = video.config.fps
    path = work / f"extended_{video.path.stem}.mp4"
    frames = join_videos(previous, video.path, path, fps=fps)
    thumbnail = work / f"extended_{video.thumbnail.name}"
    write_thumbnail(read_frames(previous, max_frames=1)[0], thumbnail)
    return replace(video, path=path, thumbnail=thumbnail, frames=frames, seconds=frames / fps)


def service_version(engine: MotionEngine, videos: Sequence[RenderedVideo]) -> str:
    """The engine's version, or what its renders reported (a provider's model version and
    seeds, joined over the variants)."""
    reported = [v.version for v in videos if v.version]
    if not reported:
        return str(engine.service_version())
    if len(reported) == 1:
        return str(reported[0])
    model, seeds = reported[0].split("; seeds ")[0], list[str]()
    for version in reported:
        _, _, tail = version.partition("; seeds ")
        seeds += [s for s in tail.split(",") if s]
    return model + (f"; seeds {','.join(seeds)}" if seeds else "")


def config_records(chosen: Route, videos: Sequence[RenderedVideo]) -> list[dict[str, Any]]:
    """Each variant's frozen config, plus the route and what the engine reported for it."""
    return [
        {
            **video.config.to_dict(),
            "engine_target": chosen.target,
            **video.metadata,
        }
        for video in videos
    ]
