"""Huey tasks. They carry ids only; the Media row says what to do and whether it is done."""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
import threading
from typing import TYPE_CHECKING, Any

from huey import Huey

if TYPE_CHECKING:
    from kinora.api.downloads import Rendition
    from kinora.runtime import Runtime

log = logging.getLogger(__name__)

_runtime: Runtime | None = None
_registered: dict[int, dict[str, Any]] = {}
WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"


def bind(runtime: Runtime) -> None:
    """Make ``runtime`` the one tasks in this process use, and register tasks on its queue."""
    global _runtime
    _runtime = runtime
    register(runtime.huey)


def current() -> Runtime:
    if _runtime is None:
        raise RuntimeError("no runtime bound: call kinora.runtime.build_runtime first")
    return _runtime


def register(huey: Huey) -> dict[str, Any]:
    if id(huey) in _registered:
        return _registered[id(huey)]

    @huey.task(name="render_media", priority=10)  # type: ignore[untyped-decorator]
    def render_media(media_id: str, generation: int) -> None:
        from kinora.jobs.runner import run_generation

        run_generation(current(), media_id=media_id, generation=generation, worker_id=_worker())

    @huey.task(name="deliver_webhook", priority=20)  # type: ignore[untyped-decorator]
    def deliver_webhook(webhook_id: str, url: str, payload: dict[str, Any], attempt: int) -> None:
        from kinora.webhooks import deliver

        deliver(current(), webhook_id=webhook_id, url=url, payload=payload, attempt=attempt)

    @huey.task(name="make_rendition")  # type: ignore[untyped-decorator]
    def make_rendition(rendition: dict[str, Any]) -> None:
        from kinora.api.downloads import Rendition
        from kinora.api.downloads import make_rendition as make

        make(current(), Rendition(**rendition))

    tasks = {
        "render_media": render_media,
        "deliver_webhook": deliver_webhook,
        "make_rendition": make_rendition,
    }
    _registered[id(huey)] = tasks
    return tasks


def _worker() -> str:
    return f"{WORKER_ID}:{threading.get_ident()}"


def enqueue_render(
    runtime: Runtime, *, media_id: str, generation: int, priority: int = 50, delay: float = 0
) -> None:
    """Queue a render; higher priority runs first (short clips get a higher one)."""
    task = register(runtime.huey)["render_media"]
    runtime.huey.enqueue(task.s(media_id, generation, priority=priority, delay=delay or None))


def enqueue_rendition(runtime: Runtime, rendition: Rendition) -> None:
    """Queue a download rendition ahead of renders: somebody is waiting for it."""
    task = register(runtime.huey)["make_rendition"]
    runtime.huey.enqueue(task.s(dataclasses.asdict(rendition), priority=RENDITION_PRIORITY))


RENDITION_PRIORITY = 200
"""Above any render's (at most 100)."""


def render_priority(params: dict[str, Any]) -> int:
    """Short clips before long ones: 100 minus the seconds of video asked for (at least 1)."""
    seconds = float(params.get("duration", 5)) * int(params.get("loop", 1))
    return max(1, 100 - int(seconds * int(params.get("quantity", 1))))
