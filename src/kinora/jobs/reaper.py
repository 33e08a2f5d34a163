"""Finds jobs whose worker stopped sending heartbeats (killed, crashed) and queues them again.

Huey never acknowledges a task: one taken by a consumer that dies is gone from the queue. The
Media row is the truth, so the reaper compares heartbeats with the lease and re-enqueues.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
from typing import TYPE_CHECKING

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from kinora.db.models import Lease, Media, MediaStatus, Worker, utcnow
from kinora.domain.lifecycle import render_priority, requeue
from kinora.jobs.tasks import WORKER_ID

if TYPE_CHECKING:
    from kinora.runtime import Runtime

log = logging.getLogger(__name__)


def reap(runtime: Runtime) -> int:
    """Re-queue stale jobs once; returns how many were re-queued."""
    settings = runtime.settings
    now = utcnow()
    lease = dt.timedelta(seconds=settings.job_lease_seconds)
    again: list[tuple[str, int, int]] = []
    with runtime.db.session() as s:
        stale = s.scalars(
            select(Media).where(
                Media.status == MediaStatus.PROCESSING, Media.heartbeat_at < now - lease
            )
        ).all()
        for media in stale:
            requeue(media, stage="requeued")
            again.append((media.id, media.bullet_version, render_priority(media.spec)))
        # A queued row whose task may never have reached the queue (crash between commit
        # and enqueue): enqueue again; claims make duplicates harmless.
        cutoff = now - max(lease * 5, dt.timedelta(seconds=300))
        forgotten = s.scalars(
            select(Media).where(
                Media.status == MediaStatus.QUEUED,
                Media.enqueued_at < cutoff,
                # A worker that found it at its key's cap marks it seen (runner.claim).
                or_(Media.heartbeat_at.is_(None), Media.heartbeat_at < cutoff),
            )
        ).all()
        for media in forgotten:
            media.enqueued_at = now
            again.append((media.id, media.bullet_version, render_priority(media.spec)))
    for media_id, generation, priority in again:
        log.warning("re-queueing media %s generation %s", media_id, generation)
        # Re-runs go first: they have waited once already.
        runtime.queue.render(media_id, generation, priority=priority + 100)
    return len(again)


def acquire_lease(runtime: Runtime, *, name: str, holder: str, ttl: float) -> bool:
    """Hold (or renew) the named lease; exactly one live holder across all processes."""
    now = utcnow()
    expires = now + dt.timedelta(seconds=ttl)
    with runtime.db.session() as s:
        result = s.execute(
            update(Lease)
            .where(Lease.name == name, or_(Lease.holder == holder, Lease.expires_at < now))
            .values(holder=holder, expires_at=expires)
        )
        if getattr(result, "rowcount", 0) == 1:
            return True
    try:
        with runtime.db.session() as s:
            if s.get(Lease, name) is not None:
                return False
            s.add(Lease(name=name, holder=holder, expires_at=expires))
    except IntegrityError:
        return False
    return True


def requeue_owned(runtime: Runtime, *, worker_prefix: str) -> int:
    """Put back the jobs this process was running (graceful shutdown ran out of time)."""
    again: list[tuple[str, int]] = []
    with runtime.db.session() as s:
        rows = s.scalars(
            select(Media).where(
                Media.status == MediaStatus.PROCESSING, Media.worker_id.startswith(worker_prefix)
            )
        ).all()
        for media in rows:
            requeue(media, stage="requeued", count_attempt=False)  # not the job's fault
            again.append((media.id, media.bullet_version))
    for media_id, generation in again:
        log.warning("shutdown: re-queueing media %s generation %s", media_id, generation)
        runtime.queue.render(media_id, generation)
    return len(again)


def beat_worker(runtime: Runtime, *, worker_id: str, threads: int) -> None:
    with runtime.db.session() as s:
        row = s.get(Worker, worker_id)
        if row is None:
            s.add(
                Worker(
                    id=worker_id, hostname=socket.gethostname(), pid=os.getpid(), threads=threads
                )
            )
        else:
            row.seen_at = utcnow()


class Reaper(threading.Thread):
    """Registers this worker every pass; reaps only while it holds the ``reaper`` lease."""

    def __init__(self, runtime: Runtime, *, threads: int = 1) -> None:
        super().__init__(name="kinora-reaper", daemon=True)
        self.runtime = runtime
        self.threads = threads
        self._stop_event = threading.Event()

    def run(self) -> None:
        interval = self.runtime.settings.reaper_interval_seconds
        while not self._stop_event.is_set():
            try:
                beat_worker(self.runtime, worker_id=WORKER_ID, threads=self.threads)
                if acquire_lease(self.runtime, name="reaper", holder=WORKER_ID, ttl=interval * 3):
                    reap(self.runtime)
            except Exception:
                log.exception("reaper pass failed")
            self._stop_event.wait(interval)

    def stop(self) -> None:
        self._stop_event.set()
