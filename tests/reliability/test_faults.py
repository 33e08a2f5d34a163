"""Fault injection: SIGKILL of the API and of workers during a run of 12 media, a full disk
while a video is written, and storage that turns read-only mid-run.

Real ``kinora serve`` and ``kinora worker`` processes, a real SQLite database and Huey queue,
real renders (tiny: 128 px, 1-s clips). Afterwards: nothing accepted is lost, every media ends
success or fail (fail refunded), nobody is charged twice, no half-written file is left.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import (
    TESTDATA,
    LiveServer,
    kinora_env,
    launch_server,
    start_process,
    wait_healthy,
)
from tests.reliability.conftest import STATS

COUNTS = STATS["fault injection"]
TINY = {"KINORA_OUTPUT_LONG_SIDE": "128", "KINORA_MAX_ATTEMPTS": "5"}
PHOTO = (TESTDATA / "coffee.png").read_bytes()
MEDIA = 12
"""Media of the SIGKILL run."""


def _ledger(data_dir: Path) -> dict[str, Any]:
    """Per media: its status and its net charge, straight from the database."""
    db = sqlite3.connect(data_dir / "kinora.db")
    try:
        rows = db.execute("SELECT id, status, cost FROM media").fetchall()
        entries = db.execute(
            "SELECT media_id, reason, delta FROM credit_ledger WHERE media_id IS NOT NULL"
        ).fetchall()
    finally:
        db.close()
    debits: dict[str, int] = {}
    net: dict[str, int] = {}
    for media_id, reason, delta in entries:
        net[media_id] = net.get(media_id, 0) + delta
        if reason == "debit":
            debits[media_id] = debits.get(media_id, 0) + 1
    return {"media": {r[0]: (r[1], r[2]) for r in rows}, "debits": debits, "net": net}


def _account(
    data_dir: Path, accepted: set[str], *, start_credits: int, credits_now: int
) -> dict[str, str]:
    """Checks the books; counts lost media and double charges into COUNTS."""
    books = _ledger(data_dir)
    statuses = {media_id: books["media"].get(media_id, ("missing", 0))[0] for media_id in accepted}
    lost = [m for m, status in statuses.items() if status not in ("success", "fail")]
    double = [m for m, n in books["debits"].items() if n > 1]
    COUNTS["media"] += len(accepted)
    COUNTS["media_lost"] += len(lost)
    COUNTS["double_charges"] += len(double)
    COUNTS["failed_refunded"] += sum(1 for s in statuses.values() if s == "fail")
    assert not lost, {m: statuses[m] for m in lost}
    assert not double, double
    for media_id, status in statuses.items():
        charge = -books["net"].get(media_id, 0)
        assert charge == (1 if status == "success" else 0), (media_id, status, charge)
    success = sum(1 for s in statuses.values() if s == "success")
    assert credits_now == start_credits - success, (credits_now, start_credits, success)
    return statuses


def _no_partial_files(root: Path) -> None:
    partial = [str(p) for p in root.rglob("*.part")] if root.exists() else []
    assert not partial, partial


def _wait_ended(base_url: str, ids: set[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    pending = set(ids)
    while pending and time.monotonic() < deadline:
        for media_id in list(pending):
            try:
                r = httpx.get(f"{base_url}/media/{media_id}/processing-status", timeout=5)
            except httpx.HTTPError:
                continue
            if r.json()["data"]["processing_status"] in ("success", "fail"):
                pending.discard(media_id)
        time.sleep(0.3)


def _submit(base_url: str, key: str, idem: str) -> httpx.Response:
    return httpx.post(
        f"{base_url}/media",
        headers={"X-Api-Key": key, "Idempotency-Key": idem},
        data={"duration": "1"},
        files=[("image_files", ("coffee.png", PHOTO, "image/png"))],
        timeout=30,
    )


def _restart_api(server: LiveServer, port: int) -> LiveServer:
    proc = start_process(
        ["serve", "--port", str(port), "--workers", "0", "--data-dir", str(server.data_dir)],
        server.env,
        server.data_dir / "server.log",
    )
    wait_healthy(server.base_url, proc)
    return LiveServer(server.base_url, server.data_dir, proc, server.env)


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_sigkill_api_and_workers_at_random_during_12_media(
    tmp_path: Path, procs: list[subprocess.Popen[bytes]]
) -> None:
    """Twelve media are six times the two workers' concurrency (one thread each): jobs are
    queued, running and done when the kills come, which is what "nothing lost" needs; a larger
    count only lengthens the run. The loop keeps killing until both kinds of process died."""
    rng = random.Random(20240607)
    data_dir = tmp_path / "data"
    server = launch_server(data_dir, workers=0, **TINY)
    procs.append(server.process)
    port = int(server.base_url.rsplit(":", 1)[1])
    env = kinora_env(data_dir, **TINY)
    workers = [start_process(["worker"], env, data_dir / f"worker{i}.log") for i in range(2)]
    procs.extend(workers)
    start_credits = 60
    key = server.key(credits=start_credits)
    accepted: set[str] = set()
    kills = {"api": 0, "worker": 0}
    # Kills come often: workers reuse their engines (and the photo's cached layout), so the
    # renders can end within seconds.
    next_kill = time.monotonic() + rng.uniform(0.5, 1.5)
    submitted = 0
    deadline = time.monotonic() + 150
    # Until every media ended and both kinds of process were killed (renders can end before
    # the kills this test needs: it keeps killing the restarted processes then).
    while (
        submitted < MEDIA
        or not _all_ended(server, accepted)
        or kills["api"] < 1
        or kills["worker"] < 2
    ) and time.monotonic() < deadline:
        if submitted < MEDIA:
            idem = f"run-{submitted}"
            try:
                r = _submit(server.base_url, key, idem)
            except httpx.HTTPError:
                r = None  # the API died under the request: retry with the same key later
            if r is not None and r.status_code == 200:
                accepted.add(r.json()["data"]["id"])
                submitted += 1
            elif r is not None:
                assert r.status_code in (409,), r.text  # same key still in progress
        else:
            time.sleep(0.3)
        if time.monotonic() >= next_kill and kills["api"] + kills["worker"] < 8:
            # Workers first (the renders run there), then the API at random.
            api_turn = kills["worker"] >= 2 and (kills["api"] == 0 or rng.random() < 0.3)
            if api_turn or server.process.poll() is not None:
                server.process.send_signal(signal.SIGKILL)
                server.process.wait()
                kills["api"] += 1
                server = _restart_api(server, port)
                procs.append(server.process)
            else:
                i = rng.randrange(len(workers))
                workers[i].send_signal(signal.SIGKILL)
                workers[i].wait()
                kills["worker"] += 1
                workers[i] = start_process(["worker"], env, data_dir / f"worker{i}.log")
                procs.append(workers[i])
            next_kill = time.monotonic() + rng.uniform(0.8, 2.0)
    _wait_ended(server.base_url, accepted, timeout=max(10.0, deadline - time.monotonic()))
    COUNTS["sigkills"] += kills["api"] + kills["worker"]
    assert submitted == MEDIA
    assert kills["api"] >= 1 and kills["worker"] >= 2, kills
    credits = httpx.get(f"{server.base_url}/credits", headers={"X-Api-Key": key}).json()
    _account(
        data_dir, accepted, start_credits=start_credits, credits_now=credits["data"]["credits"]
    )
    assert httpx.get(f"{server.base_url}/health").status_code == 200
    _no_partial_files(data_dir / "media")
    server.stop()
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)


def _all_ended(server: LiveServer, ids: set[str]) -> bool:
    try:
        for media_id in ids:
            r = httpx.get(f"{server.base_url}/media/{media_id}/processing-status", timeout=5)
            if r.json()["data"]["processing_status"] not in ("success", "fail"):
                return False
    except httpx.HTTPError:
        return False
    return True


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Any]:
    """Mounts small tmpfs file systems (root may mount in this sandbox; said so if not)."""
    mounted: list[Path] = []

    def mount(path: Path, size: str = "4m") -> Path:
        path.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], check=True
        )
        mounted.append(path)
        return path

    yield mount
    for path in reversed(mounted):
        subprocess.run(["umount", "-l", str(path)], check=False)


def _fill(path: Path, leave: int = 0) -> Path:
    """Writes a filler file until the file system is full, then frees ``leave`` bytes."""
    filler = path / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        for size in (65536, 4096, 512, 1):  # down to the last byte: a tiny clip must not fit
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError:
                pass
        if leave:
            os.ftruncate(fd, max(0, os.fstat(fd).st_size - leave))
    finally:
        os.close(fd)
    return filler


def test_disk_full_while_writing_videos(
    tmp_path: Path, tmpfs: Any, procs: list[subprocess.Popen[bytes]]
) -> None:
    """The worker's scratch dir (where the encoder writes) and then the media dir fill up."""
    data_dir = tmp_path / "data"
    media_dir = tmpfs(data_dir / "media")
    scratch = tmpfs(tmp_path / "scratch")
    server = launch_server(data_dir, workers=0, **TINY)
    procs.append(server.process)
    env = {**kinora_env(data_dir, **TINY), "TMPDIR": str(scratch)}
    key = server.key(credits=20)
    accepted: set[str] = set()

    def submit_batch(n: int, tag: str) -> set[str]:
        ids = set()
        for i in range(n):
            r = _submit(server.base_url, key, f"{tag}-{i}")
            assert r.status_code == 200, r.text
            ids.add(r.json()["data"]["id"])
        return ids

    # 1. Scratch full: the encoder cannot write the video.
    batch = submit_batch(2, "scratch")
    accepted |= batch
    # Python's tempfile skips a TMPDIR where it cannot write a probe file; leave room for the
    # probe (one page), not for a video.
    filler = _fill(scratch, leave=8192)
    worker = start_process(["worker"], env, data_dir / "worker1.log")
    procs.append(worker)
    _wait_ended(server.base_url, batch, timeout=60)
    filler.unlink()
    left = [p.name for p in scratch.iterdir() if p.name.startswith("kinora-")]
    assert left == [], f"render scratch left behind: {left}"
    # 2. Media dir full: the finished video cannot be stored (inputs were, at request time).
    worker.send_signal(signal.SIGTERM)  # so the batch waits until the disk is full
    worker.wait(timeout=30)
    batch = submit_batch(2, "media")
    accepted |= batch
    filler = _fill(media_dir)
    worker = start_process(["worker"], env, data_dir / "worker2.log")
    procs.append(worker)
    _wait_ended(server.base_url, batch, timeout=60)
    _no_partial_files(media_dir)
    filler.unlink()
    # 3. Space again: new work succeeds.
    batch = submit_batch(2, "after")
    accepted |= batch
    _wait_ended(server.base_url, batch, timeout=60)
    h = {"X-Api-Key": key}
    statuses = {
        m: httpx.get(f"{server.base_url}/media/{m}", headers=h).json()["data"] for m in accepted
    }
    for media in statuses.values():
        if media["processing_status"] == "fail":
            assert media["error"], media
    credits = httpx.get(f"{server.base_url}/credits", headers=h).json()["data"]["credits"]
    ended = _account(data_dir, accepted, start_credits=20, credits_now=credits)
    COUNTS["disk_full_failures"] += sum(1 for s in ended.values() if s == "fail")
    assert sum(1 for s in ended.values() if s == "fail") >= 3, ended  # of the 4 starved
    assert [ended[m] for m in batch] == ["success", "success"]
    assert httpx.get(f"{server.base_url}/health").status_code == 200
    _no_partial_files(media_dir)
    worker.send_signal(signal.SIGTERM)
    worker.wait(timeout=30)
    server.stop()


