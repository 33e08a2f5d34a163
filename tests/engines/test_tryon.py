"""The built-in virtual try-on (kinora.engines.people.tryon) on real photos.

The person is OpenCV's full-body sample photo (messi5.jpg: a footballer in a blue and red
striped shirt); the garment is the khaki jacket over a grey T-shirt worn in another of
OpenCV's sample photos (the portrait 230501201_1.jpg, the quality corpus' portrait_jacket),
so the engine has to cut the clothes off their wearer. Both come from Debian's opencv-doc
package (found installed, in the quality bench's extraction, or downloaded with apt-get).

Acceptance: after the try-on, at least 70 % of the torso (the pose's shoulders-to-hips
quadrilateral) shows the garment's colours (each pixel nearer the garment's palette than the
photo's own pixel there), while the face and the background stay the photo's (PSNR on those
regions of the first frame, camera Static).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest
from engine_helpers import MODELS_DIR, opencv_doc, psnr, require_isnet

from kinora.engines.base import EngineInputs, Frame, InputKind, RenderConfig
from kinora.engines.people import tps
from kinora.engines.people.garment import (
    GarmentKind,
    flat_anchors,
    kind_from_prompt,
    kind_from_shape,
)
from kinora.engines.people.tryon import Dressed, TryOnEngine, _DressedParallax, sway_matrix
from kinora.errors import RenderError
from kinora.video.fit import cover_fit
from kinora.vocab import TryOnModel

PERSON = "examples/data/messi5.jpg"
GARMENT = "opencv4/html/230501201_1.jpg"
NOBODY = "examples/data/fruits.jpg"
WIDTH, HEIGHT = 384, 240


def _read(path: Path) -> Frame:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert bgr is not None, f"cannot read {path}"
    return np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))


@dataclass
class TryOn:
    engine: TryOnEngine
    person: Frame
    garment: Frame
    dressed: Dressed
    first: Frame
    """The first frame of a Static render."""


@pytest.fixture(scope="module")
def tryon() -> Iterator[TryOn]:
    require_isnet()
    person = _read(opencv_doc(PERSON))
    garment = _read(opencv_doc(GARMENT))
    engine = TryOnEngine(MODELS_DIR)
    config = RenderConfig(
        width=WIDTH,
        height=HEIGHT,
        fps=4,
        duration=1.0,
        camera="Static",
        try_on_model=TryOnModel.FASHN.value,
    )
    render = engine.render(EngineInputs(images=[person, garment]), config)
    frames = list(render.frames)
    assert len(frames) == config.total_frames
    assert render.metadata["try_on_model"] == "FashnTryOn"
    assert render.metadata["garment_source"] == "worn"
    dressed = engine.dressed(person, garment)
    yield TryOn(engine, person, garment, dressed, frames[0])


def _to_output(tryon: TryOn) -> tuple[np.ndarray, tuple[float, float]]:
    """The map from working-size photo points to output pixels at rest (a 2x3 affine), and
    the crop centre the parallax pass chose."""
    d = tryon.dressed
    parallax = _DressedParallax(MODELS_DIR, d.rgb, d.body.mask)
    plan = parallax.plan(d.rgb, RenderConfig(width=WIDTH, height=HEIGHT, camera="Static"))
    x0, y0, bw, bh = plan.canvas.crop_box
    sx, sy = WIDTH / bw, HEIGHT / bh
    m = np.array([[sx, 0.0, -x0 * sx], [0.0, sy, -y0 * sy]])
    return m, plan.canvas.center


def _fit(tryon: TryOn, image: np.ndarray) -> np.ndarray:
    """``image`` (working size) as the output window shows it at rest: a photo exactly as
    the engine fits it (``cover_fit``), a mask by the same crop and scale."""
    m, centre = _to_output(tryon)
    if image.ndim == 3:
        return cover_fit(image, WIDTH, HEIGHT, centre)
    return np.asarray(cv2.warpAffine(image, m, (WIDTH, HEIGHT)), dtype=image.dtype)


def _lab(rgb: np.ndarray) -> np.ndarray:
    return np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB), np.float32)


def test_try_on_covers_the_torso_with_the_garment_colours(tryon: TryOn) -> None:
    m, _ = _to_output(tryon)
    quad = tryon.dressed.body.torso_quad().astype(np.float64)
    quad_out = quad @ m[:, :2].T + m[:, 2]
    torso = np.zeros((HEIGHT, WIDTH), np.uint8)
    cv2.fillConvexPoly(torso, np.round(quad_out).astype(np.int32), 1)
    torso_px = torso.astype(bool)
    assert torso_px.sum() > 2000, "the torso is too small in the frame to measure"
    out = _lab(tryon.first)[torso_px]
    original = _lab(_fit(tryon, tryon.dressed.person))[torso_px]
    colours = tryon.dressed.garment.colours.astype(np.uint8).reshape(-1, 1, 3)
    garment_lab = _lab(colours).reshape(-1, 3)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5)
    cv2.setRNGSeed(7)
    labels = np.zeros((len(garment_lab), 1), np.int32)
    _, _, palette = cv2.kmeans(garment_lab, 6, labels, criteria, 2, cv2.KMEANS_PP_CENTERS)
    to_garment = np.min(np.linalg.norm(out[:, None, :] - palette[None], axis=2), axis=1)
    to_original = np.linalg.norm(out - original, axis=1)
    covered = float(np.mean(to_garment < to_original))
    assert covered >= 0.7, f"the garment covers {covered:.0%} of the torso"


def test_face_and_background_stay_the_photos(tryon: TryOn) -> None:
    d = tryon.dressed
    reference = _fit(tryon, d.person)
    body = d.body
    shoulder_y = min(body.anchors["left_shoulder"][1], body.anchors["right_shoulder"][1])
    head = body.front.copy()
    head[int(shoulder_y - 0.1 * body.shoulder_width) :, :] = 0.0
    head_out = _fit(tryon, head) > 0.9
    assert head_out.sum() > 200, "the face is too small in the frame to measure"
    face_psnr = psnr(tryon.first[head_out], reference[head_out])
    assert face_psnr >= 32.0, f"the face changed: PSNR {face_psnr:.1f} dB"
    grow = cv2.dilate((body.mask > 0.1).astype(np.uint8), np.ones((15, 15), np.uint8))
    background = _fit(tryon, grow) == 0
    bg_psnr = psnr(tryon.first[background], reference[background])
    assert bg_psnr >= 32.0, f"the background changed: PSNR {bg_psnr:.1f} dB"
    # And the garment did change the picture where it is.
    worn = _fit(tryon, d.alpha) > 0.9
    assert psnr(tryon.first[worn], reference[worn]) < 20.0


def test_auto_camera_moves_gently_and_sways(tryon: TryOn) -> None:
    config = RenderConfig(width=192, height=120, fps=6, duration=1.0, seed=1)
    render = tryon.engine.render(EngineInputs(images=[tryon.person, tryon.garment]), config)
    frames = list(render.frames)
    assert len(frames) == 6 and frames[0].shape == (120, 192, 3)
    change = float(np.mean(np.abs(frames[3].astype(np.int16) - frames[0].astype(np.int16))))
    assert 0.5 < change < 40.0, f"mean change between frames {change:.1f}"
    camera = tryon.engine.camera_config(config)
    assert camera.camera in {"Zoom in", "Orbit left", "Orbit right"}
    assert camera.motion_range <= 4


def test_engine_declares_what_it_does() -> None:
    info = TryOnEngine.info
    assert info.name == "kinora-tryon"
    assert info.accepts == frozenset({InputKind.TWO_IMAGES})
    assert "try_on_model" in info.honours and "prompt" in info.honours
    names = {f.path.name for f in TryOnEngine.model_files(MODELS_DIR)}
    assert {"isnet-medium.onnx", "pose_landmark_full.tflite", "face_landmark.tflite"} <= names


def test_a_person_image_without_a_body_fails_the_render(tryon: TryOn) -> None:
    # OpenCV's fruit bowl: a real photo with no one in it.
    fruits = _read(opencv_doc(NOBODY))
    config = RenderConfig(width=96, height=64, fps=4, duration=1.0)
    with pytest.raises(RenderError, match="no person's body"):
        tryon.engine.render(EngineInputs(images=[fruits, tryon.garment]), config)


def test_a_garment_image_without_a_garment_fails_the_render(tryon: TryOn) -> None:
    blank = np.full((300, 240, 3), (232, 228, 220), np.uint8)  # a bare wall
    config = RenderConfig(width=96, height=64, fps=4, duration=1.0)
    with pytest.raises(RenderError, match="no garment"):
        tryon.engine.render(EngineInputs(images=[tryon.person, blank]), config)


# --- the parts, on drawn outlines ---------------------------------------------------------


def _tshirt() -> np.ndarray:
    """A T-shirt's outline as a flat-lay photo's mask would be: body, sleeves, a neckline."""
    mask = np.zeros((300, 300), np.uint8)
    cv2.rectangle(mask, (90, 60), (210, 280), 1, -1)
    cv2.fillConvexPoly(mask, np.array([[90, 60], [30, 130], [60, 150], [90, 110]]), 1)
    cv2.fillConvexPoly(mask, np.array([[210, 60], [270, 130], [240, 150], [210, 110]]), 1)
    cv2.ellipse(mask, (150, 60), (30, 20), 0, 0, 180, 0, -1)
    return mask.astype(bool)


def test_flat_garment_anchors_sit_on_the_outline() -> None:
    mask = _tshirt()
    assert kind_from_shape(mask) is GarmentKind.TOP
    a = flat_anchors(mask, GarmentKind.TOP)
    # The garment faces the viewer: its right shoulder is on the picture's left.
    assert a["right_shoulder"][0] < 150 < a["left_shoulder"][0]
    assert 90 <= a["right_shoulder"][0] <= 120 and 180 <= a["left_shoulder"][0] <= 210
    assert a["neck"][1] < a["right_shoulder"][1] < a["right_hip"][1] < 280
    assert abs(a["right_hip"][1] - 280) < 0.15 * 220  # a top's hem is just below the hips


def test_trousers_are_told_by_their_legs() -> None:
    mask = np.zeros((300, 200), np.uint8)
    cv2.rectangle(mask, (50, 20), (150, 110), 1, -1)
    cv2.rectangle(mask, (50, 110), (92, 290), 1, -1)
    cv2.rectangle(mask, (108, 110), (150, 290), 1, -1)
    assert kind_from_shape(mask.astype(bool)) is GarmentKind.TROUSERS
    a = flat_anchors(mask.astype(bool), GarmentKind.TROUSERS)
    assert a["right_ankle"][0] < 100 < a["left_ankle"][0]
    assert a["right_hip"][1] < a["right_knee"][1] < a["right_ankle"][1]


def test_the_prompt_tells_the_kind() -> None:
    assert kind_from_prompt("a red silk dress") is GarmentKind.DRESS
    assert kind_from_prompt("Denim jacket, slow push in") is GarmentKind.OUTERWEAR
    assert kind_from_prompt("blue jeans") is GarmentKind.TROUSERS
    assert kind_from_prompt("striped T-shirt") is GarmentKind.TOP
    assert kind_from_prompt("a sunny day") is None


def test_thin_plate_spline_hits_its_anchors_and_stays_smooth() -> None:
    src = np.array([[10, 10], [90, 12], [50, 50], [12, 88], [88, 90]], np.float64)
    dst = src + np.array([[5, 0], [-5, 3], [0, 8], [4, -4], [-3, -2]])
    spline = tps.ThinPlateSpline(dst, src)
    assert np.allclose(spline(dst), src, atol=1e-6)
    # An affine correspondence is reproduced exactly everywhere (no bending).
    affine = src @ np.array([[1.1, 0.1], [-0.05, 0.9]]) + np.array([3.0, -2.0])
    flat = tps.ThinPlateSpline(src, affine)
    probe = np.array([[30.0, 70.0], [70.0, 20.0]])
    expected = probe @ np.array([[1.1, 0.1], [-0.05, 0.9]]) + np.array([3.0, -2.0])
    assert np.allclose(flat(probe), expected, atol=1e-6)


def test_sway_is_periodic_and_hides_the_borders() -> None:
    w, h = 384, 240
    assert np.allclose(
        sway_matrix(0.0, degrees=0.5, width=w, height=h),
        sway_matrix(1.0, degrees=0.5, width=w, height=h),
    )
    corners = np.array([[0, 0, 1], [w, 0, 1], [w, h, 1], [0, h, 1]], np.float64)
    for t in np.linspace(0, 1, 9):
        m = np.vstack([sway_matrix(float(t), degrees=0.5, width=w, height=h), [0, 0, 1]])
        back = corners @ np.linalg.inv(m).T
        assert (back[:, 0] >= -1e-6).all() and (back[:, 0] <= w + 1e-6).all()
        assert (back[:, 1] >= -1e-6).all() and (back[:, 1] <= h + 1e-6).all()


def test_try_on_through_the_api_runs_the_built_in_and_says_so(api_factory) -> None:  # type: ignore[no-untyped-def]
    """TryOnVideo with a model, person first and garment second, through the real app."""
    from tests.conftest import Api

    api: Api = api_factory()
    files = [
        ("image_files", ("person.jpg", opencv_doc(PERSON).read_bytes(), "image/jpeg")),
        ("image_files", ("garment.jpg", opencv_doc(GARMENT).read_bytes(), "image/jpeg")),
    ]
    data = {"motion_type": "TryOnVideo", "model": "FashnTryOn", "duration": "1"}
    r = api.client.post("/media", data=data, files=files, headers=api.headers())
    assert r.status_code == 200, r.text
    media = api.wait(r.json()["data"]["id"], timeout=300)
    assert media["processing_status"] == "success", media["error"]
    assert media["service_name"] == "kinora-tryon"
    entry = media["video_history"][-1]
    assert entry["spec"]["try_on_model"] == "FashnTryOn"
    config = entry["engine_config"]["configs"][0]
    assert config["try_on_model"] == "FashnTryOn"
    assert "try_on_model" not in {item["field"] for item in entry["ignored"]}
