"""The try-on's garment kinds (dress, outerwear, top, trousers) and the person's hands.

Issue 18: the garment's kind is told apart "by shape, or by the prompt", and "face, hands and
background stay the photo's". The person is test_tryon.py's: OpenCV's messi5.jpg (a
footballer lunging, both arms out, the hands over the stadium, not over the torso).

No real photo of a dress or a coat laid flat is among the test photos (../shared/testdata
holds none; OpenCV's sample photos show clothes only as worn). So the garment pictures are
built: a real fabric, the khaki jacket's cloth of OpenCV's portrait 230501201_1.jpg (the
garment source of test_tryon.py; a patch of its left shoulder, tiled mirrored), cut to a
flat-lay silhouette (a T-shirt, a sleeveless A-line dress, a long-sleeved open-front coat
reaching mid-thigh, trousers) on a plain light-grey background. The engine has to cut each
from its background with ISNet, as it would a shop's flat-lay photo.

Two cases are strict xfails, each naming the engine's gap it shows: the shape rule has no
outerwear (the coat reads as a top), and the hands' front mask stops at the pose's knuckle
points (the coat's long sleeve covers the fingers).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest
from engine_helpers import MODELS_DIR, opencv_doc, psnr, require_isnet

from kinora.engines.base import EngineInputs, Frame, RenderConfig
from kinora.engines.people.body import Body
from kinora.engines.people.garment import Garment, GarmentKind, cut_garment, kind_from_shape
from kinora.engines.people.tryon import Dressed, TryOnEngine, _DressedParallax
from kinora.video.fit import cover_fit

PERSON = "examples/data/messi5.jpg"
FABRIC = "opencv4/html/230501201_1.jpg"
FABRIC_BOX = (600, 824, 0, 140)
"""Rows and columns of the jacket's cloth in FABRIC (its wearer's right shoulder, no
button)."""
BACKGROUND = 236
"""The flat-lay's plain background (8-bit grey)."""
WIDTH, HEIGHT = 384, 240

BoolMask = npt.NDArray[np.bool_]


def _read(path: Path) -> Frame:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert bgr is not None, f"cannot read {path}"
    return np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))


# --- the garment pictures: real cloth cut to a silhouette -----------------------------------


def _poly(mask: npt.NDArray[np.uint8], points: list[tuple[int, int]]) -> None:
    cv2.fillPoly(mask, [np.array(points, np.int32)], 1)


def _top() -> npt.NDArray[np.uint8]:
    """A T-shirt: short sleeves out and down, a round neckline, hem at the hips."""
    m = np.zeros((360, 400), np.uint8)
    _poly(
        m,
        [
            (130, 40), (270, 40), (350, 90), (380, 150), (330, 175), (285, 130), (285, 330),
            (115, 330), (115, 130), (70, 175), (20, 150), (50, 90),
        ],
    )  # fmt: skip
    cv2.ellipse(m, (200, 40), (35, 22), 0, 0, 180, 0, -1)
    return m


def _dress() -> npt.NDArray[np.uint8]:
    """A sleeveless A-line dress: a fitted bodice, a round neckline, a skirt flaring to the
    knees (1.6 times as tall as it is wide)."""
    m = np.zeros((600, 380), np.uint8)
    _poly(
        m,
        [
            (120, 30), (260, 30), (272, 110), (255, 230), (335, 570), (45, 570), (125, 230),
            (108, 110),
        ],
    )  # fmt: skip
    cv2.ellipse(m, (190, 30), (38, 28), 0, 0, 180, 0, -1)
    return m


def _coat() -> npt.NDArray[np.uint8]:
    """A long-sleeved coat open at the front (a gap widening from the neckline to the hem),
    its sleeves laid drooping about 40 degrees, its body to mid-thigh (longer than a top)."""
    m = np.zeros((560, 640), np.uint8)
    c = 320
    _poly(
        m,
        [
            (c - 90, 40), (c + 90, 40), (c + 100, 60), (c + 290, 225), (c + 255, 265),
            (c + 95, 140), (c + 100, 520), (c - 100, 520), (c - 95, 140), (c - 255, 265),
            (c - 290, 225), (c - 100, 60),
        ],
    )  # fmt: skip
    cv2.ellipse(m, (c, 40), (42, 30), 0, 0, 180, 0, -1)
    _poly(m, [(c - 3, 70), (c + 3, 70), (c + 9, 521), (c - 9, 521)])
    return m


