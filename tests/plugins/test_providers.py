"""Each provider adapter against a loopback stand-in of its documented API (see standins.py):
success, the provider's failure, timeout, retries with backoff, refusal and an outage."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kinora.config import Settings
from kinora.engines.base import (
    ENGINE_FIELDS,
    EngineInputs,
    FakeEngine,
    InputKind,
    Render,
    RenderConfig,
    cancellation,
)
from kinora.engines.providers.base import FakeAdapter, ProviderEngine, data_uri
from kinora.engines.providers.fal import FalEngine
from kinora.engines.providers.luma import LumaEngine
from kinora.engines.providers.replicate import ReplicateEngine
from kinora.engines.providers.runway import RunwayEngine
from kinora.engines.registry import Target, build, check
from kinora.errors import CancelledError, RenderError
from tests.plugins.standins import (
    DOCUMENTED_BODY_FIELDS,
    FAIL_MESSAGE,
    KEY,
    REJECT_MESSAGE,
    StandIn,
    model_inputs,
)

MODELS = {
    "replicate": "kwaivgi/kling-v2.1",
    "fal": "fal-ai/kling-video/v2.1/standard/image-to-video",
    "runway": "gen4_turbo",
    "luma": "ray-2",
}
PROVIDERS = sorted(MODELS)
CONFIG = RenderConfig(width=64, height=36, fps=8, duration=1.0, seed=77, prompt="a slow pan")


def image(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 255, (90, 160, 3), dtype=np.uint8)


def engine_for(
    provider: str,
    server: StandIn,
    make_settings: Callable[..., Settings],
    model: str | None = None,
    **overrides: Any,
) -> ProviderEngine:
    values: dict[str, Any] = {
        f"{provider}_api_key": KEY,
        "provider_base_urls": f"{provider}={server.base_url}",
        "provider_poll_seconds": 0.01,
        "provider_backoff_seconds": 0.01,
        "provider_timeout_seconds": 30.0,
        **overrides,
    }
    settings = make_settings(**values)
    target = Target(provider, model or MODELS[provider])
    assert not check(target, settings).problem
    engine = build(target, settings)
    assert isinstance(engine, ProviderEngine)
    return engine


def render(engine: ProviderEngine, config: RenderConfig = CONFIG, images: int = 1) -> list[Any]:
    return render_with_report(engine, config, images)[0]


def render_with_report(
    engine: ProviderEngine, config: RenderConfig = CONFIG, images: int = 1
) -> tuple[list[Any], Render]:
    """The frames, and the Render that reports this render's job (never the engine's state)."""
    inputs = EngineInputs(images=[image(i) for i in range(images)], prompt=config.prompt)
    report = engine.render(inputs, config)
    return list(report.frames), report


def submit_call(server: StandIn) -> Any:
    return next(c for c in server.calls if c.method == "POST")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_success_maps_parameters_and_records_version_and_seed(
    provider: str, stand_in: Callable[..., StandIn], make_settings: Callable[..., Settings]
) -> None:
    server = stand_in(provider, pending_polls=2)
    engine = engine_for(provider, server, make_settings)
    frames, report = render_with_report(engine, images=2)
    assert len(frames) == CONFIG.total_frames == 8
    assert all(f.shape == (36, 64, 3) and f.dtype == np.uint8 for f in frames)
    # The stand-in's video ramps from black to white: retimed, the ramp survives.
    means = [float(f.mean()) for f in frames]
    assert means[0] < 40 and means[-1] > 215 and means == sorted(means)
    call = submit_call(server)
    body = call.body
    if provider == "replicate":
        assert call.path == "/v1/models/kwaivgi/kling-v2.1/predictions"
        inputs = body["input"]
        assert inputs["prompt"] == "a slow pan"
        assert inputs["start_image"].startswith("data:image/jpeg;base64,")
        assert inputs["end_image"].startswith("data:image/jpeg;base64,")
        assert inputs["duration"] == 5
        assert report.version == (
            f"kwaivgi/kling-v2.1@{server.version}; seeds 1234"  # type: ignore[attr-defined]
        )
    elif provider == "fal":
        assert call.path == "/fal-ai/kling-video/v2.1/standard/image-to-video"
        assert body["image_url"].startswith("data:image/jpeg;base64,")
        assert body["tail_image_url"].startswith("data:image/jpeg;base64,")
        assert body["duration"] == "5" and body["aspect_ratio"] == "16:9"
        gets = [c.path for c in server.calls if c.method == "GET"]
        assert "/fal-ai/kling-video/requests/req-1/status" in gets
        assert "/fal-ai/kling-video/requests/req-1" in gets
        assert report.version.endswith("; seeds 4321")
    elif provider == "runway":
        assert call.path == "/v1/image_to_video"
        assert call.headers["x-runway-version"] == "2024-11-06"
        assert body["model"] == "gen4_turbo" and body["ratio"] == "1280:720"
        assert [p["position"] for p in body["promptImage"]] == ["first", "last"]
        assert body["promptText"] == "a slow pan" and body["seed"] == 77
        assert body["duration"] == 5
        assert report.version == "gen4_turbo@gen4_turbo (API 2024-11-06); seeds 77"
    else:
        assert call.path == "/dream-machine/v1/generations"
        assert body["model"] == "ray-2" and body["aspect_ratio"] == "16:9"
        assert body["duration"] == "5s" and body["prompt"] == "a slow pan"
        assert set(body["keyframes"]) == {"frame0", "frame1"}
        assert body["keyframes"]["frame0"]["type"] == "image"
        assert report.version == "ray-2@ray-2"
    meta = report.metadata["provider"]
    assert meta["provider"] == provider and meta["job_id"]
    assert engine.service_version() == engine.adapter.model  # nothing of a render is kept


@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_providers_failure_message_fails_the_render(
    provider: str, stand_in: Callable[..., StandIn], make_settings: Callable[..., Settings]
) -> None:
    server = stand_in(provider, mode="fail")
    engine = engine_for(provider, server, make_settings)
    with pytest.raises(RenderError) as info:
        render(engine)
    assert FAIL_MESSAGE in info.value.message
    assert info.value.message.startswith(f"{provider}: ")


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_job_that_never_finishes_times_out(
    provider: str, stand_in: Callable[..., StandIn], make_settings: Callable[..., Settings]
) -> None:
    server = stand_in(provider, mode="hang")
    engine = engine_for(provider, server, make_settings, provider_timeout_seconds=1.0)
    start = time.monotonic()
    with pytest.raises(RenderError, match="did not finish in"):
        render(engine)
    assert time.monotonic() - start < 10
    assert sum(1 for c in server.calls if c.method == "GET") >= 2


CANCELS = {
    "replicate": ("POST", "/v1/predictions/p1/cancel"),
    "fal": ("PUT", "/fal-ai/kling-video/requests/req-1/cancel"),
    "runway": ("DELETE", "/v1/tasks/"),
    "luma": ("DELETE", "/dream-machine/v1/generations/gen-1"),
}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_cancelled_generation_cancels_the_providers_job(
    provider: str, stand_in: Callable[..., StandIn], make_settings: Callable[..., Settings]
) -> None:
    """A cancel while the provider works stops the wait at the next poll and tells the
    provider, through each API's own call, instead of letting the job run (and bill) on."""
    server = stand_in(provider, mode="hang")
    engine = engine_for(provider, server, make_settings)

    def polled_twice() -> bool:
        return sum(1 for c in server.calls if c.method == "GET") >= 2

    start = time.monotonic()
    with cancellation(polled_twice), pytest.raises(CancelledError):
        render(engine)
    assert time.monotonic() - start < 10
    method, path = CANCELS[provider]
    cancels = [c for c in server.calls if c.method == method and c.path.startswith(path)]
    assert len(cancels) == 1 and len(server.cancelled) == 1
    assert server.submits == 1


