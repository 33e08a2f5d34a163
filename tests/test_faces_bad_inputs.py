"""Issue 18's two gaps: a bad driving video sent as a ``media_items`` item (refused at create,
naming the field, nothing stored or charged), and narration on a photo nobody is in (the
media succeeds with its soundtrack; the history entry says lip sync found no face)."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import av
import pytest

from kinora.inputs.decode import MAX_DRIVER_SECONDS
from kinora.pipeline.sound import NO_FACE
from kinora.video.encode import probe
from tests.conftest import Api, FileServer
from tests.engines.engine_helpers import opencv_doc
from tests.test_api_errors import assert_422, media_count
from tests.test_driving_video import _download, _video
from tests.test_lipsync_api import create


def _frameless() -> bytes:
    """An AVI with a 64x64 video stream and not one frame in it. (An MP4 or Matroska file
    written the same way reads back as having no video stream, or not at all.)"""
    out = io.BytesIO()
    with av.open(out, "w", format="avi") as container:
        stream = container.add_stream("mpeg4", rate=24)
        stream.width = stream.height = 64
        stream.pix_fmt = "yuv420p"
        container.start_encoding()  # the header (with the stream) even though nothing follows
    return out.getvalue()


@pytest.mark.parametrize(
    ("problem", "message"),
    [
        ("too long", f"a driving video may last {MAX_DRIVER_SECONDS:.0f} s"),
        ("corrupt", "not a readable video"),
        ("no frames", "the video has no frames"),
    ],
)
def test_a_bad_driving_video_in_media_items_is_refused_and_charges_nothing(
    api_factory: Callable[..., Api],
    fake_external_host: FileServer,
    tmp_path: Path,
    problem: str,
    message: str,
) -> None:
    api = api_factory(allow_private_urls=True)
    video = {
        "too long": lambda: _video(tmp_path / "long.mp4", MAX_DRIVER_SECONDS + 4, fps=4),
        "corrupt": lambda: b"\0\0\0\x18ftypmp42" + b"\x13" * 4000,
        "no frames": _frameless,
    }[problem]()
    (fake_external_host.root / "driver.video").write_bytes(video)
    items = [
        {"type": "image", "url": fake_external_host.url("coffee.png"), "position": "First"},
        {"type": "video", "url": fake_external_host.url("driver.video"), "position": "Last"},
    ]
    before = api.credits()
    r = api.client.post(
        "/media",
        data={"character_animate": "true", "duration": "2", "media_items": json.dumps(items)},
        headers=api.headers(),
    )
    assert_422(api, r, "media_items")
    # the video item itself is named, and for its own fault (not, say, a failed fetch)
    [error] = [d for d in r.json()["detail"] if "media_items" in [str(x) for x in d["loc"]]]
    assert error["loc"][:3] == ["body", "media_items", 1], error
    assert message in error["msg"], error
    assert api.credits() == before
    assert api.client.get("/media", headers=api.headers()).json()["data"] == []
    assert media_count(api) == 0
    assert [p for p in api.settings.media_dir.rglob("*") if p.is_file()] == []


def test_narration_on_a_photo_without_a_face_plays_without_lip_sync(
    api: Api, tmp_path: Path
) -> None:
    fruits = opencv_doc("examples/data/fruits.jpg")  # a real photo, nobody in it
    media = create(api, fruits, "Fresh fruit, picked this morning.")
    entry = media["video_history"][-1]
    assert NO_FACE.to_dict() in entry["ignored"], entry["ignored"]
    assert "no face" in NO_FACE.reason
    assert "lip_sync" not in entry["engine_config"]["configs"][0]
    assert "audio_codec" in probe(_download(api, media, tmp_path))
