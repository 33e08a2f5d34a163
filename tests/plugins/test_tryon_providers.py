"""TryOnVideo on hosted try-on providers, against loopback stand-ins of their documented APIs
(tests/plugins/tryon_standins.py): the ``model`` picks the provider through the shipped table
(kinora.engines.registry.TRY_ON_TARGETS), the provider's dressed still is animated by
kinora-tryon's motion, and service_name/service_version and the history say so; without a
key the built-in runs and the history says why."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from kinora.config import Settings
from kinora.engines.base import EngineInputs, InputKind, RenderConfig
from kinora.engines.providers.tryon import TryOnProviderEngine, decode_image
from kinora.engines.registry import Target, build, check, resolve, route
from kinora.errors import RenderError
from kinora.video.encode import iter_frames
from tests.conftest import Api
from tests.plugins.standins import FAIL_MESSAGE, KEY, REJECT_MESSAGE, StandIn
from tests.plugins.tryon_standins import (
    DRESSED_COLOUR,
    FASHN_ERROR,
    FalTryOnStandIn,
    FashnStandIn,
    KlingTryOnStandIn,
)

PERSON, GARMENT = "astronaut.png", "chelsea.png"
FAST_POLLS: dict[str, Any] = {
    "provider_poll_seconds": 0.02,
    "provider_backoff_seconds": 0.01,
    "provider_timeout_seconds": 30.0,
}


@pytest.fixture
def tryon_stand_in() -> Iterator[Callable[..., StandIn]]:
    started: list[StandIn] = []

    def start(kind: type[StandIn], mode: str = "success") -> StandIn:
        server = kind(mode=mode)
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


def post_try_on(api: Api, testdata: Path, model: str, **data: str) -> str:
    files = [
        ("image_files", (name, (testdata / name).read_bytes(), "image/png"))
        for name in (PERSON, GARMENT)
    ]
    form = {"motion_type": "TryOnVideo", "model": model, "duration": "1", **data}
    r = api.client.post("/media", data=form, files=files, headers=api.headers())
    assert r.status_code == 200, r.text
    return str(r.json()["data"]["id"])


def decoded(uri: str) -> np.ndarray:
    assert uri.startswith("data:image/jpeg;base64,")
    raw = base64.b64decode(uri.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(raw)).convert("RGB"))


def same_picture(sent: np.ndarray, original: Path) -> bool:
    """The sent image is the original, whole (same shape, near the same pixels)."""
    ref = np.asarray(Image.open(original).convert("RGB"))
    if abs(sent.shape[1] / sent.shape[0] - ref.shape[1] / ref.shape[0]) > 0.02:
        return False
    small = np.asarray(Image.fromarray(ref).resize((sent.shape[1], sent.shape[0])), np.float32)
    return float(np.abs(small - sent.astype(np.float32)).mean()) < 12.0


def dressed_share(frames: list[np.ndarray]) -> float:
    """The share of pixels in the stand-in's garment colour (mean over the frames)."""
    colour = np.array(DRESSED_COLOUR, np.float32)
    shares = [
        float((np.abs(f.astype(np.float32) - colour).max(axis=2) < 40).mean()) for f in frames
    ]
    return float(np.mean(shares))


def download_frames(api: Api, media: dict[str, Any], tmp_path: Path) -> list[np.ndarray]:
    served = api.client.get(f"/media/{media['id']}/download", headers=api.headers())
    assert served.status_code == 200
    path = tmp_path / f"{media['id']}.mp4"
    path.write_bytes(served.content)
    return list(iter_frames(path))


# --- through the API --------------------------------------------------------------------


