"""Everything a user can set or meet is documented: settings, engines, error codes."""

from __future__ import annotations

from pathlib import Path

from kinora.config import Settings
from kinora.engines.registry import engine_classes
from kinora.errors import ERROR_CODES

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_every_setting_is_documented() -> None:
    text = (DOCS / "settings.md").read_text()
    for name in Settings.model_fields:
        assert f"KINORA_{name.upper()}" in text, name


def test_every_engine_is_documented() -> None:
    text = (DOCS / "engines.md").read_text()
    names = set(engine_classes())
    assert {"kinora-parallax", "kinora-morph", "kinora-scene"} <= names
    for name in names:
        assert name in text, name


def test_every_error_code_is_documented() -> None:
    text = (DOCS / "api.md").read_text()
    for error in ERROR_CODES:
        assert error.code in text, error.code
