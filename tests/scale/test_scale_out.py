"""Many workers on real Redis, PostgreSQL and S3: nothing lost, each media charged once."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import httpx
import psycopg
import pytest

from kinora.video.encode import probe
from tests.conftest import (
    KINORA,
    LiveServer,
    free_port,
    kinora_env,
    start_process,
    wait_healthy,
)
from tests.scale.conftest import S3Server

PHOTOS = ["astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg"]
MEDIA = 8
"""Media of the two-worker run: four times the two workers' concurrency (one thread each), so
work is queued behind the killed worker's job and the survivor must take it all."""


def cluster_env(data_dir: Path, **extra: str) -> dict[str, str]:
    return kinora_env(data_dir, KINORA_SECRET_KEY="shared-cluster-secret", **extra)


def start_api(data_dir: Path, env_extra: dict[str, str]) -> LiveServer:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = cluster_env(data_dir, KINORA_PUBLIC_URL=base, **env_extra)
    data_dir.mkdir(parents=True, exist_ok=True)
    proc = start_process(
        ["serve", "--port", str(port), "--workers", "0"], env, data_dir / "api.log"
    )
    wait_healthy(base, proc)
    return LiveServer(base_url=base, data_dir=data_dir, process=proc, env=env)


def make_key(env: dict[str, str], credits: int) -> str:
    out = subprocess.run(
        [KINORA, "keys", "create", "--credits", str(credits)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip().splitlines()[-1]


def wait_all(api: LiveServer, ids: list[str], timeout: float) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    status: dict[str, str] = {}
    while time.monotonic() < deadline:
        for media_id in ids:
            if status.get(media_id) in ("success", "fail"):
                continue
            data = httpx.get(f"{api.base_url}/media/{media_id}/processing-status").json()["data"]
            status[media_id] = data["processing_status"]
        if all(s in ("success", "fail") for s in status.values()) and len(status) == len(ids):
            return status
        time.sleep(0.3)
    raise AssertionError(f"not finished: {status}")


def test_two_workers_redis_postgres_s3_survive_sigkill(
    tmp_path: Path, testdata: Path, redis_url: str, postgres_url: str, s3_server: S3Server
) -> None:
    extra = {
        "KINORA_DATABASE_URL": postgres_url,
        "KINORA_QUEUE_URL": redis_url,
        "KINORA_OUTPUT_LONG_SIDE": "384",
        **s3_server.env("scale1"),
    }
    api = start_api(tmp_path / "api", extra)
    workers: list[subprocess.Popen[bytes]] = []
    try:
        for i in range(2):
            env = cluster_env(tmp_path / f"worker{i}", **extra)
            workers.append(start_process(["worker"], env, tmp_path / f"worker{i}.log"))
        key = make_key(api.env, credits=MEDIA)
        h = {"X-Api-Key": key}
        ids = []
        for i in range(MEDIA):
            name = PHOTOS[i % len(PHOTOS)]
            with (testdata / name).open("rb") as f:
                r = httpx.post(
                    f"{api.base_url}/media",
                    headers=h,
                    data={"duration": "3"},
                    files=[("image_files", (name, f, "image/png"))],
                    timeout=60,
                )
            assert r.status_code == 200, r.text
            ids.append(r.json()["data"]["id"])
        # Kill the first worker while it renders something.
        victim = workers[0]
        deadline = time.monotonic() + 120
        killed_media = None
        with psycopg.connect(postgres_url) as conn:
            while time.monotonic() < deadline and killed_media is None:
                row = conn.execute(
                    "SELECT id FROM media WHERE status = 'processing_bullet' AND progress >= 10 "
                    "AND worker_id LIKE %s",
                    (f"%:{victim.pid}:%",),
                ).fetchone()
                if row:
                    killed_media = row[0]
                    victim.send_signal(signal.SIGKILL)
                    victim.wait()
                time.sleep(0.05)
        assert killed_media is not None, "the first worker never rendered"
        status = wait_all(api, ids, timeout=300)
        assert set(status.values()) == {"success"}, status
        health = httpx.get(f"{api.base_url}/health").json()
        assert health["queued"] == 0 and health["processing"] == 0
        assert any(str(workers[1].pid) == str(w["pid"]) for w in health["workers"])
        # Charged once each: every credit spent, no refunds, no second debit.
        assert httpx.get(f"{api.base_url}/credits", headers=h).json()["data"]["credits"] == 0
        with psycopg.connect(postgres_url) as conn:
            rows = conn.execute(
                "SELECT reason, count(*) FROM credit_ledger WHERE media_id = ANY(%s) "
                "GROUP BY reason",
                (ids,),
            ).fetchall()
            assert dict(rows) == {"debit": MEDIA}
            attempts = conn.execute(
                "SELECT attempts FROM media WHERE id = %s", (killed_media,)
            ).fetchone()
            assert attempts is not None and attempts[0] == 2
        stored = set(s3_server.keys("scale1/"))
        for media_id in ids:
            media = httpx.get(f"{api.base_url}/media/{media_id}", headers=h).json()["data"]
            assert len(media["video_history"]) == 1
            prefix = f"scale1/{media['customer_id']}/{media_id}"
            assert {f"{prefix}/v1/video_0.mp4", f"{prefix}/v1/thumb_0.jpg"} <= stored
            assert any(key.startswith(f"{prefix}/source/") for key in stored)
            # the API (another machine, its own data dir) streams it from S3
            video = httpx.get(media["result"][0]["url"])
            assert video.status_code == 200 and video.content[4:8] == b"ftyp"
    finally:
        for proc in workers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=30)
        api.stop()


def test_postgres_queue_and_presigned_downloads(
    tmp_path: Path, testdata: Path, postgres_url: str, s3_server: S3Server
) -> None:
    extra = {
        "KINORA_DATABASE_URL": postgres_url,
        "KINORA_QUEUE_URL": postgres_url,
        "KINORA_DOWNLOAD_MODE": "redirect",
        **s3_server.env("scale2"),
    }
    api = start_api(tmp_path / "api", extra)
    worker = start_process(["worker"], cluster_env(tmp_path / "w", **extra), tmp_path / "w.log")
    try:
        key = make_key(api.env, credits=5)
        h = {"X-Api-Key": key}
        ids = []
        for prompt in ("a lighthouse", "a red car in the rain", "snowy forest"):
            r = httpx.post(
                f"{api.base_url}/media", headers=h, data={"prompt": prompt, "duration": "1"}
            )
            assert r.status_code == 200, r.text
            ids.append(r.json()["data"]["id"])
        assert set(wait_all(api, ids, timeout=120).values()) == {"success"}
        media = httpx.get(f"{api.base_url}/media/{ids[0]}", headers=h).json()["data"]
        url = media["result"][0]["url"]
        assert url.startswith(s3_server.endpoint) and "X-Amz-Signature" in url
        assert httpx.get(url).content[4:8] == b"ftyp"
        tampered = url.replace("X-Amz-Signature=", "X-Amz-Signature=0")
        assert httpx.get(tampered).status_code == 403
        download = httpx.get(f"{api.base_url}/media/{ids[0]}/download", headers=h)
        assert download.status_code == 307
        assert httpx.get(download.headers["location"]).content[4:8] == b"ftyp"
        # A rendition: the API (no workers of its own) has the worker make it, on S3.
        small = httpx.get(
            f"{api.base_url}/media/{ids[0]}/download", params={"width": 96}, headers=h, timeout=60
        )
        assert small.status_code == 307 and "renditions" in small.headers["location"]
        (tmp_path / "small.mp4").write_bytes(httpx.get(small.headers["location"]).content)
        assert probe(tmp_path / "small.mp4")["width"] == 96
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
        api.stop()


def test_concurrent_cancels_and_processes_on_postgres_charge_once(
    tmp_path: Path, postgres_url: str
) -> None:
    """Row locks: on PostgreSQL, parallel cancels refund once and parallel processes charge once."""
    from concurrent.futures import ThreadPoolExecutor

    api = start_api(tmp_path / "api", {"KINORA_DATABASE_URL": postgres_url})
    try:
        key = make_key(api.env, credits=20)
        h = {"X-Api-Key": key}
        r = httpx.post(
            f"{api.base_url}/media", headers=h, data={"prompt": "a kite", "quantity": "4"}
        )
        media_id = r.json()["data"]["id"]

        def post(path: str) -> int:
            return httpx.post(
                f"{api.base_url}/media/{media_id}/{path}", headers=h, timeout=30
            ).status_code

        def balance() -> int:
            return int(httpx.get(f"{api.base_url}/credits", headers=h).json()["data"]["credits"])

        assert balance() == 16
        with ThreadPoolExecutor(max_workers=6) as pool:
            codes = list(pool.map(post, ["cancel"] * 6))
        assert codes.count(200) == 1 and codes.count(400) == 5, codes
        assert balance() == 20
        with ThreadPoolExecutor(max_workers=6) as pool:
            codes = list(pool.map(post, ["process"] * 6))
        assert codes.count(200) == 1 and codes.count(400) == 5, codes
        assert balance() == 16
    finally:
        api.stop()


def test_nul_bytes_get_a_4xx_on_postgres(tmp_path: Path, postgres_url: str) -> None:
    """PostgreSQL refuses NUL in text: every place a request's text reaches SQL answers 4xx.
    (Headers cannot carry NUL: the HTTP layer refuses them before Kinora sees them.)"""
    api = start_api(tmp_path / "api", {"KINORA_DATABASE_URL": postgres_url})
    try:
        key = make_key(api.env, credits=20)
        h = {"X-Api-Key": key}
        base = api.base_url
        answers = {
            "path id": httpx.get(f"{base}/media/ab%00cd", headers=h),
            "process id": httpx.post(f"{base}/media/ab%00cd/process", headers=h),
            "q": httpx.get(f"{base}/media", params={"q": "a\x00b"}, headers=h),
            "cursor": httpx.get(f"{base}/media", params={"cursor": "a\x00b"}, headers=h),
            "status": httpx.get(f"{base}/media", params={"status": "a\x00b"}, headers=h),
            "title": httpx.post(
                f"{base}/media", headers=h, data={"prompt": "a kite", "title": "a\x00b"}
            ),
            "prompt": httpx.post(f"{base}/media", headers=h, data={"prompt": "a\x00kite"}),
        }
        codes = {what: r.status_code for what, r in answers.items()}
        assert all(400 <= c < 500 for c in codes.values()), codes
        assert int(httpx.get(f"{base}/credits", headers=h).json()["data"]["credits"]) == 20
    finally:
        api.stop()


def test_s3_delete_removes_one_file(
    tmp_path: Path, s3_server: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The all-or-nothing input store cleans up one key at a time: on S3 that must delete
    the object itself (a folder delete of a file's key matches nothing)."""
    from kinora.storage import S3Storage

    for name, value in s3_server.env("del").items():
        if name.startswith("AWS_"):
            monkeypatch.setenv(name, value)
    store = S3Storage(
        f"s3://{s3_server.bucket}/del", cache_dir=tmp_path / "cache", endpoint=s3_server.endpoint
    )
    store.put_bytes("c/m/source/a_0.png", b"first")
    store.put_bytes("c/m/source/a_1.png", b"second")
    store.delete("c/m/source/a_0.png")
    store.delete("c/m/source/missing.png")  # a missing file is fine
    assert not store.exists("c/m/source/a_0.png")
    assert store.get_bytes("c/m/source/a_1.png") == b"second"
    assert s3_server.keys("del/") == ["del/c/m/source/a_1.png"]
