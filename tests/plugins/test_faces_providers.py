"""Hosted lip sync and character performance against loopback stand-ins of the providers'
documented APIs (tests/plugins/faces_standins.py), through the real API and worker.

Lip sync (``KINORA_LIPSYNC_TARGET``): the stand-in receives the rendered video and the speech,
its video is the result, and the history names it; its failure falls back to the built-in lip
sync, recorded. character_animate routed to Runway's act_two sends the character image and the
driving video. Kling's requests carry a JWT the stand-in verifies with the secret key.
"""

from __future__ import annotations

import base64
import io
import json
import wave
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from kinora.config import Settings
from kinora.engines.base import EngineInputs, RenderConfig
from kinora.engines.providers.kling import KlingEngine, jwt_token
from kinora.errors import RenderError
from kinora.video.encode import iter_frames, probe
from kinora.video.frames import Clip
from tests.conftest import Api
from tests.plugins.faces_standins import (
    ACCESS_KEY,
    FACES_STAND_INS,
    PROVIDER_COLOUR,
    SECRET_KEY,
    data_uri_bytes,
    verify_jwt,
)
from tests.plugins.standins import FAIL_MESSAGE, KEY, StandIn
from tests.test_driving_video import _megamind_driver

FAST_PROVIDER = {
    "fps": 8,  # narrated renders: fewer frames for the face mesh and the stand-in to carry
    "provider_poll_seconds": 0.02,
    "provider_backoff_seconds": 0.01,
    "provider_retries": 1,
    "provider_timeout_seconds": 30.0,
}


@pytest.fixture
def faces_stand_in() -> Iterator[Callable[..., StandIn]]:
    started: list[StandIn] = []

    def start(provider: str, mode: str = "success") -> StandIn:
        server = FACES_STAND_INS[provider](mode=mode)
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


def narrated(api: Api, photo: Path, narration: str = "Hi there.", **audio: str) -> dict[str, Any]:
    option = {"narrator": "George", "narration": narration, **audio}
    r = api.client.post(
        "/media",
        data={"audio_option": json.dumps(option)},
        files=[("image_files", (photo.name, photo.read_bytes(), "image/png"))],
        headers=api.headers(),
    )
    assert r.status_code == 200, r.text
    media = api.wait(r.json()["data"]["id"], timeout=180)
    assert media["processing_status"] == "success", media["error"]
    return media


def download(api: Api, media: dict[str, Any], tmp_path: Path) -> Path:
    r = api.client.get(f"/media/{media['id']}/download", headers=api.headers())
    assert r.status_code == 200
    out = tmp_path / f"{media['id']}.mp4"
    out.write_bytes(r.content)
    return out


def is_provider_colour(frame: np.ndarray) -> bool:
    return bool(np.abs(frame.reshape(-1, 3).mean(axis=0) - PROVIDER_COLOUR).max() < 12)


def submits(server: StandIn) -> list[Any]:
    return [c for c in server.calls if c.method == "POST"]


