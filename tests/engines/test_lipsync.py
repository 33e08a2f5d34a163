"""Lip sync, measured: the face in a narrated render speaks, under a still and a moving camera.

Renders go through the real pipeline (``prepare`` then ``render_all``: Piper speech, the
one-image engine, the lip-sync filter, the encoder), and the mouth is measured on the decoded
MP4 by the installed face mesh, independent of the filter's own tracking.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from engine_helpers import MODELS_DIR, TESTDATA, load_photo, opencv_doc

from kinora.audio.visemes import loudness_per_frame, visemes_from_audio
from kinora.config import Settings
from kinora.domain.requests import MediaCreate
from kinora.engines.base import Frame
from kinora.engines.people.landmarks import FaceMesh, face_mesh, track_face
from kinora.engines.people.lipsync import FacePose, FaceTrack, animate_face
from kinora.pipeline.render import NO_FACE_RENDERED, RenderOutcome, render_all
from kinora.pipeline.run import Prepared, prepare
from kinora.pipeline.sound import NO_FACE, NOTHING_TO_SYNC
from kinora.spec import InputRef
from kinora.video.encode import read_frames

PORTRAIT = "opencv4/html/230501201_1.jpg"  # the quality corpus' portrait_jacket
NARRATION = "Hello there. My name is Joe. It is a lovely morning."
FPS = 12
"""Half the usual rate: the mouth's syllables still span two or three frames each."""


def prepared(
    tmp_path: Path, photo: Path | None, *, camera: str = "Static", **fields: object
) -> Prepared:
    request = MediaCreate.model_validate(
        {"prompt": "" if photo else "a quiet harbour", "camera_control": camera, **fields}
    )
    spec = request.to_spec()
    if photo is not None:
        ref = InputRef(kind="image", position="First", name=photo.name, key=str(photo))
        spec = spec.with_inputs([ref])
    settings = Settings(data_dir=tmp_path / "data", models_dir=MODELS_DIR, warm_up=False)
    return prepare(spec, Path, settings=settings, long_side=256, fps=FPS, variants=1)


def rendered(tmp_path: Path, ready: Prepared) -> tuple[RenderOutcome, list[Frame]]:
    outcome = render_all(engine=ready.route.engine, job=ready.job, out_dir=tmp_path / "out")
    return outcome, read_frames(outcome.videos[0].path)


def openings(frames: list[Frame]) -> np.ndarray:
    """The inner lips' gap over the face's height in each frame (nan where no face)."""
    previous: FaceMesh | None = None
    out = []
    for frame in frames:
        previous = track_face(frame, previous, models_dir=MODELS_DIR)
        out.append(previous.mouth_opening("face_height") if previous else np.nan)
    return np.array(out)


@pytest.mark.parametrize("camera", ["Static", "Zoom in"])
def test_the_mouth_follows_the_speech(tmp_path: Path, camera: str) -> None:
    ready = prepared(
        tmp_path,
        opencv_doc(PORTRAIT),
        camera=camera,
        audio_option={"narrator": "George", "narration": NARRATION},
    )
    assert ready.job.lip_sync is not None
    assert not [i for i in ready.plan.ignored if i.field == "lip_sync"]
    outcome, frames = rendered(tmp_path, ready)
    speech = ready.audio.speech if ready.audio is not None else None
    assert speech is not None
    loud = loudness_per_frame(
        speech.samples,
        speech.rate,
        fps=FPS,
        frames=len(frames),
        offset_seconds=speech.offset_seconds,
    )
    mouth = openings(frames)
    found = ~np.isnan(mouth)
    assert found.mean() > 0.95
    corr = float(np.corrcoef(mouth[found], np.maximum(loud, -60.0)[found])[0, 1])
    assert corr >= 0.5, corr
    speaking = found & (loud > loud.max() - 20.0)
    pause = found & (loud < -100.0)  # before the speech and in its tail
    assert speaking.sum() > 10 and pause.sum() > 5
    assert mouth[speaking].mean() > 2.0 * mouth[pause].mean() + 0.01
    report = outcome.videos[0].metadata["lip_sync"]
    assert report["frames_with_face"] == len(frames)
    assert report["face_box"] is not None
    assert outcome.ignored == []