def _trousers() -> npt.NDArray[np.uint8]:
    """Trousers: a waistband, two legs apart from the crotch down."""
    m = np.zeros((520, 320), np.uint8)
    _poly(
        m,
        [
            (70, 30), (250, 30), (265, 140), (285, 500), (180, 500), (160, 180), (140, 500),
            (35, 500), (55, 140),
        ],
    )  # fmt: skip
    return m


SILHOUETTES = {"top": _top, "dress": _dress, "coat": _coat, "trousers": _trousers}


def _fabric(height: int, width: int) -> Frame:
    """The jacket's real cloth, tiled mirrored (no seams) to cover ``height`` x ``width``."""
    y0, y1, x0, x1 = FABRIC_BOX
    patch = _read(opencv_doc(FABRIC))[y0:y1, x0:x1]
    row = np.concatenate([patch, patch[:, ::-1]] * (width // (2 * patch.shape[1]) + 1), axis=1)
    tile = np.concatenate([row, row[::-1]] * (height // (2 * patch.shape[0]) + 1), axis=0)
    return np.ascontiguousarray(tile[:height, :width])


def _flat_lay(name: str) -> tuple[Frame, BoolMask]:
    """The garment picture and its true silhouette: the cloth on a plain background."""
    mask = np.pad(SILHOUETTES[name](), 40).astype(bool)
    image = np.full((*mask.shape, 3), BACKGROUND, np.uint8)
    image[mask] = _fabric(*mask.shape)[mask]
    return image, mask


@pytest.fixture(scope="module")
def flat_lays() -> dict[str, tuple[Frame, BoolMask]]:
    require_isnet()
    return {name: _flat_lay(name) for name in SILHOUETTES}


@pytest.fixture(scope="module")
def cut(flat_lays: dict[str, tuple[Frame, BoolMask]]) -> dict[str, Garment]:
    """Each flat-lay cut by the engine's garment step with an empty prompt."""
    return {
        name: cut_garment(image, prompt="", models_dir=MODELS_DIR)
        for name, (image, _) in flat_lays.items()
    }


# --- (1) the kind, by shape and by the prompt ----------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("top", GarmentKind.TOP),
        ("dress", GarmentKind.DRESS),
        ("coat", GarmentKind.OUTERWEAR),
        ("trousers", GarmentKind.TROUSERS),
    ],
)
def test_the_kind_is_told_by_the_shape_without_a_prompt(
    flat_lays: dict[str, tuple[Frame, BoolMask]],
    cut: dict[str, Garment],
    name: str,
    kind: GarmentKind,
) -> None:
    garment = cut[name]
    truth = flat_lays[name][1]
    cutout = garment.alpha > 0.5
    iou = float((cutout & truth).sum() / (cutout | truth).sum())
    assert not garment.worn
    assert iou >= 0.95, f"the {name} was cut badly from its background (IoU {iou:.3f})"
    assert kind_from_shape(truth) is kind, f"the drawn {name} reads {kind_from_shape(truth)}"
    assert garment.kind is kind, f"the {name} photo was told {garment.kind}"


@pytest.mark.parametrize(
    ("name", "prompt", "kind"),
    [
        ("dress", "a denim jacket, slow push in", GarmentKind.OUTERWEAR),
        ("trousers", "a red silk dress", GarmentKind.DRESS),
    ],
)
def test_a_prompt_naming_a_kind_overrides_the_shape(
    flat_lays: dict[str, tuple[Frame, BoolMask]],
    cut: dict[str, Garment],
    name: str,
    prompt: str,
    kind: GarmentKind,
) -> None:
    assert cut[name].kind is not kind  # the shape alone says otherwise
    garment = cut_garment(flat_lays[name][0], prompt=prompt, models_dir=MODELS_DIR)
    assert garment.kind is kind


# --- (2) the render: hands stay the photo's, a dress reaches below the hips ----------------


@dataclass
class Worn:
    dressed: Dressed
    first: Frame
    """The first frame of a Static render."""
    reference: Frame
    """The person photo as the output window shows it at rest."""
    to_output: npt.NDArray[np.float64]
    """Working-size photo points to output pixels (2x3 affine)."""
    kind: str
    """The render's metadata garment_kind."""

    def fit(self, mask: BoolMask) -> BoolMask:
        """A working-size mask as the output window shows it."""
        out = cv2.warpAffine(mask.astype(np.float32), self.to_output, (WIDTH, HEIGHT))
        return np.asarray(out > 0.5)


def _wear(engine: TryOnEngine, person: Frame, garment: Frame, prompt: str) -> Worn:
    config = RenderConfig(
        width=WIDTH, height=HEIGHT, fps=4, duration=1.0, camera="Static", prompt=prompt
    )
    render = engine.render(EngineInputs(images=[person, garment]), config)
    first = next(iter(render.frames))
    d = engine.dressed(person, garment, prompt)
    parallax = _DressedParallax(MODELS_DIR, d.rgb, d.body.mask)
    plan = parallax.plan(d.rgb, RenderConfig(width=WIDTH, height=HEIGHT, camera="Static"))
    x0, y0, bw, bh = plan.canvas.crop_box
    sx, sy = WIDTH / bw, HEIGHT / bh
    m = np.array([[sx, 0.0, -x0 * sx], [0.0, sy, -y0 * sy]])
    reference = cover_fit(d.person, WIDTH, HEIGHT, plan.canvas.center)
    return Worn(d, first, reference, m, str(render.metadata["garment_kind"]))


@pytest.fixture(scope="module")
def worn(flat_lays: dict[str, tuple[Frame, BoolMask]]) -> dict[str, Worn]:
    """messi5 in the dress (its kind by shape) and in the coat (told by the prompt: by shape
    it would be a top, see above)."""
    person = _read(opencv_doc(PERSON))
    engine = TryOnEngine(MODELS_DIR)
    return {
        "dress": _wear(engine, person, flat_lays["dress"][0], ""),
        "coat": _wear(engine, person, flat_lays["coat"][0], "a long wool coat"),
    }


def _hand(body: Body, side: str) -> BoolMask:
    """The hand, from the pose's wrist and hand points (pinky, index, thumb knuckles): the
    person's pixels within 1.5 wrist-to-knuckles lengths of the knuckles (the fingers reach
    about one) and from three quarters of the way to the knuckles on (a long sleeve's cuff
    may cover the wrist and the back of the hand, never the fingers)."""
    pose = body.pose
    wrist = np.array(pose.point(f"{side}_wrist"))
    knuckles = np.array([pose.point(f"{side}_{k}") for k in ("pinky", "index", "thumb")])
    centre = knuckles.mean(axis=0)
    along = centre - wrist
    length = float(np.hypot(*along))
    radius = max(1.5 * length, 0.08 * body.shoulder_width)
    h, w = body.mask.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    near = np.hypot(xx - centre[0], yy - centre[1]) <= radius
    start = wrist + 0.75 * along  # the fingers and the knuckles, not the back of the hand
    beyond = (xx - start[0]) * along[0] + (yy - start[1]) * along[1] > 0.0
    return np.asarray(near & beyond & (body.mask > 0.5))


def _torso(body: Body) -> BoolMask:
    quad = np.round(body.torso_quad()).astype(np.int32)
    torso = np.zeros(body.mask.shape, np.uint8)
    cv2.fillConvexPoly(torso, quad, 1)
    return torso.astype(bool)


def _forearm_end(body: Body, side: str) -> BoolMask:
    """The forearm's end (50-85 % of the way from the elbow to the wrist), on the person."""
    pose = body.pose
    elbow, wrist = np.array(pose.point(f"{side}_elbow")), np.array(pose.point(f"{side}_wrist"))
    out = np.zeros(body.mask.shape, np.uint8)
    a, b = elbow + 0.5 * (wrist - elbow), elbow + 0.85 * (wrist - elbow)
    thick = max(1, round(0.1 * body.shoulder_width))
    cv2.line(out, (round(a[0]), round(a[1])), (round(b[0]), round(b[1])), 1, thick)
    return out.astype(bool) & (body.mask > 0.5)


HANDS_UNDER_THE_SLEEVE = (
    "body._hands_and_forearms keeps only capsules from the wrist to the pose's pinky, index "
    "and thumb points (knuckles, not fingertips): a sleeve reaching the hand covers the fingers"
)


@pytest.mark.parametrize(
    "name",
    [
        "dress",
        "coat",
    ],
)
def test_the_hands_stay_the_photos(worn: dict[str, Worn], name: str) -> None:
    """PSNR on each hand (the pose's wrist and hand points; both hands are off the torso)
    between the render's first frame and the photo."""
    w = worn[name]
    body = w.dressed.body
    torso = _torso(body)
    for side in ("left", "right"):
        hand = _hand(body, side)
        assert hand.sum() > 80, f"the {side} hand is too small to measure ({hand.sum()} px)"
        assert not (hand & torso).any(), f"the {side} hand is over the torso"
        out = w.fit(hand)
        value = psnr(w.first[out], w.reference[out])
        assert value >= 30.0, f"{name}: the {side} hand changed: PSNR {value:.1f} dB"


def test_the_coat_sleeve_reaches_the_wrist(worn: dict[str, Worn]) -> None:
    """What makes the coat's hands test above a test: its left sleeve runs down the left
    forearm to the wrist (the spline does not bend sleeves to the arm), so only the engine
    keeping the hand in front of the garment can keep the hand the photo's."""
    w = worn["coat"]
    assert w.kind == "outerwear"
    sleeve = w.dressed.alpha[_forearm_end(w.dressed.body, "left")]
    share = float(np.mean(sleeve > 0.5))
    assert share >= 0.6, f"the sleeve covers {share:.0%} of the forearm's end"


def _coverage(w: Worn, region: BoolMask) -> float:
    """The share of ``region`` (output pixels) that shows the garment's colours: each pixel
    nearer the garment's palette (6 k-means colours, Lab) than the photo's own pixel there."""

    def lab(rgb: np.ndarray) -> np.ndarray:
        return np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB), np.float32)

    out = lab(w.first)[region]
    original = lab(w.reference)[region]
    colours = w.dressed.garment.colours.astype(np.uint8).reshape(-1, 1, 3)
    garment = lab(colours).reshape(-1, 3)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5)
    cv2.setRNGSeed(7)
    labels = np.zeros((len(garment), 1), np.int32)
    _, _, palette = cv2.kmeans(garment, 6, labels, criteria, 2, cv2.KMEANS_PP_CENTERS)
    to_garment = np.min(np.linalg.norm(out[:, None, :] - palette[None], axis=2), axis=1)
    to_original = np.linalg.norm(out - original, axis=1)
    return float(np.mean(to_garment < to_original))


