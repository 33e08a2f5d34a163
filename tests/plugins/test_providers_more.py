"""Seedance (BytePlus ModelArk) and Wan (DashScope) adapters against loopback stand-ins of their
documented APIs (tests/plugins/standins.py: SeedanceStandIn, DashScopeStandIn): the bodies each
API takes (and refuses), polling to the result and its download, the provider's refusals and
errors as clear media errors, retries on 429 with Retry-After, quotas and arrears not retried,
a timeout, and a cancel, which both APIs take for a queued task only."""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kinora.config import Settings
from kinora.engines.base import EngineInputs, InputKind, RenderConfig, cancellation
from kinora.engines.providers.base import ProviderEngine
from kinora.engines.providers.dashscope import DashScopeEngine
from kinora.engines.providers.seedance import SeedanceEngine
from kinora.engines.registry import Target, build, check
from kinora.errors import CancelledError, RenderError
from tests.conftest import Api
from tests.plugins.standins import FAIL_MESSAGE, KEY, REJECT_MESSAGE, StandIn

MODELS = {"byteplus": "seedance-1-0-pro-250528", "dashscope": "wan2.2-i2v-flash"}
PROVIDERS = sorted(MODELS)
CONFIG = RenderConfig(
    width=64, height=36, fps=8, duration=1.0, seed=77, prompt="a slow pan", negative_prompt="blur"
)


def image(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, (90, 160, 3), dtype=np.uint8)


def engine_for(
    provider: str,
    server: StandIn,
    make_settings: Callable[..., Settings],
    model: str | None = None,
    options: str = "",
    **overrides: Any,
) -> ProviderEngine:
    settings = make_settings(
        **{
            f"{provider}_api_key": KEY,
            "provider_base_urls": f"{provider}={server.base_url}",
            "provider_poll_seconds": 0.01,
            "provider_backoff_seconds": 0.01,
            "provider_timeout_seconds": 30.0,
            **overrides,
        }
    )
    target = Target.parse(f"{provider}:{model or MODELS[provider]}{options}")
    assert not check(target, settings).problem
    engine = build(target, settings)
    assert isinstance(engine, ProviderEngine)
    return engine


def render(engine: ProviderEngine, config: RenderConfig = CONFIG, images: int = 1) -> Any:
    inputs = EngineInputs(images=[image(i) for i in range(images)], prompt=config.prompt)
    report = engine.render(inputs, config)
    frames = list(report.frames)
    return frames, report


def submits(server: StandIn) -> list[Any]:
    return [c for c in server.calls if c.method == "POST" and "/tasks/" not in c.path]


def with_camera(camera: str, **changes: Any) -> RenderConfig:
    return RenderConfig(**{**CONFIG.to_dict(), "camera": camera, **changes})


def jpeg(uri: str) -> bytes:
    head, _, payload = uri.partition(",")
    assert head == "data:image/jpeg;base64"
    return base64.b64decode(payload)


# --- Seedance on BytePlus ModelArk ----------------------------------------------------------


def test_seedance_standin_gets_first_and_last_frame_the_camera_sentence_and_the_seed(
    stand_in: Callable[..., StandIn], make_settings: Callable[..., Settings]
) -> None:
    server = stand_in("byteplus", pending_polls=2)
    engine = engine_for("byteplus", server, make_settings)
    config = with_camera("Pan left")
    frames, report = render(engine, config, images=2)
    assert len(frames) == config.total_frames
    means = [float(f.mean()) for f in frames]
    assert means[0] < 40 and means[-1] > 215  # the stand-in's ramp, retimed
    [call] = submits(server)
    assert call.path == "/api/v3/contents/generations/tasks"
    body = call.body
    text, first, last = body["content"]
    assert text == {"type": "text", "text": "a slow pan The camera travels to the left."}
    assert (first["role"], last["role"]) == ("first_frame", "last_frame")
    for item in (first, last):
        assert jpeg(item["image_url"]["url"])[:3] == b"\xff\xd8\xff"
    assert {k: v for k, v in body.items() if k != "content"} == {
        "model": "seedance-1-0-pro-250528",
        "ratio": "16:9",
        "duration": 2,
        "seed": 77,
        "watermark": False,
        "resolution": "720p",
    }
    task = "cgt-20250331175019-00001"
    polls = [c.path for c in server.calls if c.method == "GET" and "/tasks/" in c.path]
    assert polls == [f"/api/v3/contents/generations/tasks/{task}"] * 3
    provider = report.metadata["provider"]
    assert provider["job_id"] == task and provider["seed"] == 10  # the seed ModelArk reports
    assert provider["spend"] == {"tokens": 108900}  # its usage, for reconciling the bill
    assert report.metadata["camera"] == {
        "sent_as": "prompt",
        "text": "The camera travels to the left.",
    }
    assert engine.honoured_fields(config) == {"prompt", "seed", "camera_control"}


