"""Hosting a Huey consumer: embedded in ``kinora serve`` or standalone in ``kinora worker``."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from huey.consumer import Consumer

from kinora.jobs.reaper import Reaper, requeue_owned
from kinora.jobs.tasks import WORKER_ID

if TYPE_CHECKING:
    from kinora.runtime import Runtime

log = logging.getLogger(__name__)


class _EmbeddedConsumer(Consumer):  # type: ignore[misc]
    """Leaves signal handling to the host (uvicorn owns SIGINT/SIGTERM in ``serve``)."""

    def _set_signal_handlers(self) -> None:
        pass


class WorkerHost:
    """A consumer's worker threads plus the reaper, started and stopped together."""

    def __init__(self, runtime: Runtime, *, workers: int) -> None:
        self.runtime = runtime
        self.consumer = _EmbeddedConsumer(
            runtime.huey,
            workers=workers,
            worker_type="thread",
            periodic=False,
            initial_delay=0.05,
            backoff=1.3,
            max_delay=0.5,
        )
        self.reaper = Reaper(runtime, threads=workers)

    def start(self) -> None:
        self.consumer.start()
        self.reaper.start()

    def stop(self) -> None:
        self.reaper.stop()
        self.consumer.stop(graceful=True)


def run_worker(runtime: Runtime, *, workers: int) -> None:
    """Blocking: the consumer in this process's main thread (it handles the signals).

    SIGTERM (and SIGINT) stop taking jobs and let the running one finish for
    ``shutdown_timeout_seconds``; whatever is still running then is re-queued.
    """
    consumer = runtime.huey.create_consumer(
        workers=workers,
        worker_type="thread",
        periodic=False,
        initial_delay=0.05,
        backoff=1.3,
        max_delay=0.5,
        graceful_signal="TERM",
        shutdown_timeout=runtime.settings.shutdown_timeout_seconds,
    )
    reaper = Reaper(runtime, threads=workers)
    reaper.start()
    try:
        consumer.run()
    finally:
        reaper.stop()
        requeue_owned(runtime, worker_prefix=WORKER_ID)
