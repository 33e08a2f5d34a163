"""An extension on a hosted provider (issue 20): the provider gets the video's last frame as
its first frame, and its colours are matched to that frame across the join. Against fal's
loopback stand-in (its documented queue protocol), whose video is the frame it was sent with
its colours shifted, as real models often return it."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from kinora.video.encode import Mp4Writer, read_frames
from tests.conftest import Api
from tests.plugins.standins import KEY, StandIn

SHIFT = np.array([40, -10, -30], np.int16)


def _shifted_clip(frame: np.ndarray, frames: int = 24) -> bytes:
    """``frame`` with its colours shifted, held for a second (what the stand-in serves)."""
    shifted = np.clip(frame.astype(np.int16) + SHIFT, 0, 255).astype(np.uint8)
    h, w = shifted.shape[:2]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clip.mp4"
        with Mp4Writer(path, width=w, height=h, fps=24) as writer:
            for _ in range(frames):
                writer.write(shifted)
        return path.read_bytes()


def test_a_provider_extension_starts_from_the_last_frame_in_its_colours(
    plugin_api: Callable[..., Api], stand_in: Callable[..., StandIn], testdata: Path
) -> None:
    server = stand_in("fal")
    api = plugin_api(
        fal_api_key=KEY,
        presets="off",
        engine_routes="KlingAI=fal:fal-ai/kling-video/v2.1/standard/image-to-video",
        provider_base_urls=f"fal={server.base_url}",
        provider_poll_seconds=0.02,
    )
    photo = testdata / "astronaut.png"
    r = api.client.post(
        "/media",
        data={"duration": "1", "camera_control": "Zoom in", "motion_type": "PicoMotion"},
        files=[("image_files", (photo.name, photo.read_bytes(), "image/png"))],
        headers=api.headers(),
    )
    assert r.status_code == 200, r.text
    media = api.wait(r.json()["data"]["id"], timeout=180)
    assert media["processing_status"] == "success" and media["service_name"] == "kinora-parallax"
    first = api.client.get(f"/media/{media['id']}/download", headers=api.headers()).content
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "first.mp4").write_bytes(first)
        first_frames = read_frames(Path(tmp) / "first.mp4")
    last = first_frames[-1]
    server.video = _shifted_clip(last)
    r = api.client.post(
        f"/media/{media['id']}/extend",
        json={"duration": 1, "motion_type": "KlingAI"},
        headers=api.headers(),
    )
    assert r.status_code == 200, r.text
    extended = api.wait(media["id"], timeout=180)
    assert extended["processing_status"] == "success", extended["error"]
    assert extended["service_name"] == "fal"
    # the provider was sent the last frame as its first frame
    [submit] = [c for c in server.calls if c.method == "POST"]
    assert str(submit.body.get("image_url", "")).startswith("data:image/")
    out = api.client.get(f"/media/{media['id']}/download", headers=api.headers()).content
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "out.mp4").write_bytes(out)
        frames = read_frames(Path(tmp) / "out.mp4")
    n = len(first_frames)
    assert len(frames) == n + 24
    before = last.reshape(-1, 3).astype(np.float64).mean(axis=0)
    after = frames[n].reshape(-1, 3).astype(np.float64).mean(axis=0)
    served = np.clip(last.astype(np.int16) + SHIFT, 0, 255).reshape(-1, 3).mean(axis=0)
    assert np.abs(served - before).max() > 20  # what the provider sent back is off
    assert np.abs(after - before).max() < 4, (before, after)  # matched across the join
