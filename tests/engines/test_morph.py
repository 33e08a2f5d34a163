"""The two-image engine: related pairs morph along flow, unrelated pairs get a moving transition."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from kinora.engines.base import EngineInputs, InputKind, RenderConfig
from kinora.engines.geometry.easing import smoothstep_with_linear as ease
from kinora.engines.morph.engine import (
    CREATIVE_KINDS,
    RELATED,
    REVEAL,
    WHIP,
    ZOOM,
    MorphEngine,
    midpoint,
    pass_times,
)
from kinora.video.fit import cover_fit

sys.path.insert(0, str(Path(__file__).parent))  # works with or without tests/engines/__init__.py
from morph_helpers import jump_ratio, photo, psnr, video_frames

W, H = 320, 180
FRAMES = (100, 102, 104, 130, 400, 416)


def bbb(i: int) -> np.ndarray:
    return video_frames(FRAMES)[i]


def render(a: np.ndarray, b: np.ndarray, **kw: object) -> tuple[list[np.ndarray], RenderConfig]:
    cfg = RenderConfig(**{"width": W, "height": H, "duration": 1.0, **kw})  # type: ignore[arg-type]
    frames = list(MorphEngine().frames(EngineInputs(images=[a, b]), cfg))
    assert len(frames) == cfg.total_frames
    for f in frames:
        assert f.shape == (cfg.height, cfg.width, 3) and f.dtype == np.uint8
    return frames, cfg


def check_pass(frames: list[np.ndarray], a: np.ndarray, b: np.ndarray, cfg: RenderConfig) -> None:
    fa = cover_fit(a, cfg.width, cfg.height)
    fb = cover_fit(b, cfg.width, cfg.height)
    n = cfg.frames_per_motion
    assert psnr(frames[0], fa) >= 40
    assert psnr(frames[n - 1], fb) >= 40
    assert jump_ratio(frames) <= 3.0


def test_engine_info() -> None:
    info = MorphEngine.info
    assert info.name == "kinora-morph" and info.version == "1.0"
    assert info.accepts == frozenset({InputKind.TWO_IMAGES})
    assert MorphEngine().service_version() == "1.0"


def test_needs_two_images() -> None:
    with pytest.raises(ValueError):
        list(MorphEngine().frames(EngineInputs(images=[photo("coffee.png")]), RenderConfig(W, H)))


def test_easing_and_schedule() -> None:
    assert ease(0.0) == 0.0 and ease(1.0) == 1.0
    speeds = np.diff([ease(x) for x in np.linspace(0, 1, 101)])
    assert speeds.min() > 0.15 * speeds.max()  # never stalls
    times = pass_times(5, 3)
    assert len(times) == 15 and times[0] == 0.0 and times[4] == 1.0
    assert times[9] == 0.0 and times[14] == 1.0
    assert all(times[i] != times[i + 1] for i in range(14))  # no repeated frame at turnarounds


def test_related_video_frames_morph_along_flow() -> None:
    a, b = bbb(400), bbb(416)
    plan = MorphEngine().plan(EngineInputs(images=[a, b]), RenderConfig(W, H))
    assert plan.kind == RELATED and plan.related
    frames, cfg = render(a, b)
    check_pass(frames, a, b, cfg)


def test_camera_motion_pair_is_aligned_and_morphed() -> None:
    a, b = bbb(100), bbb(130)  # the camera pans across the meadow
    plan = MorphEngine().plan(EngineInputs(images=[a, b]), RenderConfig(W, H))
    assert plan.kind == RELATED and plan.aligned
    frames, cfg = render(a, b)
    check_pass(frames, a, b, cfg)
    # content travels: the middle frame is much closer to the real in-between than a crossfade
    fa, fb = cover_fit(a, W, H), cover_fit(b, W, H)
    crossfade = ((fa.astype(np.float32) + fb) / 2 + 0.5).astype(np.uint8)
    truth = cover_fit(video_frames((100, 115, 130))[115], W, H)
    assert psnr(midpoint(fa, fb), truth) > psnr(crossfade, truth) + 3


def test_midpoint_beats_crossfade_on_a_true_middle_frame() -> None:
    a, m, b = (cover_fit(bbb(i), 480, 270) for i in (100, 102, 104))
    crossfade = ((a.astype(np.float32) + b) / 2 + 0.5).astype(np.uint8)
    assert psnr(midpoint(a, b), m) > psnr(crossfade, m) + 5


@pytest.mark.parametrize(
    ("camera", "kind"), [("", None), ("Static", REVEAL), ("Zoom in", ZOOM), ("Pan left", WHIP)]
)
def test_unrelated_photos_get_a_moving_transition(camera: str, kind: str | None) -> None:
    a, b = photo("chelsea.png"), photo("coffee.png")
    plan = MorphEngine().plan(EngineInputs(images=[a, b]), RenderConfig(W, H, camera=camera))
    assert not plan.related and plan.kind in CREATIVE_KINDS
    if kind:
        assert plan.kind == kind
    frames, cfg = render(a, b, camera=camera)
    check_pass(frames, a, b, cfg)
    # it moves rather than dissolves: mid frames are far from the crossfade of the endpoints
    fa, fb = frames[0].astype(np.float32), frames[cfg.frames_per_motion - 1].astype(np.float32)
    mid = len(frames) // 2
    crossfade = (fa * 0.5 + fb * 0.5).astype(np.uint8)
    assert float(np.mean(np.abs(frames[mid].astype(np.int16) - crossfade))) > 12
    # no black pulled in at the borders
    for f in frames:
        edges = np.concatenate([f[0], f[-1], f[:, 0], f[:, -1]])
        assert float(edges.mean()) > 30


def test_seeds_choose_transitions_deterministically() -> None:
    a, b = photo("astronaut.png"), photo("rocket.jpg")
    engine = MorphEngine()
    inputs = EngineInputs(images=[a, b])
    kinds = {engine.plan(inputs, RenderConfig(W, H, seed=s)).kind for s in range(6)}
    assert len(kinds) >= 2
    first, _ = render(a, b, seed=3)
    again, _ = render(a, b, seed=3)
    assert all(np.array_equal(x, y) for x, y in zip(first, again, strict=True))


def test_ping_pong_loop() -> None:
    a, b = bbb(400), bbb(416)
    frames, cfg = render(a, b, loop=3, duration=0.5)
    n = cfg.frames_per_motion
    assert len(frames) == 3 * n
    fa, fb = cover_fit(a, W, H), cover_fit(b, W, H)
    assert psnr(frames[0], fa) >= 40
    assert psnr(frames[n - 1], fb) >= 40
    assert psnr(frames[2 * n - 1], fa) >= 40
    assert psnr(frames[3 * n - 1], fb) >= 40
    # the B->A pass retraces the A->B one
    assert psnr(frames[n], frames[n - 2]) > 30
    assert jump_ratio(frames) <= 3.0


@pytest.mark.parametrize(("w", "h"), [(320, 180), (180, 320), (240, 240)])
def test_aspect_ratios(w: int, h: int) -> None:
    for a, b in ((bbb(400), bbb(416)), (photo("coffee.png"), photo("astronaut.png"))):
        frames, cfg = render(a, b, width=w, height=h)
        check_pass(frames, a, b, cfg)


@pytest.mark.parametrize("camera", ["Zoom in", "Pan right", "Roll left", "Orbit right"])
def test_camera_on_a_related_pair_keeps_endpoints(camera: str) -> None:
    a, b = bbb(400), bbb(416)
    frames, cfg = render(a, b, camera=camera)
    check_pass(frames, a, b, cfg)
    plain, _ = render(a, b)
    mid = len(frames) // 2
    assert not np.array_equal(frames[mid], plain[mid])