def test_a_cancel_before_the_submit_sends_nothing_and_an_unreachable_cancel_still_cancels(
    stand_in: Callable[..., StandIn], make_settings: Callable[..., Settings]
) -> None:
    server = stand_in("runway", mode="hang")
    engine = engine_for("runway", server, make_settings)
    with cancellation(lambda: True), pytest.raises(CancelledError):
        render(engine)
    assert server.calls == []
    down = stand_in("runway", mode="hang")
    engine = engine_for("runway", down, make_settings, provider_retries=0)

    def polled_then_down() -> bool:
        if any(c.method == "GET" for c in down.calls):
            down.mode = "down"  # the cancel meets an outage
            return True
        return False

    with cancellation(polled_then_down), pytest.raises(CancelledError):
        render(engine)
    assert [c.method for c in down.calls][-1] == "DELETE" and down.cancelled == []


@pytest.mark.parametrize("provider", PROVIDERS)
def test_transient_errors_are_retried_with_backoff(
    provider: str,
    stand_in: Callable[..., StandIn],
    make_settings: Callable[..., Settings],
) -> None:
    server = stand_in(provider, mode="flaky")
    engine = engine_for(provider, server, make_settings)
    delays: list[float] = []
    engine.adapter.sleep = lambda s: delays.append(s)
    frames = render(engine)
    assert len(frames) == CONFIG.total_frames
    assert server.submits == 3  # 503, 429, accepted
    assert server.poll_errors == 1  # one 500 on a poll, retried
    assert delays[:2] == [0.01, 0.02]  # the submit's retries: exponential backoff


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_refused_request_fails_at_once_and_an_outage_after_the_retries(
    provider: str, stand_in: Callable[..., StandIn], make_settings: Callable[..., Settings]
) -> None:
    refused = stand_in(provider, mode="reject")
    engine = engine_for(provider, refused, make_settings)
    with pytest.raises(RenderError, match="HTTP 422") as info:
        render(engine)
    assert REJECT_MESSAGE in info.value.message
    assert refused.submits == 1
    down = stand_in(provider, mode="down")
    engine = engine_for(provider, down, make_settings, provider_retries=2)
    with pytest.raises(RenderError, match="HTTP 503: Service Unavailable"):
        render(engine)
    assert len(down.calls) == 3


