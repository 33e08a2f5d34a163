"""Running one generation: claim the row, render, store, finish (or fail and refund)."""

from __future__ import annotations

import datetime as dt
import logging
import random
import shutil
import threading
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import DBAPIError

from kinora.db.models import Customer, Media, MediaStatus, utcnow
from kinora.engines.base import EngineInputs
from kinora.engines.registry import route
from kinora.errors import CancelledError, KinoraError
from kinora.inputs.decode import decode_image, decode_video_file
from kinora.media import credits
from kinora.render.pipeline import Clip, RenderJob, plan_configs, render_all, scratch_dir

if TYPE_CHECKING:
    from kinora.runtime import Runtime

log = logging.getLogger(__name__)

PROGRESS_START, PROGRESS_RENDER_END = 5, 95
DEFER_SECONDS = 1.0
"""A job at its key's concurrency cap tries again after 1-2 times this."""


class LostClaim(KinoraError):
    """Another worker owns this generation now (ours was presumed dead), or it was replaced."""


class Deferred(KinoraError):
    """The job must wait (its key is at its concurrency cap); it is queued again shortly."""


def claim(runtime: Runtime, *, media_id: str, generation: int, worker_id: str) -> bool:
    """Take the job if it is queued, or running with a stale heartbeat. One UPDATE decides."""
    now = utcnow()
    cap = runtime.settings.max_concurrent_per_key
    stale = now - dt.timedelta(seconds=runtime.settings.job_lease_seconds)
    deferred = False
    with runtime.db.session() as s:
        media = s.get(Media, media_id, with_for_update=True)
        if media is None or media.bullet_version != generation:
            return False
        heartbeat = media.heartbeat_at
        if heartbeat is not None and heartbeat.tzinfo is None:
            heartbeat = heartbeat.replace(tzinfo=dt.UTC)
        abandoned = media.status == MediaStatus.QUEUED or (
            media.status == MediaStatus.PROCESSING and (heartbeat is None or heartbeat < stale)
        )
        if media.attempts >= runtime.settings.max_attempts and abandoned:
            # Only a job nobody is running gives up: a duplicate task must never kill the
            # healthy last attempt.
            _fail(s, media, "gave up after repeated worker failures")
            return False
        if cap > 0 and media.status == MediaStatus.QUEUED:
            # One claim per customer at a time decides (PostgreSQL: the customer's row lock),
            # else two workers could both count one running job under a cap of two.
            s.get(Customer, media.customer_id, with_for_update=True)
            running = s.scalar(
                select(func.count())
                .select_from(Media)
                .where(
                    Media.customer_id == media.customer_id,
                    Media.status == MediaStatus.PROCESSING,
                    Media.heartbeat_at >= stale,
                )
            )
            if (running or 0) >= cap:
                # Seen waiting: the reaper adds no second task for a row that only waits
                # its turn (enqueued_at stays: it orders the queue).
                media.heartbeat_at = now
                deferred = True
        if deferred:
            claimed = False
        else:
            result = s.execute(
                update(Media)
                .where(
                    Media.id == media_id,
                    Media.bullet_version == generation,
                    (Media.status == MediaStatus.QUEUED)
                    | ((Media.status == MediaStatus.PROCESSING) & (Media.heartbeat_at < stale)),
                )
                .values(
                    status=MediaStatus.PROCESSING,
                    attempts=Media.attempts + 1,
                    worker_id=worker_id,
                    heartbeat_at=now,
                    started_at=now,
                    progress=PROGRESS_START,
                    stage="starting",
                    error="",
                )
            )
            claimed = getattr(result, "rowcount", 0) == 1
    if deferred:
        raise Deferred()
    return claimed


def _still_ours(s: Any, *, media_id: str, generation: int, worker_id: str) -> Media | None:
    """The row, locked, if this worker still runs this generation of it; else None."""
    media: Media | None = s.get(Media, media_id, with_for_update=True)
    if (
        media is None
        or media.bullet_version != generation
        or media.worker_id != worker_id
        or media.status != MediaStatus.PROCESSING
    ):
        return None
    return media


def _fail(session: Any, media: Media, reason: str) -> None:
    media.status = MediaStatus.FAIL
    media.error = reason[:2000]
    media.stage = ""
    media.worker_id = ""
    credits.credit(
        session,
        customer_id=media.customer_id,
        amount=media.cost,
        media_id=media.id,
        reason="refund",
    )
    media.cost = 0


