"""The parts a process needs, built once from Settings: database, storage, signer, queue.

A Runtime is passed in, never global. It sits above ``jobs`` (``build_runtime`` makes the
Huey-backed queue); ``domain`` and ``jobs`` name ``Runtime`` and ``JobQueue`` in annotations
only (under ``TYPE_CHECKING``), so they never import this module at run time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from huey import Huey

from kinora.config import Settings
from kinora.db.session import Database, private_dir, upgrade
from kinora.jobs.children import RenderPool
from kinora.jobs.queue import HueyQueue, make_huey
from kinora.storage import Storage, UrlSigner, build_storage

if TYPE_CHECKING:
    from kinora.domain.renditions import Rendition


class JobQueue(Protocol):
    """Work for the workers, as ids and plain data (the rows are the truth). Domain code
    enqueues only through this (``runtime.queue``); ``jobs.queue.HueyQueue`` implements it."""

    def render(
        self, media_id: str, generation: int, *, priority: int = 50, delay: float = 0
    ) -> None:
        """One generation of a media; higher ``priority`` runs first; after ``delay`` seconds."""

    def webhook(
        self, webhook_id: str, url: str, payload: dict[str, Any], attempt: int, *, delay: float = 0
    ) -> None:
        """One delivery attempt of a webhook event, after ``delay`` seconds."""

    def rendition(self, rendition: Rendition) -> None:
        """A download rendition, ahead of renders."""


@dataclass
class Runtime:
    settings: Settings
    db: Database
    storage: Storage
    signer: UrlSigner
    huey: Huey
    """What the workers consume (and health counts); producers use ``queue``."""
    queue: JobQueue
    hosts_workers: bool = False
    """This process runs workers too (``kinora serve`` with embedded workers): its API may do
    CPU work itself instead of queueing it behind renders."""
    render_pool: RenderPool | None = None
    """The worker threads' render child processes (``kinora.jobs.children``), made on the
    first render; None in a process that has rendered nothing."""

    def close(self) -> None:
        if self.render_pool is not None:
            self.render_pool.close()
            self.render_pool = None
        self.db.dispose()


def build_runtime(settings: Settings, *, migrate: bool = True) -> Runtime:
    # Owner-only (0700): the database, queue, secret key and media files live here. The SQLite
    # files themselves are made 0600 where they are opened (db/session.py, jobs/queue.py).
    private_dir(settings.data_dir)
    # One key signs links and seals webhook secrets at rest (db/sealed.py); plain secrets
    # left from before are sealed on start.
    key = settings.signing_key()
    if migrate:
        upgrade(settings.resolved_database_url, secret_key=key)
    huey = make_huey(settings.resolved_queue_url)
    queue = HueyQueue(huey)
    db = Database(settings.resolved_database_url, secret_key=key)
    runtime = Runtime(
        settings=settings,
        db=db,
        storage=build_storage(settings),
        # Links sign their media's link version: making a media private revokes them.
        signer=UrlSigner(
            key, settings.public_url, settings.url_ttl_seconds, versions=db.link_version
        ),
        huey=huey,
        queue=queue,
    )
    queue.attach(runtime)  # its tasks run against this runtime, and no other
    return runtime
