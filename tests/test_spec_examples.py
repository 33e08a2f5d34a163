"""Every Python example of ../shared/spec/vimmerse-media-api.txt, run against a live server.

The example code is kept verbatim below (the spec's text lost its indentation; it is restored);
only the base URL, the key, MEDIA_ID and file paths are substituted, as a user would.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import FileServer, LiveServer, launch_server

MORPH = """
import requests
url = "https://api.vimmerse.net/media"
payload = {
'title': 'Morph Animation',
'description': 'Transition between two scenes'
}
files=[
('image_files', ('start_frame.png', open('path/to/start_frame.png', 'rb'), 'image/png')),
('image_files', ('end_frame.png', open('path/to/end_frame.png', 'rb'), 'image/png'))
]
headers = {
'X-Api-Key': 'YOUR_API_KEY'
}
response = requests.request("POST", url, headers=headers, data=payload, files=files)
print(response.text)
"""

CHARACTER = """
import requests
url = "https://api.vimmerse.net/media"
payload = {
'title': 'Character Animation',
'image_urls': [
'https://example.com/character1.png',
'https://example.com/character2.png'
],
'motion_type': 'KlingAI',
'quantity': 2, # Generate 2 variations
'duration': 8, # 8 seconds long
'native_audio': True
}
headers = {
'X-Api-Key': 'YOUR_API_KEY'
}
response = requests.request("POST", url, headers=headers, data=payload)
print(response.text)
"""

TEXT = """
import requests
url = "https://api.vimmerse.net/media"
payload = {
'title': 'AI Generated Video',
'prompt': 'A cute bunny jumping through a magical forest with sparkling fairy dust',
'native_audio': True,
'bg_music_prompt': 'Gentle, magical background music with chimes',
'duration': 5,
'webhook_url': 'https://your-domain.com/webhook'
}
headers = {
'X-Api-Key': 'YOUR_API_KEY'
}
response = requests.request("POST", url, headers=headers, data=payload)
print(response.text)
"""

STATUS = """
import requests
import time
def check_media_status(media_id):
    url = f"https://api.vimmerse.net/media/{media_id}/processing-status"
    headers = {'X-Api-Key': 'YOUR_API_KEY'}
    while True:
        response = requests.request("GET", url, headers=headers)
        status = response.json()['data']
        print(f"Progress: {status['progress_percentage']}%")
        print(f"Status: {status['processing_status']}")
        if status['processing_status'] in ['success', 'fail']:
            break
        time.sleep(10) # Check every 10 seconds
check_media_status('MEDIA_ID')
"""

GET = """
import requests
url = "https://api.vimmerse.net/media/{MEDIA_ID}"
headers = {
'X-Api-Key': 'YOUR_API_KEY'
}
response = requests.request("GET", url, headers=headers)
media_data = response.json()
# Access the result videos
if media_data['data']['processing_status'] == 'success':
    videos = media_data['data']['result']
    print(f"Generated {len(videos)} video(s)")
    for video in videos:
        print(f"Video URL: {video['url']}")
