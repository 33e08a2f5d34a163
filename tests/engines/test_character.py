"""The character engine on real photos and a real driving video, judged by the real pose and
face models: a prompted wave moves the wrists with the head staying on the shoulders; a
driven portrait's mouth and head follow the driver while its face stays the character's."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from engine_helpers import MODELS_DIR, opencv_doc, psnr, require_isnet

from kinora.engines.base import Clip, EngineInputs, Frame, RenderConfig
from kinora.engines.people.character import CharacterEngine
from kinora.engines.people.faceparts import face_measures
from kinora.engines.people.landmarks import detect_pose, track_face
from kinora.engines.people.performances import pick
from kinora.errors import RenderError

ROOT = Path(__file__).resolve().parents[2]
TESTDATA = ROOT.parent / "shared" / "testdata"
MEGAMIND = "examples/data/Megamind.avi"
DRIVER_SPAN = (204, 270)
"""A close-up in Megamind's trailer: one shot, the man turns his head and talks."""


def _rgb(path: Path) -> Frame:
    assert path.is_file(), f"missing test photo {path}"
    image = np.asarray(cv2.imread(str(path)), np.uint8)
    return np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), np.uint8)


@pytest.fixture(scope="module")
def engine() -> CharacterEngine:
    require_isnet()
    return CharacterEngine(MODELS_DIR)


@pytest.fixture(scope="module")
def driver() -> Clip:
    cap = cv2.VideoCapture(str(opencv_doc(MEGAMIND)))
    frames: list[Frame] = []
    while len(frames) < DRIVER_SPAN[1]:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(np.ascontiguousarray(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)))
    return Clip(frames=frames[DRIVER_SPAN[0] : DRIVER_SPAN[1]], fps=cap.get(cv2.CAP_PROP_FPS))


def test_prompt_words_pick_performances() -> None:
    assert pick("a footballer waving goodbye").name == "wave"
    assert pick("she claps her hands").name == "clap"
    assert pick("dancing in the rain").name == "dance"
    assert pick("He walks in place").name == "walk"
    assert pick("jumping for joy").name == "jump"
    assert pick("nods slowly").name == "nod"
    assert pick("looking around the room").name == "look"
    assert pick("talking to the camera").name == "talk"
    assert pick("a portrait").name == "idle"


def test_wave_moves_the_wrists_and_the_head_stays_on_the_shoulders(
    engine: CharacterEngine,
) -> None:
    image = _rgb(opencv_doc("examples/data/messi5.jpg"))
    config = RenderConfig(width=384, height=240, fps=8, duration=2.0, prompt="waving hello")
    frames = list(engine.frames(EngineInputs(images=[image]), config))
    assert len(frames) == config.total_frames
    assert frames[0].shape == (240, 384, 3)
    poses = [detect_pose(f, models_dir=MODELS_DIR) for f in frames]
    assert all(p is not None for p in poses)
    first = poses[0]
    assert first is not None
    height = float(first.points[[0, 27, 28], 1].max() - first.points[[0, 27, 28], 1].min())
    wrists = np.array([p.points[[15, 16], :2] for p in poses if p is not None])
    travel = np.hypot(*(wrists - wrists[0]).transpose(2, 0, 1)).max()
    assert travel >= 0.15 * height, (travel, height)
    necks = []
    for p in poses:
        assert p is not None
        shoulders = p.points[[11, 12], :2].mean(axis=0)
        necks.append(float(np.hypot(*(p.points[0, :2] - shoulders))))
    assert max(necks) < 1.3 * necks[0] and min(necks) > 0.75 * necks[0], necks


def _face_series(frames: list[Frame]) -> np.ndarray:
    rows, previous = [], None
    for frame in frames:
        mesh = track_face(frame, previous, models_dir=MODELS_DIR)
        previous = mesh
        if mesh is None:
            rows.append([np.nan] * 5)
            continue
        m = face_measures(mesh)
        rows.append([m.mouth, m.yaw, m.centre[0], m.centre[1], m.height])
    out = np.array(rows)
    scale = np.nanmedian(out[:, 4])
    out[:, 2] = (out[:, 2] - out[0, 2]) / scale
    out[:, 3] = (out[:, 3] - out[0, 3]) / scale
    return out


