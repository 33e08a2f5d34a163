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

    def link(self, key: str) -> str:
        """A key-free link to a stored file: presigned by the store, or signed by us."""
        if self.settings.download_mode == "redirect":
            url = self.storage.presigned_url(key, ttl_seconds=self.settings.url_ttl_seconds)
            if url:
                return url
        return self.signer.url(key)

    def close(self) -> None:
        self.db.dispose()


def build_runtime(settings: Settings, *, migrate: bool = True) -> Runtime:
    # Owner-only (0700): the database, queue, secret key and media files live here. The SQLite
    # files themselves are made 0600 where they are opened (db/session.py, jobs/queue.py).
    private_dir(settings.data_dir)
    if migrate:
        upgrade(settings.resolved_database_url)
    huey = make_huey(settings.resolved_queue_url)
    queue = HueyQueue(huey)
    runtime = Runtime(
        settings=settings,
        db=Database(settings.resolved_database_url),
        storage=build_storage(settings),
        signer=UrlSigner(settings.signing_key(), settings.public_url, settings.url_ttl_seconds),
        huey=huey,
        queue=queue,
    )
    queue.attach(runtime)  # its tasks run against this runtime, and no other
    return runtime
