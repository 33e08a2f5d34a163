"""From a plan's render configs to finished MP4s: stream engine frames into the encoder.

Shared by the worker and ``kinora render`` (both plan with :mod:`kinora.pipeline.plan`). The
plan is pure data (frozen render configs with their seeds), so a generation can be reproduced
from what is stored with it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from kinora.audio.visemes import VisemeTrack
from kinora.engines.base import (
    EngineInputs,
    Frame,
    MotionEngine,
    Render,
    RenderConfig,
    cancellation,
)
from kinora.engines.morph.tween import tween
from kinora.engines.people.lipsync import LipSync
from kinora.errors import CancelledError
from kinora.pipeline.plan import Ignored
from kinora.pipeline.steer import ParticleOverlay
from kinora.video.colour import ColourMatch, i420_to_rgb
from kinora.video.encode import Mp4Writer, write_frame_png, write_thumbnail
from kinora.video.fit import cover_fit
from kinora.video.frames import Clip as Clip  # re-exported: the pipeline's inputs name it

SoundtrackMaker = Callable[[float], "npt.NDArray[np.float32]"]
"""Makes a 48 kHz stereo track of exactly the given seconds (the video's length)."""
ProgressCallback = Callable[[int, int], None]
"""Called with (frames done, frames in all) as frames are encoded."""
CancelCheck = Callable[[], bool]


@dataclass(frozen=True, eq=False)
class LipSyncJob:
    """The narration's mouth track: the face in each of the engine's frames speaks it
    (:class:`kinora.engines.people.lipsync.LipSync`, one per rendered video)."""

    visemes: VisemeTrack
    models_dir: Path | None = None
    speaker: str = "largest"
    """Which face speaks when there are several (:data:`kinora.vocab.SPEAKERS`)."""

    def filter(self, config: RenderConfig, frames: int) -> LipSync:
        """A fresh filter for one video of ``frames`` frames (lead-in and lead-out included:
        the track is in the clip's time, as the soundtrack is)."""
        opening, shape = self.visemes.per_frame(config.fps, frames)
        return LipSync(
            opening,
            shape,
            fps=config.fps,
            seed=config.seed,
            models_dir=self.models_dir,
            visemes=self.visemes.source,
            speaker=self.speaker,
        )


NO_FACE_RENDERED = Ignored(
    "lip_sync", "no face found in the rendered frames: the narration plays without lip sync"
)


@dataclass(frozen=True)
class RenderJob:
    inputs: EngineInputs
    configs: Sequence[RenderConfig]
    aspect_ratio: str
    lead_in: Clip | None = None
    lead_out: Clip | None = None
    soundtrack: SoundtrackMaker | None = None
    lip_sync: LipSyncJob | None = None
    """Set when there is speech and a face to speak it (kinora.pipeline.sound.plan_lip_sync)."""
    seam: Frame | None = None
    """A provider's extension: the frame it continues, whose colours its frames are matched
    to (:class:`kinora.video.colour.ColourMatch`, from its first frame)."""


@dataclass(frozen=True)
class RenderedVideo:
    path: Path
    thumbnail: Path
    config: RenderConfig
    frames: int
    seconds: float
    metadata: dict[str, Any] = field(default_factory=dict)
    """What the engine reported about this render (a provider's job, model version, seed)."""
    version: str = ""
    """This render's service_version when the engine gave one ("": the engine's own)."""
    last_frame: Path | None = None
    """The video's last frame as a PNG (None: not kept)."""


@dataclass
class RenderOutcome:
    videos: list[RenderedVideo] = field(default_factory=list)
    ignored: list[Ignored] = field(default_factory=list)
    """What the render found it could not do (lip sync with no face on screen), for the
    history entry beside the plan's own ``ignored``."""


def clip_frame_count(clip: Clip | None, fps: int) -> int:
    """How many frames a lead-in or lead-out clip takes at the output frame rate."""
    if clip is None or not clip.frames:
        return 0
    return max(1, round(len(clip.frames) * fps / max(clip.fps, 1.0)))


def _clip_frames(clip: Clip | None, width: int, height: int, fps: int) -> list[Frame]:
    """A clip fitted to the output size and brought to the output frame rate (missing frames
    made by optical flow, never repeated: :func:`kinora.engines.morph.tween.tween`)."""
    if clip is None or not clip.frames:
        return []
    fitted = (cover_fit(frame, width, height) for frame in clip.frames)
    return list(tween(fitted, len(clip.frames), clip_frame_count(clip, fps)))


def render_all(
    *,
    engine: MotionEngine,
    job: RenderJob,
    out_dir: Path,
    on_progress: ProgressCallback | None = None,
    cancelled: CancelCheck | None = None,
) -> RenderOutcome:
    """Render each config to ``out_dir/video_{i}.mp4`` with a JPEG thumbnail beside it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    outcome = RenderOutcome()
    first = job.configs[0]
    lead_in = _clip_frames(job.lead_in, first.width, first.height, first.fps)
    lead_out = _clip_frames(job.lead_out, first.width, first.height, first.fps)
    per_video = first.total_frames + len(lead_in) + len(lead_out)
    total = per_video * len(job.configs)
    try:
        _render_each(
            engine, job, out_dir, outcome, lead_in, lead_out, total, on_progress, cancelled
        )
    except CancelledError as exc:
        exc.completed = list(outcome.videos)
        raise
    return outcome


def _render_each(
    engine: MotionEngine,
    job: RenderJob,
    out_dir: Path,
    outcome: RenderOutcome,
    lead_in: list[Frame],
    lead_out: list[Frame],
    total: int,
    on_progress: ProgressCallback | None,
    cancelled: CancelCheck | None,
) -> None:
    done = 0
    for index, config in enumerate(job.configs):
        path = out_dir / f"video_{index}.mp4"
        thumb = out_dir / f"thumb_{index}.jpg"
        written = 0
        n_frames = config.total_frames + len(lead_in) + len(lead_out)
        audio = job.soundtrack(n_frames / config.fps) if job.soundtrack is not None else None
        cover: list[Frame] = []
        with Mp4Writer(
            path,
            width=config.width,
            height=config.height,
            fps=config.fps,
            audio=audio,
            niceness=engine.encoder_niceness,
        ) as writer:

            def emit(
                frame: Frame,
                i420: bool = False,
                writer: Mp4Writer = writer,
                cover: list[Frame] = cover,
                final: int = n_frames - 1,
            ) -> None:
                nonlocal done, written
                if cancelled is not None and cancelled():
                    raise CancelledError("the generation was cancelled")
                if i420:
                    writer.write_i420(frame)
                else:
                    writer.write(frame)
                if written == len(lead_in) or written == final:
                    cover.append(i420_to_rgb(frame) if i420 else frame.copy())
                written += 1
                done += 1
                if on_progress is not None:
                    on_progress(done, total)

            for frame in lead_in:
                emit(frame)
            produced = 0
            overlay = _overlay(config)
            lip = job.lip_sync.filter(config, n_frames) if job.lip_sync is not None else None
            # Straight to the encoder's format when the engine renders it (overlays draw RGB;
            # lip sync converts only the face's box).
            native = (
                None if overlay or job.seam is not None else engine.frames_i420(job.inputs, config)
            )
            render = Render(iter(())) if native is not None else None
            with cancellation(cancelled):
                if native is not None:
                    for frame in native:
                        if lip is not None:
                            frame = lip.apply_i420(frame, len(lead_in) + produced)
                        emit(frame, True)
                        produced += 1
                else:
                    render = engine.render(job.inputs, config)
                    match: ColourMatch | None = None
                    for frame in render.frames:
                        if job.seam is not None:
                            match = match or ColourMatch(frame, job.seam)
                            frame = match.apply(frame)
                        if lip is not None:  # the face speaks, then particles fall over it
                            frame = lip.apply(frame, len(lead_in) + produced)
                        emit(overlay.apply(frame, produced) if overlay else frame)
                        produced += 1
            if produced != config.total_frames:
                raise RuntimeError(
                    f"engine {engine.info.name} yielded {produced} frames, "
                    f"expected {config.total_frames}"
                )
            for frame in lead_out:
                emit(frame)
            # While the encoder drains its last frames (when x264 leaves a core idle): the
            # thumbnail, and the last frame (what an extension continues from, without
            # decoding the video through).
            write_thumbnail(cover[0], thumb)
            last = out_dir / f"last_{index}.png"
            write_frame_png(cover[-1], last)
        metadata = dict(render.metadata) if render is not None else {}
        if lip is not None:
            metadata["lip_sync"] = lip.report.to_dict()
            if lip.report.with_face == 0 and NO_FACE_RENDERED not in outcome.ignored:
                outcome.ignored.append(NO_FACE_RENDERED)
        outcome.videos.append(
            RenderedVideo(
                path=path,
                thumbnail=thumb,
                last_frame=last,
                config=config,
                frames=written,
                seconds=written / config.fps,
                metadata=metadata,
                version=render.version if render is not None else "",
            )
        )


def _overlay(config: RenderConfig) -> ParticleOverlay | None:
    kind = config.options.get("particles")
    if not kind:
        return None
    return ParticleOverlay(
        str(kind),
        width=config.width,
        height=config.height,
        period=config.frames_per_motion,
        seed=config.seed,
    )


def load_image_file(path: Path) -> Frame:
    data = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if data is None:
        raise ValueError(f"cannot read image {path}")
    return np.ascontiguousarray(cv2.cvtColor(data, cv2.COLOR_BGR2RGB))


def scratch_dir(root: Path | None = None) -> Path:
    return Path(tempfile.mkdtemp(prefix="kinora-", dir=root))
