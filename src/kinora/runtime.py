"""The parts a process needs, built once from Settings: database, storage, signer, queue."""

from __future__ import annotations

from dataclasses import dataclass

from huey import Huey

from kinora.config import Settings
from kinora.db.session import Database, upgrade
from kinora.jobs.queue import make_huey
from kinora.storage import LocalStorage, Storage, UrlSigner


@dataclass
class Runtime:
    settings: Settings
    db: Database
    storage: Storage
    signer: UrlSigner
    huey: Huey

    def close(self) -> None:
        self.db.dispose()


def build_runtime(settings: Settings, *, migrate: bool = True) -> Runtime:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if migrate:
        upgrade(settings.resolved_database_url)
    runtime = Runtime(
        settings=settings,
        db=Database(settings.resolved_database_url),
        storage=LocalStorage(settings.media_dir),
        signer=UrlSigner(settings.signing_key(), settings.public_url, settings.url_ttl_seconds),
        huey=make_huey(settings.resolved_queue_url),
    )
    from kinora.jobs import tasks

    tasks.bind(runtime)
    return runtime