def test_lipsync_standin_gets_the_rendered_video_and_speech_and_its_video_is_the_result(
    plugin_api: Callable[..., Api],
    faces_stand_in: Callable[..., StandIn],
    testdata: Path,
    tmp_path: Path,
) -> None:
    server = faces_stand_in("fal-lipsync")
    api = plugin_api(
        lipsync_target="fal:fal-ai/sync-lipsync/v2",
        fal_api_key=KEY,
        provider_base_urls=f"fal={server.base_url}",
        **FAST_PROVIDER,
    )
    media = narrated(api, testdata / "astronaut.png", speaker="left")
    [call] = submits(server)
    assert call.path == "/fal-ai/sync-lipsync/v2"
    # the rendered video, as Kinora rendered it (its size and length)
    sent = tmp_path / "sent.mp4"
    sent.write_bytes(data_uri_bytes(call.body["video_url"], "video/mp4"))
    out = download(api, media, tmp_path)
    sent_info, out_info = probe(sent), probe(out)
    assert (sent_info["width"], sent_info["height"]) == (out_info["width"], out_info["height"])
    assert sent_info["frames"] == out_info["frames"]
    assert not is_provider_colour(next(iter(iter_frames(sent))))
    # the speech alone, as long as the video, silent before the narrator starts
    with wave.open(io.BytesIO(data_uri_bytes(call.body["audio_url"], "audio/wav"))) as wav:
        rate, pcm = wav.getframerate(), np.frombuffer(wav.readframes(wav.getnframes()), "<i2")
    assert abs(len(pcm) / rate - out_info["duration"]) < 0.2
    assert np.abs(pcm[: rate // 10]).max() < 50 and np.abs(pcm).max() > 2000
    # the result is the stand-in's video, with Kinora's soundtrack
    assert all(is_provider_colour(f) for f in iter_frames(out))
    assert "audio_codec" in out_info
    entry = media["video_history"][-1]
    report = entry["engine_config"]["configs"][0]["lip_sync"]
    assert report["engine"] == "fal:fal-ai/sync-lipsync/v2"
    assert report["provider"]["job_id"] == "req-1"
    assert media["service_version"].endswith("; lip sync: fal:fal-ai/sync-lipsync/v2")
    ignored = {item["field"] for item in entry["ignored"]}
    assert "lip_sync" not in ignored
    # fal's sync-lipsync takes no choice of face: the speaker asked for is recorded as not sent
    assert "audio_option.speaker" in ignored


def test_a_failing_lipsync_standin_falls_back_to_the_builtin_and_records_why(
    plugin_api: Callable[..., Api],
    faces_stand_in: Callable[..., StandIn],
    testdata: Path,
    tmp_path: Path,
) -> None:
    server = faces_stand_in("fal-lipsync", mode="fail")
    api = plugin_api(
        lipsync_target="fal:fal-ai/latentsync",
        fal_api_key=KEY,
        provider_base_urls=f"fal={server.base_url}",
        **FAST_PROVIDER,
    )
    before = api.credits()
    media = narrated(api, testdata / "astronaut.png")
    assert len(submits(server)) == 1 and "seed" in submits(server)[0].body
    report = media["video_history"][-1]["engine_config"]["configs"][0]["lip_sync"]
    assert report["engine"] == "built-in"
    assert report["provider_failed"] == f"fal:fal-ai/latentsync: fal: HTTP 422: {FAIL_MESSAGE}"
    assert report["frames_speaking"] > 0 and report["frames_with_face"] > 0, report
    assert "lip sync" not in media["service_version"]
    assert not any(is_provider_colour(f) for f in iter_frames(download(api, media, tmp_path)))
    assert api.credits() < before  # a success is charged: the built-in did the lip sync


def test_an_unusable_lipsync_target_leaves_the_builtin_in_the_render_and_says_why(
    make_settings: Callable[..., Settings], testdata: Path, tmp_path: Path
) -> None:
    from kinora.domain.requests import MediaCreate
    from kinora.pipeline.render import RenderedVideo, RenderOutcome
    from kinora.pipeline.run import after_render, prepare
    from kinora.spec import InputRef

    audio = json.dumps({"narrator": "George", "narration": "Hi there."})
    photo = InputRef(kind="image", position="First", name="a", key=str(testdata / "astronaut.png"))
    spec = MediaCreate.model_validate({"audio_option": audio}).to_spec().with_inputs([photo])
    not_lipsync = "fal:fal-ai/kling-video/v2.1/standard/image-to-video"
    cases = {
        "model": make_settings(lipsync_target=not_lipsync, fal_api_key=KEY),
        "key": make_settings(lipsync_target="fal:fal-ai/sync-lipsync"),
        "usable": make_settings(lipsync_target="fal:fal-ai/sync-lipsync", fal_api_key=KEY),
    }
    prepared = {name: prepare(spec.seeded(1), Path, settings=s) for name, s in cases.items()}
    assert "not a lip-sync model on fal" in prepared["model"].lip_sync_skipped
    assert prepared["key"].lip_sync_skipped == "KINORA_FAL_API_KEY is not set"
    for name in ("model", "key"):  # the built-in stays in the render
        assert prepared[name].job.lip_sync is not None and prepared[name].lip_sync_step is None
    usable = prepared["usable"]  # the provider step runs instead of the render's lip sync
    assert usable.job.lip_sync is None and usable.lip_sync_step is not None
    assert usable.lip_sync_skipped == ""
    # what the render reported for its built-in lip sync gets the reason beside it
    config = prepared["model"].plan.configs[0]
    video = RenderedVideo(
        tmp_path / "v.mp4", tmp_path / "t.jpg", config, 1, 1.0, {"lip_sync": {"engine": "built-in"}}
    )
    outcome = RenderOutcome(videos=[video])
    after_render(prepared["model"], outcome)
    assert "not a lip-sync model" in outcome.videos[0].metadata["lip_sync"]["provider_skipped"]


def test_a_lipsync_target_of_an_unknown_provider_stops_the_settings(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="lip-sync target"):
        Settings(data_dir=tmp_path, lipsync_target="replicate:some/model")


def test_kling_lipsync_standin_verifies_the_jwt_of_every_request(
    plugin_api: Callable[..., Api],
    faces_stand_in: Callable[..., StandIn],
    testdata: Path,
    tmp_path: Path,
) -> None:
    server = faces_stand_in("kling")
    api = plugin_api(
        lipsync_target="kling:lip-sync",
        kling_access_key=ACCESS_KEY,
        kling_secret_key=SECRET_KEY,
        provider_base_urls=f"kling={server.base_url}",
        **FAST_PROVIDER,
    )
    media = narrated(api, testdata / "astronaut.png")
    assert server.token_problems == []  # type: ignore[attr-defined]
    assert len(server.tokens) >= 3  # type: ignore[attr-defined]  # submit and polls
    [call] = submits(server)
    assert call.path == "/v1/videos/lip-sync"
    given = call.body["input"]
    # Kling takes audio as bare base64 (no data-URI prefix): a WAV
    assert base64.b64decode(given["audio_file"])[:4] == b"RIFF"
    report = media["video_history"][-1]["engine_config"]["configs"][0]["lip_sync"]
    assert report["engine"] == "kling:lip-sync"
    assert all(is_provider_colour(f) for f in iter_frames(download(api, media, tmp_path)))


def test_the_kling_jwt_is_short_lived_and_signed_with_the_secret() -> None:
    now = 1_800_000_000
    token = jwt_token(ACCESS_KEY, SECRET_KEY, now=now)
    assert verify_jwt(token, access_key=ACCESS_KEY, secret_key=SECRET_KEY, now=now) == ""
    assert verify_jwt(token, access_key=ACCESS_KEY, secret_key="other", now=now) == (
        "bad signature"
    )
    assert verify_jwt(token, access_key="other", secret_key=SECRET_KEY, now=now) == (
        "unknown issuer"
    )
    assert verify_jwt(token, access_key=ACCESS_KEY, secret_key=SECRET_KEY, now=now + 1801) == (
        "expired"
    )
    assert verify_jwt(token, access_key=ACCESS_KEY, secret_key=SECRET_KEY, now=now - 60) == (
        "not yet valid"
    )


def kling_engine(
    server: StandIn, make_settings: Callable[..., Settings], model: str, **overrides: Any
) -> KlingEngine:
    values: dict[str, Any] = {
        "kling_access_key": ACCESS_KEY,
        "kling_secret_key": SECRET_KEY,
        "provider_base_urls": f"kling={server.base_url}",
        **FAST_PROVIDER,
        **overrides,
    }
    settings = make_settings(**values)
    problem = KlingEngine.check_target(argument=model, options={}, settings=settings).problem
    assert problem == ""
    return KlingEngine.from_target(argument=model, options={}, settings=settings)


def driver_clip(seconds: float = 1.0, fps: int = 10) -> Clip:
    frames = [np.full((48, 64, 3), 20 * i, np.uint8) for i in range(round(seconds * fps))]
    return Clip(frames=frames, fps=fps)


CONFIG = RenderConfig(width=64, height=64, fps=8, duration=1.0, seed=5, prompt="she dances")


def test_kling_motion_control_standin_gets_the_character_and_the_driving_video(
    faces_stand_in: Callable[..., StandIn], make_settings: Callable[..., Settings]
) -> None:
    server = faces_stand_in("kling")
    engine = kling_engine(server, make_settings, "kling-v2-6-motion-control")
    assert "character_animate" in engine.honoured_fields(CONFIG)
    image = np.random.default_rng(1).integers(0, 255, (80, 80, 3), dtype=np.uint8)
    render = engine.render(EngineInputs(images=[image], driver=driver_clip()), CONFIG)
    frames = list(render.frames)
    assert len(frames) == CONFIG.total_frames and all(is_provider_colour(f) for f in frames)
    [call] = submits(server)
    assert call.path == "/v1/videos/motion-control"
    assert call.body["model_name"] == "kling-v2-6" and call.body["prompt"] == "she dances"
    assert base64.b64decode(call.body["image_url"])[:3] == b"\xff\xd8\xff"  # a bare JPEG
    assert data_uri_bytes(call.body["video_url"], "video/mp4")[4:8] == b"ftyp"
    assert server.token_problems == []  # type: ignore[attr-defined]
    assert render.metadata["provider"]["job_id"] == "task-1"


def test_kling_error_codes_become_clear_messages_and_a_bad_key_is_refused(
    faces_stand_in: Callable[..., StandIn], make_settings: Callable[..., Settings]
) -> None:
    image = np.zeros((64, 64, 3), np.uint8)
    server = faces_stand_in("kling", mode="reject")
    engine = kling_engine(server, make_settings, "kling-v2-1")
    with pytest.raises(RenderError, match=r"kling: duration is invalid \(code 1201: invalid"):
        list(engine.render(EngineInputs(images=[image]), CONFIG).frames)
    wrong = faces_stand_in("kling")
    engine = kling_engine(wrong, make_settings, "kling-v2-1", kling_secret_key="not-the-secret")
    with pytest.raises(RenderError, match=r"Authorization is invalid \(code 1002"):
        list(engine.render(EngineInputs(images=[image]), CONFIG).frames)
    assert wrong.token_problems == ["bad signature"]  # type: ignore[attr-defined]
    assert wrong.submits == 0


def test_kling_image2video_sends_image_tail_for_two_images(
    faces_stand_in: Callable[..., StandIn], make_settings: Callable[..., Settings]
) -> None:
    server = faces_stand_in("kling")
    engine = kling_engine(server, make_settings, "kling-v2-1")
    images = [np.zeros((64, 64, 3), np.uint8), np.full((64, 64, 3), 255, np.uint8)]
    frames = list(engine.render(EngineInputs(images=images, prompt="dusk"), CONFIG).frames)
    assert len(frames) == CONFIG.total_frames
    [call] = submits(server)
    assert call.path == "/v1/videos/image2video"
    assert call.body["image"] and call.body["image_tail"] and call.body["duration"] == "5"
    assert not call.body["image"].startswith("data:")
    assert "character_animate" not in engine.honoured_fields(CONFIG)


def test_character_animate_routed_to_runway_act_two_standin_sends_character_and_driver(
    plugin_api: Callable[..., Api],
    faces_stand_in: Callable[..., StandIn],
    testdata: Path,
    tmp_path: Path,
) -> None:
    server = faces_stand_in("runway-act-two")
    api = plugin_api(
        engine_routes="Auto=runway:act_two",
        runway_api_key=KEY,
        provider_base_urls=f"runway={server.base_url}",
        **FAST_PROVIDER,
    )
    driver = _megamind_driver(tmp_path / "driver.mp4", seconds=1.5, tone=False)
    photo = (testdata / "astronaut.png").read_bytes()
    files = [
        ("image_files", ("person.png", photo, "image/png")),
        ("image_files", ("driver.bin", driver, "application/octet-stream")),
    ]
    data = {"character_animate": "true", "duration": "2"}
    r = api.client.post("/media", data=data, files=files, headers=api.headers())
    assert r.status_code == 200, r.text
    media = api.wait(r.json()["data"]["id"], timeout=180)
    assert media["processing_status"] == "success", media["error"]
    assert media["service_name"] == "runway"
    [call] = submits(server)
    assert call.path == "/v1/character_performance"
    body = call.body
    assert body["model"] == "act_two" and body["ratio"] in ("1280:720", "960:960")
    assert body["character"]["type"] == "image"
    assert data_uri_bytes(body["character"]["uri"], "image/jpeg")[:3] == b"\xff\xd8\xff"
    assert body["reference"]["type"] == "video"
    reference = tmp_path / "reference.mp4"
    reference.write_bytes(data_uri_bytes(body["reference"]["uri"], "video/mp4"))
    assert abs(probe(reference)["duration"] - 1.5) < 0.2
    entry = media["video_history"][-1]
    assert "character_animate" not in {item["field"] for item in entry["ignored"]}
    assert entry["engine_config"]["configs"][0]["engine_target"] == "runway:act_two"
    assert all(is_provider_colour(f) for f in iter_frames(download(api, media, tmp_path)))


def test_a_runway_model_that_cannot_perform_leaves_character_animate_to_the_builtin(
    make_settings: Callable[..., Settings], testdata: Path, tmp_path: Path
) -> None:
    from kinora.pipeline.run import prepare
    from kinora.spec import GenerationSpec, InputRef

    clip = tmp_path / "driver.mp4"
    _megamind_driver(clip, seconds=0.5, tone=False)
    spec = GenerationSpec.model_validate(
        {
            "character_animate": True,
            "inputs": [
                InputRef(
                    kind="image", position="First", name="p", key=str(testdata / "astronaut.png")
                ),
                InputRef(kind="video", position="Last", name="d", key=str(clip)),
            ],
        }
    ).seeded(3)
    routes = {"gen4_turbo": "Auto=runway:gen4_turbo", "act_two": "Auto=runway:act_two"}
    settings = {
        model: make_settings(engine_routes=route, runway_api_key=KEY)
        for model, route in routes.items()
    }
    refused = prepare(spec, Path, settings=settings["gen4_turbo"])
    assert refused.route.engine.info.name == "kinora-character" and refused.route.target == ""
    assert "does not honour character_animate" in refused.route.fallback_reason
    taken = prepare(spec, Path, settings=settings["act_two"])
    assert taken.route.target == "runway:act_two"
    assert "character_animate" in taken.route.engine.honoured_fields()


def test_fal_wan_animate_standin_gets_the_character_image_and_the_driving_video(
    stand_in: Callable[..., StandIn],
) -> None:
    from kinora.engines.providers.faces import (
        FAL_ANIMATE_MODELS,
        FalAnimateAdapter,
        performance_request,
    )

    model = "fal-ai/wan/v2.2-14b/animate/move"
    assert FAL_ANIMATE_MODELS.match(model)
    server = stand_in("fal")
    adapter = FalAnimateAdapter(
        model=model, api_key=KEY, base_url=server.base_url, poll_interval=0.01, backoff=0.01
    )
    image = np.random.default_rng(2).integers(0, 255, (80, 80, 3), dtype=np.uint8)
    request = performance_request(EngineInputs(images=[image], driver=driver_clip()), CONFIG)
    result = adapter.generate(request)
    assert result.video == server.video and result.job_id == "req-1"
    [call] = submits(server)
    assert call.path == "/" + model
    assert data_uri_bytes(call.body["image_url"], "image/jpeg")[:3] == b"\xff\xd8\xff"
    assert data_uri_bytes(call.body["video_url"], "video/mp4")[4:8] == b"ftyp"
    assert call.body["seed"] == CONFIG.seed
    assert adapter.honoured() == frozenset({"character_animate", "seed"})


def test_a_cancel_during_the_lipsync_step_cancels_the_standins_job(
    stand_in: Callable[..., StandIn], make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    from kinora.audio import SpeechPlan
    from kinora.audio.visemes import visemes_from_audio
    from kinora.errors import CancelledError
    from kinora.pipeline.lipsync_step import plan_step, run_step
    from kinora.pipeline.render import LipSyncJob, RenderedVideo, RenderOutcome
    from kinora.routing import Target
    from kinora.video.encode import Mp4Writer

    server = stand_in("fal", mode="hang")
    settings = make_settings(
        lipsync_target="fal:fal-ai/sync-lipsync",
        fal_api_key=KEY,
        provider_base_urls=f"fal={server.base_url}",
        **FAST_PROVIDER,
    )
    rate = 48000
    tone = 0.3 * np.sin(np.linspace(0, 2000, rate // 2)).astype(np.float32)
    speech = SpeechPlan(
        samples=tone[:, None].repeat(2, 1), rate=rate, source="George", words=1, offset_seconds=0.1
    )
    job = LipSyncJob(visemes_from_audio(speech.samples, rate, offset_seconds=0.1))
    audio = type("Plan", (), {"speech": speech})()
    step, problem = plan_step(settings, audio, job)  # type: ignore[arg-type]
    assert (
        step is not None
        and problem == ""
        and step.target == Target.parse("fal:fal-ai/sync-lipsync")
    )
    path = tmp_path / "video_0.mp4"
    with Mp4Writer(path, width=64, height=64, fps=8) as writer:
        for i in range(8):
            writer.write(np.full((64, 64, 3), 30 * i, np.uint8))
    video = RenderedVideo(path, tmp_path / "t.jpg", CONFIG, 8, 1.0)
    outcome = RenderOutcome(videos=[video])
    polls = iter(range(1000))
    with pytest.raises(CancelledError) as caught:
        run_step(step, outcome, soundtrack=None, cancelled=lambda: next(polls) >= 2)
    assert caught.value.completed == []
    assert server.cancelled == ["req-1"]
