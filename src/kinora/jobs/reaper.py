"""Finds jobs whose worker stopped sending heartbeats (killed, crashed) and queues them again.

Huey never acknowledges a task: one taken by a consumer that dies is gone from the queue. The
Media row is the truth, so the reaper compares heartbeats with the lease and re-enqueues.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import TYPE_CHECKING

from sqlalchemy import select

from kinora.db.models import Media, MediaStatus, utcnow
from kinora.jobs.tasks import enqueue_render

if TYPE_CHECKING:
    from kinora.runtime import Runtime

log = logging.getLogger(__name__)


def reap(runtime: Runtime) -> int:
    """Re-queue stale jobs once; returns how many were re-queued."""
    settings = runtime.settings
    now = utcnow()
    lease = dt.timedelta(seconds=settings.job_lease_seconds)
    requeue: list[tuple[str, int]] = []
    with runtime.db.session() as s:
        stale = s.scalars(
            select(Media).where(
                Media.status == MediaStatus.PROCESSING, Media.heartbeat_at < now - lease
            )
        ).all()
        for media in stale:
            media.status = MediaStatus.QUEUED
            media.stage = "requeued"
            media.worker_id = ""
            media.enqueued_at = now
            requeue.append((media.id, media.bullet_version))
        # A queued row whose task may never have reached the queue (crash between commit
        # and enqueue): enqueue again; claims make duplicates harmless.
        forgotten = s.scalars(
            select(Media).where(
                Media.status == MediaStatus.QUEUED,
                Media.enqueued_at < now - max(lease * 5, dt.timedelta(seconds=300)),
            )
        ).all()
        for media in forgotten:
            media.enqueued_at = now
            requeue.append((media.id, media.bullet_version))
    for media_id, generation in requeue:
        log.warning("re-queueing media %s generation %s", media_id, generation)
        enqueue_render(runtime, media_id=media_id, generation=generation)
    return len(requeue)


class Reaper(threading.Thread):
    def __init__(self, runtime: Runtime) -> None:
        super().__init__(name="kinora-reaper", daemon=True)
        self.runtime = runtime
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                reap(self.runtime)
            except Exception:
                log.exception("reaper pass failed")
            self._stop_event.wait(self.runtime.settings.reaper_interval_seconds)

    def stop(self) -> None:
        self._stop_event.set()
