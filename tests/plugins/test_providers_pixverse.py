"""The PixVerse adapter against a loopback stand-in of PixVerse's platform API
(tests/plugins/standins.py: PixVerseStandIn): frames uploaded for their img_id, the body each
generate endpoint takes, camera_movement where the model has one and the camera sentence
otherwise, a fresh Ai-trace-id per request, polling to the result, PixVerse's ErrCode errors
and its moderation refusal as clear media errors, the concurrency limit retried."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kinora.config import Settings
from kinora.engines.base import InputKind, RenderConfig
from kinora.engines.providers.pixverse import PixVerseEngine
from kinora.errors import RenderError
from tests.plugins.standins import KEY, REJECT_MESSAGE, StandIn
from tests.plugins.test_providers_direct import CONFIG, engine_for, render


def generates(server: StandIn) -> list[Any]:
    return [c for c in server.calls if c.method == "POST" and c.path.endswith("/generate")]


def uploads(server: StandIn) -> list[Any]:
    return [c for c in server.calls if c.path == "/openapi/v2/image/upload"]


def test_first_and_last_frames_are_uploaded_and_sent_with_the_camera_movement(
    stand_in: Callable[..., StandIn], make_settings: Callable[..., Settings]
) -> None:
    server = stand_in("pixverse", pending_polls=2)
    engine = engine_for("pixverse", server, make_settings, model="v4.5")
    config = RenderConfig(**{**CONFIG.to_dict(), "camera": "Pan left", "duration": 7.0})
    frames, report = render(engine, config, images=2)
    assert len(frames) == config.total_frames
    assert len(uploads(server)) == 2
    assert all(c.body["multipart"]["image"][:3] == b"\xff\xd8\xff" for c in uploads(server))
    [call] = generates(server)
    assert call.path == "/openapi/v2/video/transition/generate"
    body = call.body
    assert body["model"] == "v4.5" and body["duration"] == 8 and body["quality"] == "540p"
    assert body["first_frame_img"] != body["last_frame_img"]
    assert body["camera_movement"] == "horizontal_left" and body["prompt"] == "a slow pan"
    assert body["negative_prompt"] == "blur" and body["seed"] == 77
    assert "generate_audio_switch" not in body and "aspect_ratio" not in body
    # every request had its own trace id (a reused one leaves a real job stuck)
    traces = [c.headers["ai-trace-id"] for c in server.calls if c.path != "/files/out.mp4"]
    assert len(traces) == len(set(traces)) >= 5
    assert all(c.headers["api-key"] == KEY for c in server.calls if c.path != "/files/out.mp4")
    assert report.metadata["camera"] == {"sent_as": "camera_movement", "text": "horizontal_left"}
    assert report.metadata["provider"]["job_id"] == "318000000001"
    assert engine.honoured_fields(config) >= {"prompt", "negative_prompt", "seed"}


def test_later_models_get_the_camera_sentence_their_audio_off_and_text_an_aspect(
    stand_in: Callable[..., StandIn], make_settings: Callable[..., Settings]
) -> None:
    assert PixVerseEngine.accepts_for("v5") == frozenset(InputKind)
    server = stand_in("pixverse")
    engine = engine_for("pixverse", server, make_settings, model="v5.5")
    tall = RenderConfig(
        **{**CONFIG.to_dict(), "camera": "Orbit left", "width": 720, "height": 1280}
    )
    _, report = render(engine, tall, images=0)
    body = generates(server)[0].body
    assert generates(server)[0].path == "/openapi/v2/video/text/generate"
    assert body["aspect_ratio"] == "9:16" and body["quality"] == "720p"
    assert body["duration"] == 5 and body["generate_audio_switch"] is False
    assert "camera_movement" not in body
    assert body["prompt"] == "a slow pan The camera circles to the left around the subject."
    assert report.metadata["camera"]["sent_as"] == "prompt"
    assert not uploads(server)


def test_no_prompt_still_sends_one_and_1080p_caps_the_duration(
    stand_in: Callable[..., StandIn], make_settings: Callable[..., Settings]
) -> None:
    server = stand_in("pixverse")
    engine = engine_for("pixverse", server, make_settings, model="v4.5")
    big = RenderConfig(
        **{
            **CONFIG.to_dict(),
            "prompt": "",
            "width": 1920,
            "height": 1080,
            "duration": 8.0,
            "fps": 2,
        }
    )
    render(engine, big, images=1)
    body = generates(server)[0].body
    assert generates(server)[0].path == "/openapi/v2/video/img/generate"
    assert body["quality"] == "1080p" and body["duration"] == 5  # 8 s is not made at 1080p
    assert body["prompt"] and "img_id" in body


def test_pixverse_refusals_and_failures_are_clear_errors(
    stand_in: Callable[..., StandIn], make_settings: Callable[..., Settings]
) -> None:
    refused = stand_in("pixverse", mode="reject")
    with pytest.raises(RenderError, match=r"ErrCode 400017: invalid parameter") as info:
        render(engine_for("pixverse", refused, make_settings))
    assert REJECT_MESSAGE in info.value.message and refused.submits == 1
    moderated = stand_in("pixverse", mode="refuse")
    with pytest.raises(RenderError, match=r"^pixverse: refused by PixVerse's content moderation"):
        render(engine_for("pixverse", moderated, make_settings))
    failed = stand_in("pixverse", mode="fail")
    with pytest.raises(RenderError, match="could not generate the video"):
        render(engine_for("pixverse", failed, make_settings))
    wrong = stand_in("pixverse")
    engine = engine_for("pixverse", wrong, make_settings, pixverse_api_key="nope")
    with pytest.raises(RenderError, match=r"ErrCode 400012: invalid account"):
        render(engine)
    assert wrong.submits == 0


def test_the_concurrency_limit_and_server_errors_are_retried(
    stand_in: Callable[..., StandIn], make_settings: Callable[..., Settings]
) -> None:
    for mode in ("busy", "flaky"):
        server = stand_in("pixverse", mode=mode)
        engine = engine_for("pixverse", server, make_settings)
        delays: list[float] = []
        engine.adapter.sleep = delays.append
        frames, _ = render(engine)
        assert len(frames) == CONFIG.total_frames
        assert server.submits == 2 and delays, mode