def run_generation(runtime: Runtime, *, media_id: str, generation: int, worker_id: str) -> None:
    from kinora.jobs.tasks import enqueue_render

    try:
        claimed = claim(runtime, media_id=media_id, generation=generation, worker_id=worker_id)
    except Deferred:
        # Spread the waiting jobs' retries, so a long backlog does not poll in lockstep.
        delay = DEFER_SECONDS * (1.0 + random.random())
        enqueue_render(runtime, media_id=media_id, generation=generation, delay=delay)
        return
    except DBAPIError:
        # The database is away: the queue message would be lost with this task, so put it
        # back for a little later (the reaper also finds rows left queued).
        log.warning("media %s: database unavailable at claim, retrying in 2 s", media_id)
        enqueue_render(runtime, media_id=media_id, generation=generation, delay=2.0)
        return
    if not claimed:
        return
    work = scratch_dir()
    try:
        outcome = _render(
            runtime, media_id=media_id, generation=generation, worker_id=worker_id, work=work
        )
        _finish(runtime, media_id=media_id, generation=generation, worker_id=worker_id, **outcome)
    except LostClaim:
        log.info("media %s generation %s: claim lost, leaving it", media_id, generation)
    except CancelledError as exc:
        _finish_cancelled(
            runtime,
            media_id=media_id,
            generation=generation,
            worker_id=worker_id,
            completed=exc.completed,
        )
    except DBAPIError:
        # The database went away (restart, network): the row still says processing, so the
        # reaper runs the job again once the heartbeat is stale. Never fail a media for this.
        log.exception(
            "media %s generation %s: database error, leaving it to the reaper", media_id, generation
        )
    except Exception as exc:
        log.exception("media %s generation %s failed", media_id, generation)
        reason = exc.message if isinstance(exc, KinoraError) else f"{type(exc).__name__}: {exc}"
        _finish_failed(
            runtime, media_id=media_id, generation=generation, worker_id=worker_id, reason=reason
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


class _Heartbeat:
    """A thread that writes heartbeat and latest progress while the job runs.

    It beats on its own clock, not per frame, so a slow first frame (segmentation, flow) never
    looks like a dead worker. A beat that updates no row means the claim was lost.
    """

    def __init__(self, runtime: Runtime, media_id: str, generation: int, worker_id: str) -> None:
        self.runtime, self.media_id, self.generation, self.worker_id = (
            runtime,
            media_id,
            generation,
            worker_id,
        )
        self.progress, self.stage = PROGRESS_START, "starting"
        self.lost = False
        self.cancel = False
        self._stop = threading.Event()
        self.interval = max(0.1, min(runtime.settings.job_lease_seconds / 4, 0.5))
        self._thread = threading.Thread(target=self._run, name="kinora-heartbeat", daemon=True)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def beat(self, progress: int, stage: str, *, force: bool = False) -> None:
        self.progress, self.stage = progress, stage
        if force:
            self._write()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self._write()
            except Exception:
                log.exception("heartbeat failed")

    def _write(self) -> None:
        with self.runtime.db.session() as s:
            result = s.execute(
                update(Media)
                .where(
                    Media.id == self.media_id,
                    Media.bullet_version == self.generation,
                    Media.worker_id == self.worker_id,
                    Media.status == MediaStatus.PROCESSING,
                )
                .values(progress=self.progress, stage=self.stage, heartbeat_at=utcnow())
            )
            if getattr(result, "rowcount", 0) != 1:
                self.lost = True
            elif s.scalar(select(Media.cancel_requested).where(Media.id == self.media_id)):
                self.cancel = True


def _render(
    runtime: Runtime, *, media_id: str, generation: int, worker_id: str, work: Any
) -> dict[str, Any]:
    with runtime.db.session() as s:
        media = s.get(Media, media_id)
        assert media is not None
        params = dict(media.params)
        stored_inputs = list(media.inputs)
    with _Heartbeat(runtime, media_id, generation, worker_id) as heartbeat:
        return _render_with(
            runtime,
            heartbeat,
            media_id=media_id,
            generation=generation,
            params=params,
            stored_inputs=stored_inputs,
            work=work,
        )


def _render_with(
    runtime: Runtime,
    heartbeat: _Heartbeat,
    *,
    media_id: str,
    generation: int,
    params: dict[str, Any],
    stored_inputs: list[dict[str, Any]],
    work: Any,
) -> dict[str, Any]:
    settings = runtime.settings
    heartbeat.beat(PROGRESS_START, "decoding inputs")

    first_image = last_image = None
    lead_in = lead_out = None
    audio_files: dict[str, bytes] = {}
    for item in stored_inputs:
        path = runtime.storage.local_path(item["key"])
        if item["kind"] == "audio":
            audio_files[item["position"]] = path.read_bytes()
        elif item["kind"] == "video":
            video = decode_video_file(
                path, field="media_items", max_pixels=settings.max_image_pixels
            )
            if item["position"] == "First":
                first_image, lead_in = video.last, Clip(frames=video.tail, fps=video.fps)
            else:
                last_image, lead_out = video.first, Clip(frames=video.head, fps=video.fps)
        else:
            pixels = decode_image(
                path.read_bytes(), field="image_files", max_pixels=settings.max_image_pixels
            ).pixels
            if item["position"] == "First":
                first_image = pixels
            else:
                last_image = pixels
    images = [img for img in (first_image, last_image) if img is not None]
    inputs = EngineInputs(images=images, prompt=params.get("prompt", ""))
    chosen = route(
        motion_type=params.get("motion_type", "Auto"),
        kind=inputs.kind,
        settings=settings,
    )
    audio_plan = _plan_audio(params, audio_files)
    duration: float = params.get("duration", 5)
    loop: int = params.get("loop", 1)
    if audio_plan is not None and audio_plan.speech is not None:
        # Narration sets the length: the motion is stretched to the speech, loop is ignored.
        duration, loop = audio_plan.video_seconds, 1
    ratio, configs = plan_configs(
        images=images,
        aspect_ratio=params.get("aspect_ratio"),
        seeds=params["seeds"],
        duration=duration,
        loop=loop,
        camera=params.get("camera_control", ""),
        motion_range=params.get("motion_range", 5),
        prompt=params.get("prompt", ""),
        long_side=settings.output_long_side,
        fps=settings.fps,
    )
    span = PROGRESS_RENDER_END - PROGRESS_START

    def on_progress(done: int, total: int) -> None:
        heartbeat.beat(PROGRESS_START + int(span * done / max(1, total)), "rendering")

    def cancelled() -> bool:
        if heartbeat.lost:
            raise LostClaim()
        return heartbeat.cancel

    outcome = render_all(
        engine=chosen.engine,
        job=RenderJob(
            inputs=inputs,
            configs=configs,
            aspect_ratio=ratio,
            lead_in=lead_in,
            lead_out=lead_out,
            soundtrack=_soundtrack_maker(audio_plan),
        ),
        out_dir=work,
        on_progress=on_progress,
        cancelled=cancelled,
    )
    heartbeat.beat(PROGRESS_RENDER_END, "storing", force=True)
    if heartbeat.lost:
        raise LostClaim()
    with runtime.db.session() as s:
        media = s.get(Media, media_id)
        assert media is not None
        prefix = f"{media.customer_id}/{media_id}/v{generation}"
    results = _store_results(runtime, prefix, outcome.videos)
    return {
        "results": results,
        "service_name": chosen.engine.info.name,
        "service_version": chosen.engine.service_version(),
        "configs": _config_records(chosen, configs),
        "aspect_ratio": ratio,
    }


def _finish(
    runtime: Runtime,
    *,
    media_id: str,
    generation: int,
    worker_id: str,
    results: list[dict[str, Any]],
    service_name: str,
    service_version: str,
    configs: list[dict[str, Any]],
    aspect_ratio: str,
) -> None:
    from kinora.media.service import notify
    from kinora.media.views import history_entry

    with runtime.db.session() as s:
        media = _still_ours(s, media_id=media_id, generation=generation, worker_id=worker_id)
        if media is None:
            raise LostClaim()
        media.status = MediaStatus.SUCCESS
        media.progress = 100
        media.stage = ""
        media.result = results
        media.service_name = service_name
        media.service_version = service_version
        media.duration_time = max((r["duration"] for r in results), default=0.0)
        media.video_history = [
            *media.video_history,
            history_entry(
                media,
                service_name=service_name,
                service_version=service_version,
                results=results,
                configs=configs,
                aspect_ratio=aspect_ratio,
            ),
        ]
        media.worker_id = ""
    notify(runtime, media_id=media_id)


def _finish_failed(
    runtime: Runtime, *, media_id: str, generation: int, worker_id: str, reason: str
) -> None:
    from kinora.media.service import notify

    with runtime.db.session() as s:
        media = _still_ours(s, media_id=media_id, generation=generation, worker_id=worker_id)
        if media is None:
            return
        _fail(s, media, reason)
    notify(runtime, media_id=media_id)


def _finish_cancelled(
    runtime: Runtime, *, media_id: str, generation: int, worker_id: str, completed: list[Any]
) -> None:
    """Keep the variants that finished, refund the rest; partial files never reach storage."""
    from kinora.media.service import notify

    with runtime.db.session() as s:
        media = _still_ours(s, media_id=media_id, generation=generation, worker_id=worker_id)
        if media is None:
            return
        prefix = f"{media.customer_id}/{media_id}/v{generation}"
    results = _store_results(runtime, prefix, completed)
    with runtime.db.session() as s:
        media = s.get(Media, media_id)
        if media is None or media.worker_id != worker_id:
            return
        quantity = max(1, len(media.params.get("seeds", [])) or 1)
        per_variant = media.cost // quantity
        refund = media.cost - per_variant * len(results)
        credits.credit(
            s, customer_id=media.customer_id, amount=refund, media_id=media.id, reason="refund"
        )
        media.cost -= refund
        media.status = MediaStatus.CANCEL
        media.stage = ""
        media.worker_id = ""
        media.cancel_requested = False
        if results:
            media.result = results
    notify(runtime, media_id=media_id)


def _store_results(runtime: Runtime, prefix: str, videos: list[Any]) -> list[dict[str, Any]]:
    results = []
    for index, rendered in enumerate(videos):
        key = f"{prefix}/video_{index}.mp4"
        thumb_key = f"{prefix}/thumb_{index}.jpg"
        runtime.storage.put_file(key, rendered.path)
        runtime.storage.put_file(thumb_key, rendered.thumbnail)
        results.append(
            {
                "index": index,
                "seed": rendered.config.seed,
                "key": key,
                "thumbnail_key": thumb_key,
                "width": rendered.config.width,
                "height": rendered.config.height,
                "duration": round(rendered.seconds, 3),
                "file_size": rendered.path.stat().st_size,
            }
        )
    return results


def _plan_audio(params: dict[str, Any], audio_files: dict[str, bytes]) -> Any:
    """The soundtrack plan, or None when nothing asks for sound (no audio stream then)."""
    from kinora.audio import AudioRequest, plan_audio

    audio = params.get("audio_option") or {}
    request = AudioRequest(
        narrator=audio.get("narrator"),
        narration=audio.get("narration"),
        narration_audio=audio_files.get("narration"),
        bg_music_prompt=audio.get("bg_music_prompt"),
        bg_music_audio=audio_files.get("music"),
        native_audio=bool(params.get("native_audio", False)),
        prompt=params.get("prompt", ""),
        camera=params.get("camera_control", ""),
        seed=int(params["seeds"][0]) if params.get("seeds") else 0,
    )
    if not request.wants_audio:
        return None
    motion = float(params.get("duration", 5)) * int(params.get("loop", 1))
    return plan_audio(request, motion_seconds=motion)


def _soundtrack_maker(plan: Any) -> Any:
    if plan is None:
        return None
    from kinora.audio import render_soundtrack

    def make(seconds: float) -> Any:
        return render_soundtrack(plan, seconds=seconds).samples

    return make


def _config_records(chosen: Any, configs: list[Any]) -> list[dict[str, Any]]:
    """Each variant's frozen config, plus the route and what a provider reported for it."""
    meta = getattr(chosen.engine, "render_metadata", None)
    renders = meta() if callable(meta) else []
    return [
        {
            **config.to_dict(),
            "engine_target": getattr(chosen, "target", ""),
            **({"provider": renders[i]} if i < len(renders) else {}),
        }
        for i, config in enumerate(configs)
    ]
