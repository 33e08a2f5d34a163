"""Load on the read endpoints while renders run: wrk against processing-status and GET /media.

Starts ``kinora serve`` on a fresh data dir, renders one media to read, then starts two long
renders and, while both run, drives wrk (Debian package ``wrk``) at:

  - GET /media/{id}/processing-status  (no key: what clients poll)
  - GET /media/{id}                    (with a key; the per-key rate limit is raised for this)
  - GET /health

Reported: requests/s, p50, p99 and non-2xx counts. Target: processing-status p99 < 50 ms with
two renders running. Two layouts: renders in a separate ``kinora worker`` process (default, the
recommended deployment) or in threads inside the API process (``--embedded``).

Usage: .venv/bin/python bench/bench_load.py [--seconds 15] [--connections 8] [--embedded]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from kinora.config import default_models_dir

ROOT = Path(__file__).resolve().parents[1]
TESTDATA = ROOT / ".." / "shared" / "testdata"
MODELS = Path(os.environ.get("KINORA_MODELS_DIR") or default_models_dir()).resolve()
KINORA = str(Path(sys.executable).with_name("kinora"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(base: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit("server did not become healthy")


def parse_wrk(out: str) -> dict[str, Any]:
    def ms(value: str) -> float:
        number, unit = re.match(r"([\d.]+)(\w+)", value).groups()  # type: ignore[union-attr]
        return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]

    pct = {m.group(1): ms(m.group(2)) for m in re.finditer(r"^\s+(\d+)%\s+(\S+)", out, re.M)}
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    total = re.search(r"(\d+) requests in", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {
        "requests": int(total.group(1)) if total else 0,
        "rps": float(rps.group(1)) if rps else 0.0,
        "p50_ms": pct.get("50"),
        "p90_ms": pct.get("90"),
        "p99_ms": pct.get("99"),
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": errors.group(1).strip() if errors else "",
    }


def wrk(url: str, seconds: int, connections: int, headers: dict[str, str]) -> dict[str, Any]:
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s"]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    out = subprocess.run([*cmd, url], check=True, capture_output=True, text=True).stdout
    return parse_wrk(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=15, help="wrk duration per endpoint")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--embedded", action="store_true", help="render threads in the API")
    parser.add_argument(
        "--render-niceness", type=int, default=None, help="KINORA_RENDER_NICENESS (default 10)"
    )
    parser.add_argument(
        "--status-cache", type=float, default=None, help="KINORA_STATUS_CACHE_SECONDS (0.25)"
    )
    parser.add_argument("--long-side", default="640", help="KINORA_OUTPUT_LONG_SIDE of renders")
    parser.add_argument(
        "--nice", type=int, default=0, help="run the worker process at this niceness (0-19)"
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk not found: apt-get install -y wrk")

    tmp = Path(tempfile.mkdtemp(prefix="kinora-load-"))
    data_dir = tmp / "data"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KINORA_")}
    env.update(
        KINORA_DATA_DIR=str(data_dir),
        KINORA_MODELS_DIR=str(MODELS),
        KINORA_PUBLIC_URL=base,
        KINORA_OUTPUT_LONG_SIDE=args.long_side,
        KINORA_RATE_LIMIT="1000000/minute",
    )
    if args.render_niceness is not None:
        env["KINORA_RENDER_NICENESS"] = str(args.render_niceness)
    if args.status_cache is not None:
        env["KINORA_STATUS_CACHE_SECONDS"] = str(args.status_cache)
    data_dir.mkdir(parents=True)
    log = (tmp / "server.log").open("ab")
    procs: list[subprocess.Popen[bytes]] = []
    threads = "2" if args.embedded else "0"
    serve = [KINORA, "serve", "--port", str(port), "--workers", threads]
    procs.append(subprocess.Popen(serve, env=env, stdout=log, stderr=subprocess.STDOUT))
    try:
        wait_healthy(base, procs[0])
        if not args.embedded:
            worker = ["nice", "-n", str(args.nice), KINORA, "worker", "--workers", "2"]
            procs.append(subprocess.Popen(worker, env=env, stdout=log, stderr=subprocess.STDOUT))
        key = subprocess.run(
            [KINORA, "keys", "create", "--credits", "100", "--data-dir", str(data_dir)],
            check=True,
            capture_output=True,
            text=True,
            env=env,
        ).stdout.split()[-1]
        h = {"X-Api-Key": key}

        def create(duration: str) -> str:
            photo = (TESTDATA / "coffee.png").read_bytes()
            r = httpx.post(
                f"{base}/media",
                headers=h,
                data={"duration": duration},
                files=[("image_files", ("coffee.png", photo, "image/png"))],
                timeout=30,
            )
            r.raise_for_status()
            return str(r.json()["data"]["id"])

        def status(media_id: str) -> str:
            r = httpx.get(f"{base}/media/{media_id}/processing-status", timeout=10)
            return str(r.json()["data"]["processing_status"])

        done = create("1")
        while status(done) not in ("success", "fail"):
            time.sleep(0.2)
        # Two long renders, both running before measuring; more queued behind them so two
        # stay busy for the whole run.
        running = [create("10") for _ in range(16)]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            states = [status(m) for m in running]
            if states.count("processing_bullet") >= 2:
                break
            time.sleep(0.2)
        results: dict[str, Any] = {}
        targets = {
            "processing-status": (f"{base}/media/{done}/processing-status", {}),
            "get-media": (f"{base}/media/{done}", h),
            "health": (f"{base}/health", {}),
        }
        for name, (url, headers) in targets.items():
            busy_before = [status(m) for m in running].count("processing_bullet")
            results[name] = wrk(url, args.seconds, args.connections, headers)
            busy_after = [status(m) for m in running].count("processing_bullet")
            results[name]["renders_running"] = f"{busy_before}->{busy_after}"
        results["layout"] = "embedded worker threads" if args.embedded else "separate worker"
        results["worker_nice"] = args.nice
        results["render_niceness"] = args.render_niceness
        results["status_cache_seconds"] = args.status_cache
        results["cpus"] = os.cpu_count()
        results["connections"] = args.connections
        results["seconds"] = args.seconds
        print(json.dumps(results, indent=2))
        p99 = results["processing-status"]["p99_ms"]
        verdict = "met" if p99 is not None and p99 < 50 else "NOT met"
        print(f"target processing-status p99 < 50 ms with two renders: {verdict} ({p99} ms)")
    finally:
        for proc in reversed(procs):
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
