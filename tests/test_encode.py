"""The writer's own RGB->YUV 4:2:0 conversion against swscale's (what PyAV would do)."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np

from kinora.video.encode import Mp4Writer, read_frames, rgb_to_i420


def _swscale(frame: np.ndarray) -> np.ndarray:
    vf = av.VideoFrame.from_ndarray(frame, format="rgb24").reformat(format="yuv420p")
    return np.asarray(vf.to_ndarray(), np.int16)


def test_matches_swscale_on_a_photo_and_on_thin_coloured_lines(testdata: Path) -> None:
    photo = cv2.cvtColor(cv2.imread(str(testdata / "rocket.jpg")), cv2.COLOR_BGR2RGB)
    photo = np.asarray(cv2.resize(photo, (1280, 720)), np.uint8)
    lines = np.zeros((720, 1280, 3), np.uint8)
    lines[1::2, :, 0] = 255  # every other row red: 2x2 blocks must average, not pick one
    for frame in (photo, lines):
        ours = rgb_to_i420(frame).astype(np.int16)
        assert ours.shape == (1080, 1280)
        assert np.abs(ours - _swscale(frame)).mean() < 0.5


def test_written_frames_come_back(tmp_path: Path, testdata: Path) -> None:
    photo = cv2.cvtColor(cv2.imread(str(testdata / "coffee.png")), cv2.COLOR_BGR2RGB)
    frames = [np.asarray(cv2.resize(photo, (320, 240)), np.uint8)] * 6
    with Mp4Writer(tmp_path / "a.mp4", width=320, height=240, fps=12) as w:
        for f in frames:
            w.write(f)
    back = read_frames(tmp_path / "a.mp4")
    assert len(back) == 6
    mse = float(np.mean((back[3].astype(np.float64) - frames[3]) ** 2))
    assert 10 * np.log10(255**2 / mse) > 33  # crf 20 on a detailed photo: swscale's gives 34.4


def test_heights_that_are_not_a_multiple_of_four_come_back_whole(
    tmp_path: Path, testdata: Path
) -> None:
    # 480x270 (16:9 at a 480 long side): PyAV's zero-copy I420 path took 268 rows of it and
    # shifted the chroma, painting the top rows with garbage; RGB and I420 writes both
    photo = cv2.cvtColor(cv2.imread(str(testdata / "coffee.png")), cv2.COLOR_BGR2RGB)
    frame = np.asarray(cv2.resize(photo, (480, 270)), np.uint8)
    for name, i420 in (("rgb.mp4", False), ("i420.mp4", True)):
        with Mp4Writer(tmp_path / name, width=480, height=270, fps=12) as w:
            for _ in range(4):
                w.write_i420(rgb_to_i420(frame)) if i420 else w.write(frame)
        back = read_frames(tmp_path / name)[2]
        assert back.shape == frame.shape
        rows = np.abs(back.astype(np.int16) - frame).mean(axis=(1, 2))
        assert float(rows.max()) < 12, (name, int(rows.argmax()))
