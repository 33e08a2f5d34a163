"""The diffusers engine on tiny Wan pipelines built in the test: real loading from a
directory, conditioning, frame conversion and encoding, through the engine and the API."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kinora.config import Settings
from kinora.engines.base import ENGINE_FIELDS, EngineInputs, InputKind, RenderConfig
from kinora.engines.diffusion import PIPELINES, DiffusersEngine, call_parameters
from kinora.engines.diffusion.pipelines import call_arguments, plan
from kinora.engines.registry import Target, build, check, resolve
from kinora.video.encode import probe, read_frames
from tests.conftest import Api
from tests.plugins.tiny_models import (
    save_cogvideox_i2v,
    save_ltx_condition,
    save_svd,
    save_wan_flf2v,
    save_wan_i2v,
    save_wan_t2v,
)

FAST = "steps=2&fps=8&max_side=32&guidance=1.0"


@pytest.fixture(scope="module")
def wan_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("wan")
    return {
        "flf2v": save_wan_flf2v(root / "wan-flf2v"),
        "i2v": save_wan_i2v(root / "wan-i2v"),
        "t2v": save_wan_t2v(root / "wan-t2v"),
    }


def chain(wan_dirs: dict[str, Path]) -> str:
    """Wan -> FLF2V (two images only), then I2V (one or two), then T2V (text)."""
    return "|".join(f"diffusers:{wan_dirs[k]}?{FAST}" for k in ("flf2v", "i2v", "t2v"))


def test_the_target_says_what_the_model_takes(
    wan_dirs: dict[str, Path], make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = make_settings(models_dir=wan_dirs["i2v"].parent)
    flf2v = check(Target("diffusers", "wan-flf2v"), settings)  # relative: under models_dir
    assert flf2v.accepts == {InputKind.TWO_IMAGES} and not flf2v.problem
    i2v = check(Target("diffusers", str(wan_dirs["i2v"])), settings)
    assert i2v.accepts == {InputKind.ONE_IMAGE, InputKind.TWO_IMAGES}
    t2v = check(Target("diffusers", str(wan_dirs["t2v"])), settings)
    assert t2v.accepts == {InputKind.TEXT}
    missing = check(Target("diffusers", str(tmp_path / "nope")), settings)
    assert "has no model_index.json" in missing.problem
    settings = make_settings(engine_routes=f"Wan={chain(wan_dirs)}")
    for kind, where in [
        (InputKind.ONE_IMAGE, "i2v"),
        (InputKind.TWO_IMAGES, "flf2v"),
        (InputKind.TEXT, "t2v"),
    ]:
        decision = resolve(motion_type="Wan", kind=kind, settings=settings)
        assert decision.target is not None
        assert decision.target.argument == str(wan_dirs[where])


def test_duration_size_and_seed_map_onto_the_pipeline(
    wan_dirs: dict[str, Path], make_settings: Callable[..., Settings]
) -> None:
    engine = build(Target.parse(f"diffusers:{wan_dirs['i2v']}?{FAST}"), make_settings())
    assert isinstance(engine, DiffusersEngine)
    config = RenderConfig(width=64, height=36, fps=12, duration=1.0, seed=5, prompt="a red fox")
    p = plan(engine, config)
    # 1 s at the model's 8 fps -> 9 frames (Wan takes 4k+1); 16:9 fitted to 32 px, /16.
    assert (p["num_frames"], p["width"], p["height"], p["steps"]) == (9, 32, 16, 2)
    image = np.random.default_rng(0).integers(0, 255, (48, 80, 3), dtype=np.uint8)
    inputs = EngineInputs(images=[image], prompt="a red fox")
    a = list(engine.frames(inputs, config))
    assert len(a) == config.total_frames == 12
    assert all(f.shape == (36, 64, 3) and f.dtype == np.uint8 for f in a)
    b = list(engine.frames(inputs, config))
    assert all((x == y).all() for x, y in zip(a, b, strict=True))  # same seed, same video
    other = list(engine.frames(inputs, RenderConfig(**{**config.to_dict(), "seed": 6})))
    assert any((x != y).any() for x, y in zip(a, other, strict=True))
    assert "wan-i2v (WanImageToVideoPipeline" in engine.service_version()
    assert "9 frames at 8 fps, 2 steps on cpu" in engine.service_version()


def _render_through_api(api: Api, motion_type: str, testdata: Path, images: int) -> dict[str, Any]:
    files = []
    names = ["astronaut.png", "coffee.png"][:images]
    handles = [(testdata / n).open("rb") for n in names]
    try:
        files = [("image_files", (n, h, "image/png")) for n, h in zip(names, handles, strict=True)]
        data = {"duration": "1", "motion_type": motion_type, "aspect_ratio": "1:1", "seed": "3"}
        if not images:
            data["prompt"] = "waves over the sea"
        r = api.client.post("/media", files=files or None, data=data, headers=api.headers())
    finally:
        for h in handles:
            h.close()
    assert r.status_code == 200, r.text
    return api.wait(r.json()["data"]["id"], timeout=120)


def test_tiny_wan_renders_through_the_api_to_a_downloadable_mp4(
    wan_dirs: dict[str, Path],
    plugin_api: Callable[..., Api],
    testdata: Path,
    tmp_path: Path,
) -> None:
    api = plugin_api(
        output_long_side=64,
        fps=8,
        engine_routes=f"Wan={chain(wan_dirs)}",
    )
    for images in (1, 2, 0):
        media = _render_through_api(api, "Wan", testdata, images)
        assert media["processing_status"] == "success", media
        assert media["service_name"] == "diffusers"
        expected = ["wan-t2v (WanPipeline", "wan-i2v (WanImage", "wan-flf2v (WanImage"][images]
        assert media["service_version"].startswith(expected)
        served = api.client.get(f"/media/{media['id']}/download", headers=api.headers())
        assert served.status_code == 200
        path = tmp_path / f"wan{images}.mp4"
        path.write_bytes(served.content)
        info = probe(path)
        assert (info["width"], info["height"], info["frames"]) == (64, 64, 8)
        assert len(read_frames(path)) == 8


@pytest.mark.parametrize(
    ("builder", "pipeline", "kinds", "max_side"),
    [
        (save_ltx_condition, "LTXConditionPipeline", ["one", "two", "text"], 32),
        (save_cogvideox_i2v, "CogVideoXImageToVideoPipeline", ["one"], 32),
        (save_svd, "StableVideoDiffusionPipeline", ["one"], 64),
    ],
)
def test_ltx_cogvideox_and_svd_render_through_the_engine(
    builder: Callable[[Path], Path],
    pipeline: str,
    kinds: list[str],
    max_side: int,
    tmp_path: Path,
    make_settings: Callable[..., Settings],
) -> None:
    directory = builder(tmp_path / pipeline)
    settings = make_settings()
    options = f"steps=2&fps=8&guidance=1.0&max_side={max_side}"
    engine = build(Target.parse(f"diffusers:{directory}?{options}"), settings)
    assert isinstance(engine, DiffusersEngine) and engine.pipeline_name == pipeline
    expected = {"one": InputKind.ONE_IMAGE, "two": InputKind.TWO_IMAGES, "text": InputKind.TEXT}
    assert check(Target("diffusers", str(directory)), settings).accepts == {
        expected[k] for k in kinds
    }
    rng = np.random.default_rng(1)
    images = [rng.integers(0, 255, (40, 60, 3), dtype=np.uint8) for _ in range(2)]
    config = RenderConfig(width=48, height=32, fps=6, duration=1.0, loop=2, seed=9, prompt="fox")
    for kind in kinds:
        count = {"one": 1, "two": 2, "text": 0}[kind]
        frames = list(engine.frames(EngineInputs(images=images[:count], prompt="fox"), config))
        assert len(frames) == 12 and all(f.shape == (32, 48, 3) for f in frames)
        assert all((a == b).all() for a, b in zip(frames[:6], frames[6:], strict=True))
    assert f"({pipeline}, diffusers" in engine.service_version()


def _spy_calls(monkeypatch: pytest.MonkeyPatch, pipeline: str) -> list[dict[str, Any]]:
    """Record the keyword arguments of every call of a diffusers pipeline class."""
    import diffusers

    cls = getattr(diffusers, pipeline)
    original = cls.__call__
    calls: list[dict[str, Any]] = []

    @functools.wraps(original)
    def spy(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(cls, "__call__", spy)
    return calls


def test_the_negative_prompt_reaches_the_tiny_wan_pipeline_call(
    wan_dirs: dict[str, Path],
    make_settings: Callable[..., Settings],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The request's negative prompt is the pipeline's ``negative_prompt`` (which its
    ``__call__`` takes), it changes the video under classifier-free guidance, and the engine
    says it honours it; with guidance 1 (no CFG) the pipeline ignores it, and it says so."""
    calls = _spy_calls(monkeypatch, "WanImageToVideoPipeline")
    options = "steps=2&fps=8&max_side=32&guidance=3.0"
    engine = build(Target.parse(f"diffusers:{wan_dirs['i2v']}?{options}"), make_settings())
    assert isinstance(engine, DiffusersEngine)
    image = np.random.default_rng(0).integers(0, 255, (48, 80, 3), dtype=np.uint8)
    inputs = EngineInputs(images=[image], prompt="a red fox")
    config = RenderConfig(width=64, height=36, fps=8, duration=1.0, seed=5, prompt="a red fox")
    plain = list(engine.frames(inputs, config))
    negative = RenderConfig(**{**config.to_dict(), "negative_prompt": "blue snow"})
    avoided = list(engine.frames(inputs, negative))
    assert "negative_prompt" not in calls[0]
    assert calls[1]["negative_prompt"] == "blue snow" and calls[1]["prompt"] == "a red fox"
    assert any((a != b).any() for a, b in zip(plain, avoided, strict=True))
    assert engine.honoured_fields(negative) == {"prompt", "negative_prompt", "seed"}
    assert engine.info.honours <= engine.honoured_fields() <= ENGINE_FIELDS
    no_cfg = build(Target.parse(f"diffusers:{wan_dirs['i2v']}?{FAST}"), make_settings())
    assert isinstance(no_cfg, DiffusersEngine)
    assert "negative_prompt" not in no_cfg.honoured_fields(negative)


