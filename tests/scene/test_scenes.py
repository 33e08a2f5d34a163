"""What the issue's prompts asked for is what the plan and the frames show: subject, setting,
action, weather and time that agree, icons from the extra sets or shapes, and a record of
what could not be drawn."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path

import numpy as np

from kinora.engines.base import EngineInputs, RenderConfig
from kinora.engines.scene.animate import pose
from kinora.engines.scene.compose import INDOOR, WALL_DEPTH, ScenePlan
from kinora.engines.scene.engine import SceneEngine
from kinora.engines.scene.prompt import Matcher, parse_prompt
from kinora.engines.scene.vocabulary import (
    EXTRA_ICONS_FILENAME,
    extra_package_dirs,
    install_icons,
    load_icons,
    rasterise,
)
from tests.scene.conftest import INSTALL, render


def _plan(engine: SceneEngine, prompt: str) -> ScenePlan:
    plan = engine.plan(prompt, seed=1)
    assert isinstance(plan, ScenePlan)
    return plan


def test_lighthouse_on_a_cliff_in_a_night_storm(engine: SceneEngine) -> None:
    plan = _plan(engine, "A lighthouse on a cliff during a storm at night")
    (tower,) = plan.subjects
    assert tower.icon == "shape:lighthouse"  # not Fluent's lattice radio tower
    assert plan.setting == "cliff" and plan.time == "night"
    assert [layer.kind for layer in plan.layers if layer.depth == tower.depth] == ["cliff"]
    assert any(layer.kind == "water" for layer in plan.layers)
    # A storm hides stars and moon; rain falls, lightning flashes, the lamp's beam turns.
    assert not plan.palette.stars and plan.palette.sun == ""
    kinds = {e.kind for e in plan.effects}
    assert {"rain", "lightning", "beam"} <= kinds and "twinkle" not in kinds
    frames = render(engine, plan.prompt, duration=2.0, fps=6)
    # The beam swings from one side of the tower to the other over the pass (frames 1 and 5
    # of 12: between the lightning flashes).
    sky = [f[:80].astype(float) for f in frames]
    right_then_left = sky[1][:, 100:].mean() - sky[5][:, 100:].mean()
    left_then_right = sky[5][:, :60].mean() - sky[1][:, :60].mean()
    assert right_then_left > 2 and left_then_right > 1


def test_hot_air_balloon_is_not_a_party_balloon(engine: SceneEngine) -> None:
    plan = _plan(engine, "a hot air balloon over green hills")
    (balloon,) = plan.subjects
    assert balloon.icon == "shape:hot-air-balloon" and balloon.verb == "fly"
    assert not balloon.grounded
    party = _plan(engine, "a red balloon floating at a party")
    assert party.subjects[0].icon == "balloon"


def test_cat_sleeping_on_a_windowsill_while_it_rains(engine: SceneEngine) -> None:
    plan = _plan(engine, "a cat sleeping on a windowsill while it rains outside")
    (cat,) = plan.subjects
    assert (cat.icon, cat.verb, plan.setting) == ("cat", "sleep", "windowsill")
    kinds = [layer.kind for layer in plan.layers]
    assert {"wall", "sill", "floor"} <= set(kinds)
    # It lies on the sill, in front of the wall; the rain falls outside, behind the wall.
    assert cat.grounded and cat.depth < WALL_DEPTH
    rain = next(e for e in plan.effects if e.kind == "rain")
    assert rain.depth > WALL_DEPTH
    assert any(e.kind == "zzz" and e.subject == 0 for e in plan.effects)
    frames = render(engine, plan.prompt, duration=2.0, fps=6)
    # Lying (the sprite's legs folded, tests/scene/test_poses.py), settled a little lower and
    # breathing: the frames change only gently.
    assert pose(cat.path, 0.5, periodic=False).sy < 0.97
    diffs = [float(np.abs(a.astype(int) - b.astype(int)).mean()) for a, b in pairwise(frames)]
    assert max(diffs) < 12


def test_fairy_dust_without_a_subject_drifts(engine: SceneEngine) -> None:
    plan = _plan(engine, "fairy dust over a calm lake")
    assert plan.subjects == ()
    dust = next(e for e in plan.effects if e.kind == "fairy dust")
    assert dust.subject == -1
    frames = render(engine, plan.prompt)
    assert len(frames) == 8 and frames[3].std() > 5


def test_weather_and_time_of_day_agree(engine: SceneEngine) -> None:
    clear = _plan(engine, "a fox in a meadow at night")
    assert clear.palette.stars and clear.palette.sun == "moon"
    for prompt in ("a fox in a meadow on a rainy night", "a fox in a meadow on a cloudy night"):
        p = _plan(engine, prompt)
        assert not p.palette.stars and p.palette.sun == "", prompt
    # A sunset warms the whole scene, the water most towards the horizon.
    day = _plan(engine, "a sailboat on the ocean at noon")
    dusk = _plan(engine, "a sailboat on the ocean at sunset")
    assert dusk.palette.warmth > 0 == day.palette.warmth

    def warmth(plan: ScenePlan) -> list[int]:
        return [layer.colour[0] - layer.colour[2] for layer in plan.layers if layer.kind == "water"]

    assert all(w > d for w, d in zip(warmth(dusk), warmth(day), strict=True))
    assert warmth(dusk)[0] > 0  # the far water reflects the orange horizon


def test_settings_vary_with_the_prompt(engine: SceneEngine) -> None:
    seen = {}
    for prompt in (
        "a dog sleeping in the living room",
        "a lighthouse on a sea cliff",
        "a camel in the desert",
        "a car on a city street",
        "a fish in a coral reef",
        "a rocket in outer space",
        "a penguin on the ice",
        "a deer in the forest",
    ):
        plan = _plan(engine, prompt)
        seen[plan.setting] = tuple(layer.kind for layer in plan.layers)
    assert len(seen) == 8 and len(set(seen.values())) == 8
    assert "room" in seen and set(seen["room"]) >= {"wall", "floor"}
    assert all(s not in INDOOR for s in seen if s != "room")


def test_what_cannot_be_drawn_is_reported(engine: SceneEngine) -> None:
    prompt = "a cheetah chasing a gazelle across the savanna"
    cfg = RenderConfig(width=128, height=72, fps=4, duration=0.5, prompt=prompt)
    result = engine.render(EngineInputs(prompt=prompt), cfg)
    assert {"cheetah", "gazelle"} <= set(result.metadata["not_drawn"])
    assert len(list(result.frames)) == cfg.total_frames
    crowd = engine.render(EngineInputs(prompt="five cats and five dogs"), cfg)
    assert any("of 10 subjects" in n for n in crowd.metadata["not_drawn"])
    plain = engine.render(EngineInputs(prompt="a cat in a garden"), cfg)
    assert "not_drawn" not in plain.metadata
    assert plain.metadata["scene"] == {"setting": "meadow", "drawn": ["cat (fluent-emoji-flat)"]}


def test_extra_icon_sets_fill_what_fluent_lacks(models_dir: Path) -> None:
    icons = load_icons(models_dir)
    assert icons is not None
    assert (models_dir / EXTRA_ICONS_FILENAME).is_file(), INSTALL
    # Noto's newer emoji, only where Fluent has none; Fluent's own icons stay Fluent's.
    assert icons.source("ballet-dancer") == "noto" and icons.source("cat") == "fluent-emoji-flat"
    assert icons.source("shape:lighthouse") == "shape"
    assert engine_subject(models_dir, "a ballerina dancing") == "ballet-dancer"
    for name in ("ballet-dancer", "shape:lighthouse", "shape:hot-air-balloon"):
        img = rasterise(icons, name, 48)
        assert img.shape == (48, 48, 4) and (img[..., 3] > 200).mean() > 0.08, name


def engine_subject(models_dir: Path, prompt: str) -> str:
    """The first subject's icon for a prompt, by the engine on that models dir."""
    plan = SceneEngine(models_dir=models_dir).plan(prompt)
    return plan.subjects[0].icon


