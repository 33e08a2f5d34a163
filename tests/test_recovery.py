"""Nothing accepted is lost: a worker killed with SIGKILL mid-render; the job runs again."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx

from tests.conftest import kinora_env, launch_server, start_process


def test_sigkill_worker_mid_render_then_restart(tmp_path: Path, testdata: Path) -> None:
    data_dir = tmp_path / "data"
    server = launch_server(data_dir, workers=0)  # API only; workers run separately
    # Long enough a render to catch mid-way (at 640 px a 10 s clip renders in about a
    # second, faster than the polling below can see it), short enough to render twice:
    # 6 s at 1280 px (144 frames), still two credits, so one charge and two tell apart.
    env = kinora_env(data_dir, KINORA_OUTPUT_LONG_SIDE="1280")
    worker = None
    try:
        key = server.key(credits=3)
        h = {"X-Api-Key": key}
        with (testdata / "coffee.png").open("rb") as f:
            r = httpx.post(
                f"{server.base_url}/media",
                headers=h,
                data={"duration": "6"},
                files=[("image_files", ("coffee.png", f, "image/png"))],
            )
        assert r.status_code == 200, r.text
        media_id = r.json()["data"]["id"]
        status_url = f"{server.base_url}/media/{media_id}/processing-status"
        worker = start_process(["worker"], env, data_dir / "worker1.log")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            status = httpx.get(status_url).json()["data"]
            if (
                status["processing_status"] == "processing_bullet"
                and int(status["progress_percentage"]) >= 15
            ):
                break
            assert status["processing_status"] in ("queue_bullet", "processing_bullet"), status
            time.sleep(0.02)
        else:
            raise AssertionError("render never got going")
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        assert httpx.get(status_url).json()["data"]["processing_status"] == "processing_bullet"
        worker = start_process(["worker"], env, data_dir / "worker2.log")
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            status = httpx.get(status_url).json()["data"]
            if status["processing_status"] in ("success", "fail"):
                break
            time.sleep(0.2)
        assert status["processing_status"] == "success", status
        media = httpx.get(f"{server.base_url}/media/{media_id}", headers=h).json()["data"]
        assert len(media["result"]) == 1
        assert len(media["video_history"]) == 1
        credits = httpx.get(f"{server.base_url}/credits", headers=h).json()["data"]["credits"]
        assert credits == 3 - 2  # charged once for one 6 s video (two credits)
    finally:
        if worker is not None and worker.poll() is None:
            worker.send_signal(signal.SIGINT)
            worker.wait(timeout=20)
        server.stop()
