"""Actions change the drawing, not only the motion: a sleeper lies down with its eyes shut, a
flying bird beats its wings, a swimmer spreads ripples. Checked on the real icons, through
the renderer the engine uses."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kinora.engines.base import RenderConfig
from kinora.engines.geometry.camera import pose as camera_pose
from kinora.engines.scene.animate import pose
from kinora.engines.scene.compose import ScenePlan
from kinora.engines.scene.draw import poses
from kinora.engines.scene.draw.canvas import Canvas
from kinora.engines.scene.draw.effects import Glows, Particles
from kinora.engines.scene.draw.sky import paint_sky
from kinora.engines.scene.engine import SceneEngine
from kinora.engines.scene.render import SceneRenderer
from kinora.engines.scene.vocabulary import IconSet, load_icons, rasterise


def _icons(models_dir: Path) -> IconSet:
    icons = load_icons(models_dir)
    assert icons is not None
    return icons


def _icon(icons: IconSet, name: str) -> np.ndarray:
    return np.array(rasterise(icons, name, 200))


def _rows(rgba: np.ndarray) -> tuple[int, int]:
    ys = np.nonzero((rgba[..., 3] > 24).any(axis=1))[0]
    return int(ys.min()), int(ys.max())


def _cols(rgba: np.ndarray) -> tuple[int, int]:
    xs = np.nonzero((rgba[..., 3] > 24).any(axis=0))[0]
    return int(xs.min()), int(xs.max())


def test_an_animal_lies_down_on_its_folded_legs(models_dir: Path) -> None:
    icons = _icons(models_dir)
    for name in ("cat", "dog", "tiger", "cow"):
        standing = _icon(icons, name)
        lying, folded = poses.lie_down(standing)
        assert folded, name
        top0, bottom0 = _rows(standing)
        top1, bottom1 = _rows(lying)
        assert bottom1 == bottom0, name  # still on the ground it stood on
        assert (bottom1 - top1) < 0.88 * (bottom0 - top0), name  # lower by the legs folded
        assert _cols(lying) == _cols(standing), name  # as long as it was
    # Nothing to fold under a face, a fish or a snake: drawn as it is.
    for name in ("fox", "tropical-fish", "snake"):
        icon = _icon(icons, name)
        same, folded = poses.lie_down(icon)
        assert not folded and same is icon, name


def test_eyes_close_and_nothing_else_changes(models_dir: Path) -> None:
    icons = _icons(models_dir)
    for name, eyes in (("cat", 1), ("dog", 1), ("fox", 2), ("bear", 2), ("penguin", 2)):
        icon = _icon(icons, name)
        shut, closed = poses.close_eyes(icon)
        assert closed == eyes, name
        picked = poses._pick_eyes(poses._eye_blobs(icon))
        for x, y, w, h, _ in picked:
            # The open eye was a dark blob; shut, only a thin lid across it is dark.
            def dark(img: np.ndarray, x: int = x, y: int = y, w: int = w, h: int = h) -> float:
                rgb = img[y : y + h, x : x + w, :3].astype(float)
                return float((rgb @ [0.3, 0.59, 0.11] < 75).mean())

            assert dark(icon) > 0.5 and dark(shut) < 0.6 * dark(icon), name
        changed = np.abs(shut.astype(int) - icon.astype(int)).max(axis=2) > 0
        assert changed.mean() < 0.03, name  # only the eyes were touched
        assert (shut[..., 3] == icon[..., 3]).all(), name


def test_a_perched_bird_grows_beating_wings(models_dir: Path) -> None:
    icons = _icons(models_dir)
    owl = _icon(icons, "owl")
    frames, margin = poses.wing_beat(owl)
    assert len(frames) == poses.WING_FRAMES and margin > 0
    body = _cols(owl)
    body_w = body[1] - body[0]
    widths = [(_cols(f)[1] - _cols(f)[0]) for f in frames]
    assert min(widths) > 1.3 * body_w  # wings out from both shoulders...

    # ...rising and falling: where the wings are, outside the body's columns.
    def wing_row(f: np.ndarray) -> float:
        outside = f[..., 3].copy()
        outside[:, margin + body[0] : margin + body[1] + 1] = 0
        return float(np.nonzero(outside > 24)[0].mean())

    rows = [wing_row(f) for f in frames]
    assert max(rows) - min(rows) > 0.1 * owl.shape[0]
    # The owl itself is unchanged under them: its middle pixels are the icon's.
    mid = frames[2][margin + 90 : margin + 110, margin + 90 : margin + 110]
    assert np.array_equal(mid, owl[90:110, 90:110])


def test_spread_wings_fold_and_open(models_dir: Path) -> None:
    icons = _icons(models_dir)
    eagle = _icon(icons, "eagle")
    assert poses.shows_wings(eagle) and not poses.shows_wings(_icon(icons, "parrot"))
    frames, _ = poses.wing_beat(eagle)
    tops = [_rows(f)[0] for f in frames]
    assert tops[len(tops) // 2] - tops[0] > 0.15 * (_rows(eagle)[1] - _rows(eagle)[0])
    # The head (lowest-topped columns on the left) does not move.
    bottoms = [_rows(f)[1] for f in frames]
    assert len(set(bottoms)) == 1


def _renderer(engine: SceneEngine, prompt: str) -> SceneRenderer:
    plan = engine.plan(prompt, seed=1)
    icons = load_icons(engine.models_dir)
    assert isinstance(plan, ScenePlan) and icons is not None
    cfg = RenderConfig(width=320, height=180, fps=8, duration=1.0, prompt=prompt)
    return SceneRenderer(plan, icons, config=cfg)


def test_the_renderer_draws_the_pose(engine: SceneEngine) -> None:
    sleeping = _renderer(engine, "a cat sleeping in a meadow").sprites[0]
    standing = _renderer(engine, "a cat standing in a meadow").sprites[0]
    assert sleeping.content_h == standing.content_h  # sized alike, so lying is lower
    top_s, bottom_s = _rows(sleeping.image)
    top_w, bottom_w = _rows(standing.image)
    assert (bottom_s - top_s) < 0.88 * (bottom_w - top_w)
    flying = _renderer(engine, "an owl flying over a forest")
    sprite = flying.sprites[0]
    assert len(sprite.beats) == poses.WING_FRAMES
    flaps = {int(pose(sprite.subject.path, t, periodic=False).flap * 8) for t in flying.times}
    assert len(flaps) >= 4  # the frames step through the beat
    assert not _renderer(engine, "an airplane flying over hills").sprites[0].beats


def test_a_swimmer_spreads_ripples_at_its_waterline(engine: SceneEngine) -> None:
    r = _renderer(engine, "a dog swimming in a lake")
    (dog,) = r.plan.subjects
    ripples = next(e for e in r.plan.effects if e.kind == "ripples")
    assert ripples.subject == 0
    p = Particles(ripples, r.plan, r.icons, r.canvas, Glows(), periodic=False)
    out = np.zeros((r.h, r.w, 3), np.uint8)
    p.draw(out, r._homography(camera_pose(r.move, 0.3), ripples.depth), 0.3)
    ys, xs = np.nonzero(out.max(axis=2) > 20)
    assert len(ys) > 50
    # At the waterline (the nearest water band's top, where the dog's middle is), under it.
    assert abs(np.median(ys) / r.h - dog.path.v) < 0.08
    assert abs(np.median(xs) / r.w - pose(dog.path, 0.3, periodic=False).u) < 0.1
    walking = engine.plan("a dog walking in a meadow", seed=1)
    assert not any(e.kind == "ripples" for e in walking.effects)


def test_a_duck_floats_high_and_a_dog_swims_low(engine: SceneEngine) -> None:
    (duck,) = engine.plan("a duck swimming on a lake", seed=1).subjects
    (dog,) = engine.plan("a dog swimming in a lake", seed=1).subjects
    assert duck.waterline and dog.waterline
    # The dog's middle is on the waterline; the duck's is above it, most of it shows.
    assert duck.path.v < dog.path.v - 0.2 * duck.height


def test_children_are_whole_figures_and_play(engine: SceneEngine) -> None:
    plan = engine.plan("two children playing in a park", seed=1)
    assert [(s.icon, s.verb) for s in plan.subjects] == [("person-standing", "jump")] * 2
    runners = engine.plan("a kid running on the beach", seed=1).subjects
    assert runners[0].icon == "person-running"  # not the child emoji's face


def test_northern_lights_in_a_clear_night_sky_only(engine: SceneEngine) -> None:
    lights = engine.plan("a penguin under the northern lights", seed=1)
    plain = engine.plan("a penguin at night", seed=1)
    assert lights.time == "night" and "aurora" in lights.weather
    assert not lights.subjects[0].icon.endswith("lantern")
    canvas = Canvas.around(320, 180)
    a, b = paint_sky(lights, canvas).astype(int), paint_sky(plain, canvas).astype(int)
    upper = slice(canvas.my, canvas.my + 60)
    # Green light over the night sky: the green channel rises most.
    gain = (a[upper] - b[upper]).mean(axis=(0, 1))
    assert gain[1] > 20 and gain[1] > gain[0] + 10
    stormy = engine.plan("a penguin under the northern lights in a storm", seed=1)
    assert "northern lights (hidden by the clouds)" in stormy.not_drawn