def test_without_the_extra_sets_fluent_and_shapes_remain(
    models_dir: object, tmp_path: object
) -> None:
    from pathlib import Path

    only = Path(str(tmp_path))
    (only / "fluent-emoji-flat.json").symlink_to(Path(str(models_dir)) / "fluent-emoji-flat.json")
    icons = load_icons(only)
    assert icons is not None
    assert "ballet-dancer" not in icons and "cat" in icons
    assert "shape:lighthouse" in icons
    # The subject a missing set would have drawn falls back to what is installed.
    parse = parse_prompt("a ballerina dancing", Matcher(icons=icons, model=None))
    assert parse.subjects[0].icon == "woman-dancing"


def test_install_adds_the_extra_sets_once(tmp_path: Path) -> None:
    """``make install``'s icon step: the main set, and the extra sets the Makefile unpacked
    beside it, only their names the main set lacks; a second run changes nothing."""
    package = Path(__file__).resolve().parents[2] / ".cache/npm/fluent-emoji-flat/package"
    assert extra_package_dirs(package), f"no extra icon sets unpacked beside {package}: {INSTALL}"
    main = install_icons(package, tmp_path)
    extra = tmp_path / EXTRA_ICONS_FILENAME
    stamps = (main.stat().st_mtime_ns, extra.stat().st_mtime_ns)
    install_icons(package, tmp_path)
    assert (main.stat().st_mtime_ns, extra.stat().st_mtime_ns) == stamps
    fluent = json.loads(main.read_text(encoding="utf-8"))["icons"]
    sets = json.loads(extra.read_text(encoding="utf-8"))
    assert sets["noto"]["licence"] == "Apache-2.0"
    added = set(sets["noto"]["icons"])
    assert "ballet-dancer" in added and not added & set(fluent)
    assert not any("skin-tone" in n for n in added)
