"""The job queue: Huey from a URL (sqlite by default, redis:// or postgresql://), and
:class:`HueyQueue`, the :class:`kinora.runtime.JobQueue` the runtime hands to domain code."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from huey import Huey, PostgresHuey, PriorityRedisHuey, SqliteHuey

from kinora.db.session import private_sqlite_file
from kinora.jobs.tasks import Tasks, register

if TYPE_CHECKING:
    from kinora.domain.renditions import Rendition
    from kinora.runtime import Runtime

RENDITION_PRIORITY = 200
"""A download rendition's: somebody waits for it (a first render's is at most 100)."""


def make_huey(url: str, *, name: str = "kinora") -> Huey:
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        path = Path(url.split("///", 1)[-1])
        private_sqlite_file(path)  # it holds signed links and webhook payloads: owner-only
        return SqliteHuey(name, filename=str(path), results=False, timeout=30)
    if scheme in {"redis", "rediss"}:
        return PriorityRedisHuey(name, url=url, results=False)
    if scheme in {"postgres", "postgresql", "postgresql+psycopg"}:
        dsn = "postgresql://" + url.split("://", 1)[1]
        return PostgresHuey(name, dsn=dsn, results=False)
    raise ValueError(f"unsupported queue URL scheme {scheme!r}")


class HueyQueue:
    """Enqueues onto one Huey instance, whose tasks run against one runtime.

    Two-step because the runtime holds the queue: ``build_runtime`` makes the queue, then the
    runtime, then :meth:`attach` registers the tasks with a closure over that runtime.
    """

    def __init__(self, huey: Huey) -> None:
        self.huey = huey
        self._tasks: Tasks | None = None

    def attach(self, runtime: Runtime) -> None:
        if self._tasks is not None:
            raise RuntimeError("this queue's tasks are registered already")
        self._tasks = register(self.huey, runtime)

    @property
    def tasks(self) -> Tasks:
        if self._tasks is None:
            raise RuntimeError("no runtime attached: build the runtime with build_runtime")
        return self._tasks

    def render(
        self, media_id: str, generation: int, *, priority: int = 50, delay: float = 0
    ) -> None:
        """Higher priority runs first (short clips get a higher one, see ``render_priority``)."""
        task = self.tasks.render_media.s(
            media_id, generation, priority=priority, delay=delay or None
        )
        self.huey.enqueue(task)

    def webhook(
        self, webhook_id: str, url: str, payload: dict[str, Any], attempt: int, *, delay: float = 0
    ) -> None:
        task = self.tasks.deliver_webhook.s(webhook_id, url, payload, attempt, delay=delay or None)
        self.huey.enqueue(task)

    def rendition(self, rendition: Rendition) -> None:
        """Ahead of renders: somebody is waiting for it."""
        message = dataclasses.asdict(rendition)
        self.huey.enqueue(self.tasks.make_rendition.s(message, priority=RENDITION_PRIORITY))