def test_seedance_static_camera_is_its_camera_fixed_parameter(
    stand_in: Callable[..., StandIn], make_settings: Callable[..., Settings]
) -> None:
    server = stand_in("byteplus")
    engine = engine_for("byteplus", server, make_settings, options="?resolution=1080p")
    _, report = render(engine, with_camera("Static"))
    body = submits(server)[0].body
    assert body["camera_fixed"] is True and body["resolution"] == "1080p"
    assert body["content"][0]["text"] == "a slow pan"  # no sentence: the parameter says it
    assert report.metadata["camera"] == {"sent_as": "parameter", "text": "camera_fixed=true"}
    fixed = engine_for("byteplus", server, make_settings, options="?input.camera_fixed=false")
    assert "camera_control" not in fixed.honoured_fields(with_camera("Static"))


def test_seedance_models_take_what_their_pages_say(
    stand_in: Callable[..., StandIn], make_settings: Callable[..., Settings]
) -> None:
    assert SeedanceEngine.accepts_for("seedance-1-0-lite-t2v-250428") == {InputKind.TEXT}
    assert SeedanceEngine.accepts_for("seedance-1-0-lite-i2v-250428") == {
        InputKind.ONE_IMAGE,
        InputKind.TWO_IMAGES,
    }
    assert InputKind.TWO_IMAGES not in SeedanceEngine.accepts_for("seedance-1-0-pro-fast-251015")
    server = stand_in("byteplus")
    fast = engine_for("byteplus", server, make_settings, model="seedance-1-0-pro-fast-251015")
    with pytest.raises(RenderError, match="takes no last frame"):
        render(fast, CONFIG, images=2)
    assert server.submits == 0
    audio = engine_for("byteplus", server, make_settings, model="seedance-1-5-pro-251215")
    tall = RenderConfig(**{**CONFIG.to_dict(), "width": 1920, "height": 1080, "duration": 9.0})
    render(audio, tall, images=0)
    body = submits(server)[0].body
    assert body["generate_audio"] is False  # Kinora's soundtrack, not the model's
    assert body["duration"] == 9 and body["resolution"] == "1080p"
    assert [c["type"] for c in body["content"]] == ["text"]


def test_a_body_the_seedance_standin_refuses_fails_the_test_as_the_api_would(
    stand_in: Callable[..., StandIn], make_settings: Callable[..., Settings]
) -> None:
    """The stand-in refuses generate_audio on a model without sound, as ModelArk does: a route
    that adds one fails with ModelArk's words, so the adapter's own bodies are checked."""
    server = stand_in("byteplus")
    engine = engine_for("byteplus", server, make_settings, options="?input.generate_audio=true")
    with pytest.raises(RenderError, match=r"HTTP 400: .*generate_audio.* \(InvalidParameter\)"):
        render(engine)
    assert server.submits == 0


