"""Shared fixtures: real servers on loopback, real data dirs, real test photos."""

from __future__ import annotations

import http.server
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from fastapi.testclient import TestClient

from kinora.api.app import create_app
from kinora.config import Settings, default_models_dir
from kinora.domain.accounts import create_key

REPO = Path(__file__).resolve().parents[1]
TESTDATA = (REPO.parent / "shared" / "testdata").resolve()
# The models `make install` puts inside the installation (never a data dir's), or
# KINORA_MODELS_DIR when set.
MODELS_DIR = Path(os.environ.get("KINORA_MODELS_DIR") or default_models_dir()).resolve()
KINORA = str(Path(sys.executable).with_name("kinora"))

FAST = {
    "output_long_side": 256,
    "job_lease_seconds": 2.0,
    "reaper_interval_seconds": 0.5,
    "warm_up": False,  # 2 s of CPU per app; tests/audio/test_warm_up.py checks it
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def testdata() -> Path:
    return TESTDATA


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", models_dir=MODELS_DIR, **FAST)  # type: ignore[arg-type]


@dataclass
class Api:
    """An in-process app (real ASGI app, database and Huey consumer threads) and a key."""

    client: TestClient
    settings: Settings
    key: str
    customer_id: str

    @property
    def runtime(self) -> Any:
        return self.client.app.state.runtime  # type: ignore[attr-defined]

    def headers(self, key: str | None = None) -> dict[str, str]:
        return {"X-Api-Key": key or self.key}

    def new_key(self, credits: int = 100) -> str:
        return create_key(self.runtime, name="other", initial_credits=credits).key

    def credits(self, key: str | None = None) -> int:
        r = self.client.get("/credits", headers=self.headers(key))
        assert r.status_code == 200, r.text
        return int(r.json()["data"]["credits"])

    def wait(self, media_id: str, timeout: float = 120) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = self.client.get(f"/media/{media_id}/processing-status")
            assert r.status_code == 200, r.text
            if r.json()["data"]["processing_status"] in ("success", "fail"):
                got = self.client.get(f"/media/{media_id}", headers=self.headers())
                return dict(got.json()["data"])
            time.sleep(0.1)
        raise AssertionError(f"media {media_id} did not finish in {timeout} s")


@pytest.fixture
def api_factory(tmp_path: Path) -> Iterator[Callable[..., Api]]:
    opened: list[TestClient] = []

    def make(workers: int = 1, credits: int = 100, **overrides: Any) -> Api:
        values = {**FAST, "models_dir": MODELS_DIR, **overrides}
        data_dir = tmp_path / f"data{len(opened)}"
        settings = Settings(data_dir=data_dir, **values)
        client = TestClient(create_app(settings, workers=workers))
        client.__enter__()
        opened.append(client)
        new = create_key(client.app.state.runtime, name="test", initial_credits=credits)  # type: ignore[attr-defined]
        return Api(client=client, settings=settings, key=new.key, customer_id=new.customer_id)

    yield make
    for client in opened:
        client.__exit__(None, None, None)


@pytest.fixture
def api(api_factory: Callable[..., Api]) -> Api:
    return api_factory()


@dataclass
class LiveServer:
    """``kinora serve`` in its own process, on a free loopback port."""

    base_url: str
    data_dir: Path
    process: subprocess.Popen[bytes]
    env: dict[str, str]

    def key(self, credits: int = 100) -> str:
        out = subprocess.run(
            [KINORA, "keys", "create", "--credits", str(credits), "--data-dir", str(self.data_dir)],
            check=True,
            capture_output=True,
            text=True,
            env=self.env,
        )
        return out.stdout.strip().splitlines()[-1]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_process(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("ab")
    return subprocess.Popen([KINORA, *args], env=env, stdout=handle, stderr=subprocess.STDOUT)


def kinora_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KINORA_")}
    env.update(
        {
            "KINORA_DATA_DIR": str(data_dir),
            "KINORA_MODELS_DIR": str(MODELS_DIR),
            "KINORA_OUTPUT_LONG_SIDE": str(FAST["output_long_side"]),
            "KINORA_JOB_LEASE_SECONDS": str(FAST["job_lease_seconds"]),
            "KINORA_REAPER_INTERVAL_SECONDS": str(FAST["reaper_interval_seconds"]),
            "KINORA_WARM_UP": "false",
            **extra,
        }
    )
    return env


def wait_healthy(base_url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited with {process.returncode}")
        try:
            if httpx.get(f"{base_url}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("server did not become healthy")


def launch_server(data_dir: Path, *, workers: int = 1, **extra: str) -> LiveServer:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = kinora_env(data_dir, KINORA_PUBLIC_URL=base, **extra)
    data_dir.mkdir(parents=True, exist_ok=True)
    proc = start_process(
        ["serve", "--port", str(port), "--workers", str(workers), "--data-dir", str(data_dir)],
        env,
        data_dir / "server.log",
    )
    wait_healthy(base, proc)
    return LiveServer(base_url=base, data_dir=data_dir, process=proc, env=env)


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = launch_server(tmp_path_factory.mktemp("live") / "data")
    yield server
    server.stop()


class _FilesHandler(http.server.SimpleHTTPRequestHandler):
    redirects: ClassVar[dict[str, str]] = {}

    def do_GET(self) -> None:
        target = self.redirects.get(self.path)
        if target:
            self.send_response(302)
            self.send_header("Location", target)
            self.end_headers()
            return
        super().do_GET()

    def log_message(self, *args: Any) -> None:
        pass


@dataclass
class FileServer:
    base_url: str
    root: Path
    handler: type[_FilesHandler]

    def url(self, name: str) -> str:
        return f"{self.base_url}/{name}"


@pytest.fixture
def fake_external_host(tmp_path: Path, testdata: Path) -> Iterator[FileServer]:
    """Stands in for the internet (example.com and friends) on loopback: serves test photos."""
    root = tmp_path / "www"
    root.mkdir()
    for name in ("astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg"):
        (root / name).write_bytes((testdata / name).read_bytes())
    handler = type("Handler", (_FilesHandler,), {"redirects": {}})

    def factory(*args: Any, **kwargs: Any) -> _FilesHandler:
        return handler(*args, directory=str(root), **kwargs)

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), factory)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield FileServer(f"http://127.0.0.1:{httpd.server_address[1]}", root, handler)
    httpd.shutdown()
    httpd.server_close()
