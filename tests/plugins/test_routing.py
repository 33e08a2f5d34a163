"""Routing every motion_type: configured targets, fallbacks to the built-ins, Auto, /models."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import ValidationError

from kinora.api.schemas import MotionType
from kinora.config import Settings
from kinora.engines.base import InputKind
from kinora.engines.presets import PRESETS_VERSION
from kinora.engines.providers.base import ProviderEngine
from kinora.engines.registry import (
    BUILTIN_FOR_INPUT,
    MOTION_TYPES,
    Target,
    engine_classes,
    parse_routes,
    resolve,
    route,
)
from tests.conftest import Api
from tests.plugins.standins import FAIL_MESSAGE, KEY, StandIn, model_inputs

KINDS = list(InputKind)
NON_AUTO = [m for m in MOTION_TYPES if m not in ("Auto", "AutoT3")]


def test_the_registry_knows_every_motion_type_of_the_spec() -> None:
    assert set(MOTION_TYPES) == {m.value for m in MotionType}


def test_every_engine_registers_the_same_way() -> None:
    names = set(engine_classes())
    assert {"kinora-parallax", "kinora-morph", "kinora-scene"} <= names
    assert {"diffusers", "replicate", "fal", "runway", "luma"} <= names


@pytest.mark.parametrize("motion_type", MOTION_TYPES)
def test_unconfigured_motion_types_run_on_the_builtin(
    motion_type: str, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings()
    for kind in KINDS:
        chosen = route(motion_type=motion_type, kind=kind, settings=settings)
        assert chosen.engine.info.name == BUILTIN_FOR_INPUT[kind]
        assert chosen.requested_motion_type == motion_type
        assert chosen.target == "" and chosen.fallback_reason == ""


@pytest.mark.parametrize("motion_type", MOTION_TYPES)
def test_each_motion_type_routes_to_its_configured_target(
    motion_type: str, make_settings: Callable[..., Settings]
) -> None:
    # Every motion type to its own Replicate model, and RunwayML to Runway (images only).
    routes = {m: f"replicate:owner/model-{m.lower()}" for m in NON_AUTO}
    routes["RunwayML"] = "runway:gen4_turbo"
    text = ",".join(f"{k}={v}" for k, v in routes.items())
    settings = make_settings(engine_routes=text, replicate_api_key="r", runway_api_key="w")
    for kind in KINDS:
        chosen = route(motion_type=motion_type, kind=kind, settings=settings)
        name = chosen.engine.info.name
        if motion_type in ("Auto", "AutoT3"):
            # Auto: the first configured target that accepts the inputs.
            assert name == "replicate"
            assert chosen.target == f"replicate:owner/model-{NON_AUTO[0].lower()}"
        elif motion_type == "RunwayML" and kind is InputKind.TEXT:
            assert name == BUILTIN_FOR_INPUT[kind]
            assert "does not accept text" in chosen.fallback_reason
        else:
            assert chosen.target == routes[motion_type]
            assert isinstance(chosen.engine, ProviderEngine)
            assert chosen.engine.adapter.model == routes[motion_type].split(":", 1)[1]


@pytest.mark.parametrize("motion_type", MOTION_TYPES)
def test_a_target_without_credentials_falls_back_to_the_builtin(
    motion_type: str, make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KINORA_FAL_API_KEY", raising=False)
    settings = make_settings(engine_routes=f"{motion_type}=fal:fal-ai/some-model")
    for kind in KINDS:
        chosen = route(motion_type=motion_type, kind=kind, settings=settings)
        assert chosen.engine.info.name == BUILTIN_FOR_INPUT[kind]
        assert "KINORA_FAL_API_KEY is not set" in chosen.fallback_reason


def test_candidates_are_tried_in_order(make_settings: Callable[..., Settings], tmp_path: Path):
    settings = make_settings(
        engine_routes=(
            f"Wan=diffusers:{tmp_path / 'missing'}|fal:fal-ai/wan-i2v|replicate:wan-video/wan"
        ),
        fal_api_key="f",
        replicate_api_key="r",
    )
    decision = resolve(motion_type="Wan", kind=InputKind.ONE_IMAGE, settings=settings)
    assert decision.target == Target("fal", "fal-ai/wan-i2v")
    chosen = route(motion_type="Wan", kind=InputKind.ONE_IMAGE, settings=settings)
    assert chosen.engine.info.name == "fal"


def test_auto_prefers_its_own_route_then_whatever_accepts_the_inputs(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(
        engine_routes="RunwayML=runway:gen4_turbo;LumaRay2=luma:ray-2",
        runway_api_key="w",
        luma_api_key="l",
    )
    pick = lambda kind: resolve(motion_type="Auto", kind=kind, settings=settings).engine  # noqa: E731
    assert pick(InputKind.ONE_IMAGE) == "runway"
    assert pick(InputKind.TEXT) == "luma"  # Runway takes no text-only requests
    own = make_settings(
        engine_routes="RunwayML=runway:gen4_turbo,Auto=luma:ray-flash-2",
        runway_api_key="w",
        luma_api_key="l",
    )
    decision = resolve(motion_type="AutoT3", kind=InputKind.ONE_IMAGE, settings=own)
    assert decision.engine == "runway"  # AutoT3 has no route of its own
    decision = resolve(motion_type="Auto", kind=InputKind.ONE_IMAGE, settings=own)
    assert decision.target == Target("luma", "ray-flash-2")


def test_route_formats() -> None:
    table = parse_routes(
        '{"KlingAI": "replicate:kwaivgi/kling-v2.1",'
        ' "Wan": ["diffusers:/m/a", "fal:x/y?input.k=1"]}'
    )
    assert table["KlingAI"] == [Target("replicate", "kwaivgi/kling-v2.1")]
    assert table["Wan"][1] == Target("fal", "x/y", {"input.k": "1"})
    assert str(table["Wan"][1]) == "fal:x/y?input.k=1"
    assert parse_routes("\nVeo = fal:fal-ai/veo3 ;\n") == {"Veo": [Target("fal", "fal-ai/veo3")]}
    assert parse_routes(" ") == {}
    with pytest.raises(ValueError, match="unknown motion_type 'Kling'"):
        parse_routes("Kling=replicate:x/y")
    with pytest.raises(ValueError, match="not MotionType=target"):
        parse_routes("KlingAI")


def test_unknown_engines_fall_back(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(engine_routes="Sora=openai:sora-2,PicoMotion=kinora-parallax")
    decision = resolve(motion_type="Sora", kind=InputKind.TEXT, settings=settings)
    assert decision.engine == "kinora-scene"
    assert "no engine named 'openai'" in decision.fallback_reason
    decision = resolve(motion_type="PicoMotion", kind=InputKind.ONE_IMAGE, settings=settings)
    assert decision.target == Target("kinora-parallax")
    decision = resolve(motion_type="PicoMotion", kind=InputKind.TEXT, settings=settings)
    assert decision.engine == "kinora-scene"


def test_models_lists_capabilities_and_routes(plugin_api: Callable[..., Api]) -> None:
    api = plugin_api(
        engine_routes="KlingAI=replicate:kwaivgi/kling-v2.1,RunwayML=runway:gen4_turbo",
        replicate_api_key="r",
        presets="off",  # only the routes above (tests/plugins/test_presets.py: presets on)
    )
    body = api.client.get("/models").json()
    by_name = {e["name"]: e for e in body["data"]}
    assert {"kinora-parallax", "diffusers", "replicate", "fal", "runway", "luma"} <= set(by_name)
    replicate = by_name["replicate"]
    assert replicate["accepts"] == ["one_image", "text", "two_images"]
    assert replicate["needs_gpu"] is False and replicate["max_duration"] == 10.0
    assert replicate["motion_types"] == ["Auto", "AutoT3", "KlingAI"]
    (target,) = replicate["targets"]
    assert target["target"] == "replicate:kwaivgi/kling-v2.1" and target["available"]
    (runway,) = by_name["runway"]["targets"]
    assert not runway["available"] and "KINORA_RUNWAY_API_KEY" in runway["problem"]
    assert by_name["diffusers"]["needs_gpu"] is True
    assert "RunwayML" in by_name["kinora-parallax"]["motion_types"]
    assert set(body["routes"]) == set(MOTION_TYPES)
    assert body["routes"]["KlingAI"]["one_image"]["engine"] == "replicate"
    assert body["routes"]["RunwayML"]["one_image"]["engine"] == "kinora-parallax"
    for motion_type in MOTION_TYPES:
        kinds = set(body["routes"][motion_type]) - {"notice"}
        assert kinds == {"one_image", "two_images", "text"}
    assert "2026-09-24" in body["routes"]["Sora"]["notice"]
    assert body["routes"]["KlingAI"]["one_image"]["source"] == "routes"
    assert body["routes"]["Veo"]["one_image"]["source"] == "built-in"
    assert body["presets"] == {"version": PRESETS_VERSION, "enabled": False, "providers": []}
    with pytest.raises(ValidationError, match="unknown motion_type 'Nope'"):
        plugin_api(engine_routes="Nope=fal:x")  # settings refuse it when they load


def _post_image(api: Api, testdata: Path, **data: str) -> str:
    with (testdata / "astronaut.png").open("rb") as f:
        r = api.client.post(
            "/media",
            files=[("image_files", ("astronaut.png", f, "image/png"))],
            data={"duration": "1", **data},
            headers=api.headers(),
        )
    assert r.status_code == 200, r.text
    return str(r.json()["data"]["id"])


def test_a_routed_motion_type_renders_through_the_provider(
    plugin_api: Callable[..., Api], stand_in: Callable[..., StandIn], testdata: Path, tmp_path: Path
) -> None:
    from kinora.video.encode import probe

    server = stand_in("replicate")
    api = plugin_api(
        engine_routes="KlingAI=replicate:kwaivgi/kling-v2.1",
        replicate_api_key=KEY,
        provider_base_urls=f"replicate={server.base_url}",
        provider_poll_seconds=0.02,
    )
    media = api.wait(_post_image(api, testdata, motion_type="KlingAI", aspect_ratio="1:1"))
    assert media["processing_status"] == "success", media
    assert media["service_name"] == "replicate"
    assert media["service_version"].startswith("kwaivgi/kling-v2.1@5e0e1b9c")
    assert media["service_version"].endswith("; seeds 1234")
    served = api.client.get(f"/media/{media['id']}/download", headers=api.headers())
    assert served.status_code == 200
    (tmp_path / "out.mp4").write_bytes(served.content)
    info = probe(tmp_path / "out.mp4")
    assert (info["width"], info["height"]) == (256, 256) and info["frames"] == 24


def test_a_provider_failure_fails_the_media_and_refunds(
    plugin_api: Callable[..., Api], stand_in: Callable[..., StandIn], testdata: Path
) -> None:
    server = stand_in("luma", mode="fail")
    api = plugin_api(
        engine_routes="LumaRay2=luma:ray-2",
        luma_api_key=KEY,
        provider_base_urls=f"luma={server.base_url}",
        provider_poll_seconds=0.02,
    )
    before = api.credits()
    media = api.wait(_post_image(api, testdata, motion_type="LumaRay2"))
    assert media["processing_status"] == "fail"
    assert media["error"] == f"luma: {FAIL_MESSAGE}"
    assert api.credits() == before


@pytest.mark.parametrize(
    ("provider", "route", "has_negative"),
    [
        ("replicate", "KlingAI=replicate:kwaivgi/kling-v2.1", True),
        ("fal", "KlingAI=fal:fal-ai/kling-video/v2.1/standard/image-to-video", True),
        ("runway", "KlingAI=runway:gen4_turbo", False),
    ],
)
def test_the_negative_prompt_travels_from_the_api_to_the_provider_stand_in(
    plugin_api: Callable[..., Api],
    stand_in: Callable[..., StandIn],
    testdata: Path,
    provider: str,
    route: str,
    has_negative: bool,
) -> None:
    """The whole path: request field -> stored spec -> planner -> RenderConfig -> the
    provider's own field (a stand-in following its documented protocol). Where the provider
    has no such field, the generation's history says so instead."""
    server = stand_in(provider)
    api = plugin_api(
        engine_routes=route,
        provider_base_urls=f"{provider}={server.base_url}",
        provider_poll_seconds=0.02,
        **{f"{provider}_api_key": KEY},
    )
    media = api.wait(
        _post_image(api, testdata, motion_type="KlingAI", negative_prompt="blurry, watermark")
    )
    assert media["processing_status"] == "success", media
    submitted = model_inputs(provider, next(c for c in server.calls if c.method == "POST"))
    ignored = {i["field"]: i["reason"] for i in media["video_history"][-1]["ignored"]}
    if has_negative:
        assert submitted["negative_prompt"] == "blurry, watermark"
        assert "negative_prompt" not in ignored
    else:
        assert "blurry, watermark" not in str(submitted)
        assert provider in ignored["negative_prompt"]


def test_keyframes_route_to_the_engine_that_honours_them(
    make_settings: Callable[..., Settings],
) -> None:
    # a provider route with its key set takes two images, but not keyframes: those fall back
    # to the built-in two-image engine, which chains them, and the reason says why
    settings = make_settings(engine_routes="KlingAI=fal:fal-ai/kling-video", fal_api_key="f")
    plain = resolve(motion_type="KlingAI", kind=InputKind.TWO_IMAGES, settings=settings)
    assert plain.engine == "fal"
    keyed = resolve(
        motion_type="KlingAI",
        kind=InputKind.TWO_IMAGES,
        settings=settings,
        needs=frozenset({"keyframes"}),
    )
    assert keyed.engine == "kinora-morph"
    assert "does not honour keyframes" in keyed.fallback_reason
