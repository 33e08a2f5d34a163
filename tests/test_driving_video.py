"""character_animate with a driving video: recognised in image_files by its content, checked at
create (too long, corrupt, no frames: a 422 naming the field, nothing stored or charged)."""

from __future__ import annotations

import io
from pathlib import Path

import av
import numpy as np
import pytest

from kinora.inputs.decode import MAX_DRIVER_SECONDS, decode_driver, looks_like_video
from kinora.pipeline.inputs import decode_inputs
from kinora.spec import GenerationSpec, InputRef
from kinora.video.encode import Mp4Writer
from tests.conftest import Api
from tests.test_api_errors import assert_422, media_count


def _video(path: Path, seconds: float, *, fps: int = 12, size: int = 64) -> bytes:
    with Mp4Writer(path, width=size, height=size, fps=fps) as writer:
        for i in range(round(seconds * fps)):
            frame = np.zeros((size, size, 3), np.uint8)
            frame[:, : (i * 3) % size] = 200
            writer.write(frame)
    return path.read_bytes()


def _no_frames() -> bytes:
    """An MP4 with a video stream and not one frame in it."""
    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width = stream.height = 64
    return out.getvalue()


def _post(api: Api, photo: bytes, video: bytes, **fields: str):  # type: ignore[no-untyped-def]
    files = [
        ("image_files", ("person.jpg", photo, "image/jpeg")),
        ("image_files", ("driver.bin", video, "application/octet-stream")),
    ]
    data = {"character_animate": "true", "duration": "2", **fields}
    return api.client.post("/media", data=data, files=files, headers=api.headers())


def test_videos_are_recognised_by_their_first_bytes(tmp_path: Path, testdata: Path) -> None:
    assert looks_like_video(_video(tmp_path / "a.mp4", 0.5))
    assert not looks_like_video((testdata / "coffee.png").read_bytes())
    assert not looks_like_video(b"")


@pytest.mark.parametrize("problem", ["too long", "corrupt", "no frames"])
def test_a_bad_driving_video_is_refused_naming_its_field_and_charges_nothing(
    api: Api, testdata: Path, tmp_path: Path, problem: str
) -> None:
    video = {
        "too long": lambda: _video(tmp_path / "long.mp4", MAX_DRIVER_SECONDS + 4, fps=4),
        "corrupt": lambda: b"\0\0\0\x18ftypmp42" + b"\x13" * 4000,
        "no frames": _no_frames,
    }[problem]()
    before = api.credits()
    r = _post(api, (testdata / "coffee.png").read_bytes(), video)
    assert_422(api, r, "image_files")
    assert media_count(api) == 0 and api.credits() == before
    assert [p for p in api.settings.media_dir.rglob("*") if p.is_file()] == []


def test_a_driving_video_beside_an_image_becomes_the_driver(tmp_path: Path, testdata: Path) -> None:
    clip = tmp_path / "driver.mp4"
    _video(clip, 1.5, fps=12, size=96)
    photo = testdata / "coffee.png"
    spec = GenerationSpec.model_validate(
        {
            "character_animate": True,
            "inputs": [
                InputRef(kind="image", position="First", name="p", key=str(photo)),
                InputRef(kind="video", position="Last", name="d", key=str(clip)),
            ],
        }
    )
    decoded = decode_inputs(spec, Path, max_pixels=40_000_000)
    assert decoded.inputs.driver is not None
    assert len(decoded.inputs.driver.frames) == 18
    assert decoded.lead_out is None and len(decoded.inputs.images) == 1
    # without character_animate the same video is a lead-out, as before
    plain = decode_inputs(
        spec.model_copy(update={"character_animate": False}), Path, max_pixels=40_000_000
    )
    assert plain.inputs.driver is None and plain.lead_out is not None


def test_decode_driver_keeps_every_frame_downscaled(tmp_path: Path) -> None:
    data = _video(tmp_path / "big.mp4", 1.0, fps=10, size=1024)
    clip = decode_driver(data, field="f", max_pixels=40_000_000)
    assert len(clip.frames) == 10
    assert max(clip.frames[0].shape[:2]) <= 480
    assert clip.audio is None


