"""Throughput with 1 and 2 worker processes on this machine, as a ratio.

    .venv/bin/python bench/bench_throughput.py [--clips 12] [--long-side 640] [--duration 3]

Starts `kinora serve --workers 0` and N `kinora worker` processes on one data dir (SQLite
database and queue), submits the same photos, and times until every clip is done.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from kinora.config import default_models_dir

ROOT = Path(__file__).resolve().parents[1]
TESTDATA = ROOT.parent / "shared" / "testdata"
KINORA = str(Path(sys.executable).with_name("kinora"))
PHOTOS = ["astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(workers: int, *, clips: int, long_side: int, duration: int) -> float:
    data = Path(tempfile.mkdtemp(prefix="kinora-bench-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KINORA_")}
    env.update(
        KINORA_DATA_DIR=str(data),
        KINORA_OUTPUT_LONG_SIDE=str(long_side),
        KINORA_MODELS_DIR=str(default_models_dir()),
        KINORA_PUBLIC_URL=base,
    )
    log = (data / "log").open("wb")
    procs = [
        subprocess.Popen(
            [KINORA, "serve", "--port", str(port), "--workers", "0"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    ]
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/health").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        out = subprocess.run(
            [KINORA, "keys", "create", "--credits", "1000"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        key = out.stdout.strip().splitlines()[-1]
        ids = []
        for i in range(clips):
            name = PHOTOS[i % len(PHOTOS)]
            with (TESTDATA / name).open("rb") as f:
                r = httpx.post(
                    f"{base}/media",
                    headers={"X-Api-Key": key},
                    data={"duration": str(duration), "seed": str(i + 1)},
                    files=[("image_files", (name, f, "image/png"))],
                    timeout=60,
                )
            ids.append(r.json()["data"]["id"])
        started = time.monotonic()
        for _ in range(workers):
            procs.append(
                subprocess.Popen([KINORA, "worker"], env=env, stdout=log, stderr=subprocess.STDOUT)
            )
        pending = set(ids)
        while pending:
            for media_id in list(pending):
                status = httpx.get(f"{base}/media/{media_id}/processing-status").json()["data"]
                if status["processing_status"] in ("success", "fail"):
                    assert status["processing_status"] == "success", status
                    pending.discard(media_id)
            time.sleep(0.2)
        return time.monotonic() - started
    finally:
        for proc in reversed(procs):
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=30)
        shutil.rmtree(data, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clips", type=int, default=12)
    parser.add_argument("--long-side", type=int, default=640)
    parser.add_argument("--duration", type=int, default=3)
    args = parser.parse_args()
    results = {}
    for workers in (1, 2):
        seconds = run(workers, clips=args.clips, long_side=args.long_side, duration=args.duration)
        results[workers] = args.clips / seconds * 60
        print(f"{workers} worker process(es): {seconds:.1f} s, {results[workers]:.1f} clips/min")
    print(f"ratio 2/1: {results[2] / results[1]:.2f}")


if __name__ == "__main__":
    main()