"""

EDIT_METADATA = """
import requests
url = "https://api.vimmerse.net/media/{MEDIA_ID}/edit"
headers = {
'X-Api-Key':'YOUR_API_KEY',
}
payload = {
'title': 'Updated Product Video',
'description': 'New description text',
'rating': '5',
'visibility_status': '2' # Make public
}
response = requests.request("PUT", url, headers=headers, data=payload)
print(response.text)
"""

EDIT_REGENERATE = """
import requests
url = "https://api.vimmerse.net/media/{MEDIA_ID}/edit"
headers = {
'X-Api-Key': 'YOUR_API_KEY',
}
payload = {
'title': 'Updated Video',
'motion_type': 'RunwayML', # Triggers regeneration
'duration': 9, # Triggers regeneration
'native_audio': True # Triggers regeneration
}
response = requests.request("PUT", url, headers=headers, data=payload)
print(response.text)
"""

DOWNLOAD = """
import requests
url = "https://api.vimmerse.net/media/{MEDIA_ID}/download?object_type=bullet_video_mp4&motion_type=Auto"
headers = {
'X-Api-Key': 'YOUR_API_KEY'
}
response = requests.request("GET", url, headers=headers)
print(response.text)
"""

DOWNLOAD_CUSTOM = """
import requests
url = "https://api.vimmerse.net/media/{MEDIA_ID}/download?object_type=bullet_video_mp4&motion_type=Auto&width=1080&file_size=4"
headers = {
'X-Api-Key': 'YOUR_API_KEY'
}
response = requests.request("GET", url, headers=headers)
print(response.text)
"""

PROCESS = """
import requests
url = "https://api.vimmerse.net/media/{MEDIA_ID}/process"
headers = {
'X-Api-Key': 'YOUR_API_KEY'
}
# Send POST request with empty body
response = requests.request("POST", url, headers=headers)
print(response.text)
"""


def run_example(code: str, *, base: str, key: str, media_id: str = "", **replace: str) -> str:
    code = code.replace("https://api.vimmerse.net", base).replace("YOUR_API_KEY", key)
    code = code.replace("{MEDIA_ID}", media_id).replace("'MEDIA_ID'", repr(media_id))
    for old, new in replace.items():
        code = code.replace(old, new)
    out = io.StringIO()
    captured: list[Any] = []
    real_request = __import__("requests").request

    def recording_request(*args: Any, **kwargs: Any) -> Any:
        response = real_request(*args, **kwargs)
        captured.append(response)
        return response

    import requests

    requests.request = recording_request
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(code, "<spec example>", "exec"), {})
    finally:
        requests.request = real_request
    run_example.last_responses = captured  # type: ignore[attr-defined]
    return out.getvalue()


def wait_done(server: LiveServer, media_id: str, timeout: float = 180) -> dict[str, Any]:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        # 30 s, not httpx's 5: processing-status stalled past 5 s during a text render with
        # music on a loaded 2-core machine (see the session 5 note; issue 21 owns its latency).
        url = f"{server.base_url}/media/{media_id}/processing-status"
        status = httpx.get(url, timeout=30).json()["data"]
        if status["processing_status"] in ("success", "fail"):
            return dict(status)
        time.sleep(0.2)
    raise AssertionError("media did not finish")


def get_media(server: LiveServer, key: str, media_id: str) -> dict[str, Any]:
    r = httpx.get(f"{server.base_url}/media/{media_id}", headers={"X-Api-Key": key})
    assert r.status_code == 200, r.text
    return dict(r.json()["data"])


@pytest.fixture
def spec_files(tmp_path: Path, testdata: Path) -> dict[str, str]:
    start, end = tmp_path / "start_frame.png", tmp_path / "end_frame.png"
    shutil.copy(testdata / "chelsea.png", start)
    shutil.copy(testdata / "coffee.png", end)
    return {"path/to/start_frame.png": str(start), "path/to/end_frame.png": str(end)}


@pytest.fixture(scope="module")
def finished_morph(live: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A key and a finished two-image media made by the morph example."""
    tmp = tmp_path_factory.mktemp("morph")
    testdata = Path(__file__).resolve().parents[1].parent / "shared" / "testdata"
    shutil.copy(testdata / "chelsea.png", tmp / "s.png")
    shutil.copy(testdata / "coffee.png", tmp / "e.png")
    key = live.key(credits=20)
    out = run_example(
        MORPH,
        base=live.base_url,
        key=key,
        **{
            "path/to/start_frame.png": str(tmp / "s.png"),
            "path/to/end_frame.png": str(tmp / "e.png"),
        },
    )
    media_id = json.loads(out)["data"]["id"]
    assert wait_done(live, media_id)["processing_status"] == "success"
    return key, media_id


def test_morph_example_creates_a_transition(live: LiveServer, spec_files: dict[str, str]) -> None:
    key = live.key(credits=5)
    out = run_example(MORPH, base=live.base_url, key=key, **spec_files)
    data = json.loads(out)["data"]
    assert data["title"] == "Morph Animation"
    assert data["description"] == "Transition between two scenes"
    assert data["is_transition"] == "Yes"
    assert data["processing_status"] == "queue_bullet"
    assert [f["FileName"] for f in data["file_map"]] == ["start_frame.png", "end_frame.png"]
    assert wait_done(live, data["id"])["processing_status"] == "success"
    media = get_media(live, key, data["id"])
    assert media["service_name"] == "kinora-morph"
    assert len(media["result"]) == 1


def test_image_urls_example_with_fake_external_host(
    tmp_path: Path, fake_external_host: FileServer
) -> None:
    """example.com is faked by a loopback file server, so private URLs are allowed here."""
    server = launch_server(tmp_path / "data", KINORA_ALLOW_PRIVATE_URLS="1")
    try:
        key = server.key(credits=10)
        out = run_example(
            CHARACTER,
            base=server.base_url,
            key=key,
            **{
                "https://example.com/character1.png": fake_external_host.url("astronaut.png"),
                "https://example.com/character2.png": fake_external_host.url("rocket.jpg"),
            },
        )
        data = json.loads(out)["data"]
        assert data["is_transition"] == "Yes"
        assert data["pose_preset"]["MotionType"] == "KlingAI"
        assert "Quantity=2" in data["pose_preset"]["Params"]
        assert "MotionLength=8" in data["pose_preset"]["Params"]
        assert data["submit_params"]["native_audio"] is True
        # 2 videos of 8 s: 2 credits each.
        credits = httpx.get(f"{server.base_url}/credits", headers={"X-Api-Key": key}).json()
        assert credits["data"]["credits"] == 10 - 4
        assert wait_done(server, data["id"], timeout=300)["processing_status"] == "success"
        media = get_media(server, key, data["id"])
        assert len(media["result"]) == 2
        assert media["result"][0]["seed"] != media["result"][1]["seed"]
        assert all(abs(v["duration"] - 8) < 0.1 for v in media["result"])
        # KlingAI is not configured here: the built-in engine ran and says so.
        assert media["service_name"] == "kinora-morph"
        assert media["video_history"][0]["service_seeds"] == [v["seed"] for v in media["result"]]
    finally:
        server.stop()


