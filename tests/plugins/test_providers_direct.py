"""Google Veo (Gemini API) and MiniMax Hailuo adapters against loopback stand-ins of their
documented APIs (tests/plugins/standins.py: GeminiStandIn, MiniMaxStandIn): the request
bodies each API takes, polling to the result and its download, the provider's refusals and
errors as clear media errors, retries on 429 with Retry-After, a timeout, and a cancel,
which neither API has (the job is left running and the log says so)."""

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
from kinora.engines.providers.gemini import GeminiEngine
from kinora.engines.providers.minimax import MiniMaxEngine
from kinora.engines.registry import Target, build, check
from kinora.errors import CancelledError, RenderError
from tests.conftest import Api
from tests.plugins.standins import FAIL_MESSAGE, KEY, RAI_REASON, REJECT_MESSAGE, StandIn

MODELS = {
    "gemini": "veo-3.1-generate-preview",
    "minimax": "MiniMax-Hailuo-02",
    "pixverse": "v5",
    "vidu": "viduq1",
}
PROVIDERS = ["gemini", "minimax"]  # (pixverse: tests/plugins/test_providers_pixverse.py)
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
    return [c for c in server.calls if c.method == "POST"]


def test_gemini_standin_gets_first_and_last_frame_and_the_key_stays_on_googles_host(
    stand_in: Callable[..., StandIn], make_settings: Callable[..., Settings]
) -> None:
    server = stand_in("gemini", pending_polls=2)
    engine = engine_for("gemini", server, make_settings)
    config = RenderConfig(**{**CONFIG.to_dict(), "camera": "Pan left"})
    frames, report = render(engine, config, images=2)
    assert len(frames) == config.total_frames
    means = [float(f.mean()) for f in frames]
    assert means[0] < 40 and means[-1] > 215  # the stand-in's ramp, retimed
    [call] = submits(server)
    assert call.path == "/v1beta/models/veo-3.1-generate-preview:predictLongRunning"
    [instance] = call.body["instances"]
    assert instance["prompt"] == "a slow pan The camera travels to the left."
    for key in ("image", "lastFrame"):
        assert instance[key]["mimeType"] == "image/jpeg"
        assert base64.b64decode(instance[key]["bytesBase64Encoded"])[:3] == b"\xff\xd8\xff"
    assert call.body["parameters"] == {
        "aspectRatio": "16:9",
        "durationSeconds": 4,
        "resolution": "720p",
        "negativePrompt": "blur",
    }
    polls = [c.path for c in server.calls if "/operations/" in c.path]
    assert polls == ["/v1beta/models/veo-3.1-generate-preview/operations/op1"] * 3
    assert server.storage_keys == [""]  # type: ignore[attr-defined]  # not sent to storage
    assert report.metadata["provider"]["job_id"] == "models/veo-3.1-generate-preview/operations/op1"
    assert report.metadata["camera"] == {
        "sent_as": "prompt",
        "text": "The camera travels to the left.",
    }
    assert engine.honoured_fields(config) == {"prompt", "negative_prompt", "camera_control"}
    assert "seed" not in engine.honoured_fields(config)  # the Gemini API takes no seed


def test_gemini_high_resolution_needs_eight_seconds_and_person_generation_is_checked(
    stand_in: Callable[..., StandIn], make_settings: Callable[..., Settings]
) -> None:
    server = stand_in("gemini")
    engine = engine_for("gemini", server, make_settings, options="?person_generation=allow_adult")
    tall = RenderConfig(**{**CONFIG.to_dict(), "width": 1920, "height": 1080})
    render(engine, tall)
    parameters = submits(server)[0].body["parameters"]
    assert parameters["resolution"] == "1080p" and parameters["durationSeconds"] == 8
    assert parameters["personGeneration"] == "allow_adult"
    # allow_adult is for image-to-video only on Veo 3.x: text-to-video is refused here,
    # before anything is sent (the real API answers 400 for it).
    with pytest.raises(RenderError, match="allow_all for text-to-video, not allow_adult"):
        render(engine, CONFIG, images=0)
    assert len(submits(server)) == 1


def test_gemini_models_without_a_last_frame_do_not_accept_two_images(
    stand_in: Callable[..., StandIn], make_settings: Callable[..., Settings]
) -> None:
    assert InputKind.TWO_IMAGES in GeminiEngine.accepts_for("veo-3.1-fast-generate-preview")
    assert InputKind.TWO_IMAGES not in GeminiEngine.accepts_for("veo-3.0-generate-001")
    server = stand_in("gemini")
    engine = engine_for("gemini", server, make_settings, model="veo-2.0-generate-001")
    render(engine, CONFIG, images=0)
    parameters = submits(server)[0].body["parameters"]
    assert parameters["durationSeconds"] == 5 and "resolution" not in parameters
    with pytest.raises(RenderError, match="takes no last frame"):
        render(engine, CONFIG, images=2)


def test_a_body_the_gemini_standin_refuses_fails_the_test_as_the_api_would(
    stand_in: Callable[..., StandIn], make_settings: Callable[..., Settings]
) -> None:
    """The stand-in refuses a seed (Vertex-only) as the Gemini API does: a route that adds
    one fails with Google's message, so the adapter's own bodies are checked for real."""
    server = stand_in("gemini")
    engine = engine_for("gemini", server, make_settings, options="?input.seed=5")
    with pytest.raises(RenderError, match=r"HTTP 400 INVALID_ARGUMENT: seed isn't supported"):
        render(engine)
    assert server.submits == 0


