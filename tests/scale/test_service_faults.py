"""The services Kinora relies on fail: PostgreSQL restarts, then goes away for seconds, while
media render. Nothing accepted is lost, every media ends success (or fail, refunded), nobody is
charged twice; the API answers 503 meanwhile, never 500."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import httpx
import psycopg

from tests.conftest import TESTDATA, free_port, kinora_env, start_process, wait_healthy
from tests.scale.conftest import Postgres

PHOTOS = ["astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg"]


def _request(method: str, url: str, **kwargs: object) -> httpx.Response:
    """Like a careful client: retry 503s and dropped connections with the same request."""
    deadline = time.monotonic() + 60
    while True:
        try:
            response = httpx.request(method, url, timeout=30, **kwargs)  # type: ignore[arg-type]
            if response.status_code != 503:
                return response
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{method} {url} kept failing")
        time.sleep(0.2)


def test_postgres_restart_while_rendering(
    tmp_path: Path, own_postgres: Postgres, redis_url: str
) -> None:
    data_dir = tmp_path / "data"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = kinora_env(
        data_dir,
        KINORA_DATABASE_URL=own_postgres.url,
        KINORA_QUEUE_URL=redis_url,
        KINORA_PUBLIC_URL=base,
        KINORA_OUTPUT_LONG_SIDE="320",
        KINORA_MAX_ATTEMPTS="5",
    )
    data_dir.mkdir(parents=True)
    api = start_process(["serve", "--port", str(port), "--workers", "0"], env, data_dir / "api.log")
    worker = start_process(["worker"], env, data_dir / "worker.log")
    try:
        wait_healthy(base, api)
        import subprocess

        from tests.conftest import KINORA

        out = subprocess.run(
            [KINORA, "keys", "create", "--credits", "12"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        key = out.stdout.strip().splitlines()[-1]
        h = {"X-Api-Key": key}
        ids: list[str] = []
        restarted = False
        for i in range(12):
            name = PHOTOS[i % len(PHOTOS)]
            r = _request(
                "POST",
                f"{base}/media",
                headers={**h, "Idempotency-Key": f"job-{i}"},
                data={"duration": "2"},
                files=[("image_files", (name, (TESTDATA / name).read_bytes(), "image/png"))],
            )
            assert r.status_code == 200, r.text
            ids.append(r.json()["data"]["id"])
            if i == 3:
                own_postgres.restart()  # cuts every connection, mid-run
            if i == 7:
                # Gone for seconds while renders run and requests keep coming.
                outage = threading.Thread(target=own_postgres.outage, args=(4.0,))
                outage.start()
                time.sleep(0.5)
                restarted = True
        outage.join()
        assert restarted
        deadline = time.monotonic() + 240
        pending = set(ids)
        while pending and time.monotonic() < deadline:
            for media_id in list(pending):
                status = _request("GET", f"{base}/media/{media_id}/processing-status")
                if status.json()["data"]["processing_status"] in ("success", "fail"):
                    pending.discard(media_id)
            time.sleep(0.3)
        assert not pending, f"lost: {pending}"
        with psycopg.connect(own_postgres.url) as conn:
            rows = conn.execute("SELECT id, status FROM media").fetchall()
            assert {r[0] for r in rows} == set(ids)
            ledger = conn.execute(
                "SELECT media_id, reason, count(*), sum(delta) FROM credit_ledger "
                "WHERE media_id IS NOT NULL GROUP BY media_id, reason"
            ).fetchall()
        debits = {m: n for m, reason, n, _ in ledger if reason == "debit"}
        assert all(n == 1 for n in debits.values()) and len(debits) == 12
        net = {}
        for m, _, _, delta in ledger:
            net[m] = net.get(m, 0) + delta
        for media_id, status in rows:
            assert net[media_id] == (-1 if status == "success" else 0), (media_id, status)
        assert sum(1 for _, status in rows if status == "success") >= 10
        api_log = (data_dir / "api.log").read_text()
        assert '" 500 ' not in api_log
        assert '" 503 ' in api_log  # requests did arrive while the database was away
    finally:
        for proc in (worker, api):
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                proc.wait(timeout=30)
