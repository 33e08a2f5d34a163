"""Hosting a Huey consumer: embedded in ``kinora serve`` or standalone in ``kinora worker``."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from huey.consumer import Consumer

from kinora.engines.geometry import kernels
from kinora.jobs.children import pool_for
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
        pool_for(runtime, workers)

    def start(self) -> None:
        self.consumer.start()
        self.reaper.start()
        report_kernels()
        warm_up_in_background(self.runtime)

    def stop(self) -> None:
        self.reaper.stop()
        self.consumer.stop(graceful=True)
        if self.runtime.render_pool is not None:
            self.runtime.render_pool.close()
            self.runtime.render_pool = None


def report_kernels() -> bool:
    """Say at start whether one-image renders run on the compiled kernels: without them (no
    C compiler at install) they fall back to OpenCV at about half the speed, silently."""
    if kernels.available():
        log.info("warp kernels: compiled (%s)", "AVX2" if kernels.simd() else "plain C")
        return True
    log.warning(
        "warp kernels not built (%s): one-image renders use OpenCV, about half as fast; "
        "run `make install` on a machine with gcc",
        kernels.LIBRARY,
    )
    return False


def warm_up_in_background(runtime: Runtime) -> threading.Thread:
    """Start the first render child on a thread of its own, so the first job does not wait
    for the forkserver to import the engines (seconds on a busy machine); with
    settings.warm_up the child also loads what the first generation with sound would wait for.
    Jobs start at once either way, and a failure only costs the head start."""
    return pool_for(runtime).prestart()


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
    pool_for(runtime, workers)
    reaper.start()
    report_kernels()
    warm_up_in_background(runtime)
    try:
        consumer.run()
    finally:
        reaper.stop()
        if runtime.render_pool is not None:
            runtime.render_pool.close()
        requeue_owned(runtime, worker_prefix=WORKER_ID)
