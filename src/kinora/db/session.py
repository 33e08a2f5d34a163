"""Engine and session factory. SQLite gets WAL, a busy timeout and BEGIN IMMEDIATE writes."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, String, Text, column, create_engine, event, select, table, update
from sqlalchemy.orm import Session, sessionmaker

from kinora.db.models import SECRET_BOX, Media, secret_box
from kinora.db.sealed import PREFIX, SecretBox

MIGRATIONS = Path(__file__).parent / "migrations"


def normalise_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` mean psycopg 3 (the driver Kinora installs)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def private_dir(path: Path, *, existing: bool = True) -> None:
    """Create ``path`` (and missing parents) owner-only (0700); an existing one is made so
    too unless ``existing`` is False (a folder the operator chose for a database file)."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for part in reversed(missing):
        with contextlib.suppress(FileExistsError):
            part.mkdir(mode=0o700)
    if existing:
        with contextlib.suppress(OSError):  # not ours (a shared folder): leave it as it is
            os.chmod(path, 0o700)


def private_sqlite_file(path: Path) -> None:
    """Make a SQLite file owner-only (0600) before SQLite opens it: created empty (a valid
    empty database) or chmod-ed if it exists, with its ``-wal``, ``-shm`` and ``-journal``
    files. SQLite gives the files it creates later the main file's mode."""
    private_dir(path.parent, existing=False)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for name in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal"))):
        with contextlib.suppress(OSError):  # absent, or not ours to change
            os.chmod(name, 0o600)


def _sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///`` URL (None for memory databases and other URLs)."""
    if not url.startswith("sqlite"):
        return None
    path = url.split("///", 1)[-1].split("?", 1)[0]
    if not path or path == ":memory:" or "///" not in url:
        return None
    return Path(path)


class Database:
    """One database: its engine and sessions. With ``secret_key`` (the process's signing key,
    ``Settings.signing_key()``) secrets are sealed at rest (``models.SealedText``); the key
    is the engine's own, so two runtimes in one process never share one."""

    def __init__(self, url: str, *, secret_key: bytes | None = None) -> None:
        url = normalise_url(url)
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        # A server connection can drop between uses (a restart, an idle timeout): ping it
        # when taken from the pool. A SQLite file cannot, and the ping is a round of the
        # connection's lock and a statement on every request (processing-status included).
        kwargs: dict[str, Any] = {"pool_pre_ping": not url.startswith("sqlite")}
        if self.is_sqlite:
            file = _sqlite_path(url)
            if file is not None:  # it holds webhook secrets and balances: owner-only
                private_sqlite_file(file)
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        self.engine: Engine = create_engine(url, **kwargs)
        if self.is_sqlite:
            _configure_sqlite(self.engine)
        if secret_key:
            setattr(self.engine.dialect, SECRET_BOX, SecretBox(secret_key))
        self.writes = sessionmaker(self.engine, expire_on_commit=False)
        self.sessions = sessionmaker(
            self.engine.execution_options(kinora_read_only=True), expire_on_commit=False
        )
        """Read sessions (no write lock on SQLite); use ``session()`` to change anything."""

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose transaction commits on success and rolls back on error."""
        with self.writes() as session, session.begin():
            yield session

    def link_version(self, media_id: str) -> int:
        """The media's link version (``Media.link_version``; 0 for an unknown media), which
        every signed link to its files signs (``storage.UrlSigner``)."""
        with self.sessions() as s:
            version = s.scalar(select(Media.link_version).where(Media.id == media_id))
        return int(version or 0)

    def dispose(self) -> None:
        self.engine.dispose()


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Writers take the write lock up front: a read-then-write transaction can then never
        # fail half-way with SQLITE_BUSY, and credit debits serialise cleanly. Readers must
        # not (WAL lets them run beside a writer), or one slow read would block every write.
        if conn.get_execution_options().get("kinora_read_only"):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, *, secret_key: bytes | None = None) -> None:
    """Bring the database schema to the newest migration (serialised across processes); with
    ``secret_key``, then seal the secrets still stored plain."""
    url = normalise_url(url)
    if url.startswith("postgresql"):
        # Several workers may start at once: one migrates, the others wait on the lock.
        engine = create_engine(url)
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT pg_advisory_lock(717171)")
            try:
                command.upgrade(alembic_config(url), "head")
            finally:
                conn.exec_driver_sql("SELECT pg_advisory_unlock(717171)")
                conn.commit()
        engine.dispose()
    else:
        file = _sqlite_path(url)
        if file is not None:
            private_sqlite_file(file)
        command.upgrade(alembic_config(url), "head")
    if secret_key:
        database = Database(url, secret_key=secret_key)
        try:
            seal_plain_secrets(database)
        finally:
            database.dispose()


def seal_plain_secrets(database: Database) -> int:
    """Seal webhook secrets written before sealing (or by a process without a key); returns
    how many. Idempotent, and safe beside other starting processes: a row is rewritten only
    while it still holds the plain value read."""
    box = secret_box(database.engine.dialect)
    if box is None:
        return 0
    raw = table("customers", column("id", String), column("webhook_secret", Text))
    sealed = 0
    with database.session() as s:
        rows = s.execute(
            select(raw.c.id, raw.c.webhook_secret).where(
                raw.c.webhook_secret != "", raw.c.webhook_secret.not_like(PREFIX + "%")
            )
        ).all()
        for customer_id, plain in rows:
            result = s.execute(
                update(raw)
                .where(raw.c.id == customer_id, raw.c.webhook_secret == plain)
                .values(webhook_secret=box.seal(plain))
            )
            sealed += int(getattr(result, "rowcount", 0) or 0)
    return sealed