def test_fashn_standin_dresses_the_person_and_the_video_is_animated_and_named(
    plugin_api: Callable[..., Api],
    tryon_stand_in: Callable[..., StandIn],
    testdata: Path,
    tmp_path: Path,
) -> None:
    server = tryon_stand_in(FashnStandIn)
    api = plugin_api(fashn_api_key=KEY, provider_base_urls=f"fashn={server.base_url}", **FAST_POLLS)
    before = api.credits()
    media = api.wait(post_try_on(api, testdata, "FashnTryOn", prompt="a summer dress"))
    assert media["processing_status"] == "success", media["error"]
    run = next(c for c in server.calls if c.method == "POST")
    assert run.path == "/v1/run" and run.headers["authorization"] == f"Bearer {KEY}"
    assert run.body["model_name"] == "tryon-v1.6"
    inputs = run.body["inputs"]
    assert same_picture(decoded(inputs["model_image"]), testdata / PERSON)  # person first
    assert same_picture(decoded(inputs["garment_image"]), testdata / GARMENT)
    assert inputs["category"] == "one-pieces"  # "dress" in the prompt
    assert isinstance(inputs["seed"], int)
    assert any(c.path.startswith("/v1/status/") for c in server.calls)
    # Named for both steps: FASHN dressed, kinora-tryon animated.
    assert media["service_name"] == "fashn tryon-v1.6 + kinora-tryon animation"
    assert media["service_version"].startswith("tryon-v1.6@tryon-v1.6 + kinora-tryon 1.0+")
    assert media["service_version"].endswith(f"; seeds {inputs['seed']}")
    entry = media["video_history"][-1]
    config = entry["engine_config"]["configs"][0]
    assert config["try_on_engine"] == "fashn:tryon-v1.6"
    assert config["engine_target"] == "fashn:tryon-v1.6"
    assert config["provider"]["job_id"].startswith("123a87r9-")
    assert "fallback_reason" not in config
    ignored = {item["field"] for item in entry["ignored"]}
    assert not {"try_on_model", "prompt", "seed"} & ignored
    # A video, made from the provider's still: its garment colour fills the frames, and the
    # camera moves (the frames differ).
    frames = download_frames(api, media, tmp_path)
    assert len(frames) >= 8
    assert dressed_share(frames) > 0.15
    assert float(np.abs(frames[0].astype(np.float32) - frames[-1]).mean()) > 0.5
    assert api.credits() < before


def test_fashn_standin_failure_fails_the_media_with_its_reason_and_refunds(
    plugin_api: Callable[..., Api], tryon_stand_in: Callable[..., StandIn], testdata: Path
) -> None:
    server = tryon_stand_in(FashnStandIn, mode="fail")
    api = plugin_api(fashn_api_key=KEY, provider_base_urls=f"fashn={server.base_url}", **FAST_POLLS)
    before = api.credits()
    media = api.wait(post_try_on(api, testdata, "FashnTryOn"))
    assert media["processing_status"] == "fail"
    assert media["error"] == f"fashn: {FASHN_ERROR['name']}: {FASHN_ERROR['message']}"
    assert api.credits() == before


def test_kling_try_on_runs_on_fals_kolors_standin(
    plugin_api: Callable[..., Api],
    tryon_stand_in: Callable[..., StandIn],
    testdata: Path,
    tmp_path: Path,
) -> None:
    server = tryon_stand_in(FalTryOnStandIn)
    api = plugin_api(fal_api_key=KEY, provider_base_urls=f"fal={server.base_url}", **FAST_POLLS)
    media = api.wait(post_try_on(api, testdata, "KlingTryOn", prompt="a striped shirt"))
    assert media["processing_status"] == "success", media["error"]
    submit = next(c for c in server.calls if c.method == "POST")
    assert submit.path == "/fal-ai/kling/v1-5/kolors-virtual-try-on"
    assert submit.headers["authorization"] == f"Key {KEY}"
    assert same_picture(decoded(submit.body["human_image_url"]), testdata / PERSON)
    assert same_picture(decoded(submit.body["garment_image_url"]), testdata / GARMENT)
    assert media["service_name"] == (
        "fal fal-ai/kling/v1-5/kolors-virtual-try-on + kinora-tryon animation"
    )
    entry = media["video_history"][-1]
    # Kolors takes no prompt (recorded as not honoured, naming the engine) and no seed of
    # its own (the animation uses the seed).
    ignored = {item["field"]: item["reason"] for item in entry["ignored"]}
    assert "seed" not in ignored and "try_on_model" not in ignored
    assert "kolors-virtual-try-on" in ignored["prompt"]
    assert "a striped shirt" not in str(submit.body)
    assert dressed_share(download_frames(api, media, tmp_path)) > 0.15


