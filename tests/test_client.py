"""The Python client and `kinora create/status/list`, against a real server."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import pytest

from kinora import AsyncClient, Client
from kinora.client import APIError, GenerationFailed, Progress
from kinora.render.encode import probe
from tests.conftest import KINORA, LiveServer, kinora_env


def test_create_wait_download(live: LiveServer, testdata: Path, tmp_path: Path) -> None:
    seen: list[Progress] = []
    with Client(live.base_url, live.key()) as client:
        media = client.create(
            [testdata / "chelsea.png"],
            camera_control="Orbit right",
            duration=2,
            native_audio=False,
            title="cat",
        )
        assert media.status == "queue_bullet" and media.title == "cat"
        done = client.wait(media.id, on_progress=seen.append, poll_interval=0.05)
        assert done.status == "success" and done.service_name == "kinora-parallax"
        assert len(done.videos) == 1 and done.videos[0].url.startswith(live.base_url)
        path = client.download(media.id, tmp_path / "cat.mp4")
        assert probe(path)["frames"] == 48
        gif = client.download(media.id, tmp_path / "cat.gif", object_type="bullet_video_gif")
        assert gif.read_bytes()[:3] == b"GIF"
        assert seen[-1].status == "success" and seen[-1].percentage == 100
        percentages = [p.percentage for p in seen]
        assert percentages == sorted(percentages)
        assert client.list(limit=5).items[0].id == media.id
        assert client.credits() == 99


def test_errors_are_exceptions_with_the_api_message(live: LiveServer) -> None:
    with Client(live.base_url, "kin_wrong") as client, pytest.raises(APIError) as caught:
        client.credits()
    assert caught.value.http_status == 401 and caught.value.api_code == "UNAUTHORIZED"
    with Client(live.base_url, live.key(credits=0)) as client:
        with pytest.raises(APIError) as caught:
            client.create(prompt="a boat", duration=1)
        assert caught.value.http_status == 402
        assert caught.value.api_code == "INSUFFICIENT_CREDIT"
        with pytest.raises(APIError) as caught:
            client.create(prompt="a boat", quantity=9)
        assert caught.value.http_status == 422 and "quantity" in str(caught.value)
        with pytest.raises(APIError) as caught:
            client.get("no-such-media")
        assert caught.value.api_code == "MEDIA_NOT_FOUND"


def test_failed_generation_raises(api_factory) -> None:
    api = api_factory()
    r = api.client.post("/media", data={"prompt": "x", "duration": "1"}, headers=api.headers())
    media_id = r.json()["data"]["id"]
    api.wait(media_id)
    with api.runtime.db.session() as s:
        from kinora.db.models import Media

        s.get(Media, media_id).inputs = [
            {"kind": "image", "position": "First", "name": "gone.png", "key": "nowhere/gone.png"}
        ]
    client = Client("http://testserver", api.key)
    api.client.headers.update(api.headers())
    client._http = api.client  # the in-process app, through the same client code
    client.process(media_id)
    with pytest.raises(GenerationFailed) as caught:
        client.wait(media_id, poll_interval=0.05)
    assert caught.value.media.status == "fail" and caught.value.media.error


def test_async_client(live: LiveServer, tmp_path: Path) -> None:
    async def main() -> None:
        async with AsyncClient(live.base_url, live.key()) as client:
            media = await client.create(prompt="a lighthouse at night", duration=1)
            updates: list[int] = []

            async def on_progress(progress: Progress) -> None:
                updates.append(progress.percentage)

            done = await client.wait(media.id, on_progress=on_progress, poll_interval=0.05)
            assert done.status == "success" and updates[-1] == 100
            await client.download(media.id, tmp_path / "a.mp4")
            with pytest.raises(APIError):
                await client.get("nope")

    asyncio.run(main())
    assert probe(tmp_path / "a.mp4")["frames"] == 24


def test_cli_create_status_list(live: LiveServer, testdata: Path, tmp_path: Path) -> None:
    env = {
        **kinora_env(tmp_path / "cli"),
        "KINORA_SERVER": live.base_url,
        "KINORA_API_KEY": live.key(),
    }
    out = tmp_path / "out.mp4"
    done = subprocess.run(
        [
            KINORA,
            "create",
            str(testdata / "rocket.jpg"),
            "--camera",
            "Zoom in",
            "--duration",
            "1",
            "--download",
            str(out),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    media_id = done.stdout.strip().splitlines()[-1]
    assert "saved" in done.stderr and probe(out)["frames"] == 24
    status = subprocess.run(
        [KINORA, "status", media_id], env=env, capture_output=True, text=True, timeout=60
    )
    assert status.stdout.strip() == "success 100%"
    listed = subprocess.run([KINORA, "list"], env=env, capture_output=True, text=True, timeout=60)
    assert media_id[:8] in listed.stdout
    bad = subprocess.run(
        [KINORA, "create", "--prompt", "x", "--key", "kin_wrong"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 1 and "UNAUTHORIZED" in bad.stderr
