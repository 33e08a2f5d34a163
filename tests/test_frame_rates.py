"""Frame rates (``fps``): built-in renders at the asked rate, and clips brought up to it by
optical flow, never by repeating frames."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from kinora.engines.base import RenderConfig
from kinora.engines.morph.tween import tween
from kinora.engines.providers.base import retime
from kinora.video.encode import Mp4Writer, iter_frames, probe, read_frames
from tests.conftest import Api


def _repeats(frames: list[np.ndarray]) -> int:
    return sum(np.array_equal(a, b) for a, b in itertools.pairwise(frames))


def test_a_60_fps_photo_render_through_the_api(
    api_factory: Callable[..., Api], testdata: Path, tmp_path: Path
) -> None:
    # (at 640 px: at the tests' usual 256 px a camera step of a twentieth of a pixel can
    # encode to the same picture)
    api = api_factory(output_long_side=640)
    photo = (testdata / "coffee.png").read_bytes()
    r = api.client.post(
        "/media",
        files=[("image_files", ("coffee.png", photo, "image/png"))],
        data={"duration": "1", "fps": "60", "camera_control": "Orbit right"},
        headers=api.headers(),
    )
    assert r.status_code == 200, r.text
    media = api.wait(r.json()["data"]["id"])
    assert media["processing_status"] == "success", media
    config = media["video_history"][-1]["engine_config"]["configs"][0]
    assert config["fps"] == 60
    mp4 = api.client.get(f"/media/{media['id']}/download", headers=api.headers())
    (tmp_path / "v.mp4").write_bytes(mp4.content)
    info = probe(tmp_path / "v.mp4")
    assert info["fps"] == 60 and info["frames"] == 60
    assert _repeats(read_frames(tmp_path / "v.mp4")) == 0


def test_an_unknown_frame_rate_is_refused(api: Api) -> None:
    before = api.client.get("/credits", headers=api.headers()).json()
    r = api.client.post("/media", data={"prompt": "a red kite", "fps": "61"}, headers=api.headers())
    assert r.status_code == 422, r.text
    assert "24, 25, 30, 48, 50, 60" in r.text
    assert api.client.get("/credits", headers=api.headers()).json() == before


def test_flow_brings_a_real_clip_back_to_its_own_rate(testdata: Path) -> None:
    """Every other frame of a film clip dropped, then made again: the made frames are closer
    to the real ones than repeating a neighbour would be, and none repeats."""
    clip = testdata / "big_buck_bunny_0_30.webm"
    real = [cv2.resize(f, (320, 180), interpolation=cv2.INTER_AREA) for f in _frames(clip, 49)]
    kept = real[::2]  # 25 frames
    made = list(tween(iter(kept), len(kept), len(real)))
    assert len(made) == len(real) and _repeats(made) == 0
    for i in range(0, len(real), 2):
        assert np.array_equal(made[i], real[i])  # the kept frames pass through untouched
    gain = [
        cv2.PSNR(made[i], real[i]) - cv2.PSNR(real[i - 1], real[i])
        for i in range(1, len(real), 2)
        if not np.array_equal(real[i - 1], real[i])
    ]
    assert np.median(gain) > 1.0, gain


def test_a_providers_12_fps_video_at_60_fps_repeats_no_frame(
    testdata: Path, tmp_path: Path
) -> None:
    """What a provider sends (a 12 fps clip; a stand-in made from the film clip) retimed to a
    60 fps render: 60 frames, the first and last the clip's own, none a repeat."""
    path = tmp_path / "provider.mp4"
    source = _frames(testdata / "big_buck_bunny_0_30.webm", 24)[::2]
    with Mp4Writer(path, width=320, height=180, fps=12) as writer:
        for frame in source:
            writer.write(cv2.resize(frame, (320, 180), interpolation=cv2.INTER_AREA))
    config = RenderConfig(width=320, height=180, fps=60, duration=1.0)
    frames = list(retime(path, config))
    assert len(frames) == config.total_frames == 60
    assert _repeats(frames) == 0
    decoded = read_frames(path)
    assert np.array_equal(frames[0], decoded[0]) and np.array_equal(frames[-1], decoded[-1])


def _frames(path: Path, count: int, start: int = 400) -> list[np.ndarray]:
    """``count`` frames from ``start`` (past the film's fade from black, into its motion)."""
    out = []
    for index, frame in enumerate(iter_frames(path)):
        if index < start:
            continue
        out.append(frame)
        if len(out) == count:
            break
    return out
