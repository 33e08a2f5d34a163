"""Fixtures for the engine tests: the sibling ``shared/testdata`` photos and engines."""

from __future__ import annotations

import pytest
from engine_helpers import MODELS_DIR, PHOTOS, load_photo, require_isnet

from kinora.engines.base import Frame
from kinora.engines.parallax.engine import ParallaxEngine


@pytest.fixture(scope="session")
def photos() -> dict[str, Frame]:
    return {name: load_photo(name) for name in PHOTOS}


@pytest.fixture(scope="session")
def isnet_engine() -> ParallaxEngine:
    """The engine as deployed (ISNet); shared so each photo is segmented once per session."""
    require_isnet()
    return ParallaxEngine(MODELS_DIR)


@pytest.fixture(scope="session")
def fallback_engine() -> ParallaxEngine:
    return ParallaxEngine(None)
