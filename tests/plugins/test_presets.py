"""The shipped presets (kinora.engines.presets): with one provider's key set and no routing
table, every motion type that provider serves reaches its model there, through the API and
the worker to a loopback stand-in of that provider's documented API; routes override presets
entry by entry; the maker's own API comes first; docs/engines-plugins.md shows the table."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kinora.config import Settings
from kinora.engines.base import InputKind
from kinora.engines.presets import NOTICES, PRESETS, PRESETS_VERSION, PROVIDERS, Preset
from kinora.engines.registry import Target, check, engine_classes, resolve, target_honours
from tests.conftest import Api
from tests.plugins.faces_standins import ACCESS_KEY, SECRET_KEY, KlingStandIn
from tests.plugins.standins import KEY, StandIn

DOCS = Path(__file__).resolve().parents[2] / "docs" / "engines-plugins.md"


def keys(provider: str) -> dict[str, str]:
    """The settings that turn a provider's rows on (its documented key names)."""
    if provider == "kling":
        return {"kling_access_key": ACCESS_KEY, "kling_secret_key": SECRET_KEY}
    return {f"{provider}_api_key": KEY}


def cases(provider: str) -> list[tuple[Preset, InputKind]]:
    kinds = (InputKind.ONE_IMAGE, InputKind.TWO_IMAGES, InputKind.TEXT)
    return [(p, k) for p in PRESETS if p.provider == provider for k in kinds if k in p.kinds]


def test_every_row_names_an_installed_engine_that_takes_its_inputs(
    make_settings: Callable[..., Settings],
) -> None:
    installed = engine_classes()
    for provider in PROVIDERS:
        settings = make_settings(**keys(provider))
        for row, kind in cases(provider):
            target = Target.parse(row.target)
            assert target.engine in installed, row
            verdict = check(target, settings)
            assert not verdict.problem and kind in verdict.accepts, (row, kind, verdict)
    # One row per motion type, provider and input kind: the table is unambiguous.
    seen = [(p.motion_type, p.provider, k) for p in PRESETS for k in p.kinds]
    assert len(seen) == len(set(seen))


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_one_key_routes_each_of_its_rows(
    make_settings: Callable[..., Settings], provider: str
) -> None:
    settings = make_settings(**keys(provider))
    for row, kind in cases(provider):
        decision = resolve(motion_type=row.motion_type, kind=kind, settings=settings)
        assert str(decision.target) == row.target and decision.source == "presets", (row, kind)
    # What the provider does not serve stays on the built-ins, and so do Auto and Sora.
    served = {(p.motion_type, k) for p, k in cases(provider)}
    for motion_type in ("Auto", "AutoT3", "PicoMotion", "StaticMotion", "Sora", "SoraPro"):
        for kind in InputKind:
            decision = resolve(motion_type=motion_type, kind=kind, settings=settings)
            assert decision.target is None and decision.source == "built-in"
            assert (motion_type, kind) not in served


def test_the_makers_own_api_first_then_fal_then_replicate(
    make_settings: Callable[..., Settings],
) -> None:
    everything = {**keys("kling"), **keys("fal"), **keys("replicate"), **keys("gemini")}
    settings = make_settings(**everything)
    one = InputKind.ONE_IMAGE
    assert str(resolve(motion_type="KlingAI", kind=one, settings=settings).target) == (
        "kling:kling-v2-1"
    )
    veo = resolve(motion_type="Veo", kind=one, settings=settings)
    assert veo.target == Target("gemini", "veo-3.1-generate-preview")
    wan = resolve(motion_type="Wan", kind=one, settings=settings)
    assert wan.target == Target("fal", "fal-ai/wan/v2.2-a14b/image-to-video")
    settings = make_settings(**keys("fal"), **keys("replicate"))
    seedance = resolve(motion_type="Seedance", kind=one, settings=settings)
    assert seedance.target is not None and seedance.target.engine == "fal"
    # Replicate serves Seedance from text; fal's rows have no text endpoint for it.
    text = resolve(motion_type="Seedance", kind=InputKind.TEXT, settings=settings)
    assert text.target == Target("replicate", "bytedance/seedance-1-pro")


def test_routes_override_presets_entry_by_entry_and_presets_can_be_off(
    make_settings: Callable[..., Settings],
) -> None:
    one = InputKind.ONE_IMAGE
    settings = make_settings(engine_routes="Veo=luma:ray-2", **keys("fal"), **keys("luma"))
    veo = resolve(motion_type="Veo", kind=one, settings=settings)
    assert veo.target == Target("luma", "ray-2") and veo.source == "routes"
    kling = resolve(motion_type="KlingAI", kind=one, settings=settings)
    assert kling.target is not None and kling.target.engine == "fal"
    assert kling.source == "presets"
    off = make_settings(presets="off", **keys("fal"))
    decision = resolve(motion_type="KlingAI", kind=one, settings=off)
    assert decision.target is None and decision.engine == "kinora-parallax"


