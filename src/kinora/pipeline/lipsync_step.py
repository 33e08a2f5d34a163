"""Hosted lip sync of the rendered video (``KINORA_LIPSYNC_TARGET``), the built-in as fallback.

When an operator names a lip-sync provider (``fal:fal-ai/sync-lipsync/v2``,
``fal:fal-ai/latentsync``, ``kling:lip-sync``; options as in engine routes, ``?input.NAME=V``)
and a render has speech and a face (the plan's lip-sync job), the render runs WITHOUT the
built-in lip sync and each finished video goes to the provider with the speech (alone, placed
where it plays in the clip). The provider's video is fitted back to the render's exact size
and frame count and muxed with Kinora's own soundtrack, so the result has the same length,
shape and sound as every other render.

If the provider fails (its message, a timeout, an outage, an undecodable answer), the built-in
lip sync is applied to the rendered frames instead: the same filter the render would have run
(:class:`kinora.engines.people.lipsync.LipSync`, on the same frame indices, lead-in included),
so the face still speaks. That costs one decode and re-encode, never a second render (a
re-render would call a hosted motion engine again, and could fail again). Which one ran is
recorded with each video (``lip_sync.engine`` in the history entry's config, and
``provider_failed`` with the reason on a fallback); service_version names a provider that ran.

A target that cannot run here (no key, a model that is not a lip-sync model) is passed over
before the render: the built-in runs inside it as usual, and ``provider_skipped`` says why.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from kinora.audio import AudioPlan, SpeechPlan
from kinora.config import Settings
from kinora.engines.base import Frame, cancellation
from kinora.engines.providers.base import (
    ProviderAdapter,
    _setting,
    api_key,
    base_url_overrides,
)
from kinora.engines.providers.faces import (
    FAL_LIPSYNC_MODELS,
    FalLipSyncAdapter,
    LipSyncRequest,
    video_data_uri,
    wav_data_uri,
)
from kinora.engines.providers.kling import kling_problem, make_adapter
from kinora.errors import CancelledError, RenderError
from kinora.pipeline.render import (
    NO_FACE_RENDERED,
    LipSyncJob,
    RenderedVideo,
    RenderOutcome,
    SoundtrackMaker,
)
from kinora.routing import Target
from kinora.video.encode import Mp4Writer, iter_frames
from kinora.video.fit import cover_fit

log = logging.getLogger(__name__)

BUILTIN = "built-in"
KLING_LIPSYNC_MODELS = frozenset({"", "lip-sync"})
SPEECH_RATE = 16000
"""The speech is sent at 16 kHz mono: what speech models listen at, a sixth of the bytes."""


@dataclass(frozen=True, eq=False)
class LipSyncStep:
    """The provider's lip sync of each rendered video, with the built-in job as fallback."""

    target: Target
    speech: SpeechPlan
    fallback: LipSyncJob
    settings: Settings = field(repr=False)

    def adapter(self) -> ProviderAdapter:
        t, settings = self.target, self.settings
        if t.engine == "kling":
            return make_adapter(settings, model=t.argument or "lip-sync", options=t.options)
        return FalLipSyncAdapter(
            model=t.argument,
            api_key=api_key(settings, "fal"),
            base_url=base_url_overrides(settings).get("fal", ""),
            options=t.options,
            timeout=float(_setting(settings, "provider_timeout_seconds", 900.0)),
            poll_interval=float(_setting(settings, "provider_poll_seconds", 2.0)),
            retries=int(_setting(settings, "provider_retries", 4)),
            backoff=float(_setting(settings, "provider_backoff_seconds", 1.0)),
        )


def target_problem(target: Target, settings: Settings) -> str:
    """Why ``target`` cannot lip-sync here ("" when it can): cheap, no network."""
    if target.engine == "kling":
        if target.argument not in KLING_LIPSYNC_MODELS:
            return f"{target}: Kling's lip sync is kling:lip-sync"
        return kling_problem(settings)
    if target.engine == "fal":
        if not FAL_LIPSYNC_MODELS.match(target.argument):
            return (
                f"{target}: not a lip-sync model on fal (fal-ai/sync-lipsync[/VERSION], "
                "fal-ai/latentsync)"
            )
        return "" if api_key(settings, "fal") else "KINORA_FAL_API_KEY is not set"
    return f"{target}: no lip-sync provider {target.engine!r} (fal, kling)"


def plan_step(
    settings: Settings, audio: AudioPlan | None, job: LipSyncJob | None
) -> tuple[LipSyncStep | None, str]:
    """The provider step for a render with a lip-sync job, or why the built-in runs instead."""
    text = str(getattr(settings, "lipsync_target", "") or "").strip()
    if not text or job is None or audio is None or audio.speech is None:
        return None, ""
    target = Target.parse(text)
    problem = target_problem(target, settings)
    if problem:
        log.warning("lip sync runs built-in: %s", problem)
        return None, problem
    return LipSyncStep(target, audio.speech, job, settings), ""