def test_minimax_standin_gets_both_frames_the_camera_command_and_serves_the_file(
    stand_in: Callable[..., StandIn], make_settings: Callable[..., Settings]
) -> None:
    server = stand_in("minimax", pending_polls=3)
    engine = engine_for("minimax", server, make_settings)
    config = RenderConfig(**{**CONFIG.to_dict(), "camera": "Orbit left"})
    frames, report = render(engine, config, images=2)
    assert len(frames) == config.total_frames
    [call] = submits(server)
    assert call.path == "/v1/video_generation"
    body = call.body
    assert body["model"] == "MiniMax-Hailuo-02" and body["duration"] == 6
    assert body["resolution"] == "768P"
    assert body["prompt"] == "a slow pan [Truck left, Pan right]"
    assert body["first_frame_image"].startswith("data:image/jpeg;base64,")
    assert body["last_frame_image"].startswith("data:image/jpeg;base64,")
    assert "negative_prompt" not in body and "seed" not in body
    gets = [c.path for c in server.calls if c.method == "GET"]
    task = "106916112213"
    assert gets[:4] == [f"/v1/query/video_generation?task_id={task}"] * 4
    assert f"/v1/files/retrieve?file_id=f{task}" in gets
    assert report.metadata["camera"] == {
        "sent_as": "prompt command",
        "text": "[Truck left, Pan right]",
    }
    assert report.metadata["provider"]["job_id"] == task
    assert engine.honoured_fields(config) == {"prompt", "camera_control"}
    roll = RenderConfig(**{**CONFIG.to_dict(), "camera": "Roll left"})  # no such command
    assert engine.honoured_fields(roll) == {"prompt"}


def test_minimax_models_that_take_no_camera_command_or_last_frame(
    stand_in: Callable[..., StandIn], make_settings: Callable[..., Settings]
) -> None:
    assert MiniMaxEngine.accepts_for("MiniMax-Hailuo-2.3") == {InputKind.TEXT, InputKind.ONE_IMAGE}
    assert MiniMaxEngine.accepts_for("MiniMax-Hailuo-2.3-Fast") == {InputKind.ONE_IMAGE}
    server = stand_in("minimax")
    engine = engine_for("minimax", server, make_settings, model="MiniMax-Hailuo-2.3")
    tall = RenderConfig(**{**CONFIG.to_dict(), "width": 1920, "height": 1080, "duration": 9.0})
    render(engine, tall, images=0)
    body = submits(server)[0].body
    assert body["duration"] == 10 and body["resolution"] == "768P"  # 10 s: 768P only
    assert "first_frame_image" not in body
    with pytest.raises(RenderError, match="takes no last frame"):
        render(engine, CONFIG, images=2)


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
    if provider == "gemini":
        assert info.value.message == (
            f"gemini: Google's safety filters withheld the video: {RAI_REASON}"
        )
    else:
        assert info.value.message == (
            "minimax: output video sensitive (code 1027: the generated video was flagged as "
            "sensitive content)"
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
    expected = "API key not valid" if provider == "gemini" else r"code 1004: authentication"
    with pytest.raises(RenderError, match=expected):
        render(engine)
    assert wrong.submits == 0


def test_minimax_insufficient_balance_is_a_clear_error(
    stand_in: Callable[..., StandIn], make_settings: Callable[..., Settings]
) -> None:
    server = stand_in("minimax", mode="broke")
    with pytest.raises(RenderError, match=r"^minimax: insufficient balance \(code 1008\)$"):
        render(engine_for("minimax", server, make_settings))
    assert server.submits == 1  # not retried: more attempts would not refill the account


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
def test_a_cancel_stops_the_wait_and_leaves_the_job_which_the_log_records(
    provider: str,
    stand_in: Callable[..., StandIn],
    make_settings: Callable[..., Settings],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Neither API has a cancel call: the wait stops, nothing more is sent, and the log
    names the job left running at the provider."""
    server = stand_in(provider, mode="hang")
    engine = engine_for(provider, server, make_settings)

    def polled_twice() -> bool:
        return sum(1 for c in server.calls if c.method == "GET") >= 2

    with caplog.at_level(logging.INFO), cancellation(polled_twice), pytest.raises(CancelledError):
        render(engine)
    assert server.submits == 1 and server.cancelled == []
    assert [c.method for c in server.calls].count("POST") == 1
    assert {c.method for c in server.calls} == {"POST", "GET"}
    job = (
        "models/veo-3.1-generate-preview/operations/op1" if provider == "gemini" else "106916112213"
    )
    assert f"{provider}: no cancel in this API; job {job} runs out there" in caplog.text


@pytest.mark.parametrize(
    ("provider", "route", "camera"),
    [
        ("gemini", "Veo=gemini:veo-3.1-generate-preview", "The camera circles to the right"),
        ("minimax", "MinimaxHailuo=minimax:MiniMax-Hailuo-2.3", "[Truck right, Pan left]"),
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
    entry = media["video_history"][-1]
    record = entry["engine_config"]["configs"][0]
    assert record["camera"]["text"].startswith(camera)
    assert record["provider"]["provider"] == provider
    ignored = {item["field"] for item in entry["ignored"]}
    assert "seeds" in ignored and "camera_control" not in ignored  # no seed on either API
    served = api.client.get(f"/media/{media['id']}/download", headers=api.headers())
    assert served.status_code == 200
    (tmp_path / "out.mp4").write_bytes(served.content)
    info = probe(tmp_path / "out.mp4")
    assert info["width"] == info["height"]