def test_models_shows_each_effective_route_its_source_and_the_sora_notice(
    plugin_api: Callable[..., Api],
) -> None:
    api = plugin_api(engine_routes="Veo=luma:ray-2", **keys("fal"), **keys("luma"))
    body = api.client.get("/models").json()
    routes = body["routes"]
    assert routes["Veo"]["one_image"] == {
        "engine": "luma",
        "target": "luma:ray-2",
        "source": "routes",
        "fallback_reason": "",
    }
    assert routes["KlingAI"]["text"]["target"] == "fal:fal-ai/kling-video/v2.1/master/text-to-video"
    assert routes["KlingAI"]["text"]["source"] == "presets"
    assert routes["Hunyuan"]["one_image"]["source"] == "built-in"  # fal's row is text only
    assert routes["Sora"]["notice"] == NOTICES["Sora"] and "2026-09-24" in NOTICES["Sora"]
    assert body["presets"] == {
        "version": PRESETS_VERSION,
        "enabled": True,
        "providers": ["luma", "fal"],
    }


def _model_of(provider: str, call: Any) -> str:
    """Which model a submit asked for, as each provider's API names it."""
    body = call.body or {}
    if provider == "fal":
        return str(call.path).lstrip("/")
    if provider == "replicate":
        return str(re.sub(r"^/v1/models/(.+)/predictions$", r"\1", call.path))
    if provider == "gemini":
        return str(re.sub(r"^/v1beta/models/(.+):predictLongRunning$", r"\1", call.path))
    if provider == "kling":
        mode = body.get("mode")
        return str(body["model_name"]) + ("?mode=pro" if mode == "pro" else "")
    return str(body["model"])


def _is_submit(provider: str, call: Any) -> bool:
    if call.method != "POST":
        return False
    if provider == "fal":
        return "/requests/" not in call.path
    if provider == "gemini":
        return call.path.endswith(":predictLongRunning")
    if provider == "kling":
        return call.path in ("/v1/videos/image2video", "/v1/videos/text2video")
    if provider == "pixverse":
        return str(call.path).endswith("/generate")  # not its image uploads
    return True


@pytest.mark.parametrize("provider", sorted(PROVIDERS))
def test_each_row_through_the_api_and_worker_reaches_the_standin(
    plugin_api: Callable[..., Api],
    stand_in: Callable[..., StandIn],
    testdata: Path,
    provider: str,
) -> None:
    """Stand-ins follow each provider's documented API (tests/plugins/standins.py); one app
    per provider, one media per row and input kind, all submitted before any is awaited."""
    server = KlingStandIn() if provider == "kling" else stand_in(provider)
    try:
        api = plugin_api(
            credits=1000,
            provider_base_urls=f"{provider}={server.base_url}",
            provider_poll_seconds=0.02,
            provider_backoff_seconds=0.01,
            **keys(provider),
        )
        photos = [
            (testdata / "astronaut.png").read_bytes(),
            (testdata / "chelsea.png").read_bytes(),
        ]
        started: list[tuple[str, Preset, InputKind]] = []
        for row, kind in cases(provider):
            count = {InputKind.ONE_IMAGE: 1, InputKind.TWO_IMAGES: 2, InputKind.TEXT: 0}[kind]
            files = [("image_files", (f"p{i}.png", photos[i], "image/png")) for i in range(count)]
            data = {"duration": "1", "motion_type": row.motion_type, "prompt": "a red kite"}
            r = api.client.post("/media", data=data, files=files or None, headers=api.headers())
            assert r.status_code == 200, r.text
            started.append((r.json()["data"]["id"], row, kind))
        for media_id, row, kind in started:
            media = api.wait(media_id)
            assert media["processing_status"] == "success", (row, kind, media)
            assert media["service_name"] == Target.parse(row.target).engine, (row, kind)
        asked = sorted(_model_of(provider, c) for c in server.calls if _is_submit(provider, c))
        expected = sorted(Target.parse(row.target).argument + _query(row) for _, row, _ in started)
        assert asked == expected
    finally:
        if provider == "kling":
            server.close()


def _query(row: Preset) -> str:
    target = Target.parse(row.target)
    return "?mode=pro" if target.options.get("mode") == "pro" else ""


def test_the_docs_table_is_the_shipped_table() -> None:
    """docs/engines-plugins.md, "Presets": one line per row, `target`, the input kinds, the
    fields the target honours and the settings that turn the row on."""
    text = DOCS.read_text()
    section = text.split("\n## Presets", 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
    assert PRESETS_VERSION in section
    documented = set()
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and cells[2].startswith("`"):
            kinds = frozenset(InputKind(k.strip()) for k in cells[3].split(","))
            honours = frozenset(h.strip(" `") for h in cells[4].split(",") if h.strip())
            settings = tuple(v.strip(" `") for v in cells[5].split(","))
            documented.add((cells[0], cells[1], cells[2].strip("`"), kinds, honours, settings))
    shipped = {
        (
            p.motion_type,
            p.provider,
            p.target,
            p.kinds,
            target_honours(Target.parse(p.target)),
            tuple(f"KINORA_{name.upper()}" for name in PROVIDERS[p.provider].settings),
        )
        for p in PRESETS
    }
    assert documented == shipped