def test_no_face_in_the_picture_is_recorded(tmp_path: Path) -> None:
    """A cat: the face detector boxes its face, the face mesh rejects it. (That such a render
    still succeeds: the text render below, which has no face either.)"""
    photo = TESTDATA / "chelsea.png"
    ready = prepared(tmp_path, photo, audio_option={"narrator": "Sarah", "narration": "Hello."})
    assert ready.job.lip_sync is None
    assert NO_FACE in ready.plan.ignored


def test_native_audio_without_speech_has_nothing_to_sync(tmp_path: Path) -> None:
    ready = prepared(tmp_path, opencv_doc(PORTRAIT), native_audio=True)
    assert ready.job.lip_sync is None
    assert NOTHING_TO_SYNC in ready.plan.ignored
    with_speech = prepared(
        tmp_path,
        opencv_doc(PORTRAIT),
        native_audio=True,
        audio_option={"narrator": "George", "narration": "Hi."},
    )
    assert with_speech.job.lip_sync is not None
    assert NOTHING_TO_SYNC not in with_speech.plan.ignored


def test_a_text_render_without_a_face_records_it_and_succeeds(tmp_path: Path) -> None:
    ready = prepared(tmp_path, None, audio_option={"narrator": "George", "narration": "Hi."})
    assert ready.job.lip_sync is not None  # no picture to look at before rendering
    outcome, frames = rendered(tmp_path, ready)
    assert len(frames) == outcome.videos[0].frames > 0
    assert NO_FACE_RENDERED in outcome.ignored
    assert outcome.videos[0].metadata["lip_sync"]["frames_with_face"] == 0


def _portrait() -> Frame:
    image = load_photo("astronaut.png")
    return np.ascontiguousarray(cv2.resize(image, (320, 320), interpolation=cv2.INTER_AREA))


def test_at_rest_the_face_is_the_photos_and_a_blink_shuts_the_eyes() -> None:
    image = _portrait()
    points = FaceTrack(models_dir=MODELS_DIR).update(image)
    assert points is not None
    rest = animate_face(image, points, FacePose())
    assert int(np.abs(rest.astype(np.int16) - image).max()) <= 1
    mesh = track_face(image, models_dir=MODELS_DIR)
    assert mesh is not None
    shut = face_mesh(
        animate_face(image, points, FacePose(blink=1.0)), mesh.roi, models_dir=MODELS_DIR
    )
    # The mesh reads shut lids as narrowed (it was trained mostly on open eyes).
    assert np.mean(shut.eye_opening()) < 0.85 * np.mean(mesh.eye_opening())
    # Everything moves within the face's neighbourhood only: the frame's corners stay.
    talking = animate_face(image, points, FacePose(open=1.0, wide=1.0, nod=0.006, tilt=0.01))
    assert np.array_equal(talking[:40, :40], image[:40, :40])
    assert np.array_equal(talking[-40:, -40:], image[-40:, -40:])
    assert int(np.abs(talking.astype(np.int16) - image).max()) > 50


def test_visemes_open_on_sound_and_shut_in_silence() -> None:
    """Uploaded narration is read from its sound alone: tone bursts with silence between."""
    rate = 48000
    t = np.arange(int(2.0 * rate)) / rate
    on = ((t > 0.4) & (t < 0.8)) | ((t > 1.2) & (t < 1.6))
    samples = (0.3 * np.sin(2 * np.pi * 220 * t) * on).astype(np.float32)
    track = visemes_from_audio(samples, rate, offset_seconds=0.5)
    opening, shape = track.per_frame(24, 72)
    time = np.arange(72) / 24 - 0.5  # the track's own time
    assert opening[(time > 0.5) & (time < 0.75)].min() > 0.5
    assert opening[(time > 0.95) & (time < 1.1)].max() < 0.1
    assert opening[time < 0.3].max() == 0.0  # before the speech starts in the clip
    assert np.all(np.abs(shape) <= 1.0)