def test_kling_try_on_runs_on_klings_own_api_standin_first(
    plugin_api: Callable[..., Api],
    tryon_stand_in: Callable[..., StandIn],
    testdata: Path,
    tmp_path: Path,
) -> None:
    from tests.plugins.faces_standins import ACCESS_KEY, SECRET_KEY

    server = tryon_stand_in(KlingTryOnStandIn)
    api = plugin_api(
        kling_access_key=ACCESS_KEY,
        kling_secret_key=SECRET_KEY,
        fal_api_key=KEY,  # both keys: Kling's own API comes first
        provider_base_urls=f"kling={server.base_url},fal=http://127.0.0.1:9",
        **FAST_POLLS,
    )
    media = api.wait(post_try_on(api, testdata, "KlingTryOn"))
    assert media["processing_status"] == "success", media["error"]
    submit = next(c for c in server.calls if c.method == "POST")
    assert submit.path == "/v1/images/kolors-virtual-try-on"
    assert submit.body["model_name"] == "kolors-virtual-try-on-v1-5"
    # Bare base64 (Kling's documented form), person first.
    person = decoded("data:image/jpeg;base64," + submit.body["human_image"])
    assert same_picture(person, testdata / PERSON)
    garment = decoded("data:image/jpeg;base64," + submit.body["cloth_image"])
    assert same_picture(garment, testdata / GARMENT)
    assert media["service_name"] == "kling kolors-virtual-try-on-v1-5 + kinora-tryon animation"
    config = media["video_history"][-1]["engine_config"]["configs"][0]
    assert config["try_on_engine"] == "kling:kolors-virtual-try-on-v1-5"
    assert dressed_share(download_frames(api, media, tmp_path)) > 0.15


def test_without_a_key_the_built_in_dresses_and_the_history_says_why(
    plugin_api: Callable[..., Api],
) -> None:
    from tests.engines.engine_helpers import opencv_doc

    api = plugin_api()
    files = [
        (
            "image_files",
            ("person.jpg", opencv_doc("examples/data/messi5.jpg").read_bytes(), "image/jpeg"),
        ),
        (
            "image_files",
            ("garment.jpg", opencv_doc("opencv4/html/230501201_1.jpg").read_bytes(), "image/jpeg"),
        ),
    ]
    form = {"motion_type": "TryOnVideo", "model": "FashnTryOn", "duration": "1"}
    r = api.client.post("/media", data=form, files=files, headers=api.headers())
    assert r.status_code == 200, r.text
    media = api.wait(r.json()["data"]["id"], timeout=300)
    assert media["processing_status"] == "success", media["error"]
    assert media["service_name"] == "kinora-tryon"
    config = media["video_history"][-1]["engine_config"]["configs"][0]
    assert config["try_on_engine"] == "built-in" and config["engine_target"] == ""
    reason = config["fallback_reason"]
    assert "fashn:tryon-v1.6: KINORA_FASHN_API_KEY is not set" in reason
    assert "fal-tryon:fal-ai/fashn/tryon/v1.6: KINORA_FAL_API_KEY is not set" in reason


# --- the adapters and the routing table, without the app ---------------------------------


def person_and_garment(testdata: Path) -> EngineInputs:
    images = [np.asarray(Image.open(testdata / n).convert("RGB")) for n in (PERSON, GARMENT)]
    return EngineInputs(images=images, prompt="")


CONFIG = RenderConfig(width=64, height=96, fps=8, duration=1.0, seed=5, try_on_model="x")


