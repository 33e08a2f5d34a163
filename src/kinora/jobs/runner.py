"""Running one generation: claim the row, render, store, finish (or fail and refund)."""

from __future__ import annotations

import contextvars
import logging
import random
import shutil
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError

from kinora import telemetry
from kinora.db.models import Media, MediaStatus, utcnow
from kinora.domain import lifecycle
from kinora.domain.lifecycle import PROGRESS_START, Deferred, LostClaim
from kinora.errors import CancelledError, KinoraError
from kinora.jobs.children import ChildDied, PoolClosed, RenderRequest, pool_for, time_limit
from kinora.logs import job_context
from kinora.pipeline.render import scratch_dir
from kinora.spec import GenerationSpec

if TYPE_CHECKING:
    from kinora.runtime import Runtime

log = logging.getLogger(__name__)

PROGRESS_RENDER_END = 95
PROGRESS_STEP = 10
"""Progress points between writes that do not wait for the heartbeat's clock."""
RENDER_ATTEMPTS = 2
"""A render whose child process dies is tried once more in a new one, then failed."""
DEFER_SECONDS = 1.0
"""A job at its key's concurrency cap tries again after 1-2 times this."""


def run_generation(runtime: Runtime, *, media_id: str, generation: int, worker_id: str) -> None:
    """Every log line of the job, down to the engines', carries its media id and generation."""
    with job_context(media_id, generation):
        _run_generation(runtime, media_id=media_id, generation=generation, worker_id=worker_id)