def test_the_i420_path_matches_the_rgb_one_and_leaves_the_rest_exact() -> None:
    """``apply_i420`` (the encoder's format, only the face's box converted) draws what
    ``apply`` draws, and every pixel away from the face keeps its exact value."""
    from kinora.engines.people.lipsync import LipSync
    from kinora.video.colour import i420_to_rgb, rgb_to_i420

    yuv = rgb_to_i420(_portrait())
    opening = np.array([0.0, 0.8, 0.8, 0.3], np.float32)
    shape = np.stack([np.array([0, -1, 1, 0]), np.zeros(4), np.array([0, 0, 0, 1])], axis=1)
    rgb_lip = LipSync(opening, shape, fps=12, models_dir=MODELS_DIR)
    yuv_lip = LipSync(opening, shape, fps=12, models_dir=MODELS_DIR)
    source = i420_to_rgb(yuv)
    for i in range(4):
        by_rgb = rgb_lip.apply(source, i).astype(np.int16)
        by_yuv = yuv_lip.apply_i420(yuv, i)
        assert by_yuv.shape == yuv.shape
        # Away from the face (the frame's corners, in Y and in U): untouched.
        assert np.array_equal(by_yuv[:40, :40], yuv[:40, :40])
        assert np.array_equal(by_yuv[280:320, 280:], yuv[280:320, 280:])
        assert np.array_equal(by_yuv[320:340, :20], yuv[320:340, :20])
        back = i420_to_rgb(by_yuv).astype(np.int16)
        assert float(np.abs(back - by_rgb).mean()) < 0.2
        if i:
            assert float(np.abs(back - source).max()) > 40  # the mouth moved
    assert yuv_lip.report.with_face == 4
    assert yuv_lip.report.visemes == "from the phonemes and the speech's loudness"


def test_the_compiled_kernels_warp_a_close_up_as_the_maps_do() -> None:
    """A face filling a 9:16 frame (its field on a grid step the kernels take) is warped
    from the coarse nodes by the compiled kernels, no per-pixel map made: the same frame as
    the per-pixel maps' path to within rounding (a level or two), and exact at rest."""
    from kinora.engines.geometry import kernels
    from kinora.engines.people.lipsync import _Face, animate_face_i420
    from kinora.video.colour import rgb_to_i420

    if not kernels.available():
        pytest.fail("the compiled kernels are not built: run make install")
    read = cv2.imread(str(opencv_doc(PORTRAIT)))
    assert read is not None
    photo = np.asarray(cv2.cvtColor(read, cv2.COLOR_BGR2RGB), np.uint8)
    h, w = photo.shape[:2]
    crop_w = min(w, h * 9 // 16)
    x0 = (w - crop_w) // 2
    tall = photo[: crop_w * 16 // 9, x0 : x0 + crop_w]
    image: Frame = np.ascontiguousarray(
        cv2.resize(tall, (720, 1280), interpolation=cv2.INTER_CUBIC), dtype=np.uint8
    )
    yuv = rgb_to_i420(image)
    points = FaceTrack(models_dir=MODELS_DIR).update(image)
    assert points is not None
    step = _Face(points).field_step
    assert step % 4 == 0 and step >= 8, step  # the kernels' path, not the fallback
    poses = [
        FacePose(),
        FacePose(open=0.9, wide=0.5, nod=0.004, sway=0.003, tilt=0.01),
        FacePose(open=0.4, wide=-0.8, press=0.2, blink=0.7, tilt=-0.01),
        FacePose(open=0.2, teeth=1.0, blink=1.0),
    ]
    for pose in poses:
        by_kernels = animate_face_i420(yuv, points, pose).astype(np.int16)
        was = kernels.enable(False)
        try:
            by_maps = animate_face_i420(yuv, points, pose).astype(np.int16)
        finally:
            kernels.enable(was)
        diff = np.abs(by_kernels - by_maps)
        assert float(diff.mean()) < 0.01, pose
        assert int(diff.max()) <= 6, pose  # positions rounded apart at an edge, not a new warp
        if pose == FacePose():
            assert np.array_equal(by_kernels, yuv)
        else:
            assert int(np.abs(by_kernels - yuv).max()) > 40  # the face moved