def test_driven_portrait_follows_the_driver_and_keeps_its_face(
    engine: CharacterEngine, driver: Clip
) -> None:
    image = _rgb(TESTDATA / "astronaut.png")
    fps = 12
    config = RenderConfig(
        width=320, height=320, fps=fps, duration=driver.seconds, character_animate=True
    )
    frames = list(engine.frames(EngineInputs(images=[image], driver=driver), config))
    assert len(frames) == config.total_frames
    picks = [min(len(driver.frames) - 1, int(i / fps * driver.fps)) for i in range(len(frames))]
    theirs = _face_series([np.asarray(driver.frames[i]) for i in picks])
    ours = _face_series(frames)
    found = ~np.isnan(theirs[:, 0]) & ~np.isnan(ours[:, 0])
    assert found.mean() > 0.9
    for column, name in ((0, "mouth"), (1, "yaw"), (3, "height")):
        r = np.corrcoef(theirs[found, column], ours[found, column])[0, 1]
        assert r >= 0.6, (name, r)
    # The face is the character's: frame by frame, the rendered face (cropped by its own mesh
    # box) matches the photo's face far better than the driver's face of that moment.
    photo = np.asarray(cv2.resize(image, (320, 320), interpolation=cv2.INTER_AREA), np.uint8)
    size = (96, 112)
    reference = _face_crop(photo, size)
    for k in range(0, len(frames), 4):
        rendered = _face_crop(frames[k], size)
        theirs_face = _face_crop(np.asarray(driver.frames[picks[k]]), size)
        assert psnr(rendered, reference) > psnr(rendered, theirs_face) + 5, k


def _face_crop(image: Frame, size: tuple[int, int]) -> Frame:
    """The face mesh's box of ``image``, scaled to ``size`` (w, h)."""
    mesh = track_face(image, models_dir=MODELS_DIR)
    assert mesh is not None
    x0, y0, x1, y1 = (max(0, int(v)) for v in mesh.box())
    crop = cv2.resize(image[y0:y1, x0:x1], size, interpolation=cv2.INTER_AREA)
    return np.asarray(crop, np.uint8)


def test_a_driver_without_a_person_fails_with_that_reason(engine: CharacterEngine) -> None:
    image = _rgb(TESTDATA / "astronaut.png")
    still = _rgb(TESTDATA / "coffee.png")
    empty = Clip(frames=[still] * 6, fps=6.0)
    config = RenderConfig(width=160, height=160, fps=6, duration=1.0, character_animate=True)
    with pytest.raises(RenderError, match="no detectable person or face"):
        list(engine.frames(EngineInputs(images=[image], driver=empty), config))


def test_a_prompted_talk_opens_and_closes_the_mouth_with_the_head_in_place(
    engine: CharacterEngine,
) -> None:
    image = _rgb(TESTDATA / "astronaut.png")  # the driven test's size: its scene is cached
    config = RenderConfig(
        width=320, height=320, fps=10, duration=2.4, prompt="talking", camera="Zoom in", loop=2
    )
    render = engine.render(EngineInputs(images=[image]), config)
    frames = list(render.frames)
    assert len(frames) == config.total_frames == 48
    assert render.metadata["character"]["motion"] == "talk"
    assert render.metadata["character"]["face"] is True
    ours = _face_series(frames[:24])
    assert not np.isnan(ours[:, 0]).any()
    mouth = ours[:, 0]
    assert mouth.max() - mouth.min() > 0.015, mouth
    assert np.percentile(mouth, 20) < mouth.min() + 0.01  # pauses: the mouth comes back shut
    assert np.abs(ours[:, 2:4]).max() < 0.25  # the head stays where it was (face heights)


def test_a_driving_body_moves_the_characters_limbs(engine: CharacterEngine) -> None:
    """The driver here is the engine's own dance of a real photo: a body whose arms really
    swing, so the retargeted joint angles can be checked wrist by wrist."""
    image = _rgb(opencv_doc("examples/data/messi5.jpg"))
    config = RenderConfig(width=384, height=240, fps=8, duration=1.5, prompt="dancing")
    dance = list(engine.frames(EngineInputs(images=[image]), config))
    driven = RenderConfig(width=384, height=240, fps=8, duration=1.5, character_animate=True)
    clip = Clip(frames=dance, fps=8.0)
    frames = list(engine.frames(EngineInputs(images=[image], driver=clip), driven))
    assert len(frames) == driven.total_frames
    theirs, ours = [], []
    for a, b in zip(dance, frames, strict=True):
        pa, pb = detect_pose(a, models_dir=MODELS_DIR), detect_pose(b, models_dir=MODELS_DIR)
        assert pa is not None and pb is not None
        theirs.append(pa.points[[15, 16], :2].ravel())
        ours.append(pb.points[[15, 16], :2].ravel())
    t, o = np.array(theirs), np.array(ours)
    moving = t.std(axis=0) > 3.0
    assert moving.any()
    for k in np.flatnonzero(moving):
        assert np.corrcoef(t[:, k], o[:, k])[0, 1] >= 0.8, k