def _run_generation(runtime: Runtime, *, media_id: str, generation: int, worker_id: str) -> None:
    try:
        claimed = lifecycle.claim(
            runtime, media_id=media_id, generation=generation, worker_id=worker_id
        )
    except Deferred:
        # Spread the waiting jobs' retries, so a long backlog does not poll in lockstep.
        delay = DEFER_SECONDS * (1.0 + random.random())
        runtime.queue.render(media_id, generation, delay=delay)
        return
    except DBAPIError:
        # The database is away: the queue message would be lost with this task, so put it
        # back for a little later (the reaper also finds rows left queued).
        log.warning("media %s: database unavailable at claim, retrying in 2 s", media_id)
        runtime.queue.render(media_id, generation, delay=2.0)
        return
    if not claimed:
        return
    work = scratch_dir()
    started = time.perf_counter()
    try:
        outcome = _render(
            runtime, media_id=media_id, generation=generation, worker_id=worker_id, work=work
        )
        lifecycle.succeed(
            runtime, media_id=media_id, generation=generation, worker_id=worker_id, **outcome
        )
        seconds = time.perf_counter() - started
        telemetry.record_render(outcome["service_name"], seconds)
        log.info("rendered by %s in %.1f s", outcome["service_name"], seconds)
    except LostClaim:
        log.info("media %s generation %s: claim lost, leaving it", media_id, generation)
    except PoolClosed:
        # The worker is stopping: the row stays processing and is re-queued (on shutdown, or
        # by the reaper once its heartbeat is stale), never failed for it.
        log.info("media %s generation %s: worker stopping, leaving it", media_id, generation)
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
        telemetry.record_render_failure(
            exc.code.lower() if isinstance(exc, KinoraError) else "internal"
        )
        lifecycle.fail_running(
            runtime, media_id=media_id, generation=generation, worker_id=worker_id, reason=reason
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


class _Heartbeat:
    """A thread that writes heartbeat and latest progress while the job runs.

    It beats on its own clock, not per frame, so a slow first frame (segmentation, flow) never
    looks like a dead worker; and sooner whenever progress has moved by :data:`PROGRESS_STEP`
    since the last write, so a short render still shows a rising progress_percentage to
    whoever polls. A beat that updates no row means the claim was lost.
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
        self._wake = threading.Event()
        self._written = -PROGRESS_STEP
        self.interval = max(0.1, min(runtime.settings.job_lease_seconds / 4, 0.5))
        # Run in a copy of the job's context: its log lines carry the media id too.
        self._thread = threading.Thread(
            target=contextvars.copy_context().run,
            args=(self._run,),
            name="kinora-heartbeat",
            daemon=True,
        )

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join()

    def beat(self, progress: int, stage: str, *, force: bool = False) -> None:
        self.progress, self.stage = progress, stage
        if force:
            self._write()
        elif progress - self._written >= PROGRESS_STEP:
            self._wake.set()  # written by the heartbeat's thread, not the caller's

    def _run(self) -> None:
        while True:
            self._wake.wait(self.interval)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self._write()
            except Exception:
                log.exception("heartbeat failed")

    def _write(self) -> None:
        self._written = self.progress
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
    runtime: Runtime, *, media_id: str, generation: int, worker_id: str, work: Path
) -> dict[str, Any]:
    """Render in a child process; a child that dies is replaced and the render tried once
    more (a crash may be the machine's, not the job's), then the job fails with the reason."""
    with runtime.db.session() as s:
        media = s.get(Media, media_id)
        assert media is not None
        spec = media.spec
    with _Heartbeat(runtime, media_id, generation, worker_id) as heartbeat:
        for attempt in range(1, RENDER_ATTEMPTS + 1):
            try:
                return _render_with(
                    runtime,
                    heartbeat,
                    media_id=media_id,
                    generation=generation,
                    spec=spec,
                    work=work,
                )
            except ChildDied as exc:
                if attempt == RENDER_ATTEMPTS or heartbeat.lost or heartbeat.cancel:
                    raise
                log.warning("media %s: %s; trying once more in a new process", media_id, exc)
                shutil.rmtree(work, ignore_errors=True)
                work.mkdir(parents=True, exist_ok=True)
        raise AssertionError("unreachable")


def _render_with(
    runtime: Runtime,
    heartbeat: _Heartbeat,
    *,
    media_id: str,
    generation: int,
    spec: GenerationSpec,
    work: Path,
) -> dict[str, Any]:
    heartbeat.beat(PROGRESS_START, "decoding inputs")
    span = PROGRESS_RENDER_END - PROGRESS_START

    def on_message(kind: str, *values: Any) -> None:
        if kind == "progress":
            done, total = values
            heartbeat.beat(PROGRESS_START + int(span * done / max(1, total)), "rendering")
        elif kind == "stage":
            heartbeat.beat(PROGRESS_RENDER_END, str(values[0]), force=True)

    def cancelled() -> bool:
        return heartbeat.lost or heartbeat.cancel

    try:
        rendered = pool_for(runtime).run(
            RenderRequest(spec=spec, work=work, media_id=media_id, generation=generation),
            on_message=on_message,
            cancelled=cancelled,
            limit_seconds=time_limit(runtime.settings, spec),
        )
    except CancelledError:
        if heartbeat.lost:
            raise LostClaim() from None
        raise
    for item in rendered.ignored:
        log.info("media %s: %s not honoured: %s", media_id, item["field"], item["reason"])
    heartbeat.beat(PROGRESS_RENDER_END, "storing", force=True)
    if heartbeat.lost:
        raise LostClaim()
    with runtime.db.session() as s:
        media = s.get(Media, media_id)
        assert media is not None
        prefix = f"{media.customer_id}/{media_id}/v{generation}"
    results = _store_results(runtime, prefix, rendered.videos)
    return {
        "results": results,
        "service_name": rendered.service_name,
        "service_version": rendered.service_version,
        "configs": rendered.configs,
        "aspect_ratio": rendered.aspect_ratio,
        "ignored": rendered.ignored,
    }


def _finish_cancelled(
    runtime: Runtime, *, media_id: str, generation: int, worker_id: str, completed: list[Any]
) -> None:
    """Keep the variants that finished, refund the rest; partial files never reach storage."""
    with runtime.db.session() as s:
        media = lifecycle.still_ours(
            s, media_id=media_id, generation=generation, worker_id=worker_id
        )
        if media is None:
            return
        prefix = f"{media.customer_id}/{media_id}/v{generation}"
    results = _store_results(runtime, prefix, completed)
    lifecycle.cancelled(runtime, media_id=media_id, worker_id=worker_id, results=results)


def _store_results(runtime: Runtime, prefix: str, videos: list[Any]) -> list[dict[str, Any]]:
    results = []
    for index, rendered in enumerate(videos):
        key = f"{prefix}/video_{index}.mp4"
        thumb_key = f"{prefix}/thumb_{index}.jpg"
        runtime.storage.put_file(key, rendered.path)
        runtime.storage.put_file(thumb_key, rendered.thumbnail)
        last: dict[str, str] = {}
        if rendered.last_frame is not None and rendered.last_frame.is_file():
            last["last_frame_key"] = f"{prefix}/last_{index}.png"
            runtime.storage.put_file(last["last_frame_key"], rendered.last_frame)
        results.append(
            {
                **last,
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
