"""Settings: the generated signing key (private, the same for every process that starts
together), values checked when settings load, and the models dir beside the install."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from kinora.config import Settings, build_settings

_PRINT_KEY = """
import sys, time
from kinora.config import build_settings
settings = build_settings(data_dir=sys.argv[1], secret_key="")
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))  # start together
print(settings.signing_key().decode())
"""


def test_generated_key_is_owner_only_and_stable(tmp_path: Path) -> None:
    settings = build_settings(data_dir=tmp_path, secret_key="")
    key = settings.signing_key()
    mode = stat.S_IMODE((tmp_path / "secret_key").stat().st_mode)
    assert mode == 0o600
    assert build_settings(data_dir=tmp_path, secret_key="").signing_key() == key
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]  # no temporary files left


def test_processes_starting_together_share_one_key(tmp_path: Path) -> None:
    import time

    start = str(time.time() + 1.5)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _PRINT_KEY, str(tmp_path), start],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    keys = {p.communicate(timeout=60)[0].strip() for p in procs}
    assert len(keys) == 1 and keys != {""}
    assert (tmp_path / "secret_key").read_text().strip() in keys


def test_key_without_hard_links_fake_filesystem(tmp_path: Path, monkeypatch) -> None:
    """Some mounts (FUSE, SMB) refuse hard links; the filesystem is faked here."""
    import os

    def no_links(*args: object) -> None:
        raise PermissionError("hard links not supported")

    monkeypatch.setattr(os, "link", no_links)
    key = build_settings(data_dir=tmp_path, secret_key="").signing_key()
    assert len(key) > 20
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600
    assert build_settings(data_dir=tmp_path, secret_key="").signing_key() == key


# --- settings checked when they load ---------------------------------------------------------


def _error(**values: object) -> str:
    with pytest.raises(ValidationError) as info:
        Settings(**values)  # type: ignore[arg-type]
    return str(info.value)


def test_a_routing_typo_fails_when_settings_load() -> None:
    assert "unknown motion_type 'Klingg'" in _error(engine_routes="Klingg=replicate:x")
    assert "is not MotionType=target" in _error(engine_routes="KlingAI")
    assert "not valid JSON" in _error(engine_routes='{"KlingAI": ')
    assert "names no engine" in _error(engine_routes="KlingAI=:model")
    good = "KlingAI=replicate:kwaivgi/kling-v2.1|fal:x?a=1, Wan=diffusers:/m/wan"
    assert Settings(engine_routes=good).engine_routes == good
    assert Settings(engine_routes='{"Veo": ["fal:fal-ai/veo3"]}').engine_routes


def test_a_routing_typo_in_the_environment_fails_too(monkeypatch) -> None:
    monkeypatch.setenv("KINORA_ENGINE_ROUTES", "Klingg=replicate:x")
    assert "'Klingg'" in _error()


def test_provider_base_urls_are_name_url_pairs() -> None:
    from kinora.config import parse_provider_base_urls

    ok = "replicate=http://127.0.0.1:8080, fal=https://proxy.example/fal;luma=http://h"
    assert Settings(provider_base_urls=ok).provider_base_urls == ok
    assert parse_provider_base_urls(ok) == {
        "replicate": "http://127.0.0.1:8080",
        "fal": "https://proxy.example/fal",
        "luma": "http://h",
    }
    assert parse_provider_base_urls("") == {}
    assert "is not name=url" in _error(provider_base_urls="replicate")
    assert "is not name=url" in _error(provider_base_urls="replicate=")
    assert "not a provider name" in _error(provider_base_urls="re plicate=http://h")
    assert "not an http(s) URL" in _error(provider_base_urls="replicate=ftp://h")
    assert "not an http(s) URL" in _error(provider_base_urls="replicate=127.0.0.1:80")
    assert "Port" in _error(provider_base_urls="replicate=http://h:99999")
    assert "given twice" in _error(provider_base_urls="fal=http://a,fal=http://b")


def test_webhook_retry_delays_are_seconds() -> None:
    assert Settings(webhook_retry_delays="0.2, 5,300").retry_delays == [0.2, 5.0, 300.0]
    assert Settings(webhook_retry_delays="").retry_delays == []
    assert "'soon' is not a number" in _error(webhook_retry_delays="5,soon")
    assert "'-1' is not a delay" in _error(webhook_retry_delays="5,-1")
    assert "'inf' is not a delay" in _error(webhook_retry_delays="inf")


# --- models beside the install ---------------------------------------------------------------


def test_models_dir_defaults_to_the_installation_not_the_data_dir(
    tmp_path: Path, monkeypatch
) -> None:
    from kinora.config import default_models_dir

    monkeypatch.delenv("KINORA_MODELS_DIR", raising=False)
    assert default_models_dir() == Path(sys.prefix) / "share" / "kinora" / "models"
    settings = build_settings(data_dir=tmp_path / "a")
    assert settings.resolved_models_dir == default_models_dir().resolve()
    assert build_settings(data_dir=tmp_path / "b").resolved_models_dir == (
        settings.resolved_models_dir
    )
    monkeypatch.setenv("KINORA_MODELS_DIR", "")
    assert build_settings().resolved_models_dir == default_models_dir().resolve()
    monkeypatch.setenv("KINORA_MODELS_DIR", str(tmp_path / "m"))
    assert build_settings().resolved_models_dir == tmp_path / "m"
    assert build_settings(allow_degraded=True).allow_degraded is True


def test_settings_stay_below_the_engines() -> None:
    """config.py is the lowest layer: loading it (and the routing grammar) loads no engine."""
    code = (
        "import sys, kinora.config, kinora.routing\n"
        "bad = sorted(m for m in sys.modules if m.startswith('kinora.engines'))\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_the_registry_re_exports_the_routing_grammar() -> None:
    from kinora import routing
    from kinora.engines import registry
    from kinora.vocab import MotionType

    assert registry.Target is routing.Target and registry.parse_routes is routing.parse_routes
    assert tuple(m.value for m in MotionType) == registry.MOTION_TYPES