def test_seedance_quota_is_a_clear_error_and_not_retried(
    stand_in: Callable[..., StandIn], make_settings: Callable[..., Settings]
) -> None:
    server = stand_in("byteplus", mode="quota")
    with pytest.raises(RenderError, match=r"the account's quota is used up: .* \(QuotaExceeded\)"):
        render(engine_for("byteplus", server, make_settings))
    assert server.submits == 1


def test_seedance_cancel_of_a_running_task_is_refused_and_logged(
    stand_in: Callable[..., StandIn],
    make_settings: Callable[..., Settings],
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = stand_in("byteplus", mode="running")
    server.mode = "running"
    engine = engine_for("byteplus", server, make_settings)
    server.pending_polls = 10**6

    def polled() -> bool:
        return sum(1 for c in server.calls if c.method == "GET") >= 1

    with caplog.at_level(logging.INFO), cancellation(polled), pytest.raises(CancelledError):
        render(engine)
    assert server.cancelled == []
    assert [c.method for c in server.calls][-1] == "DELETE"
    assert "could not cancel job cgt-20250331175019-00001" in caplog.text
    assert "cannot be cancelled" in caplog.text


# --- Wan on DashScope -----------------------------------------------------------------------


def test_dashscope_standin_gets_the_image_negative_prompt_seed_and_camera_sentence(
    stand_in: Callable[..., StandIn], make_settings: Callable[..., Settings]
) -> None:
    server = stand_in("dashscope", pending_polls=2)
    engine = engine_for("dashscope", server, make_settings)
    config = with_camera("Orbit right")
    frames, report = render(engine, config)
    assert len(frames) == config.total_frames
    [call] = submits(server)
    assert call.path == "/api/v1/services/aigc/video-generation/video-synthesis"
    assert call.headers["x-dashscope-async"] == "enable"
    data = call.body["input"]
    assert data["prompt"] == "a slow pan The camera circles to the right around the subject."
    assert data["negative_prompt"] == "blur"
    assert jpeg(data["img_url"])[:3] == b"\xff\xd8\xff"
    assert call.body["parameters"] == {"duration": 5, "seed": 77, "resolution": "720P"}
    task = "0385dc79-5ff8-4d82-bcb6-5ed1b7c20001"
    polls = [c.path for c in server.calls if c.method == "GET"]
    assert polls[:3] == [f"/api/v1/tasks/{task}"] * 3
    assert report.metadata["provider"]["job_id"] == task
    assert report.metadata["provider"]["seed"] == 77
    assert report.metadata["provider"]["spend"] == {"video_seconds": 5}
    assert report.metadata["camera"]["text"].startswith("The camera circles to the right")
    assert engine.honoured_fields(config) == {
        "prompt",
        "negative_prompt",
        "seed",
        "camera_control",
    }


def test_dashscope_keyframe_and_text_models_use_their_own_inputs(
    stand_in: Callable[..., StandIn], make_settings: Callable[..., Settings]
) -> None:
    assert DashScopeEngine.accepts_for("wan2.2-kf2v-flash") == {InputKind.TWO_IMAGES}
    assert DashScopeEngine.accepts_for("wan2.2-i2v-plus") == {InputKind.ONE_IMAGE}
    assert DashScopeEngine.accepts_for("wan2.5-t2v-preview") == {InputKind.TEXT}
    server = stand_in("dashscope")
    keyframes = engine_for("dashscope", server, make_settings, model="wan2.2-kf2v-flash")
    render(keyframes, CONFIG, images=2)
    call = submits(server)[0]
    assert call.path == "/api/v1/services/aigc/image2video/video-synthesis"
    assert jpeg(call.body["input"]["first_frame_url"]) != jpeg(call.body["input"]["last_frame_url"])
    text = engine_for("dashscope", server, make_settings, model="wan2.5-t2v-preview")
    tall = RenderConfig(**{**CONFIG.to_dict(), "width": 1080, "height": 1920, "duration": 9.0})
    render(text, tall, images=0)
    parameters = submits(server)[1].body["parameters"]
    assert parameters["size"] == "1080*1920" and parameters["duration"] == 10
    assert parameters["audio"] is False  # Kinora's soundtrack, not the model's
    one_image = engine_for("dashscope", server, make_settings, model="wan2.2-i2v-plus")
    with pytest.raises(RenderError, match="takes one first frame"):
        render(one_image, CONFIG, images=2)
    assert len(submits(server)) == 2


def test_a_body_the_dashscope_standin_refuses_fails_the_test_as_the_api_would(
    stand_in: Callable[..., StandIn], make_settings: Callable[..., Settings]
) -> None:
    """An i2v model sent keyframe fields, or the keyframe endpoint sent an i2v model, is
    refused by the stand-in as by DashScope: a wrong request cannot pass the tests."""
    server = stand_in("dashscope")
    engine = engine_for("dashscope", server, make_settings, options="?input.audio=true")
    with pytest.raises(RenderError, match=r"HTTP 400: parameters.audio is not supported"):
        render(engine)
    assert server.submits == 0
    body = {"model": "wan2.2-i2v-plus", "input": {"first_frame_url": "data:image/jpeg;base64,AA"}}
    assert server.check_body(  # type: ignore[attr-defined]
        "/api/v1/services/aigc/image2video/video-synthesis", body
    ).startswith("Model wan2.2-i2v-plus is not supported")


def test_dashscope_arrears_are_a_clear_error_and_not_retried(
    stand_in: Callable[..., StandIn], make_settings: Callable[..., Settings]
) -> None:
    server = stand_in("dashscope", mode="broke")
    with pytest.raises(RenderError, match=r"the account is in arrears: .* \(Arrearage\)$"):
        render(engine_for("dashscope", server, make_settings))
    assert server.submits == 1


# --- both -------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_the_providers_failure_and_refusal_fail_the_render_with_its_words(
    provider: str, stand_in: Callable[..., StandIn], make_settings: Callable[..., Settings]
) -> None:
    failing = stand_in(provider, mode="fail")
    with pytest.raises(RenderError) as info:
        render(engine_for(provider, failing, make_settings))
    assert info.value.message.startswith(f"{provider}: ") and FAIL_MESSAGE in info.value.message
    refusing = stand_in(provider, mode="refuse")
    with pytest.raises(RenderError) as info:
        render(engine_for(provider, refusing, make_settings))
    if provider == "byteplus":
        assert info.value.message == (
            "byteplus: ModelArk's content checks refused the video made: The request failed "
            "because the output video may be related to copyright restrictions. "
            "(OutputVideoSensitiveContentDetected.PolicyViolation)"
        )
    else:
        assert info.value.message == (
            "dashscope: Alibaba's content checks refused the input or the video made: Output "
            "data may contain inappropriate content. (DataInspectionFailed)"
        )


