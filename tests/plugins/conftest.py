"""Fixtures of the plug-in tests: settings with the plug-in fields, stand-in providers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kinora.api.app import create_app
from kinora.config import Settings
from kinora.domain.accounts import create_key
from tests.conftest import FAST, MODELS_DIR, Api
from tests.plugins.standins import STAND_INS, StandIn


class PluginSettings(Settings):
    """Settings with the plug-in fields proposed for kinora.config.Settings (kept here until
    they land there; identical names and defaults, so the code reads them the same way)."""

    engine_routes: str = ""
    replicate_api_key: str = ""
    fal_api_key: str = ""
    runway_api_key: str = ""
    luma_api_key: str = ""
    provider_base_urls: str = ""
    provider_timeout_seconds: float = 900.0
    provider_poll_seconds: float = 2.0
    provider_retries: int = 4
    provider_backoff_seconds: float = 1.0
    diffusers_device: str = ""


def plugin_settings(tmp_path: Path, **overrides: Any) -> Settings:
    fields = set(PluginSettings.model_fields) - set(Settings.model_fields)
    cls = PluginSettings if fields else Settings
    values = {**FAST, "models_dir": MODELS_DIR, **overrides}
    return cls(data_dir=tmp_path / "data", **values)


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        return plugin_settings(tmp_path, **overrides)

    return make


@pytest.fixture
def plugin_api(tmp_path: Path) -> Iterator[Callable[..., Api]]:
    """Like ``api_factory``, with the plug-in settings available."""
    opened: list[TestClient] = []

    def make(credits: int = 100, **overrides: Any) -> Api:
        settings = plugin_settings(tmp_path / f"api{len(opened)}", **overrides)
        client = TestClient(create_app(settings, workers=1))
        client.__enter__()
        opened.append(client)
        new = create_key(client.app.state.runtime, name="test", initial_credits=credits)  # type: ignore[attr-defined]
        return Api(client=client, settings=settings, key=new.key, customer_id=new.customer_id)

    yield make
    for client in opened:
        client.__exit__(None, None, None)


@pytest.fixture
def stand_in() -> Iterator[Callable[..., StandIn]]:
    """``stand_in(provider, mode=...)``: a loopback stand-in for that provider's API."""
    started: list[StandIn] = []

    def start(provider: str, mode: str = "success", pending_polls: int = 1) -> StandIn:
        server = STAND_INS[provider](mode=mode, pending_polls=pending_polls)
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()