def test_a_dress_covers_the_torso_and_reaches_below_the_hips(worn: dict[str, Worn]) -> None:
    w = worn["dress"]
    assert w.kind == "dress"  # by its shape: the prompt was empty
    body = w.dressed.body
    torso = w.fit(_torso(body))
    assert torso.sum() > 2000, "the torso is too small in the frame to measure"
    on_torso = _coverage(w, torso)
    assert on_torso >= 0.7, f"the dress covers {on_torso:.0%} of the torso"
    # Below the hips: the hips-to-knees quadrilateral, and how far down the cloth goes.
    p = body.pose
    names = ("left_hip", "right_hip", "right_knee", "left_knee")
    quad = np.round([p.point(n) for n in names]).astype(np.int32)
    thighs = np.zeros(body.mask.shape, np.uint8)
    cv2.fillConvexPoly(thighs, quad, 1)
    thighs_out = w.fit(thighs.astype(bool))
    assert thighs_out.sum() > 500, "the thighs are too small in the frame to measure"
    on_thighs = _coverage(w, thighs_out)
    assert on_thighs >= 0.7, f"the dress covers {on_thighs:.0%} of the thighs"
    hip_y = (p.point("left_hip")[1] + p.point("right_hip")[1]) / 2
    shoulder_y = (p.point("left_shoulder")[1] + p.point("right_shoulder")[1]) / 2
    rows = np.flatnonzero((w.dressed.alpha > 0.5).any(axis=1))
    below = (float(rows.max()) - hip_y) / (hip_y - shoulder_y)
    assert below >= 0.4, f"the dress ends {below:.2f} torso lengths below the hips"
