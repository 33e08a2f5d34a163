"""Render children: each render runs in a child process, so a crash cannot take others down.

A crash in the compiled kernels, an out-of-memory kill or a wedged codec used to take the
worker (and, embedded, the API) with it, and a render's Python work competed with the API for
the GIL. Now a worker thread hands the render to a child process from a small pool and waits:

- Children come from a forkserver (a clean process started once, which imports the engines
  once), are reused job after job (engines and models stay loaded in them) and are replaced
  when they die.
- A child runs with an address-space limit (``KINORA_RENDER_MEMORY_MB``, RLIMIT_AS) and each
  render with a time limit scaled by its length (``KINORA_RENDER_TIME_LIMIT_SECONDS`` plus
  ``KINORA_RENDER_SECONDS_PER_VIDEO_SECOND`` per second of video asked for).
- Progress and stage cross the boundary as messages; cancel (and a lost claim) as a shared
  event the child's ``cancelled()`` reads between frames.
- A child that dies (a signal, the memory limit, the time limit) raises :class:`ChildDied`
  in the worker thread; the runner retries the job once in a fresh child, then fails it with
  the reason (and the refund that failing brings).

The child never touches the database or the queue: it reads inputs through a storage built
from the same settings and writes its videos into the job's scratch directory, which the
worker stores. The request and the result are plain picklable values.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing as mp
import os
import resource
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kinora import telemetry
from kinora.errors import CancelledError, KinoraError, RenderError
from kinora.logs import configure_logging, job_context
from kinora.pipeline.generation import GenerationRender, render_generation

if TYPE_CHECKING:
    from multiprocessing.process import BaseProcess
    from multiprocessing.synchronize import Event

    from kinora.config import Settings
    from kinora.runtime import Runtime
    from kinora.spec import GenerationSpec

log = logging.getLogger(__name__)

POLL_SECONDS = 0.2
"""How often a waiting worker thread looks at its child's pipe, liveness and clock."""


class PoolClosed(RenderError):
    """The worker is shutting down: the job is left to be re-queued, never failed for it."""

    code = "WORKER_STOPPING"


class ChildDied(RenderError):
    """The render's child process ended without an answer: a signal, the memory or the time
    limit. The message says which; the runner retries once, then fails the job with it."""

    code = "RENDER_PROCESS_DIED"


@dataclass(frozen=True)
class RenderRequest:
    """What a child needs to run one generation's render (picklable)."""

    spec: GenerationSpec
    work: Path
    media_id: str = ""
    generation: int = 0


@dataclass(frozen=True)
class Call:
    """Any other work for a child (a rendition's encode): a module-level function and its
    arguments, all picklable. Its exception comes back as itself (a ValueError stays one)."""

    function: Callable[..., Any]
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] | None = None


def time_limit(settings: Settings, spec: GenerationSpec) -> float:
    """The longest a render may take: the base plus a share per second of video asked for
    (all variants), so a long multi-variant render is not cut where a short one would be."""
    seconds = spec.motion_seconds * spec.quantity
    frames_share = (spec.fps or settings.fps) / 24  # a 60 fps second is 2.5 times the work
    return float(settings.render_time_limit_seconds) + (
        float(settings.render_seconds_per_video_second) * seconds * max(1.0, frames_share)
    )


