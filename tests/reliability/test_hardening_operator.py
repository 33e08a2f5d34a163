"""Hardening found by an attack with a valid key (issue 21): rendition snapping, file modes,
slow clients, framing, what /health shows, and which peers may set X-Forwarded-For."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from kinora.config import Settings
from kinora.domain.accounts import create_key
from kinora.runtime import build_runtime
from kinora.storage import LocalStorage
from tests.conftest import FAST, MODELS_DIR, Api, LiveServer, launch_server


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --- 1. GIF renditions snap to a few widths -------------------------------------------------


def test_gif_widths_snap_to_a_few_sizes(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from kinora.domain import renditions

    real = renditions.encode_rendition
    widths: list[int] = []

    def spy(runtime: Any, rendition: Any, source: Any, out: Any) -> None:
        widths.append(rendition.width or renditions.GIF_DEFAULT_WIDTH)
        real(runtime, rendition, source, out)

    monkeypatch.setattr(renditions, "encode_rendition", spy)
    r = api.client.post(
        "/media", data={"prompt": "snowy mountains", "duration": "1"}, headers=api.headers()
    )
    assert r.status_code == 200, r.text
    media = api.wait(r.json()["data"]["id"])
    assert media["processing_status"] == "success", media
    url = f"/media/{media['id']}/download"
    answers = [
        api.client.get(
            url, params={"object_type": "bullet_video_gif", "width": w}, headers=api.headers()
        )
        for w in (301, 302, 303, 319, 16, 100, 3840)
    ]
    assert [a.status_code for a in answers] == [200] * 7, [
        a.text[:200] for a in answers if a.status_code != 200
    ]
    # The video is 256 wide and no GIF is wider: 301-319 and 3840 share 240, 16 and 100 160.
    assert sorted(widths) == [160, 240], widths
    gifs = list(api.runtime.settings.media_dir.rglob("renditions/*.gif"))
    assert len(gifs) == 2, gifs
    assert answers[0].content == answers[1].content == answers[3].content
    from kinora.domain.renditions import GIF_WIDTHS

    assert set(widths) <= set(GIF_WIDTHS), widths


def test_a_rendition_off_the_ladder_is_never_made(tmp_path: Path) -> None:
    """Defence in depth: whatever builds a Rendition (a queued message too), the width made is
    one of the few standard ones."""
    from kinora.domain.renditions import GIF_WIDTHS, RENDITION_WIDTHS, snap_width

    assert snap_width(301, GIF_WIDTHS) in GIF_WIDTHS and snap_width(301, GIF_WIDTHS) <= 301
    assert snap_width(10**9, RENDITION_WIDTHS) == RENDITION_WIDTHS[-1]
    assert snap_width(1, GIF_WIDTHS) == GIF_WIDTHS[0]
    assert len(GIF_WIDTHS) <= 8


# --- 2. file modes: the data dir and its files are the owner's only ---------------------------


def test_runtime_files_are_owner_only(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    settings = Settings(data_dir=data_dir, models_dir=MODELS_DIR, **FAST)  # type: ignore[arg-type]
    old = os.umask(0o022)  # what a shell usually has
    try:
        runtime = build_runtime(settings)
        try:
            create_key(runtime, name="modes", initial_credits=1)
            runtime.huey.pending_count()
            runtime.storage.put_bytes("c/m/a.bin", b"x")
            src = tmp_path / "src.bin"
            src.write_bytes(b"y")
            runtime.storage.put_file("c/m/b.bin", src)
        finally:
            runtime.close()
    finally:
        os.umask(old)
    assert _mode(data_dir) == 0o700
    for name in ("kinora.db", "queue.db"):
        assert _mode(data_dir / name) == 0o600, name
    for extra in data_dir.glob("*.db-*"):  # -wal and -shm, while they exist
        assert _mode(extra) & 0o077 == 0, extra
    media = settings.media_dir
    assert _mode(media / "c" / "m" / "a.bin") == 0o600
    assert _mode(media / "c" / "m" / "b.bin") == 0o600
    assert _mode(media / "c" / "m") & 0o077 == 0


def test_existing_files_are_made_owner_only(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    settings = Settings(data_dir=data_dir, models_dir=MODELS_DIR, **FAST)  # type: ignore[arg-type]
    build_runtime(settings).close()
    for path in (data_dir, *data_dir.glob("*.db*")):
        path.chmod(0o755 if path.is_dir() else 0o644)
    build_runtime(settings).close()
    assert _mode(data_dir) == 0o700
    for path in data_dir.glob("*.db*"):
        assert _mode(path) & 0o077 == 0, path


def test_local_storage_writes_owner_only(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        store = LocalStorage(tmp_path / "media")
        store.put_bytes("a/b.txt", b"secret")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "media" / "a" / "b.txt") == 0o600


# --- 4. /studio cannot be framed; /health details only for loopback or a key -----------------


def test_studio_cannot_be_framed(api: Api) -> None:
    for path in ("/studio", "/studio/static/studio.js"):
        r = api.client.get(path)
        if r.status_code == 404:
            continue
        assert "frame-ancestors 'none'" in r.headers.get("content-security-policy", ""), path
        assert r.headers.get("x-frame-options") == "DENY", path
    r = api.client.get("/studio")
    assert r.status_code == 200


def test_health_details_only_for_loopback_or_a_key(api: Api) -> None:
    # The TestClient's peer is "testclient": not loopback, so a stranger on the network.
    plain = api.client.get("/health").json()
    for name in ("status", "queued", "processing", "queue_depth", "oldest_queued_seconds"):
        assert name in plain
    assert isinstance(plain["workers"], list)
    text = str(plain)
    assert "hostname" not in text and "pid" not in text, plain
    assert "engines" not in plain or all(
        set(v) <= {"models", "segmentation", "version"} for v in plain["engines"].values()
    )
    keyed = api.client.get("/health", headers=api.headers()).json()
    assert keyed["workers"] and {"hostname", "pid"} <= set(keyed["workers"][0])
    assert keyed["engines"]["kinora-parallax"]["models"] == "ok"
    bad = api.client.get("/health", headers={"X-Api-Key": "kin_nope"})
    assert bad.status_code == 200 and "hostname" not in str(bad.json())


# --- 2 and 4 on a real `kinora serve`: umask, forwarded headers -------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = launch_server(
        tmp_path_factory.mktemp("hardening") / "data",
        KINORA_KEEP_ALIVE_SECONDS="2",
    )
    yield live
    live.stop()


def test_serve_creates_owner_only_files(server: LiveServer) -> None:
    assert _mode(server.data_dir) == 0o700
    for name in ("kinora.db", "queue.db"):
        assert _mode(server.data_dir / name) == 0o600, name
    for extra in server.data_dir.glob("*.db-*"):
        assert _mode(extra) & 0o077 == 0, extra


def test_forwarded_for_is_not_trusted_by_default(server: LiveServer) -> None:
    marker = "203.0.113.77"
    r = httpx.get(f"{server.base_url}/health", headers={"X-Forwarded-For": marker}, timeout=5)
    assert r.status_code == 200
    time.sleep(0.3)
    assert marker not in (server.data_dir / "server.log").read_text()
    # a forwarded request from the (untrusted) loopback peer gets the plain summary
    assert "hostname" not in r.text


def test_health_details_for_a_loopback_peer(server: LiveServer) -> None:
    body = httpx.get(f"{server.base_url}/health", timeout=5).json()
    assert body["workers"] and "pid" in body["workers"][0], body


def test_trusted_proxies_are_a_setting(tmp_path: Path) -> None:
    live = launch_server(tmp_path / "data", workers=0, KINORA_FORWARDED_ALLOW_IPS="127.0.0.1")
    try:
        marker = "203.0.113.78"
        r = httpx.get(f"{live.base_url}/health", headers={"X-Forwarded-For": marker}, timeout=5)
        assert r.status_code == 200
        time.sleep(0.3)
        assert marker in (live.data_dir / "server.log").read_text()
    finally:
        live.stop()