@pytest.mark.parametrize("provider", PROVIDERS)
def test_missing_key_or_model_makes_the_target_unavailable(
    provider: str, make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(f"KINORA_{provider.upper()}_API_KEY", raising=False)
    settings = make_settings()
    verdict = check(Target(provider, MODELS[provider]), settings)
    assert verdict.problem == f"KINORA_{provider.upper()}_API_KEY is not set"
    verdict = check(Target(provider), make_settings(**{f"{provider}_api_key": "k"}))
    assert "no model named" in verdict.problem


def test_the_public_host_is_guarded_unless_the_base_url_is_overridden(
    make_settings: Callable[..., Settings], stand_in: Callable[..., StandIn]
) -> None:
    from kinora.engines.providers.replicate import ReplicateAdapter

    assert not ReplicateAdapter(model="a/b", api_key="k").allow_private
    server = stand_in("replicate")
    assert ReplicateAdapter(model="a/b", api_key="k", base_url=server.base_url).allow_private


def test_replicate_pinned_versions_and_fal_text_to_video(
    stand_in: Callable[..., StandIn], make_settings: Callable[..., Settings]
) -> None:
    server = stand_in("replicate")
    engine = engine_for("replicate", server, make_settings, model="wan-video/wan-2.1:abc123")
    render(engine)
    call = submit_call(server)
    assert call.path == "/v1/predictions" and call.body["version"] == "abc123"
    assert call.body["input"]["image"].startswith("data:") and call.body["input"]["seed"] == 77
    fal = stand_in("fal")
    engine = engine_for("fal", fal, make_settings, model="fal-ai/wan-t2v")
    frames = list(engine.frames(EngineInputs(prompt="waves"), CONFIG))
    assert len(frames) == CONFIG.total_frames
    body = submit_call(fal).body
    assert body == {"prompt": "waves", "aspect_ratio": "16:9", "seed": 77}


def test_route_options_add_inputs(
    stand_in: Callable[..., StandIn], make_settings: Callable[..., Settings]
) -> None:
    server = stand_in("replicate")
    target = Target.parse("replicate:kwaivgi/kling-v2.1?input.cfg_scale=0.7&input.mode=pro")
    settings = make_settings(
        replicate_api_key=KEY,
        provider_base_urls=f"replicate={server.base_url}",
        provider_poll_seconds=0.01,
    )
    engine = build(target, settings)
    assert isinstance(engine, ProviderEngine)
    render(engine)
    inputs = submit_call(server).body["input"]
    assert inputs["cfg_scale"] == 0.7 and inputs["mode"] == "pro"


def test_loop_repeats_the_pass_and_the_fake_adapter() -> None:
    adapter = FakeAdapter(polls=2, sleep=lambda s: None)

    class Engine(ProviderEngine):
        adapter_class = FakeAdapter
        info = FakeEngine.info

    engine = Engine(adapter)
    config = RenderConfig(width=32, height=32, fps=6, duration=1.0, loop=2, seed=5)
    report = engine.render(EngineInputs(images=[image()]), config)
    frames = list(report.frames)
    assert len(frames) == 12
    assert all((a == b).all() for a, b in zip(frames[:6], frames[6:], strict=True))
    assert report.version == "fake/model@fake-1; seeds 5"
    failing = Engine(FakeAdapter(fail="nope", sleep=lambda s: None))
    with pytest.raises(RenderError, match="fake: nope"):
        list(failing.frames(EngineInputs(images=[image()]), config))
    assert InputKind.ONE_IMAGE in Engine.accepts_for("x")


def test_the_pipeline_hands_its_cancel_to_a_provider_waiting_on_its_job(tmp_path: Path) -> None:
    """The worker's cancel reaches a provider engine that has yielded no frame yet."""
    from kinora.pipeline.render import RenderJob, render_all

    adapter = FakeAdapter(polls=10_000, sleep=lambda s: None)

    class Engine(ProviderEngine):
        adapter_class = FakeAdapter
        info = FakeEngine.info

    config = RenderConfig(width=32, height=32, fps=6, duration=1.0)
    job = RenderJob(inputs=EngineInputs(images=[image()]), configs=[config], aspect_ratio="1:1")
    with pytest.raises(CancelledError):
        render_all(
            engine=Engine(adapter),
            job=job,
            out_dir=tmp_path,
            cancelled=lambda: len(adapter.requests) == 1 and adapter.poll_count("job1") >= 3,
        )
    assert adapter.cancelled == ["job1"]


def test_images_are_sent_inline_within_the_size_limit() -> None:
    noisy = np.random.default_rng(1).integers(0, 255, (1500, 2000, 3), dtype=np.uint8)
    uri = data_uri(noisy)
    assert uri.startswith("data:image/jpeg;base64,")
    assert len(uri) * 3 / 4 <= 256 * 1024 + 100


# --- what reaches each provider: the negative prompt, seed and camera, and honours ---------

NEGATIVE = "blurry, watermark, extra fingers"
FULL = RenderConfig(
    width=64,
    height=36,
    fps=8,
    duration=1.0,
    seed=77,
    prompt="a slow pan",
    negative_prompt=NEGATIVE,
)

# (provider, model, images, the model's negative-prompt input or None when it has none), from
# each provider's published schema: Replicate's model input schemas, fal's endpoint types
# (fal-js libs/client/src/types/endpoints.ts), runwayml sdk-python, lumaai-python.
NEGATIVE_FIELDS: list[tuple[str, str, int, str | None]] = [
    ("replicate", "kwaivgi/kling-v2.1", 1, "negative_prompt"),
    ("replicate", "wan-video/wan-2.5-i2v", 1, "negative_prompt"),
    ("replicate", "google/veo-3", 0, "negative_prompt"),
    ("replicate", "pixverse/pixverse-v4.5", 1, "negative_prompt"),
    ("replicate", "wavespeedai/wan-2.1-i2v-480p", 1, None),
    ("replicate", "google/veo-2", 0, None),
    ("replicate", "minimax/hailuo-02", 1, None),
    ("replicate", "tencent/hunyuan-video", 0, None),
    ("replicate", "bytedance/seedance-1-pro", 1, None),
    ("replicate", "luma/ray-2-720p", 1, None),
    ("fal", "fal-ai/kling-video/v2.1/standard/image-to-video", 1, "negative_prompt"),
    ("fal", "fal-ai/wan-i2v", 1, "negative_prompt"),
    ("fal", "fal-ai/veo3.1", 0, "negative_prompt"),
    ("fal", "fal-ai/pixverse/v4.5/image-to-video", 1, "negative_prompt"),
    ("fal", "fal-ai/hunyuan-video-v1.5/text-to-video", 0, "negative_prompt"),
    ("fal", "fal-ai/kling-video/o3/standard/image-to-video", 1, None),
    ("fal", "fal-ai/wan/v2.2-a14b/image-to-video/turbo", 1, None),
    ("fal", "fal-ai/minimax/hailuo-02/standard/image-to-video", 1, None),
    ("fal", "fal-ai/bytedance/seedance/v1/pro/image-to-video", 1, None),
    ("fal", "fal-ai/luma-dream-machine/ray-2/image-to-video", 1, None),
    ("fal", "fal-ai/hunyuan-video", 0, None),
    ("runway", "gen4_turbo", 1, None),
    ("luma", "ray-2", 0, None),
]


def inputs_sent(provider: str, server: StandIn) -> dict[str, Any]:
    return model_inputs(provider, submit_call(server))


@pytest.mark.parametrize(("provider", "model", "images", "field"), NEGATIVE_FIELDS)
def test_the_negative_prompt_reaches_the_stand_in_in_the_providers_own_field(
    provider: str,
    model: str,
    images: int,
    field: str | None,
    stand_in: Callable[..., StandIn],
    make_settings: Callable[..., Settings],
) -> None:
    """The request's negative prompt arrives in the input the provider documents for that
    model, and nowhere when the model has none; the engine says which it is."""
    server = stand_in(provider)
    engine = engine_for(provider, server, make_settings, model=model)
    assert len(render(engine, FULL, images=images)) == FULL.total_frames
    sent = inputs_sent(provider, server)
    carrying = [key for key, value in sent.items() if value == NEGATIVE]
    assert carrying == ([field] if field else [])
    assert NEGATIVE not in json.dumps(sent).replace(f'"{field}": "{NEGATIVE}"', "")
    assert ("negative_prompt" in engine.honoured_fields(FULL)) == (field is not None)
    assert engine.honoured_fields(FULL) <= engine.honoured_fields() | {"camera_control"}
    if provider in DOCUMENTED_BODY_FIELDS:
        assert set(sent) <= DOCUMENTED_BODY_FIELDS[provider]


@pytest.mark.parametrize(("provider", "model", "images", "field"), NEGATIVE_FIELDS)
def test_honoured_fields_are_what_the_stand_in_received(
    provider: str,
    model: str,
    images: int,
    field: str | None,
    stand_in: Callable[..., StandIn],
    make_settings: Callable[..., Settings],
) -> None:
    """Each field an engine declares it honours arrives at the stand-in; each it does not is
    absent (prompt, negative prompt, seed, camera path)."""
    server = stand_in(provider)
    engine = engine_for(provider, server, make_settings, model=model)
    config = RenderConfig(**{**FULL.to_dict(), "camera": "Orbit left"})
    render(engine, config, images=images)
    sent = inputs_sent(provider, server)
    text = json.dumps(sent)
    honoured = engine.honoured_fields(config)
    assert honoured <= ENGINE_FIELDS
    assert ("prompt" in honoured) == ("a slow pan" in text)
    assert ("negative_prompt" in honoured) == (NEGATIVE in text)
    assert ("seed" in honoured) == (sent.get("seed") == 77)
    assert ("camera_control" in honoured) == ("concepts" in sent or "camera_fixed" in sent)
    assert "motion_range" not in honoured  # no hosted model here takes a motion amount


PROVIDER_ENGINES: dict[str, type[ProviderEngine]] = {
    "replicate": ReplicateEngine,
    "fal": FalEngine,
    "runway": RunwayEngine,
    "luma": LumaEngine,
}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_every_provider_engines_honoured_fields_are_engine_fields(provider: str) -> None:
    """Whatever the model and render, a provider engine names only request fields of
    ENGINE_FIELDS, and its class-level ``honours`` hold for every model."""
    cls = PROVIDER_ENGINES[provider]
    assert cls.info.honours <= ENGINE_FIELDS
    models = [m for p, m, _, _ in NEGATIVE_FIELDS if p == provider] + ["someone/unknown"]
    for model in models:
        engine = cls(cls.adapter_class(model=model, api_key="k"))
        for camera in ("", "Static", "Orbit left", "Rotate 360"):
            config = RenderConfig(**{**FULL.to_dict(), "camera": camera})
            honoured = engine.honoured_fields(config)
            assert honoured <= ENGINE_FIELDS, (model, honoured - ENGINE_FIELDS)
            assert cls.info.honours <= honoured
        assert engine.honoured_fields() <= ENGINE_FIELDS
        assert {"character_animate", "try_on_model"}.isdisjoint(engine.honoured_fields())


CAMERAS: list[tuple[str, str, str, Any, str]] = [
    # provider, model, camera path, what the stand-in receives, in which input
    ("luma", "ray-2", "Orbit left", [{"key": "orbit_left"}], "concepts"),
    ("luma", "ray-flash-2", "Dolly zoom", [{"key": "dolly_zoom"}], "concepts"),
    ("replicate", "luma/ray-2-720p", "Crane up", ["crane_up"], "concepts"),
    ("replicate", "bytedance/seedance-1-pro", "Static", True, "camera_fixed"),
    ("fal", "fal-ai/bytedance/seedance/v1/pro/image-to-video", "Static", True, "camera_fixed"),
]


@pytest.mark.parametrize(("provider", "model", "camera", "value", "field"), CAMERAS)
def test_camera_paths_reach_the_stand_in_as_the_models_documented_camera_input(
    provider: str,
    model: str,
    camera: str,
    value: Any,
    field: str,
    stand_in: Callable[..., StandIn],
    make_settings: Callable[..., Settings],
) -> None:
    """Luma's camera concepts (Ray 2) and Seedance 1.x's camera_fixed carry the camera path
    where the model has that move; a path it has not is not sent and not claimed."""
    server = stand_in(provider)
    engine = engine_for(provider, server, make_settings, model=model)
    config = RenderConfig(**{**FULL.to_dict(), "camera": camera})
    render(engine, config, images=0 if provider == "luma" else 1)
    assert inputs_sent(provider, server)[field] == value
    assert "camera_control" in engine.honoured_fields(config)
    other = RenderConfig(**{**FULL.to_dict(), "camera": "Rotate 360"})  # no such move
    again = stand_in(provider)
    engine = engine_for(provider, again, make_settings, model=model)
    render(engine, other, images=0 if provider == "luma" else 1)
    assert field not in inputs_sent(provider, again)
    assert "camera_control" not in engine.honoured_fields(other)
    assert "camera_control" not in engine.honoured_fields()  # not for every path


def test_route_options_name_or_fix_the_negative_prompt_input_at_the_stand_in(
    stand_in: Callable[..., StandIn], make_settings: Callable[..., Settings]
) -> None:
    """``negative_input=NAME`` sends the negative prompt to a model Kinora has no entry for
    (``negative_input=`` empty sends none); ``input.negative_prompt=...`` fixes the value,
    so the request's is not honoured."""
    cases = [
        ("replicate:someone/new-model?negative_input=negative_prompt", "negative_prompt", True),
        ("replicate:someone/new-model", None, False),
        ("replicate:kwaivgi/kling-v2.1?negative_input=", None, False),
        ("fal:fal-ai/new-model?negative_input=neg", "neg", True),
    ]
    for spec, field, honoured in cases:
        target = Target.parse(spec)
        server = stand_in(target.engine)
        settings = make_settings(
            **{
                f"{target.engine}_api_key": KEY,
                "provider_base_urls": f"{target.engine}={server.base_url}",
                "provider_poll_seconds": 0.01,
            }
        )
        engine = build(target, settings)
        assert isinstance(engine, ProviderEngine)
        render(engine, FULL)
        sent = inputs_sent(target.engine, server)
        assert [k for k, v in sent.items() if v == NEGATIVE] == ([field] if field else []), spec
        assert ("negative_prompt" in engine.honoured_fields(FULL)) == honoured, spec
    server = stand_in("replicate")
    target = Target.parse("replicate:kwaivgi/kling-v2.1?input.negative_prompt=text")
    settings = make_settings(
        replicate_api_key=KEY,
        provider_base_urls=f"replicate={server.base_url}",
        provider_poll_seconds=0.01,
    )
    engine = build(target, settings)
    assert isinstance(engine, ProviderEngine)
    render(engine, FULL)
    assert inputs_sent("replicate", server)["negative_prompt"] == "text"
    assert "negative_prompt" not in engine.honoured_fields(FULL)