def test_storage_turns_read_only_mid_run(
    tmp_path: Path, tmpfs: Any, procs: list[subprocess.Popen[bytes]]
) -> None:
    """The media dir is remounted read-only while media run, then writable again."""
    data_dir = tmp_path / "data"
    media_dir = tmpfs(data_dir / "media", size="64m")
    server = launch_server(data_dir, workers=0, **TINY)
    procs.append(server.process)
    env = kinora_env(data_dir, **TINY)
    key = server.key(credits=20)
    h = {"X-Api-Key": key}
    accepted: set[str] = set()
    for i in range(2):
        r = _submit(server.base_url, key, f"ro-{i}")
        assert r.status_code == 200, r.text
        accepted.add(r.json()["data"]["id"])
    subprocess.run(["mount", "-o", "remount,ro", str(media_dir)], check=True)
    worker = start_process(["worker"], env, data_dir / "worker.log")
    procs.append(worker)
    # While read-only: a new request cannot store its input: a clear error, nothing charged.
    before = httpx.get(f"{server.base_url}/credits", headers=h).json()["data"]["credits"]
    r = _submit(server.base_url, key, "ro-during")
    COUNTS["storage_refusals"] += 1
    assert r.status_code != 200 or r.json()["data"]["id"] in accepted
    if r.status_code == 200:
        accepted.add(r.json()["data"]["id"])
    else:
        assert r.status_code == 503, r.text
        assert r.json()["message"] == "STORAGE_UNAVAILABLE"
        after = httpx.get(f"{server.base_url}/credits", headers=h).json()["data"]["credits"]
        assert after == before
    _wait_ended(server.base_url, accepted, timeout=60)
    subprocess.run(["mount", "-o", "remount,rw", str(media_dir)], check=True)
    r = _submit(server.base_url, key, "ro-after")
    assert r.status_code == 200, r.text
    accepted.add(r.json()["data"]["id"])
    _wait_ended(server.base_url, accepted, timeout=60)
    credits = httpx.get(f"{server.base_url}/credits", headers=h).json()["data"]["credits"]
    ended = _account(data_dir, accepted, start_credits=20, credits_now=credits)
    assert ended[r.json()["data"]["id"]] == "success"
    assert httpx.get(f"{server.base_url}/health").status_code == 200
    _no_partial_files(media_dir)
    worker.send_signal(signal.SIGTERM)
    worker.wait(timeout=30)
    server.stop()


def test_fault_counts() -> None:
    """Runs after the fault tests (same module)."""
    assert COUNTS["media"] >= MEDIA + 6 + 3, COUNTS  # the three fault tests ran
    assert COUNTS["media_lost"] == 0, COUNTS
    assert COUNTS["double_charges"] == 0, COUNTS
    assert os.environ.get("KINORA_DATA_DIR", "") != "/", "sanity"