def memory_limit_mb(settings: Settings) -> int:
    """The children's address-space limit: the setting, or 75 % of the machine's memory."""
    if settings.render_memory_mb > 0:
        return int(settings.render_memory_mb)
    pages, page_size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    return max(1024, int(pages * page_size * 0.75) // (1024 * 1024))


def _limit_memory(megabytes: int) -> None:
    limit = megabytes * 1024 * 1024
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


OUT_OF_MEMORY_SIGNS = ("bad_alloc", "Insufficient memory", "Failed to allocate", "out of memory")
"""How the compiled libraries word a failed allocation (ONNX Runtime's std::bad_alloc,
OpenCV's "Insufficient memory", numpy's "Unable to allocate" is a MemoryError)."""


def _out_of_memory(exc: BaseException) -> bool:
    text = str(exc)
    return isinstance(exc, MemoryError) or any(sign in text for sign in OUT_OF_MEMORY_SIGNS)


def _die_with_parent() -> None:
    """PR_SET_PDEATHSIG (Linux): SIGKILL this process when its parent (the forkserver, which
    lives exactly as long as the worker) goes, so no render outlives a killed worker."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the pipe's EOF ends an idle child instead
        pass


def _warm_up(settings: Settings) -> bool:
    """Load what the first generation with sound would otherwise wait for (settings.warm_up):
    the child does it before its first job, so a failure only costs the head start."""
    if not settings.warm_up:
        return False
    try:
        from kinora.audio import warm_up  # SciPy's signal stack: part of the warm-up

        warm_up()
    except Exception:  # the first render with music loads it (and reports) instead
        log.warning("warm-up failed; the first generation with music loads it", exc_info=True)
        return False
    return True


def _child_main(conn: Connection, cancel: Event, settings: Settings) -> None:
    """A child's life: take requests until the pipe closes; answer each with one message."""
    # Ctrl-C and the service manager's TERM reach the parent, which ends its children itself;
    # if the worker is killed outright its forkserver exits, and the kernel kills this child.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()
    _limit_memory(memory_limit_mb(settings))
    if settings.render_niceness:
        # Renders are batch work: the API (embedded or beside the worker) answers first.
        os.nice(settings.render_niceness)
    # The child's lines in the worker's format, each of a job tagged with its ids; its
    # counters (provider calls) in the same multiprocess files as the worker's.
    configure_logging(settings.log_format)
    if settings.metrics != "off":
        telemetry.enable(settings.metrics_dir)
    conn.send(("ready", _warm_up(settings)))

    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        if isinstance(request, Call):
            try:
                conn.send(("done", request.function(*request.args, **(request.kwargs or {}))))
            except Exception as exc:
                try:
                    conn.send(("raised", exc))
                except Exception:  # not picklable: its words, then
                    conn.send(("error", f"{type(exc).__name__}: {exc}", True))
            continue
        try:

            def progress(kind: str, *values: Any) -> None:
                conn.send((kind, *values))

            with job_context(request.media_id, request.generation):
                answer = render_generation(
                    request.spec,
                    request.work,
                    settings=settings,
                    on_message=progress,
                    cancelled=cancel.is_set,
                )
            conn.send(("done", answer))
        except CancelledError as exc:
            conn.send(("cancelled", list(exc.completed)))
        except Exception as exc:  # reported to the worker, which fails the job with it
            reason = exc.message if isinstance(exc, KinoraError) else f"{type(exc).__name__}: {exc}"
            if _out_of_memory(exc):
                # The heap may be left in pieces: answer, then make way for a fresh child.
                limit = memory_limit_mb(settings)
                conn.send(
                    (
                        "error",
                        f"the render ran out of memory (limit {limit} MiB, "
                        f"KINORA_RENDER_MEMORY_MB): {reason[:200]}",
                        False,
                    )
                )
                return
            conn.send(("error", reason, True))


class RenderChild:
    """One child process and its two channels (a pipe for messages, an event for cancel)."""

    def __init__(self, context: Any, settings: Settings) -> None:
        self.cancel = context.Event()
        self.conn, child_conn = context.Pipe()
        self.process: BaseProcess = context.Process(
            target=_child_main,
            args=(child_conn, self.cancel, settings),
            name="kinora-render",
            daemon=True,
        )
        self.process.start()
        child_conn.close()
        self.warmed = False
        """The child loaded the warm-up set (its first message says so)."""
        self.media_id = ""
        """The media it renders or rendered last (for logs and tests)."""

    @property
    def pid(self) -> int:
        return int(self.process.pid or 0)

    def alive(self) -> bool:
        return self.process.is_alive()

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)
        self.conn.close()

    def stop(self) -> None:
        """Ask it to exit after its current job; kill it if it does not within a second."""
        with contextlib.suppress(OSError, ValueError):
            self.conn.send(None)
        self.process.join(1)
        self.kill()

    def death(self, limit_hit: str = "") -> str:
        """Why the child is gone, in words for the job's error."""
        if limit_hit:
            return limit_hit
        self.process.join(1)
        code = self.process.exitcode
        if code is None:
            return "the render process stopped answering"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            hint = " (out of memory?)" if name == "SIGKILL" else ""
            return f"the render process was killed by {name}{hint}"
        return f"the render process exited with status {code}"


