"""A Huey instance from a URL: sqlite (default), redis:// or postgresql://."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from huey import Huey, PriorityRedisHuey, SqliteHuey


def make_huey(url: str, *, name: str = "kinora") -> Huey:
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        path = Path(url.split("///", 1)[-1])
        path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteHuey(name, filename=str(path), results=False, timeout=30)
    if scheme in {"redis", "rediss"}:
        return PriorityRedisHuey(name, url=url, results=False)
    if scheme in {"postgres", "postgresql", "postgresql+psycopg"}:
        from huey import PostgresHuey

        dsn = "postgresql://" + url.split("://", 1)[1]
        return PostgresHuey(name, dsn=dsn, results=False)
    raise ValueError(f"unsupported queue URL scheme {scheme!r}")
