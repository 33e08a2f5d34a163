"""The ``kinora`` command, run as a user runs it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np

from kinora.video.encode import probe, read_frames
from kinora.video.fit import cover_fit
from tests.conftest import (
    KINORA,
    TESTDATA,
    FileServer,
    LiveServer,
    kinora_env,
    launch_server,
)


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


def get_media(server: LiveServer, key: str, media_id: str) -> dict[str, Any]:
    r = httpx.get(f"{server.base_url}/media/{media_id}", headers={"X-Api-Key": key})
    assert r.status_code == 200, r.text
    return dict(r.json()["data"])


def created_id(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def test_create_options_send_the_api_names(tmp_path: Path, fake_external_host: FileServer) -> None:
    host = fake_external_host
    server = launch_server(
        tmp_path / "server",
        KINORA_ALLOW_PRIVATE_URLS="1",
        KINORA_WEBHOOK_RETRY_DELAYS="0.1",
    )
    try:
        key = server.key()
        env = {**kinora_env(tmp_path / "cli"), "KINORA_SERVER": server.base_url}
        env["KINORA_API_KEY"] = key
        media_id = created_id(
            run(
                "create",
                "--image-url",
                host.url("astronaut.png"),
                "--image-url",
                host.url("rocket.jpg"),
                "--prompt",
                "a slow drift",
                "--negative-prompt",
                "no text",
                "--seed",
                "99",
                "--loop",
                "2",
                "--motion-range",
                "4",
                "--camera-control",
                "Pan left",
                "--aspect-ratio",
                "1:1",
                "--duration",
                "1",
                "--title",
                "from the shell",
                "--description",
                "two URLs",
                "--visibility-status",
                "2",
                "--webhook-url",
                host.url("hook"),
                "--metadata",
                '{"ticket": 12}',
                "--no-native-audio",
                "--wait",
                env=env,
            )
        )
        media = get_media(server, key, media_id)
        assert media["processing_status"] == "success"
        assert [f["FileName"] for f in media["file_map"]] == ["astronaut.png", "rocket.jpg"]
        assert media["pose_preset"]["Params"] == (
            "Prompt=a slow drift|CameraPath=Pan left|Quantity=1|MotionAmount=4"
            "|MotionLength=1|Loop=2|AspectRatio=1:1"
        )
        assert (media["title"], media["description"], media["visibility_status"]) == (
            "from the shell",
            "two URLs",
            "2",
        )
        assert media["webhook_url"] == host.url("hook") and media["metadata"] == {"ticket": 12}
        spec = media["video_history"][-1]["spec"]
        assert spec["negative_prompt"] == "no text" and spec["seeds"] == [99]
        assert spec["native_audio"] is False and spec["loop"] == 2

        item = '{"type": "image", "url": "%s", "position": "%s"}'
        media_id = created_id(
            run(
                "create",
                "--media-item",
                item % (host.url("chelsea.png"), "First"),
                "--media-item",
                item % (host.url("coffee.png"), "Last"),
                "--narration",
                "Hello there",
                "--narrator",
                "Sarah",
                "--audio-option",
                '{"bg_music_prompt": "soft strings"}',
                "--native-audio",
                "--character-animate",
                "--duration",
                "1",
                "--wait",
                env=env,
            )
        )
        media = get_media(server, key, media_id)
        assert [f["FileName"] for f in media["file_map"]] == ["chelsea.png", "coffee.png"]
        spec = media["video_history"][-1]["spec"]
        assert {k: v for k, v in spec["audio"].items() if v is not None} == {
            "narration": "Hello there",
            "narrator": "Sarah",
            "bg_music_prompt": "soft strings",
        }
        assert spec["character_animate"] is True and spec["native_audio"] is True

        # --model arrives as model: the server checks it against motion_type
        try_on = run("create", str(TESTDATA / "astronaut.png"), "--model", "FashnTryOn", env=env)
        assert try_on.returncode == 1
        assert "model applies to motion_type TryOnVideo only" in try_on.stderr

        items = json.dumps(
            [
                {"type": "image", "url": host.url("rocket.jpg"), "position": "Last"},
                {"type": "image", "url": host.url("astronaut.png"), "position": "First"},
            ]
        )
        media_id = created_id(run("create", "--media-item", items, env=env))
        media = get_media(server, key, media_id)
        assert [f["FileName"] for f in media["file_map"]] == ["astronaut.png", "rocket.jpg"]
        httpx.delete(f"{server.base_url}/media/{media_id}", headers={"X-Api-Key": key})
    finally:
        server.stop()


def test_create_rejects_bad_json_options(tmp_path: Path) -> None:
    env = {**kinora_env(tmp_path / "cli"), "KINORA_SERVER": "http://127.0.0.1:9"}
    bad = run("create", "--media-item", "{type: image}", env=env)
    assert bad.returncode == 2 and "--media-item" in bad.stderr and "not JSON" in bad.stderr
    listed = run("create", "--metadata", "[1, 2]", env=env)
    assert listed.returncode == 2 and "must be a JSON object" in listed.stderr


def test_render_places_keyframes(tmp_path: Path, testdata: Path) -> None:
    env = kinora_env(tmp_path / "data")
    out = tmp_path / "kf.mp4"
    photos = [testdata / n for n in ("astronaut.png", "chelsea.png", "coffee.png")]
    done = run(
        "render", *map(str, photos), "--at", ",0.5,", "--duration", "2", "-o", str(out), env=env
    )
    assert done.returncode == 0, done.stderr
    frames = read_frames(out)
    h, w = frames[0].shape[:2]
    cat = cover_fit(cv2.cvtColor(cv2.imread(str(photos[1])), cv2.COLOR_BGR2RGB), w, h)
    assert float(np.abs(frames[12].astype(np.int16) - cat).mean()) < 4  # 0.5 s at 24 fps
    bad = run("render", *map(str, photos), "--at", "0,3,", "--duration", "2", env=env)
    assert bad.returncode == 2 and "after the video" in bad.stderr