@pytest.mark.parametrize("provider", PROVIDERS)
def test_rate_limits_are_retried_honouring_retry_after(
    provider: str, stand_in: Callable[..., StandIn], make_settings: Callable[..., Settings]
) -> None:
    server = stand_in(provider, mode="flaky")
    engine = engine_for(provider, server, make_settings)
    delays: list[float] = []
    engine.adapter.sleep = delays.append
    frames, _ = render(engine)
    assert len(frames) == CONFIG.total_frames
    assert server.submits == 3 and server.poll_errors == 1
    assert delays[:2] == [0.01, 3.0]  # backoff, then the 429's Retry-After


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_refused_request_fails_at_once_and_a_bad_key_is_named(
    provider: str, stand_in: Callable[..., StandIn], make_settings: Callable[..., Settings]
) -> None:
    refused = stand_in(provider, mode="reject")
    with pytest.raises(RenderError, match=REJECT_MESSAGE):
        render(engine_for(provider, refused, make_settings))
    assert refused.submits == 1
    wrong = stand_in(provider)
    engine = engine_for(provider, wrong, make_settings, **{f"{provider}_api_key": "nope"})
    expected = (
        r"HTTP 401: the API key is missing or invalid: .*\(AuthenticationError\)"
        if provider == "byteplus"
        else r"HTTP 401: the API key is invalid: Invalid API-key provided. \(InvalidApiKey\)"
    )
    with pytest.raises(RenderError, match=expected):
        render(engine)
    assert wrong.submits == 0


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_job_that_never_finishes_times_out(
    provider: str, stand_in: Callable[..., StandIn], make_settings: Callable[..., Settings]
) -> None:
    server = stand_in(provider, mode="hang")
    engine = engine_for(provider, server, make_settings, provider_timeout_seconds=1.0)
    start = time.monotonic()
    with pytest.raises(RenderError, match="did not finish in 1 s"):
        render(engine)
    assert time.monotonic() - start < 10
    assert sum(1 for c in server.calls if c.method == "GET") >= 2


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_cancel_of_a_queued_task_reaches_the_provider(
    provider: str, stand_in: Callable[..., StandIn], make_settings: Callable[..., Settings]
) -> None:
    server = stand_in(provider, mode="hang")
    engine = engine_for(provider, server, make_settings)

    def polled_once() -> bool:
        return sum(1 for c in server.calls if c.method == "GET") >= 1

    with cancellation(polled_once), pytest.raises(CancelledError):
        render(engine)
    job = (
        "cgt-20250331175019-00001"
        if provider == "byteplus"
        else ("0385dc79-5ff8-4d82-bcb6-5ed1b7c20001")
    )
    assert server.submits == 1 and server.cancelled == [job]
    last = server.calls[-1]
    if provider == "byteplus":
        assert (last.method, last.path) == ("DELETE", f"/api/v3/contents/generations/tasks/{job}")
    else:
        assert (last.method, last.path) == ("POST", f"/api/v1/tasks/{job}/cancel")


