"""The Vidu adapter against a loopback stand-in of Vidu's platform API
(tests/plugins/standins.py: ViduStandIn): the body each create endpoint takes, motion_range as
movement_amplitude and the camera path as its sentence, polling to the result, Vidu's error
reasons as clear media errors, retries of 429 and 5xx (not of used-up credits), a cancel."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kinora.config import Settings
from kinora.engines.base import InputKind, RenderConfig, cancellation
from kinora.engines.providers.vidu import ViduEngine
from kinora.errors import CancelledError, RenderError
from tests.plugins.standins import FAIL_MESSAGE, KEY, REJECT_MESSAGE, StandIn
from tests.plugins.test_providers_direct import CONFIG, engine_for, render


def creates(server: StandIn) -> list[Any]:
    return [c for c in server.calls if c.method == "POST" and not c.path.endswith("/cancel")]


def test_first_and_last_frames_with_the_amplitude_and_the_camera_sentence(
    stand_in: Callable[..., StandIn], make_settings: Callable[..., Settings]
) -> None:
    server = stand_in("vidu", pending_polls=3)
    engine = engine_for("vidu", server, make_settings, model="viduq2-pro")
    config = RenderConfig(
        **{**CONFIG.to_dict(), "camera": "Orbit right", "motion_range": 9, "duration": 9.0}
    )
    frames, report = render(engine, config, images=2)
    assert len(frames) == config.total_frames
    [call] = creates(server)
    assert call.path == "/ent/v2/start-end2video"
    assert call.headers["authorization"] == f"Token {KEY}"
    body = call.body
    assert body["model"] == "viduq2-pro" and body["duration"] == 8  # start-end: 1-8 s on q2
    assert body["resolution"] == "540p" and body["seed"] == 77
    assert body["movement_amplitude"] == "large"
    assert len(body["images"]) == 2 and all(i.startswith("data:image/") for i in body["images"])
    assert body["prompt"] == "a slow pan The camera circles to the right around the subject."
    assert "negative_prompt" not in body and "aspect_ratio" not in body
    gets = [c.path for c in server.calls if c.method == "GET" and c.path.startswith("/ent/")]
    assert gets == ["/ent/v2/tasks/780001/creations"] * 4
    assert report.metadata["camera"]["sent_as"] == "prompt"
    assert report.metadata["provider"]["job_id"] == "780001"
    assert report.metadata["provider"]["spend"] == {"credits": 20}  # Vidu's own account
    assert engine.honoured_fields(config) == {"prompt", "seed", "motion_range", "camera_control"}


def test_text_gets_an_aspect_and_models_refuse_what_they_do_not_take(
    stand_in: Callable[..., StandIn], make_settings: Callable[..., Settings]
) -> None:
    assert ViduEngine.accepts_for("viduq2") == {InputKind.TEXT}
    assert ViduEngine.accepts_for("vidu2.0") == {InputKind.ONE_IMAGE, InputKind.TWO_IMAGES}
    server = stand_in("vidu")
    engine = engine_for("vidu", server, make_settings, model="viduq1")
    tall = RenderConfig(**{**CONFIG.to_dict(), "width": 720, "height": 1280, "motion_range": 5})
    render(engine, tall, images=0)
    body = creates(server)[0].body
    assert creates(server)[0].path == "/ent/v2/text2video"
    assert body["aspect_ratio"] == "9:16" and body["duration"] == 5
    assert body["resolution"] == "1080p" and body["movement_amplitude"] == "auto"
    text_only = engine_for("vidu", server, make_settings, model="viduq2")
    with pytest.raises(RenderError, match="is a text-to-video model"):
        render(text_only, CONFIG, images=1)
    old = engine_for("vidu", server, make_settings, model="vidu2.0")
    long = RenderConfig(**{**CONFIG.to_dict(), "duration": 8.0, "width": 1920, "height": 1080})
    render(old, long, images=1)
    body = creates(server)[-1].body
    assert body["duration"] == 8 and body["resolution"] == "720p"  # 8 s: 720p only


def test_vidus_refusals_and_failures_are_clear_errors(
    stand_in: Callable[..., StandIn], make_settings: Callable[..., Settings]
) -> None:
    refused = stand_in("vidu", mode="reject")
    with pytest.raises(RenderError, match=r"^vidu: HTTP 400 FieldInvalid: ") as info:
        render(engine_for("vidu", refused, make_settings))
    assert REJECT_MESSAGE in info.value.message and refused.submits == 1
    broke = stand_in("vidu", mode="broke")
    with pytest.raises(RenderError, match="credits are used up"):
        render(engine_for("vidu", broke, make_settings))
    assert broke.submits == 1  # not retried
    withheld = stand_in("vidu", mode="refuse")
    with pytest.raises(RenderError, match="withheld by Vidu's content policy"):
        render(engine_for("vidu", withheld, make_settings))
    failed = stand_in("vidu", mode="fail")
    with pytest.raises(RenderError, match=FAIL_MESSAGE):
        render(engine_for("vidu", failed, make_settings))
    wrong = stand_in("vidu")
    with pytest.raises(RenderError, match="HTTP 401 Unauthorized"):
        render(engine_for("vidu", wrong, make_settings, vidu_api_key="nope"))
    assert wrong.submits == 0


def test_rate_limits_are_retried_and_a_cancel_reaches_vidu(
    stand_in: Callable[..., StandIn], make_settings: Callable[..., Settings]
) -> None:
    server = stand_in("vidu", mode="flaky")
    engine = engine_for("vidu", server, make_settings)
    delays: list[float] = []
    engine.adapter.sleep = delays.append
    frames, _ = render(engine)
    assert len(frames) == CONFIG.total_frames
    assert server.submits == 3 and delays[:2] == [0.01, 3.0]
    hanging = stand_in("vidu", mode="hang")
    engine = engine_for("vidu", hanging, make_settings)

    def polled_once() -> bool:
        return any(c.method == "GET" for c in hanging.calls)

    with cancellation(polled_once), pytest.raises(CancelledError):
        render(engine)
    assert hanging.cancelled == ["780001"]
    last = hanging.calls[-1]
    assert (last.method, last.path, last.body) == (
        "POST",
        "/ent/v2/tasks/780001/cancel",
        {"id": "780001"},
    )
