"""Engines by name, built-ins and plug-ins alike, from the ``kinora.engines`` entry points.

Routing: every motion_type runs on the built-in engine for its inputs until an engine for it
is configured (issue: pluggable engines); service_name/service_version always name the engine
that really ran.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache
from importlib.metadata import entry_points
from pathlib import Path

from kinora.config import Settings
from kinora.engines.base import InputKind, MotionEngine

log = logging.getLogger(__name__)

BUILTIN_FOR_INPUT: dict[InputKind, str] = {
    InputKind.ONE_IMAGE: "kinora-parallax",
    InputKind.TWO_IMAGES: "kinora-morph",
    InputKind.TEXT: "kinora-scene",
}


@cache
def engine_classes() -> dict[str, type[MotionEngine]]:
    """Every engine class registered in the ``kinora.engines`` group, by its declared name."""
    found: dict[str, type[MotionEngine]] = {}
    for ep in entry_points(group="kinora.engines"):
        try:
            cls = ep.load()
        except Exception:
            log.exception("engine entry point %s failed to load", ep.name)
            continue
        if isinstance(cls, type) and issubclass(cls, MotionEngine):
            found[cls.info.name] = cls
    return found


@dataclass(frozen=True)
class Route:
    engine: MotionEngine
    requested_motion_type: str


def make_engine(name: str, *, models_dir: Path) -> MotionEngine:
    cls = engine_classes()[name]
    try:
        return cls(models_dir=models_dir)  # type: ignore[call-arg]
    except TypeError:
        return cls()


def route(*, motion_type: str, kind: InputKind, settings: Settings) -> Route:
    """The engine that will run a motion_type for these inputs (built-in until configured)."""
    name = BUILTIN_FOR_INPUT[kind]
    engine = make_engine(name, models_dir=settings.resolved_models_dir)
    return Route(engine=engine, requested_motion_type=motion_type)