@pytest.mark.parametrize(
    ("provider", "route", "camera"),
    [
        (
            "byteplus",
            "Seedance=byteplus:seedance-1-0-pro-250528",
            "The camera circles to the right",
        ),
        ("dashscope", "Wan=dashscope:wan2.2-i2v-flash", "The camera circles to the right"),
    ],
)
def test_a_motion_type_routed_to_the_standin_renders_through_the_api_and_worker(
    plugin_api: Callable[..., Api],
    stand_in: Callable[..., StandIn],
    testdata: Path,
    tmp_path: Path,
    provider: str,
    route: str,
    camera: str,
) -> None:
    from kinora.video.encode import probe

    server = stand_in(provider)
    api = plugin_api(
        engine_routes=route,
        provider_base_urls=f"{provider}={server.base_url}",
        provider_poll_seconds=0.02,
        **{f"{provider}_api_key": KEY},
    )
    motion_type = route.split("=")[0]
    with (testdata / "astronaut.png").open("rb") as f:
        r = api.client.post(
            "/media",
            files=[("image_files", ("astronaut.png", f, "image/png"))],
            data={
                "duration": "1",
                "motion_type": motion_type,
                "camera_control": "Orbit right",
                "seed": "9",
                "aspect_ratio": "1:1",
            },
            headers=api.headers(),
        )
    assert r.status_code == 200, r.text
    media = api.wait(r.json()["data"]["id"])
    assert media["processing_status"] == "success", media
    assert media["service_name"] == provider
    [call] = submits(server)
    assert camera in str(call.body)
    assert "'seed': 9" in str(call.body)
    entry = media["video_history"][-1]
    record = entry["engine_config"]["configs"][0]
    assert record["camera"]["text"].startswith(camera)
    assert record["provider"]["provider"] == provider
    ignored = {item["field"] for item in entry["ignored"]}
    assert "seeds" not in ignored and "camera_control" not in ignored  # both take a seed
    served = api.client.get(f"/media/{media['id']}/download", headers=api.headers())
    assert served.status_code == 200
    (tmp_path / "out.mp4").write_bytes(served.content)
    info = probe(tmp_path / "out.mp4")
    assert info["width"] == info["height"]