@pytest.mark.parametrize(
    ("model", "path", "prompted", "seeded"),
    [
        ("fal-ai/fashn/tryon/v1.6", "/fal-ai/fashn/tryon/v1.6", False, True),
        ("fal-ai/nano-banana-pro/edit", "/fal-ai/nano-banana-pro/edit", True, False),
        ("fal-ai/bytedance/seedream/v4/edit", "/fal-ai/bytedance/seedream/v4/edit", True, True),
    ],
)
def test_fal_try_on_standin_endpoints_get_their_schema_and_answer_an_image(
    make_settings: Callable[..., Settings],
    tryon_stand_in: Callable[..., StandIn],
    testdata: Path,
    model: str,
    path: str,
    prompted: bool,
    seeded: bool,
) -> None:
    server = tryon_stand_in(FalTryOnStandIn)
    settings = make_settings(
        fal_api_key=KEY, provider_base_urls=f"fal={server.base_url}", **FAST_POLLS
    )
    target = Target("fal-tryon", model)
    assert not check(target, settings).problem
    engine = build(target, settings)
    assert isinstance(engine, TryOnProviderEngine)
    # The provider's step alone (the API tests above animate its still): an image comes back.
    result = engine.adapter.generate(engine.request_for(person_and_garment(testdata), CONFIG))
    still = decode_image(result.video, "fal")
    assert still.shape == (144, 96, 3) and dressed_share([still]) > 0.15
    assert result.job_id == "req-1" and result.video_url.startswith(server.base_url)
    submit = next(c for c in server.calls if c.method == "POST")
    assert submit.path == path
    body = submit.body
    if prompted:
        person, garment = body["image_urls"]
        assert "try-on" in body["prompt"].lower() and body["num_images"] == 1
    else:
        person, garment = body["model_image"], body["garment_image"]
        assert body["category"] == "auto"
    assert same_picture(decoded(person), testdata / PERSON)
    assert same_picture(decoded(garment), testdata / GARMENT)
    assert ("seed" in body) is seeded
    assert "prompt" in engine.honoured_fields(CONFIG)  # the instruction, or the category


def test_fashn_standin_refusal_and_outage_are_render_errors(
    make_settings: Callable[..., Settings],
    tryon_stand_in: Callable[..., StandIn],
    testdata: Path,
) -> None:
    for mode, expected in (("reject", REJECT_MESSAGE), ("down", "HTTP 503")):
        server = tryon_stand_in(FashnStandIn, mode=mode)
        settings = make_settings(
            fashn_api_key=KEY, provider_base_urls=f"fashn={server.base_url}", **FAST_POLLS
        )
        engine = build(Target("fashn", "tryon-v1.6"), settings)
        with pytest.raises(RenderError) as info:
            list(engine.render(person_and_garment(testdata), CONFIG).frames)
        assert info.value.message.startswith("fashn: ") and expected in info.value.message


def test_fal_try_on_standin_failure_is_a_render_error_with_fals_words(
    make_settings: Callable[..., Settings],
    tryon_stand_in: Callable[..., StandIn],
    testdata: Path,
) -> None:
    server = tryon_stand_in(FalTryOnStandIn, mode="fail")
    settings = make_settings(
        fal_api_key=KEY, provider_base_urls=f"fal={server.base_url}", **FAST_POLLS
    )
    engine = build(Target("fal-tryon", "fal-ai/kling/v1-5/kolors-virtual-try-on"), settings)
    with pytest.raises(RenderError) as info:
        list(engine.render(person_and_garment(testdata), CONFIG).frames)
    assert info.value.message == f"fal: HTTP 422: {FAIL_MESSAGE}"


def test_fashn_standin_result_that_is_not_an_image_fails_clearly(
    make_settings: Callable[..., Settings],
    tryon_stand_in: Callable[..., StandIn],
    testdata: Path,
) -> None:
    server = tryon_stand_in(FashnStandIn)
    server.video = b"<html>not an image</html>"
    settings = make_settings(
        fashn_api_key=KEY, provider_base_urls=f"fashn={server.base_url}", **FAST_POLLS
    )
    engine = build(Target("fashn", "tryon-v1.6"), settings)
    with pytest.raises(RenderError, match="fashn: the try-on result is not an image"):
        list(engine.render(person_and_garment(testdata), CONFIG).frames)


NEEDS = frozenset({"try_on_model"})