def _megamind_driver(path: Path, *, seconds: float = 1.5, tone: bool = True) -> bytes:
    """A real driving video: Megamind's close-up (OpenCV's sample, frames 204-), with a tone
    as its sound, re-encoded to MP4 at 12 fps."""
    import cv2

    from tests.engines.engine_helpers import opencv_doc

    cap = cv2.VideoCapture(str(opencv_doc("examples/data/Megamind.avi")))
    frames = []
    i = 0
    while len(frames) < round(seconds * 12):
        ok, bgr = cap.read()
        assert ok
        if i >= 204 and i % 2 == 0:
            frames.append(np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)))
        i += 1
    cap.release()
    h, w = frames[0].shape[:2]
    n = round(seconds * 48000)
    t = np.arange(n) / 48000
    audio = np.repeat((0.2 * np.sin(2 * np.pi * 330 * t))[:, None], 2, axis=1).astype(np.float32)
    with Mp4Writer(
        path, width=w - w % 2, height=h - h % 2, fps=12, audio=audio if tone else None
    ) as wr:
        for frame in frames:
            wr.write(np.ascontiguousarray(frame[: h - h % 2, : w - w % 2]))
    return path.read_bytes()


def _download(api: Api, media: dict, tmp_path: Path) -> Path:  # type: ignore[type-arg]
    r = api.client.get(f"/media/{media['id']}/download", headers=api.headers())
    assert r.status_code == 200
    out = tmp_path / f"{media['id']}.mp4"
    out.write_bytes(r.content)
    return out


@pytest.mark.parametrize("keep_sound", [True, False])
def test_the_character_follows_a_driving_video_for_its_length_with_its_sound(
    api_factory,
    testdata: Path,
    tmp_path: Path,
    keep_sound: bool,  # type: ignore[no-untyped-def]
) -> None:
    from kinora.video.encode import probe

    api: Api = api_factory(keep_driver_sound=keep_sound)
    driver = _megamind_driver(tmp_path / "driver.mp4", seconds=1.5)
    r = _post(api, (testdata / "astronaut.png").read_bytes(), driver, loop="2")
    assert r.status_code == 200, r.text
    media = api.wait(r.json()["data"]["id"], timeout=300)
    assert media["processing_status"] == "success", media["error"]
    assert media["service_name"] == "kinora-character"
    entry = media["video_history"][-1]
    ignored = {item["field"] for item in entry["ignored"]}
    assert "character_animate" not in ignored and "loop" in ignored
    config = entry["engine_config"]["configs"][0]
    assert config["character"]["motion"] == "driver"
    assert abs(config["duration"] - 1.5) < 0.1
    info = probe(_download(api, media, tmp_path))
    assert abs(info["duration"] - 1.5) < 0.2
    assert ("audio_codec" in info) is keep_sound
    # the driver's mouth moves the character's (its sound, kept or not, is not narration),
    # so no lip sync runs on top of it
    assert "lip_sync" not in config
    assert config["options"].get("mouth") != "speech"
    notes = [item["reason"] for item in entry["ignored"] if item["field"] == "loop"]
    assert notes and "driving video" in notes[0], notes


def test_a_prompted_performance_runs_on_the_character_engine(api: Api, testdata: Path) -> None:
    files = [("image_files", ("a.png", (testdata / "astronaut.png").read_bytes(), "image/png"))]
    data = {"character_animate": "true", "prompt": "she waves hello", "duration": "1"}
    r = api.client.post("/media", data=data, files=files, headers=api.headers())
    assert r.status_code == 200, r.text
    media = api.wait(r.json()["data"]["id"], timeout=300)
    assert media["processing_status"] == "success", media["error"]
    assert media["service_name"] == "kinora-character"
    entry = media["video_history"][-1]
    assert "character_animate" not in {item["field"] for item in entry["ignored"]}
    assert entry["engine_config"]["configs"][0]["character"]["motion"] == "wave"


def test_a_driving_video_without_anyone_in_it_fails_the_media_and_refunds(
    api: Api, testdata: Path, tmp_path: Path
) -> None:
    before = api.credits()
    r = _post(api, (testdata / "astronaut.png").read_bytes(), _video(tmp_path / "bars.mp4", 1.0))
    assert r.status_code == 200, r.text
    media = api.wait(r.json()["data"]["id"], timeout=300)
    assert media["processing_status"] == "fail"
    assert "driving video" in str(media["error"])
    assert api.credits() == before
