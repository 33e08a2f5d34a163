"""Camera paths as 3D moves: rest poses, loops, homographies, seeds and amplitudes."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from kinora.engines.geometry import camera as cam

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