def test_svd_takes_no_prompt_and_the_tiny_engine_neither_sends_nor_claims_one(
    tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    """Stable Video Diffusion's ``__call__`` has no prompt or negative_prompt: neither is
    passed, nor declared; its motion amount (motion_bucket_id) comes from motion_range."""
    directory = save_svd(tmp_path / "svd")
    engine = build(Target.parse(f"diffusers:{directory}?steps=2&max_side=64"), make_settings())
    assert isinstance(engine, DiffusersEngine)
    config = RenderConfig(
        width=64, height=64, fps=6, duration=1.0, prompt="x", negative_prompt="blurry"
    )
    image = np.random.default_rng(1).integers(0, 255, (40, 60, 3), dtype=np.uint8)
    args = call_arguments(engine, EngineInputs(images=[image]), config, plan(engine, config))
    assert "negative_prompt" not in args and "prompt" not in args
    assert engine.honoured_fields(config) == {"seed", "motion_range"}
    assert call_parameters("StableVideoDiffusionPipeline").isdisjoint({"negative_prompt"})


@pytest.mark.parametrize("pipeline", sorted(PIPELINES))
def test_every_supported_pipeline_takes_what_the_engine_declares(pipeline: str) -> None:
    """What the engine declares comes from each pipeline's own ``__call__`` signature."""
    import diffusers

    params = inspect.signature(getattr(diffusers, pipeline).__call__).parameters
    assert call_parameters(pipeline) == frozenset(params)
    assert "generator" in params
    assert ("negative_prompt" in params) == (pipeline != "StableVideoDiffusionPipeline")