def test_text_example_accepts_prompt_music_and_webhook(live: LiveServer) -> None:
    key = live.key(credits=5)
    out = run_example(TEXT, base=live.base_url, key=key)
    data = json.loads(out)["data"]
    assert data["title"] == "AI Generated Video"
    assert data["webhook_url"] == "https://your-domain.com/webhook"
    assert "Prompt=A cute bunny jumping" in data["pose_preset"]["Params"]
    assert wait_done(live, data["id"])["processing_status"] == "success"
    assert get_media(live, key, data["id"])["service_name"] == "kinora-scene"


def test_status_example_polls_until_done(live: LiveServer, finished_morph: tuple[str, str]) -> None:
    key, media_id = finished_morph
    out = run_example(STATUS, base=live.base_url, key=key, media_id=media_id)
    assert out.splitlines() == ["Progress: 100%", "Status: success"]


def test_get_example_lists_video_urls(live: LiveServer, finished_morph: tuple[str, str]) -> None:
    key, media_id = finished_morph
    out = run_example(GET, base=live.base_url, key=key, media_id=media_id)
    lines = out.splitlines()
    assert lines[0] == "Generated 1 video(s)"
    url = lines[1].removeprefix("Video URL: ")
    video = httpx.get(url)  # signed: no key needed
    assert video.status_code == 200
    assert video.headers["content-type"] == "video/mp4"
    assert video.content[4:8] == b"ftyp"


def test_edit_metadata_example_is_free(live: LiveServer, finished_morph: tuple[str, str]) -> None:
    key, media_id = finished_morph
    before = httpx.get(f"{live.base_url}/credits", headers={"X-Api-Key": key}).json()
    out = run_example(EDIT_METADATA, base=live.base_url, key=key, media_id=media_id)
    data = json.loads(out)["data"]
    assert (data["title"], data["description"], data["rating"], data["visibility_status"]) == (
        "Updated Product Video",
        "New description text",
        "5",
        "2",
    )
    assert data["processing_status"] == "success"
    after = httpx.get(f"{live.base_url}/credits", headers={"X-Api-Key": key}).json()
    assert after == before


def test_download_examples_return_mp4(live: LiveServer, finished_morph: tuple[str, str]) -> None:
    key, media_id = finished_morph
    run_example(DOWNLOAD, base=live.base_url, key=key, media_id=media_id)
    response = run_example.last_responses[-1]  # type: ignore[attr-defined]
    assert response.status_code == 200
    assert response.headers["content-type"] == "video/mp4"
    assert response.content[4:8] == b"ftyp"
    run_example(DOWNLOAD_CUSTOM, base=live.base_url, key=key, media_id=media_id)
    custom = run_example.last_responses[-1]  # type: ignore[attr-defined]
    assert custom.status_code == 200
    assert len(custom.content) <= 4 * 1024 * 1024


def test_edit_regenerate_and_process_examples_charge(
    live: LiveServer, spec_files: dict[str, str]
) -> None:
    key = live.key(credits=10)
    media_id = json.loads(run_example(MORPH, base=live.base_url, key=key, **spec_files))["data"][
        "id"
    ]
    wait_done(live, media_id)
    out = run_example(EDIT_REGENERATE, base=live.base_url, key=key, media_id=media_id)
    data = json.loads(out)["data"]
    assert data["title"] == "Updated Video"
    assert data["processing_status"] == "queue_bullet"
    assert data["pose_preset"]["MotionType"] == "RunwayML"
    assert wait_done(live, media_id)["processing_status"] == "success"
    media = get_media(live, key, media_id)
    assert media["bullet_version"] == "2"
    assert len(media["video_history"]) == 2
    assert abs(media["result"][0]["duration"] - 9) < 0.1
    credits = httpx.get(f"{live.base_url}/credits", headers={"X-Api-Key": key}).json()
    assert credits["data"]["credits"] == 10 - 1 - 2
    out = run_example(PROCESS, base=live.base_url, key=key, media_id=media_id)
    assert json.loads(out)["data"]["processing_status"] == "queue_bullet"
    assert wait_done(live, media_id)["processing_status"] == "success"
    assert get_media(live, key, media_id)["bullet_version"] == "3"
    credits = httpx.get(f"{live.base_url}/credits", headers={"X-Api-Key": key}).json()
    assert credits["data"]["credits"] == 10 - 1 - 2 - 2
