"""Which face speaks when the picture holds two: ``audio_option.speaker`` (largest, left,
right, center), on a real picture of two real portraits side by side, read by the installed
face detector and mesh."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from engine_helpers import MODELS_DIR, load_photo, opencv_doc

from kinora.engines.base import Frame
from kinora.engines.people.landmarks import detect_faces
from kinora.engines.people.lipsync import LipSync

FRAMES = 4


def _rgb(path: str) -> Frame:
    read = cv2.imread(path)
    assert read is not None, path
    return np.asarray(cv2.cvtColor(read, cv2.COLOR_BGR2RGB), np.uint8)


def _panel(image: Frame, width: int, height: int) -> Frame:
    """``image`` cropped to the panel's shape about its middle, then resized."""
    h, w = image.shape[:2]
    scale = min(w / width, h / height)
    cw, ch = int(width * scale), int(height * scale)
    x0, y0 = (w - cw) // 2, max(0, (h - ch) // 3)
    crop = image[y0 : y0 + ch, x0 : x0 + cw]
    return np.asarray(cv2.resize(crop, (width, height), interpolation=cv2.INTER_AREA), np.uint8)


@pytest.fixture(scope="module")
def two_faces() -> Frame:
    """A man in a jacket on the left (the larger face), the astronaut on the right."""
    left = _panel(_rgb(str(opencv_doc("opencv4/html/230501201_1.jpg"))), 320, 480)
    right = _panel(load_photo("astronaut.png"), 320, 480)
    right = np.asarray(cv2.resize(right, (300, 450), interpolation=cv2.INTER_AREA), np.uint8)
    picture = np.zeros((480, 720, 3), np.uint8)
    picture[:] = right[0, 0]
    picture[:, :320] = left
    picture[15:465, 330:630] = right  # nearer the centre than the left face
    return np.ascontiguousarray(picture)


def _changed(picture: Frame, speaker: str | None) -> tuple[int, int]:
    """How many pixels lip sync changed in the left and the right half over the clip."""
    opening = np.full(FRAMES, 0.9, np.float32)
    shape = np.zeros(FRAMES, np.float32)
    kwargs = {} if speaker is None else {"speaker": speaker}
    lip = LipSync(opening, shape, fps=12, models_dir=MODELS_DIR, **kwargs)
    moved = np.zeros(picture.shape[:2], bool)
    for i in range(FRAMES):
        out = lip.apply(picture, i)
        moved |= np.abs(out.astype(np.int16) - picture).max(axis=2) > 8
    assert lip.report.with_face == FRAMES
    return int(moved[:, :320].sum()), int(moved[:, 320:].sum())


def test_the_chosen_face_speaks_and_the_other_stays_still(two_faces: Frame) -> None:
    faces = detect_faces(two_faces, models_dir=MODELS_DIR)
    assert len(faces) >= 2, "both portraits are found"
    centres = [((f.x0 + f.x1) / 2, (f.y0 + f.y1) / 2) for f in faces]
    assert centres[0][0] < 320, "the left face is the larger"
    offsets = [np.hypot(x - 360, y - 240) for x, y in centres[:2]]
    assert offsets[1] < offsets[0], ("the right face is nearer the centre", centres)
    for speaker, speaks in (
        (None, "left"),
        ("largest", "left"),
        ("left", "left"),
        ("right", "right"),
        ("center", "right"),
    ):
        left, right = _changed(two_faces, speaker)
        talking, still = (left, right) if speaks == "left" else (right, left)
        assert talking > 500, (speaker, left, right)
        assert still == 0, (speaker, left, right)


def test_an_unknown_speaker_is_refused() -> None:
    with pytest.raises(ValueError, match="speaker"):
        LipSync(np.zeros(2), np.zeros(2), fps=12, models_dir=MODELS_DIR, speaker="tallest")
