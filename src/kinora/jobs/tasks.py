"""Huey tasks. They carry ids only; the Media row says what to do and whether it is done.

Tasks are registered per Huey instance with a closure over the runtime that instance serves
(:func:`register`, called by ``jobs.queue.HueyQueue.attach``): two runtimes in one process never
share one. Their names on the wire stay ``kinora.jobs.tasks.render_media``, ``...deliver_webhook``
and ``...make_rendition`` (Huey names a task by its function's module and name), so messages
queued by an older version still run: keep these functions in this module under these names.
"""

from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from huey import Huey
from huey.api import TaskWrapper

from kinora.domain.renditions import Rendition, make_rendition
from kinora.domain.webhooks import deliver
from kinora.jobs.runner import run_generation

if TYPE_CHECKING:
    from kinora.runtime import Runtime

WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"
"""This process, as worker rows and claims name it (a thread adds ``:<ident>``)."""


@dataclass(frozen=True)
class Tasks:
    """The tasks registered on one Huey instance."""

    render_media: TaskWrapper
    deliver_webhook: TaskWrapper
    make_rendition: TaskWrapper


def register(huey: Huey, runtime: Runtime) -> Tasks:
    """Register the tasks on ``huey``, each running against ``runtime``. Once per instance:
    Huey refuses a second task of the same name."""

    @huey.task(name="render_media", priority=10)  # type: ignore[untyped-decorator]
    def render_media(media_id: str, generation: int) -> None:
        run_generation(runtime, media_id=media_id, generation=generation, worker_id=_worker())

    @huey.task(name="deliver_webhook", priority=20)  # type: ignore[untyped-decorator]
    def deliver_webhook(webhook_id: str, url: str, payload: dict[str, Any], attempt: int) -> None:
        deliver(runtime, webhook_id=webhook_id, url=url, payload=payload, attempt=attempt)

    @huey.task(name="make_rendition")  # type: ignore[untyped-decorator]
    def make_rendition_task(rendition: dict[str, Any]) -> None:
        make_rendition(runtime, Rendition(**rendition))

    return Tasks(
        render_media=render_media,
        deliver_webhook=deliver_webhook,
        make_rendition=make_rendition_task,
    )


def _worker() -> str:
    return f"{WORKER_ID}:{threading.get_ident()}"
