"""The ``kinora`` command, run as a user runs it."""

from __future__ import annotations

import subprocess
from pathlib import Path

from kinora.render.encode import probe
from tests.conftest import KINORA, kinora_env


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([KINORA, *args], env=env, capture_output=True, text=True, timeout=300)


def test_keys_and_credits(tmp_path: Path) -> None:
    env = kinora_env(tmp_path / "data")
    created = run("keys", "create", "--credits", "7", "--name", "alice", env=env)
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("kin_") and " " not in key
    listed = run("keys", "list", env=env)
    assert "alice" in listed.stdout and key not in listed.stdout  # only a prefix is shown
    added = run("credits", "add", key, "5", env=env)
    assert added.returncode == 0 and added.stdout.strip() == "balance: 12"
    missing = run("credits", "add", "kin_nope", "5", env=env)
    assert missing.returncode == 1
    # --data-dir wins over the environment
    other = tmp_path / "other"
    run("keys", "create", "--data-dir", str(other), env=env)
    assert (other / "kinora.db").exists()


def test_render_text_to_mp4(tmp_path: Path) -> None:
    env = kinora_env(tmp_path / "data")
    out = tmp_path / "out.mp4"
    done = run(
        "render",
        "--prompt",
        "a lighthouse at sunset",
        "--duration",
        "1",
        "--aspect",
        "1:1",
        "-o",
        str(out),
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert "kinora-scene" in done.stderr
    info = probe(out)
    assert (info["width"], info["height"], info["frames"]) == (256, 256, 24)


def test_render_rejects_bad_arguments(tmp_path: Path) -> None:
    env = kinora_env(tmp_path / "data")
    bad = run("render", "--prompt", "x", "--camera", "Barrel roll", env=env)
    assert bad.returncode == 2 and "camera" in bad.stderr
    nothing = run("render", env=env)
    assert nothing.returncode == 2