def decide(settings: Settings, model: str, table: dict[str, list[Target]] | None = None) -> Any:
    return resolve(
        motion_type="TryOnVideo",
        kind=InputKind.TWO_IMAGES,
        settings=settings,
        table=table or {},
        needs=NEEDS,
        try_on_model=model,
    )


def test_the_shipped_try_on_table_picks_the_provider_per_model(
    make_settings: Callable[..., Settings],
) -> None:
    none = make_settings()
    fal = make_settings(fal_api_key="f")
    both = make_settings(fal_api_key="f", fashn_api_key="k")
    assert str(decide(both, "FashnTryOn").target) == "fashn:tryon-v1.6"
    assert str(decide(fal, "FashnTryOn").target) == "fal-tryon:fal-ai/fashn/tryon/v1.6"
    assert str(decide(fal, "KlingTryOn").target) == (
        "fal-tryon:fal-ai/kling/v1-5/kolors-virtual-try-on"
    )
    assert str(decide(fal, "NanoBananaProTryOn").target) == (
        "fal-tryon:fal-ai/nano-banana-pro/edit"
    )
    assert str(decide(fal, "SeedreamTryOn").target) == (
        "fal-tryon:fal-ai/bytedance/seedream/v4/edit"
    )
    vidu = decide(both, "ViduTryOn")
    assert vidu.target is None and vidu.engine == "kinora-tryon"
    assert vidu.fallback_reason == "ViduTryOn: no hosted try-on provider is shipped for it"
    fallback = decide(none, "SeedreamTryOn")
    assert fallback.engine == "kinora-tryon" and "KINORA_FAL_API_KEY is not set" in (
        fallback.fallback_reason
    )


def test_an_operator_route_for_try_on_overrides_the_shipped_table(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(fal_api_key="f", fashn_api_key="k")
    table = {"TryOnVideo": [Target.parse("fal-tryon:fal-ai/nano-banana-pro/edit")]}
    assert str(decide(settings, "FashnTryOn", table).target) == (
        "fal-tryon:fal-ai/nano-banana-pro/edit"
    )
    # A video model routed for TryOnVideo does not honour the model: passed over, said so.
    video = {"TryOnVideo": [Target.parse("fal:fal-ai/kling-video/v2.1/standard/image-to-video")]}
    decision = decide(settings, "FashnTryOn", video)
    assert decision.engine == "kinora-tryon" and "does not honour try_on_model" in (
        decision.fallback_reason
    )


def test_the_built_in_fallback_route_reports_its_reason_in_every_render(
    make_settings: Callable[..., Settings],
) -> None:
    chosen = route(
        motion_type="TryOnVideo",
        kind=InputKind.TWO_IMAGES,
        settings=make_settings(),
        needs=NEEDS,
        try_on_model="ViduTryOn",
    )
    assert chosen.engine.info.name == "kinora-tryon" and chosen.target == ""
    assert chosen.fallback_reason == "ViduTryOn: no hosted try-on provider is shipped for it"
    # Routes without a needed field are untouched (the same engine object as before).
    plain = route(motion_type="Auto", kind=InputKind.ONE_IMAGE, settings=make_settings())
    assert type(plain.engine).__name__ == "ParallaxEngine"


def test_models_shows_each_try_on_models_route_with_only_a_fashn_key_standin(
    plugin_api: Callable[..., Api],
) -> None:
    api = plugin_api(fashn_api_key=KEY)
    r = api.client.get("/models", headers=api.headers())
    assert r.status_code == 200, r.text
    routes = r.json()["try_on_routes"]
    assert routes["FashnTryOn"]["engine"] == "fashn"
    assert routes["FashnTryOn"]["target"] == "fashn:tryon-v1.6"
    assert routes["KlingTryOn"]["engine"] == "kinora-tryon"
    assert "KINORA_KLING_ACCESS_KEY" in routes["KlingTryOn"]["fallback_reason"]
    assert routes["ViduTryOn"]["engine"] == "kinora-tryon"
    assert "no hosted try-on provider" in routes["ViduTryOn"]["fallback_reason"]
