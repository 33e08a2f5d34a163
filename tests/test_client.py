"""The Python client and `kinora create/status/list`, against a real server."""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from kinora import AsyncClient, AudioOption, Client, MediaItem
from kinora.client import (
    CREATE_FIELDS,
    UPDATE_FIELDS,
    APIError,
    GenerationFailed,
    Media,
    Progress,
)
from kinora.video.encode import probe
from tests.conftest import KINORA, FileServer, LiveServer, kinora_env, launch_server


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
        # one more second from its last frame, charged for that second only
        client.extend(media.id, duration=1, camera_control="Pan left")
        longer = client.wait(media.id, poll_interval=0.05)
        assert longer.status == "success"
        assert probe(client.download(media.id, tmp_path / "longer.mp4"))["frames"] == 72
        first = client.download(media.id, tmp_path / "v1.mp4", bullet_version=1)
        assert probe(first)["frames"] == 48
        assert client.credits() == 98


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
        from kinora.spec import InputRef

        row = s.get(Media, media_id)
        gone = InputRef(kind="image", position="First", name="gone.png", key="nowhere/gone.png")
        row.spec = row.spec.with_inputs([gone])
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
    longer = tmp_path / "longer.mp4"
    extended = subprocess.run(
        [KINORA, "extend", media_id, "--duration", "1", "--download", str(longer)],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert extended.returncode == 0, extended.stderr
    assert probe(longer)["frames"] == 48
    bad = subprocess.run(
        [KINORA, "create", "--prompt", "x", "--key", "kin_wrong"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 1 and "UNAUTHORIZED" in bad.stderr


# --------------------------------------------------------------------------- the API's names


@pytest.fixture(scope="module")
def private_live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server that may fetch loopback URLs (the fake external host stands in for the web)."""
    server = launch_server(
        tmp_path_factory.mktemp("private") / "data",
        KINORA_ALLOW_PRIVATE_URLS="1",
        KINORA_WEBHOOK_RETRY_DELAYS="0.1",
    )
    yield server
    server.stop()


def rendered_spec(media: Media) -> dict[str, Any]:
    """What the server rendered: the spec it stored with the latest generation's history."""
    return dict(media.raw["video_history"][-1]["spec"])


def given(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def test_create_sends_the_api_names(
    private_live: LiveServer, fake_external_host: FileServer
) -> None:
    host = fake_external_host
    with Client(private_live.base_url, private_live.key()) as client:
        media = client.create(
            image_urls=[host.url("astronaut.png"), host.url("rocket.jpg")],
            prompt="a slow drift",
            negative_prompt="blurry, text",
            motion_type="Auto",
            camera_control="Zoom in",
            duration=1,
            loop=2,
            motion_range=3,
            seed=1234,
            aspect_ratio="1:1",
            native_audio=False,
            title="two urls",
            description="from the fake host",
            visibility_status=2,
            webhook_url=host.url("hook"),
            metadata={"order": 7},
        )
        raw = media.raw
        assert raw["is_transition"] == "Yes"
        assert [f["FileName"] for f in raw["file_map"]] == ["astronaut.png", "rocket.jpg"]
        assert raw["pose_preset"] == {
            "MotionType": "Auto",
            "Params": "Prompt=a slow drift|CameraPath=Zoom in|Quantity=1|MotionAmount=3"
            "|MotionLength=1|Loop=2|AspectRatio=1:1",
        }
        assert (raw["title"], raw["description"], raw["visibility_status"]) == (
            "two urls",
            "from the fake host",
            "2",
        )
        assert raw["webhook_url"] == host.url("hook") and raw["metadata"] == {"order": 7}
        done = client.wait(media.id, poll_interval=0.1)
        spec = rendered_spec(done)
        assert spec["negative_prompt"] == "blurry, text" and spec["prompt"] == "a slow drift"
        assert spec["seeds"] == [1234] and done.videos[0].seed == 1234
        assert (spec["camera_control"], spec["motion_range"], spec["loop"]) == ("Zoom in", 3, 2)
        assert (spec["aspect_ratio"], spec["native_audio"]) == ("1:1", False)
        assert [i["name"] for i in spec["inputs"]] == ["astronaut.png", "rocket.jpg"]
        assert done.raw["video_history"][0]["resolution"] == [256, 256]


def test_media_items_and_every_image_file_form(
    private_live: LiveServer, fake_external_host: FileServer, testdata: Path
) -> None:
    host = fake_external_host
    with Client(private_live.base_url, private_live.key()) as client:
        typed = client.create(
            media_items=[
                MediaItem.image(host.url("coffee.png"), "Last"),
                {"type": "image", "url": host.url("chelsea.png"), "position": "First"},
            ],
            duration=1,
        )
        assert typed.raw["is_transition"] == "Yes"
        assert [f["FileName"] for f in typed.raw["file_map"]] == ["chelsea.png", "coffee.png"]
        one = client.create(media_items={"type": "image", "url": host.url("rocket.jpg")}, seed=5)
        assert [f["FileName"] for f in one.raw["file_map"]] == ["rocket.jpg"]

        rocket = (testdata / "rocket.jpg").read_bytes()
        with (testdata / "chelsea.png").open("rb") as handle:
            mixed = client.create(image_files=[("start.jpg", rocket), handle], duration=1)
        assert [f["FileName"] for f in mixed.raw["file_map"]] == ["start.jpg", "chelsea.png"]
        single = client.create(testdata / "coffee.png", camera="Pan left", aspect="16:9")
        assert [f["FileName"] for f in single.raw["file_map"]] == ["coffee.png"]
        assert "CameraPath=Pan left" in single.raw["pose_preset"]["Params"]
        assert "AspectRatio=16:9" in single.raw["pose_preset"]["Params"]
        unnamed = client.create([io.BytesIO((testdata / "astronaut.png").read_bytes())])
        assert [f["FileName"] for f in unnamed.raw["file_map"]] == ["image_0.png"]
        for media in (typed, one, mixed, single, unnamed):
            client.delete(media.id)  # what the server took in is all that matters here


def test_audio_character_and_try_on_fields(private_live: LiveServer, testdata: Path) -> None:
    with Client(private_live.base_url, private_live.key()) as client:
        spoken = client.create(
            prompt="a harbour",
            narration="Hello there",
            narrator="Sarah",
            bg_music_prompt="soft piano",
            native_audio=True,
            duration=1,
        )
        assert spoken.raw["submit_params"]["native_audio"] is True
        person = client.create(
            [testdata / "astronaut.png", testdata / "coffee.png"],
            character_animate=True,
            audio_option=AudioOption(narrator="Rachel", bg_music_prompt="drums"),
            duration=1,
        )
        # model reaches the server by its name: it is checked, not refused as unknown.
        with pytest.raises(APIError, match="model applies to motion_type TryOnVideo only"):
            client.create([testdata / "astronaut.png"], model="FashnTryOn")
        try_on = client.create(
            [testdata / "astronaut.png", testdata / "coffee.png"],
            motion_type="TryOnVideo",
            model="FashnTryOn",
            duration=1,
        )
        assert try_on.raw["pose_preset"]["MotionType"] == "TryOnVideo"
        spec = rendered_spec(client.wait(spoken.id, poll_interval=0.1, timeout=300))
        assert given(spec["audio"]) == {
            "narration": "Hello there",
            "narrator": "Sarah",
            "bg_music_prompt": "soft piano",
        }
        assert spec["native_audio"] is True
        spec = rendered_spec(client.wait(person.id, poll_interval=0.1, timeout=300))
        assert given(spec["audio"]) == {"narrator": "Rachel", "bg_music_prompt": "drums"}
        assert spec["character_animate"] is True


def test_update_and_edit_send_the_api_names(private_live: LiveServer) -> None:
    with Client(private_live.base_url, private_live.key()) as client:
        media = client.wait(client.create(prompt="a red kite", duration=1).id, poll_interval=0.1)
        edited = client.edit(
            media.id,
            negative_prompt="fog",
            seed=77,
            camera_control="Pan left",
            title="renamed",
        )
        assert edited.title == "renamed" and edited.status == "queue_bullet"
        done = client.wait(media.id, poll_interval=0.1)
        spec = rendered_spec(done)
        assert spec["negative_prompt"] == "fog" and spec["seeds"] == [77]
        assert spec["camera_control"] == "Pan left" and spec["prompt"] == "a red kite"
        assert done.raw["video_history"][-1]["service_seeds"] == [77]
        updated = client.update(media.id, visibility_status=0, rating=5, metadata={"k": 1})
        assert updated.raw["visibility_status"] == "0" and updated.raw["rating"] == "5"
        assert updated.raw["metadata"] == {"k": 1} and updated.status == "success"
        assert updated.raw["bullet_version"] == "2"  # record fields only: no third render


def test_async_client_sends_the_api_names(private_live: LiveServer, testdata: Path) -> None:
    async def main() -> None:
        async with AsyncClient(private_live.base_url, private_live.key()) as client:
            fields: dict[str, Any] = {"negative_prompt": "no rain", "motion_range": 2}
            media = await client.create(
                image_files=testdata / "chelsea.png",
                duration=1,
                idempotency_key="async-api-names",
                **fields,
            )
            assert [f["FileName"] for f in media.raw["file_map"]] == ["chelsea.png"]
            again = await client.create(
                image_files=testdata / "chelsea.png",
                duration=1,
                idempotency_key="async-api-names",
                **fields,
            )
            assert again.id == media.id  # the same request, so the same answer
            first = rendered_spec(await client.wait(media.id, poll_interval=0.1))
            assert first["negative_prompt"] == "no rain" and first["motion_range"] == 2
            edited = await client.update(media.id, negative_prompt="no snow")
            assert edited.status == "queue_bullet"
            second = rendered_spec(await client.wait(media.id, poll_interval=0.1))
            assert second["negative_prompt"] == "no snow" and second["motion_range"] == 2
            with pytest.raises(TypeError, match="did you mean 'motion_range'"):
                await client.create(motion_rang=3)  # type: ignore[call-arg]

    asyncio.run(main())


def test_unknown_names_raise_before_anything_is_sent() -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"data": {"id": "m1", "processing_status": "success"}})

    client = Client("http://kinora.test", "kin_x", transport=httpx.MockTransport(handler))
    cases: list[tuple[dict[str, Any], str]] = [
        ({"negative_promt": "x"}, "'negative_promt'; did you mean 'negative_prompt'?"),
        ({"negativePrompt": "x"}, "did you mean 'negative_prompt'?"),
        ({"image_url": "https://a/b.png"}, "did you mean 'image_urls'?"),
        ({"webhook": "https://a/hook"}, "did you mean 'webhook_url'?"),
        ({"rating": "5"}, "rating is set by update() or edit(), not create()"),
        ({"xyzzy": 1}, "the API's fields are: aspect_ratio, audio_option, bg_music_prompt"),
        ({"camera": "Zoom in", "camera_control": "Pan left"}, "both 'camera_control' and"),
        ({"quantity": [2]}, "quantity must be an int, not list"),
        ({"media_items": ["https://a/b.png"]}, "media_items takes a dict (or MediaItem)"),
    ]
    for fields, message in cases:
        with pytest.raises(TypeError) as caught:
            client.create(**fields)
        assert message in str(caught.value), (fields, caught.value)
    with pytest.raises(TypeError, match="images twice"):
        client.create(["a.png"], image_files=["b.png"])
    with pytest.raises(TypeError, match="create\\(\\) only; send new inputs as media_items"):
        client.edit("m1", image_urls=["https://a/b.png"])
    with pytest.raises(TypeError, match="update\\(\\) got an unexpected keyword argument 'seeds'"):
        client.update("m1", seeds=[1])  # type: ignore[call-arg]
    assert sent == []

    # What a valid call puts on the wire: the spec's form encoding.
    client.create(
        image_urls=["https://a/1.png", "https://a/2.png"],
        media_items=[MediaItem.video("https://a/v.mp4")],
        native_audio=True,
        camera=None,  # None: not sent
        audio_option=AudioOption(narrator="Aria"),
    )
    form = urllib.parse.parse_qs(sent[0].content.decode())
    assert form == {
        "image_urls": ["https://a/1.png", "https://a/2.png"],
        "media_items": ['[{"type": "video", "url": "https://a/v.mp4", "position": "First"}]'],
        "native_audio": ["True"],
        "audio_option": ['{"narrator": "Aria"}'],
    }


def test_client_names_match_the_server_request_models() -> None:
    from kinora.api.schemas import MediaCreate, MediaUpdate

    assert set(CREATE_FIELDS) == set(MediaCreate.model_fields) | {"image_files"}
    assert set(UPDATE_FIELDS) == set(MediaUpdate.model_fields)


def test_the_client_imports_without_the_server() -> None:
    code = (
        "import sys, kinora, kinora.client; "
        "heavy = {'fastapi', 'sqlalchemy', 'starlette', 'numpy', 'pydantic', 'huey'}; "
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