def speech_track(speech: SpeechPlan, seconds: float) -> npt.NDArray[np.float32]:
    """The speech alone, at its place in the clip, as long as the video (16 kHz mono)."""
    data = np.asarray(speech.samples, dtype=np.float32)
    mono = data.mean(axis=1) if data.ndim == 2 else data
    n_in = len(mono)
    n_out = max(1, round(n_in * SPEECH_RATE / speech.rate))
    resampled = np.interp(
        np.linspace(0, n_in - 1, n_out), np.arange(n_in), mono if n_in else np.zeros(1)
    ).astype(np.float32)
    track = np.zeros(max(1, round(seconds * SPEECH_RATE)), np.float32)
    start = round(speech.offset_seconds * SPEECH_RATE)
    end = min(len(track), start + len(resampled))
    if end > start:
        track[start:end] = resampled[: end - start]
    return track


def run_step(
    step: LipSyncStep,
    outcome: RenderOutcome,
    *,
    soundtrack: SoundtrackMaker | None,
    cancelled: Callable[[], bool] | None = None,
) -> None:
    """Lip-sync every rendered video through the provider, or the built-in when it fails."""
    done: list[RenderedVideo] = []
    try:
        for video in outcome.videos:
            done.append(_one(step, video, outcome, soundtrack, cancelled))
    except CancelledError as exc:
        exc.completed = list(done)
        raise
    outcome.videos[:] = done


def note_skipped(outcome: RenderOutcome, reason: str) -> None:
    """Record with each built-in lip sync why the configured provider did not run."""
    if not reason:
        return
    for video in outcome.videos:
        report = video.metadata.get("lip_sync")
        if isinstance(report, dict):
            report["provider_skipped"] = reason


def service_version_note(videos: list[RenderedVideo]) -> str:
    """``"; lip sync: <target>"`` when a provider lip-synced the videos, else ""."""
    engines = sorted(
        {
            str(v.metadata["lip_sync"].get("engine"))
            for v in videos
            if isinstance(v.metadata.get("lip_sync"), dict)
            and v.metadata["lip_sync"].get("engine") not in (None, BUILTIN)
        }
    )
    return f"; lip sync: {','.join(engines)}" if engines else ""


def _one(
    step: LipSyncStep,
    video: RenderedVideo,
    outcome: RenderOutcome,
    soundtrack: SoundtrackMaker | None,
    cancelled: Callable[[], bool] | None,
) -> RenderedVideo:
    config = video.config
    seconds = video.frames / config.fps
    try:
        request = LipSyncRequest(
            prompt="",
            images=[],
            duration=seconds,
            aspect_ratio="",
            width=config.width,
            height=config.height,
            seed=config.seed,
            video=video_data_uri(video.path.read_bytes()),
            audio=wav_data_uri(speech_track(step.speech, seconds), SPEECH_RATE),
        )
        with cancellation(cancelled):
            result = step.adapter().generate(request)
        with tempfile.TemporaryDirectory(prefix="kinora-lipsync-") as tmp:
            answer = Path(tmp) / "provider.mp4"
            answer.write_bytes(result.video)
            frames = _fitted(answer, video)
            _write(video, frames, soundtrack)
    except CancelledError:
        raise  # a cancel is not a provider failure: nothing falls back
    except RenderError as exc:
        reason = f"{step.target}: {exc.message}"
        log.warning("lip sync falls back to the built-in: %s", reason)
        report = _builtin(step.fallback, video, soundtrack, outcome)
        report["provider_failed"] = reason
        return replace(video, metadata={**video.metadata, "lip_sync": report})
    report_ok: dict[str, Any] = {"engine": str(step.target), "provider": result.metadata()}
    return replace(video, metadata={**video.metadata, "lip_sync": report_ok})


def _fitted(answer: Path, video: RenderedVideo) -> list[Frame]:
    """The provider's frames fitted to the render's size, and retimed to its frame count."""
    config = video.config
    try:
        frames = list(iter_frames(answer))
    except Exception as exc:
        raise RenderError(f"the provider's video cannot be decoded: {exc}") from exc
    if not frames:
        raise RenderError("the provider's video has no frames")
    picks = np.linspace(0, len(frames) - 1, video.frames).round().astype(int)
    return [cover_fit(frames[i], config.width, config.height) for i in picks]


def _write(video: RenderedVideo, frames: list[Frame], soundtrack: SoundtrackMaker | None) -> None:
    config = video.config
    audio = soundtrack(len(frames) / config.fps) if soundtrack is not None else None
    tmp = video.path.with_suffix(".lipsync.mp4")
    with Mp4Writer(tmp, width=config.width, height=config.height, fps=config.fps, audio=audio) as w:
        for frame in frames:
            w.write(frame)
    tmp.replace(video.path)


def _builtin(
    job: LipSyncJob,
    video: RenderedVideo,
    soundtrack: SoundtrackMaker | None,
    outcome: RenderOutcome,
) -> dict[str, Any]:
    """The built-in lip sync on the rendered frames (the render's own filter, same indices)."""
    lip = job.filter(video.config, video.frames)
    frames = [lip.apply(frame, i) for i, frame in enumerate(iter_frames(video.path))]
    _write(video, frames, soundtrack)
    if lip.report.with_face == 0 and NO_FACE_RENDERED not in outcome.ignored:
        outcome.ignored.append(NO_FACE_RENDERED)
    report = dict(lip.report.to_dict())
    report.setdefault("engine", BUILTIN)
    return report