class RenderPool:
    """Children for one worker process's threads: at most ``size`` alive, started on first
    use, reused, replaced when they die. Thread-safe; each render holds one child."""

    def __init__(self, settings: Settings, *, size: int) -> None:
        self.settings = settings
        self.size = max(1, size)
        self._context = mp.get_context("forkserver")
        # The forkserver imports these once; every child forked from it starts with them.
        self._context.set_forkserver_preload(["kinora.jobs.children", "kinora.pipeline.generation"])
        self._idle: list[RenderChild] = []
        self._busy: set[RenderChild] = set()
        self._lock = threading.Lock()
        self._closed = False

    def pids(self) -> list[int]:
        """The live children's process ids (busy first), for tests and /health."""
        with self._lock:
            return [c.pid for c in (*self._busy, *self._idle) if c.alive()]

    def pid_of(self, media_id: str) -> int | None:
        """The process id of the child rendering ``media_id`` now, if any."""
        with self._lock:
            return next((c.pid for c in self._busy if c.media_id == media_id), None)

    def _take(self) -> RenderChild:
        with self._lock:
            if self._closed:
                raise PoolClosed("the worker is shutting down")
            while self._idle:
                child = self._idle.pop()
                if child.alive():
                    self._busy.add(child)
                    return child
                child.kill()
        child = RenderChild(self._context, self.settings)
        with self._lock:
            self._busy.add(child)
        return child

    def prestart(self) -> threading.Thread:
        """Start one child in the background and wait for it to be ready (warmed up), so the
        first job does not pay for the child's start; returns the thread doing it."""

        def run() -> None:
            child = RenderChild(self._context, self.settings)
            try:
                if child.conn.poll(120):
                    kind, *values = child.conn.recv()
                    child.warmed = kind == "ready" and bool(values[0])
            except (EOFError, OSError):
                child.kill()
                return
            with self._lock:
                if self._closed or len(self._idle) >= self.size:
                    keep = False
                else:
                    self._idle.append(child)
                    keep = True
            if not keep:
                child.stop()

        thread = threading.Thread(target=run, name="kinora-render-prestart", daemon=True)
        thread.start()
        return thread

    def idle(self) -> list[RenderChild]:
        with self._lock:
            return list(self._idle)

    def _give_back(self, child: RenderChild, *, healthy: bool) -> None:
        with self._lock:
            self._busy.discard(child)
            if healthy and child.alive() and not self._closed and len(self._idle) < self.size:
                child.cancel.clear()
                self._idle.append(child)
                return
        child.kill()

    def run(
        self,
        request: RenderRequest,
        *,
        on_message: Callable[..., None],
        cancelled: Callable[[], bool],
        limit_seconds: float,
    ) -> GenerationRender:
        """Render in a child; relay its progress messages to ``on_message(kind, *values)``.

        ``cancelled()`` is polled while waiting: when it turns true the child is told, and the
        render ends with :class:`CancelledError` (the variants done so far with it). Raises
        :class:`ChildDied` when the child dies or passes the time limit (it is killed).
        """
        answer: GenerationRender = self._exchange(
            request,
            media_id=request.media_id,
            on_message=on_message,
            cancelled=cancelled,
            limit_seconds=limit_seconds,
        )
        return answer

    def call(
        self, function: Callable[..., Any], *args: Any, limit_seconds: float, **kwargs: Any
    ) -> Any:
        """``function(*args, **kwargs)`` in a child (an encode the API must not run itself);
        its result, or its exception raised here. :class:`ChildDied` as for renders."""
        return self._exchange(
            Call(function, args, kwargs),
            media_id="",
            on_message=lambda *_: None,
            cancelled=lambda: False,
            limit_seconds=limit_seconds,
        )

    def _exchange(
        self,
        request: RenderRequest | Call,
        *,
        media_id: str,
        on_message: Callable[..., None],
        cancelled: Callable[[], bool],
        limit_seconds: float,
    ) -> Any:
        child = self._take()
        child.media_id = media_id
        healthy = False
        try:
            child.conn.send(request)
            started = time.monotonic()
            while True:
                # Every turn, not only when the pipe is quiet: a render sends a message a frame.
                if cancelled():
                    child.cancel.set()
                if not child.conn.poll(POLL_SECONDS):
                    if not child.alive():
                        raise self._died(child)
                    if time.monotonic() - started > limit_seconds:
                        child.kill()
                        raise ChildDied(
                            f"the render passed its time limit of {limit_seconds:.0f} s "
                            "(KINORA_RENDER_TIME_LIMIT_SECONDS) and was stopped"
                        )
                    continue
                try:
                    message = child.conn.recv()
                except (EOFError, OSError):
                    raise self._died(child) from None
                kind, *values = message
                if kind == "done":
                    healthy = True
                    return values[0]
                if kind == "raised":
                    healthy = True
                    raise values[0]
                if kind == "cancelled":
                    healthy = True
                    stopped = CancelledError("the generation was cancelled")
                    stopped.completed = list(values[0])
                    raise stopped
                if kind == "error":
                    healthy = bool(values[1])  # False: the child is going (out of memory)
                    raise RenderError(str(values[0]))
                if kind == "ready":
                    child.warmed = bool(values[0])
                    continue
                on_message(kind, *values)
        finally:
            self._give_back(child, healthy=healthy)

    def _died(self, child: RenderChild) -> RenderError:
        if self._closed:  # we ended it: the worker is stopping, the job is re-queued
            return PoolClosed("the worker is shutting down")
        return ChildDied(child.death())

    def close(self) -> None:
        with self._lock:
            self._closed = True
            children = [*self._idle, *self._busy]
            self._idle.clear()
        for child in children:
            child.stop()


_POOL_LOCK = threading.Lock()


def pool_for(runtime: Runtime, size: int | None = None) -> RenderPool:
    """The runtime's render children, made on first use: one per worker thread (``size``,
    else ``settings.workers``)."""
    with _POOL_LOCK:
        if runtime.render_pool is None:
            runtime.render_pool = RenderPool(
                runtime.settings, size=size or runtime.settings.workers
            )
        pool: RenderPool = runtime.render_pool
        return pool
