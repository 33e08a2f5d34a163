"""Twenty varied prompts: the plan names their subjects and verbs, and the video moves."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from kinora.engines.scene.compose import ScenePlan
from kinora.engines.scene.engine import SceneEngine
from tests.scene.conftest import render

# prompt -> ({(icon, verb), ...} that must be in the plan, setting, time or "")
CASES: list[tuple[str, set[tuple[str, str]], str, str]] = [
    (
        "A cute bunny jumping through a magical forest with sparkling fairy dust",
        {("rabbit", "jump")},
        "forest",
        "",
    ),
    (
        "A kitty chasing butterflies in a sunny meadow",
        {("cat", "run"), ("butterfly", "fly")},
        "meadow",
        "",
    ),
    (
        "An automobile cruising through the city at night",
        {("automobile", "drive")},
        "city",
        "night",
    ),
    ("Two dolphins swimming in the ocean at sunset", {("dolphin", "swim")}, "ocean", "sunset"),
    (
        "A snowman in a snowy village on a winter evening",
        {("snowman", "float")},
        "village",
        "sunset",
    ),
    ("A lone astronaut floating in outer space", {("astronaut", "float")}, "space", ""),
    ("A puppy running on the beach", {("dog", "run")}, "beach", ""),
    (
        "A hot air balloon soaring over mountains at dawn",
        {("shape:hot-air-balloon", "fly")},
        "mountains",
        "dawn",
    ),
    (
        "A dragon flying over a castle in a stormy sky",
        {("dragon", "fly"), ("castle", "idle")},
        "kingdom",
        "",
    ),
    ("A little girl dancing in the rain", {("woman-dancing", "dance")}, "", ""),
    ("A steam train driving through the desert", {("locomotive", "drive")}, "desert", ""),
    ("An owl in a spooky forest at midnight", {("owl", "fly")}, "forest", "night"),
    ("A sunflower growing in a field", {("sunflower", "grow")}, "meadow", ""),
    ("A fish swimming in a coral reef", {("tropical-fish", "swim")}, "underwater", ""),
    ("A racing car speeding through a neon city", {("racing-car", "drive")}, "city", ""),
    ("A horse galloping across the prairie at sunrise", {("horse", "run")}, "meadow", "dawn"),
    ("A pirate ship sailing on stormy seas", {("passenger-ship", "float")}, "ocean", ""),
    (
        "A pooch walking with a man in the park",
        {("dog", "walk"), ("man-walking", "walk")},
        "meadow",
        "",
    ),
    ("An airliner above the clouds", {("airplane", "fly")}, "sky", ""),
    (
        "A penguin spinning on the ice under the northern stars",
        {("penguin", "spin")},
        "snowfield",
        "night",
    ),
]


@pytest.mark.parametrize(
    ("prompt", "expected", "setting", "time"), CASES, ids=[c[0][:40] for c in CASES]
)
def test_prompt_renders_its_subjects(
    engine: SceneEngine, prompt: str, expected: set[tuple[str, str]], setting: str, time: str
) -> None:
    plan = engine.plan(prompt, seed=3)
    assert isinstance(plan, ScenePlan)
    got = {(s.icon, s.verb) for s in plan.subjects}
    assert expected <= got, (prompt, got, plan.parse.matches)
    if setting:
        assert plan.setting == setting, (prompt, plan.setting)
    if time:
        assert plan.time == time
    for s in plan.subjects:
        assert s.depth > 0
        assert 0.0 < s.height < 1.0
    frames = render(engine, prompt, seed=3)
    assert len(frames) == 8
    assert all(f.shape == (144, 256, 3) and f.dtype == np.uint8 for f in frames)
    diffs = [
        float(np.abs(a.astype(int) - b.astype(int)).mean()) for a, b in itertools.pairwise(frames)
    ]
    assert min(diffs) > 0.05, "every frame should differ from the previous one"
    assert frames[0].std() > 10, "not a blank frame"
