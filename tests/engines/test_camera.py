"""Camera paths as 3D moves: rest poses, loops, homographies, seeds and amplitudes."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

from kinora.engines.geometry import camera as cam
from kinora.engines.geometry import framing

PIVOT = (0.05, -0.02, 1.0)
K = cam.intrinsics(400.0, 199.5, 112.0)


def move(path: str, **kw: object) -> cam.CameraMove:
    opts: dict[str, object] = {"motion_range": 5, "seed": 0, "periodic": False, "pivot": PIVOT}
    opts.update(kw)
    return cam.plan_move(path, **opts)  # type: ignore[arg-type]


def is_rest(p: cam.CameraPose) -> bool:
    return bool(
        np.allclose(p.position, 0, atol=1e-12)
        and np.allclose(p.rotation, np.eye(3), atol=1e-12)
        and abs(p.zoom - 1.0) < 1e-12
    )


def project(h: np.ndarray, x: float, y: float) -> np.ndarray:
    p = h @ np.array([x, y, 1.0])
    return p[:2] / p[2]


def test_the_seventeen_values() -> None:
    assert len(cam.CAMERA_PATHS) == 17 and len(set(cam.CAMERA_PATHS)) == 17
    assert cam.CAMERA_PATHS[0] == ""
    with pytest.raises(ValueError):
        move("Sideways")


@pytest.mark.parametrize("path", cam.CAMERA_PATHS[1:])
@pytest.mark.parametrize("periodic", [False, True])
def test_paths_rest_on_the_input_and_loop(path: str, periodic: bool) -> None:
    m = move(path, periodic=periodic)
    start = cam.pose(m, 0.0)
    if path == "Zoom out":
        assert is_rest(cam.pose(m, 0.5 if m.periodic else 1.0))
        assert not is_rest(start)
    else:
        assert is_rest(start)
    if m.periodic:
        end = cam.pose(m, 1.0)
        assert np.allclose(end.position, start.position) and np.allclose(
            end.rotation, start.rotation
        )
    if path != "Static":
        mid = cam.pose(m, 0.5 if not m.periodic else 0.25)
        assert not is_rest(mid) or path == "Zoom out"


def test_rest_homography_is_a_pure_shift() -> None:
    k_src = cam.intrinsics(400.0, 210.5, 130.0)
    rest = cam.CameraPose(np.zeros(3), np.eye(3), 1.0)
    h = cam.plane_homography(rest, plane=np.array([0.0, 0.001, 0.3]), k_src=k_src, k_dst=K)
    assert np.allclose(h, [[1, 0, -11], [0, 1, -18], [0, 0, 1]])


def test_translation_parallax_follows_inverse_depth() -> None:
    # Camera 0.1 to the right: a plane at inverse depth w shifts by -f * 0.1 * w pixels.
    pose = cam.CameraPose(np.array([0.1, 0.0, 0.0]), np.eye(3), 1.0)
    for w in (1.0, 0.25):
        h = cam.plane_homography(pose, plane=np.array([0.0, 0.0, w]), k_src=K, k_dst=K)
        assert np.allclose(project(h, 100, 50), [100 - 400 * 0.1 * w, 50])


@pytest.mark.parametrize(
    "path", ["Orbit right", "Orbit left", "Rotate 360", "Dolly zoom", "Zoom in"]
)
def test_pivot_stays_put_while_the_background_moves(path: str) -> None:
    m = move(path)
    u, v, _ = K @ (np.array(PIVOT) / PIVOT[2])
    pose = cam.pose(m, 0.3 if path == "Rotate 360" else 1.0)
    zc = (float(u), float(v))
    kw = {"k_src": K, "k_dst": K, "zoom_center": zc}
    near = cam.plane_homography(pose, plane=np.array([0.0, 0.0, 1.0]), **kw)  # type: ignore[arg-type]
    far = cam.plane_homography(pose, plane=np.array([0.0, 0.0, 0.3]), **kw)  # type: ignore[arg-type]
    # The subject barely moves (only the seeded drift and push); the background slides past it.
    pivot_move = float(np.linalg.norm(project(near, u, v) - [u, v]))
    slide = float(np.linalg.norm(project(far, u + 60, v) - project(near, u + 60, v)))
    assert pivot_move < 6.0 and slide > 2.0 * pivot_move + 2.0, (pivot_move, slide)


def test_dolly_zoom_keeps_the_subject_size() -> None:
    pose = cam.pose(move("Dolly zoom"), 1.0)
    h = cam.plane_homography(pose, plane=np.array([0.0, 0.0, 1.0]), k_src=K, k_dst=K)
    a, b = project(h, 150, 100), project(h, 250, 100)
    assert abs(np.linalg.norm(b - a) - 100) < 3.0
    far = cam.plane_homography(pose, plane=np.array([0.0, 0.0, 0.3]), k_src=K, k_dst=K)
    assert np.linalg.norm(project(far, 250, 100) - project(far, 150, 100)) > 110


def test_amplitude_scales_with_motion_range_and_seed_gives_variants() -> None:
    travel = [
        np.linalg.norm(cam.pose(move("Pan right", motion_range=r), 1.0).position)
        for r in range(1, 11)
    ]
    assert all(a < b for a, b in itertools.pairwise(travel))
    assert move("Orbit right", seed=3) == move("Orbit right", seed=3)
    assert move("Orbit right", seed=3) != move("Orbit right", seed=4)
    picks = {cam.choose_auto_path(seed=s, has_subject=True) for s in range(40)}
    assert len(picks) >= 4 and picks <= set(cam.CAMERA_PATHS)
    assert move("", seed=5).path == cam.choose_auto_path(seed=5, has_subject=True)
    assert move("", seed=5) != move(move("", seed=5).path, seed=5)


def test_frame_times_make_seamless_loops() -> None:
    assert cam.frame_times(4, periodic=True) == [0.0, 0.25, 0.5, 0.75]
    assert cam.frame_times(3, periodic=False) == [0.0, 0.5, 1.0]
    m = move("Crane up", periodic=True)
    steps = [
        np.linalg.norm(cam.pose(m, t + 0.05).position - cam.pose(m, t).position) for t in (0.0, 0.5)
    ]
    assert steps[0] < 1e-2 and steps[1] < 1e-2


def test_cover_zoom_scales_about_the_zoom_centre() -> None:
    m = cam.with_cover_zoom(move("Zoom in"), 0.5)
    pose = cam.pose(m, 1.0)
    assert pose.zoom > 1.0
    rest = cam.CameraPose(np.zeros(3), np.eye(3), 1.5)
    h = cam.plane_homography(
        rest, plane=np.array([0, 0, 1.0]), k_src=K, k_dst=K, zoom_center=(50, 60)
    )
    assert np.allclose(project(h, 50, 60), [50, 60])


def test_fit_cover_zoom_finds_the_least_zoom_that_covers() -> None:
    """Both searches of the one border-hiding zoom fit, against a known threshold."""
    move = cam.plan_move("Pan left", motion_range=5, seed=1, periodic=False, pivot=(0.0, 0.0, 1.0))
    needed = 0.137
    covers = lambda z: z >= needed  # noqa: E731
    bisected = cam.fit_cover_zoom(move, covers, limit=0.35, steps=16)
    assert bisected is not None
    assert needed <= bisected.cover_zoom <= needed + 0.35 / 2**16
    laddered = cam.fit_cover_zoom(move, covers, limit=0.8, steps=40, search="ladder")
    assert laddered is not None and laddered.cover_zoom == pytest.approx(0.14)
    assert cam.fit_cover_zoom(move, lambda z: False, limit=0.35, steps=16) is None
    assert cam.fit_cover_zoom(move, lambda z: False, limit=0.8, steps=40, search="ladder") is None
    still = cam.fit_cover_zoom(move, lambda z: True, limit=0.35, steps=16)
    assert still is not None and still.cover_zoom == 0.0


# ------------------------------------------------------------------ how far each path goes

W, H = 384, 216
K_OUT = cam.intrinsics(float(W), (W - 1) / 2, (H - 1) / 2)
CLASS_OF = {
    "Pan right": "shift",
    "Pan left": "shift",
    "Tilt up": "shift",
    "Tilt down": "shift",
    "Crane up": "shift",
    "Crane down": "shift",
    "Roll right": "roll",
    "Roll left": "roll",
    "Zoom in": "zoom",
    "Zoom out": "zoom",
    "Aerial": "shift",
}


def background_motion(m: cam.CameraMove, inv_depth: float) -> tuple[float, float, float]:
    """(shift % of the frame, rotation degrees, zoom either way) of a background plane at
    ``inv_depth`` between the rest frame and the frame furthest from it (the bench's terms)."""
    plane = np.array([0.0, 0.0, inv_depth])
    zc = tuple(project(K_OUT, m.pivot[0] / m.pivot[2], m.pivot[1] / m.pivot[2]))

    def h_at(t: float) -> np.ndarray:
        return cam.plane_homography(
            cam.pose(m, t), plane=plane, k_src=K_OUT, k_dst=K_OUT, zoom_center=zc
        )

    # The furthest point: a loop's half way (Rotate 360's is the circle's far side).
    far = 0.5 if m.periodic else 1.0
    rest = h_at(1.0 if m.path == "Zoom out" else 0.0)
    h = h_at(0.0 if m.path == "Zoom out" else far) @ np.linalg.inv(rest)
    c = np.array([(W - 1) / 2, (H - 1) / 2])
    moved = project(h, *c) - c
    shift = 100.0 * max(abs(moved[0]) / W, abs(moved[1]) / H)
    right = project(h, c[0] + 10, c[1]) - project(h, *c)
    rot = float(np.degrees(np.arctan2(right[1], right[0])))
    scale = float(np.linalg.norm(right)) / 10.0
    return shift, rot, max(scale, 1.0 / scale)


@pytest.mark.parametrize("path", list(CLASS_OF))
def test_every_path_does_what_its_name_says_at_the_default_range(path: str) -> None:
    """Issue 22's sizes: pans, tilts and cranes move the view by 5 % of the frame, rolls turn
    6 degrees, zooms reach 1.2x, for every seed and a background anywhere from the picture's
    bottom (inverse depth 0.62) to its top (0.22) behind a subject at depth 1."""
    for seed in range(12):
        m = move(path, seed=seed, pivot=(0.04 * (seed % 3 - 1), -0.03, 1.0))
        for inv in (0.22, 0.42, 0.62):
            shift, rot, zoom = background_motion(m, inv)
            figure = {"shift": shift, "roll": abs(rot), "zoom": zoom}[CLASS_OF[path]]
            target = {"shift": 5.0, "roll": 6.0, "zoom": 1.2}[CLASS_OF[path]]
            assert figure >= target, (seed, inv, shift, rot, zoom)


@pytest.mark.parametrize(
    "path", ["Pan left", "Crane up", "Roll right", "Zoom in", "Orbit left", "Rotate 360", "Aerial"]
)
def test_moves_grow_with_motion_range(path: str) -> None:
    figures = []
    for r in range(1, 11):
        shift, rot, zoom = background_motion(move(path, motion_range=r, seed=2), 0.4)
        figures.append(shift + abs(rot) + 100.0 * (zoom - 1.0))
    assert all(a < b for a, b in itertools.pairwise(figures)), figures


def test_the_cover_zoom_can_scale_about_its_own_centre() -> None:
    m = cam.with_cover_zoom(move("Pan right"), 0.2)
    plane = np.array([0.0, 0.0, 0.5])
    about_pivot = cam.pose(m, 1.0)
    corner = cam.pose(dataclasses.replace(m, cover_center=(0.0, 0.0)), 1.0)
    assert corner.zoom == pytest.approx(about_pivot.zoom / corner.cover)
    h_pivot = cam.plane_homography(about_pivot, plane=plane, k_src=K_OUT, k_dst=K_OUT)
    h_corner = cam.plane_homography(corner, plane=plane, k_src=K_OUT, k_dst=K_OUT)
    # Same scale, a different fixed point: the corner's side of the frame stays put.
    bare = cam.plane_homography(
        dataclasses.replace(corner, cover=1.0), plane=plane, k_src=K_OUT, k_dst=K_OUT
    )
    p = project(bare, 50.0, 40.0)
    assert np.allclose(project(h_corner, 50.0, 40.0), p * corner.cover)
    assert not np.allclose(project(h_pivot, 50.0, 40.0), p * corner.cover)
    assert (
        cam.pose(m, 0.0).cover == 1.0
        and cam.pose(dataclasses.replace(m, cover_center=(0.0, 0.0)), 0.0).cover == 1.0
    )


def test_fit_cover_takes_the_centre_that_needs_least_zoom() -> None:
    m = move("Pan right", seed=4)
    needed = {None: 0.2, (0.0, 0.0): 0.07, (383.0, 0.0): 0.3, (191.5, 107.5): 0.07}

    def covers(zoom: float, *, center: tuple[float, float] | None) -> bool:
        return zoom >= needed[center]

    fitted = cam.fit_cover(m, covers, centers=list(needed), limit=0.35, steps=16)
    assert fitted is not None and fitted.cover_center == (0.0, 0.0)  # the first of the least
    assert 0.07 <= fitted.cover_zoom <= 0.07 + 0.35 / 2**16
    still = cam.fit_cover(m, lambda z, *, center: True, centers=list(needed), limit=0.35, steps=16)
    assert still is not None and still.cover_zoom == 0.0 and still.cover_center is None
    none = cam.fit_cover(m, lambda z, *, center: False, centers=list(needed), limit=0.35, steps=16)
    assert none is None
    assert cam.frame_centre(W, H) == ((W - 1) / 2, (H - 1) / 2)


def test_cranes_over_scenery_move_the_background() -> None:
    """Without a subject the pivot lies on the background: a crane that kept looking back at
    it would hold the background still."""
    pivot = (0.0, 0.0, 2.4)  # a point of the background, as the engine picks it
    for has_subject, least in ((False, 5.0), (True, 0.0)):
        m = move("Crane up", pivot=pivot, has_subject=has_subject)
        shift, _, _ = background_motion(m, 1.0 / 2.4)
        assert shift >= least, (has_subject, shift)
    still = background_motion(move("Crane up", pivot=pivot, has_subject=True), 1.0 / 2.4)[0]
    assert still < background_motion(move("Crane up", pivot=pivot, has_subject=False), 0.42)[0]


# ------------------------------------------------------------------ framing


def crop_of(
    centre: tuple[float, float], crop: tuple[float, float]
) -> tuple[float, float, float, float]:
    """The relative (x0, y0, x1, y1) of a crop centred as cover_crop_box would, clamped."""
    x0 = min(max(centre[0] - crop[0] / 2, 0.0), 1.0 - crop[0])
    y0 = min(max(centre[1] - crop[1] / 2, 0.0), 1.0 - crop[1])
    return x0, y0, x0 + crop[0], y0 + crop[1]


def share_inside(mask: np.ndarray, box: tuple[float, float, float, float]) -> float:
    h, w = mask.shape
    x0, y0, x1, y1 = round(box[0] * w), round(box[1] * h), round(box[2] * w), round(box[3] * h)
    return float(mask[y0:y1, x0:x1].sum() / mask.sum())


def test_framing_keeps_a_subject_that_fits_whole() -> None:
    # A standing figure low in a tall picture (a footballer with the ball at his feet),
    # framed for a wide output: the old centre (pulled to the head) cut the feet off.
    mask = np.zeros((400, 300), np.float32)
    mask[150:395, 120:180] = 1.0
    crop = (1.0, 0.75)  # the crop is 75 % of the height
    old = crop_of(framing.subject_centre_of_mask(mask), crop)
    new = crop_of(framing.subject_frame_centre(mask, crop=crop), crop)
    assert share_inside(mask, old) < 0.97
    assert share_inside(mask, new) == pytest.approx(1.0)


def test_framing_keeps_the_top_of_a_subject_too_tall_to_fit() -> None:
    mask = np.zeros((400, 300), np.float32)
    mask[40:400, 130:170] = 1.0  # a tower from near the top to the bottom edge
    crop = (1.0, 0.5)
    y0 = crop_of(framing.subject_frame_centre(mask, crop=crop), crop)[1]
    assert y0 <= 40 / 400 <= y0 + 0.1 * crop[1]  # its top just inside
    face = framing.subject_frame_centre(mask, crop=(0.05, 0.5), face=(0.47, 0.2))
    assert face[0] == pytest.approx(0.47)  # too wide for the crop: centred on the face


def test_framing_a_real_photo_keeps_the_subject_in(isnet_engine, photos) -> None:  # type: ignore[no-untyped-def]
    image = photos["coffee.png"]
    mask = isnet_engine.segmentation(image).mask
    ih, iw = image.shape[:2]
    for width, height in ((384, 216), (216, 384), (288, 288)):
        scale = min(iw / width, ih / height)
        crop = (width * scale / iw, height * scale / ih)
        centre = framing.subject_frame_centre(mask, crop=crop)
        binary = (mask > 0.5).astype(np.float32)
        new = share_inside(binary, crop_of(centre, crop))
        old = share_inside(binary, crop_of(framing.subject_centre_of_mask(mask), crop))
        assert new >= old - 1e-6, (width, height, new, old)


def test_a_crane_over_a_subject_filling_the_frame_moves_it() -> None:
    """When the subject is most of the picture, holding it still would hold the view still."""
    near = [
        background_motion(move("Crane down", seed=1, subject_share=share), 1.0)[0]
        for share in (0.0, 0.5, 0.8)
    ]
    assert near[0] < near[1] < near[2] and near[2] > 1.8 * near[0], near


def test_rotate_360_moves_the_background_five_percent_half_way_round() -> None:
    """Rotate 360 is judged like the pans it is made of: at its largest point (half way round)
    the background moves by 5 % of the frame, for every seed and a background at least twice
    as far as the subject; over scenery too, where it turns only half way back to its pivot."""
    for seed in range(12):
        m = move("Rotate 360", seed=seed, pivot=(0.04 * (seed % 3 - 1), -0.03, 1.0))
        for inv in (0.22, 0.42):
            assert background_motion(m, inv)[0] >= 5.0, (seed, inv)
        scenery = move("Rotate 360", seed=seed, has_subject=False)
        assert background_motion(scenery, 1.0)[0] >= 5.0, seed


def test_aerial_over_scenery_moves_the_view() -> None:
    """Over scenery the pivot is a point of the background itself: the climb and the tilt must
    not cancel there (they did when the drone tilted down to look back at it)."""
    for seed in range(12):
        shift, _, _ = background_motion(move("Aerial", seed=seed, has_subject=False), 1.0)
        assert shift >= 5.0, (seed, shift)


def test_rotate_360_cover_envelope_keeps_pace_with_the_camera() -> None:
    """The border-hiding zoom grows along the envelope, so the envelope must keep pace with
    what the zoom has to hide: the camera's distance from its rest point. The earlier one
    (a smoothed |sin(pi t)|) lagged it near rest, so fitting the zoom there took about three
    times the zoom half way round, or cut the move to a third. It still leaves rest with zero
    slope: no kink in the zoom at a loop's seam."""
    m = dataclasses.replace(move("Rotate 360"), push=0.0)
    times = np.linspace(0.01, 0.99, 99)
    away = np.array([np.linalg.norm(cam.pose(m, t).position) for t in times])
    env = np.array([cam.envelope(m, t) for t in times])
    assert np.allclose(env, away / away.max(), atol=0.01)
    assert cam.envelope(m, 1e-3) < 1e-4 and cam.envelope(m, 1.0 - 1e-3) < 1e-4


def test_rotate_360_keeps_its_whole_move_and_never_shows_a_border(
    isnet_engine,  # type: ignore[no-untyped-def]
    photos,
) -> None:
    """On real photos the fitted Rotate 360 keeps the amplitude it was asked for and no
    frame shows a border (the earlier envelope cut rocket.jpg at 192 x 144 to 0.88 of it, and
    about a third on corpus photos such as megamind and basketball_throw)."""
    from engine_helpers import border_defects, render

    from kinora.engines.base import RenderConfig

    for name, (width, height) in (("rocket.jpg", (192, 144)), ("astronaut.png", (256, 144))):
        config = RenderConfig(
            width=width, height=height, fps=12, duration=1.0, camera="Rotate 360", seed=1
        )
        plan = isnet_engine.plan(photos[name], config)
        asked = cam.plan_move(
            "Rotate 360", motion_range=5, seed=1, periodic=True, pivot=PIVOT
        ).amplitude
        assert plan.move.amplitude == pytest.approx(asked), name
        assert 0.0 < plan.move.cover_zoom < 0.35, name
        frames = render(
            isnet_engine, photos[name], camera="Rotate 360", seed=1, width=width, height=height
        )
        assert all(border_defects(f) == [] for f in frames), name
