"""The parts a process needs, built once from Settings: database, storage, signer, queue."""

from __future__ import annotations

from dataclasses import dataclass

from huey import Huey

from kinora.config import Settings
from kinora.db.session import Database, upgrade
from kinora.jobs.queue import make_huey
from kinora.storage import Storage, UrlSigner, build_storage


@dataclass
class Runtime:
    settings: Settings
    db: Database
    storage: Storage
    signer: UrlSigner
    huey: Huey
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
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if migrate:
        upgrade(settings.resolved_database_url)
    runtime = Runtime(
        settings=settings,
        db=Database(settings.resolved_database_url),
        storage=build_storage(settings),
        signer=UrlSigner(settings.signing_key(), settings.public_url, settings.url_ttl_seconds),
        huey=make_huey(settings.resolved_queue_url),
    )
    from kinora.jobs import tasks

    tasks.bind(runtime)
    return runtime
