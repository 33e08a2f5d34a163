"""Native effects: scene words pick layers, the whoosh follows the camera, magic sparkles."""

from __future__ import annotations

import numpy as np

from kinora.audio.analysis import band_energy_ratio
from kinora.audio.effects import native_effects, scene_layers, sparkles, whoosh

RATE = 48000


def test_scene_words_pick_layers() -> None:
    assert "birds" in scene_layers("a deer in a misty forest")
    assert {"rain", "wind", "thunder"} <= set(scene_layers("a storm over the hills"))
    assert "sea" in scene_layers("waves on a sandy beach")
    assert "city" in scene_layers("neon city street at night")
    assert scene_layers("a portrait of a cat") == ()
    assert native_effects("a portrait of a cat", "", seconds=1.0, rate=RATE, seed=0).layers == (
        "room",
    )


def test_whoosh_follows_the_camera_move() -> None:
    assert whoosh("Static", seconds=4.0, rate=RATE, seed=0) is None
    assert whoosh("", seconds=4.0, rate=RATE, seed=0) is None
    w = whoosh("Pan left", seconds=4.0, rate=RATE, seed=0)
    assert w is not None
    energy = (w**2).sum(axis=1)
    centre = np.sum(np.arange(len(energy)) * energy) / energy.sum() / RATE
    assert abs(centre - 2.0) < 0.25  # peaks mid-move
    half = len(w) // 2
    first, second = (w[:half] ** 2).sum(axis=0), (w[half:] ** 2).sum(axis=0)
    assert first[1] > first[0] and second[0] > second[1]  # travels right -> left


def test_sparkles_only_for_magic_words() -> None:
    assert sparkles("a quiet office", seconds=2.0, rate=RATE, seed=0) is None
    s = sparkles("a magical fairy glade", seconds=2.0, rate=RATE, seed=0)
    assert s is not None
    assert band_energy_ratio(s, RATE, split_hz=1000) > 0.9


def test_scenes_sound_different() -> None:
    rain = native_effects("rain", "", seconds=3.0, rate=RATE, seed=1).samples
    sea = native_effects("ocean", "", seconds=3.0, rate=RATE, seed=1).samples
    assert band_energy_ratio(rain, RATE, split_hz=2000) > 2 * band_energy_ratio(
        sea, RATE, split_hz=2000
    )


def test_effects_are_deterministic_and_exact_length() -> None:
    a = native_effects("forest birds", "Orbit right", seconds=2.5001, rate=RATE, seed=9)
    b = native_effects("forest birds", "Orbit right", seconds=2.5001, rate=RATE, seed=9)
    assert a.samples.shape == (round(2.5001 * RATE), 2)
    assert np.array_equal(a.samples, b.samples)
    assert a.layers == ("birds", "whoosh")
