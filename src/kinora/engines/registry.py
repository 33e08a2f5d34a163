"""Engines by name, built-ins and plug-ins alike, and which engine runs each motion_type.

Every engine registers in the ``kinora.engines`` entry-point group under its declared name.
Routing is configuration (``KINORA_ENGINE_ROUTES``): each motion_type names one or more
*targets*, ``engine[:argument][?key=value&...]`` (the argument is a model directory or a hosted
model id), tried in order; the first that is usable and accepts the request's inputs runs.
``Auto``/``AutoT3`` without a route of their own try every configured target in configuration
order. Whatever has no usable target runs on the built-in engine for its inputs, so a request
never fails for want of a configured engine, and service_name/service_version always name
the engine that really ran.

Engines that take a target implement two classmethods (see :class:`TargetEngine`):
``check_target`` (cheap: no model loading, no network; says what this target accepts and why it
cannot run) and ``from_target`` (builds the engine). This module imports no engine's heavy
dependencies: torch and diffusers load only when a diffusers engine renders.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import import_module
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol, cast, runtime_checkable
from urllib.parse import parse_qsl

from kinora.config import Settings
from kinora.engines.base import InputKind, MotionEngine

log = logging.getLogger(__name__)

BUILTIN_FOR_INPUT: dict[InputKind, str] = {
    InputKind.ONE_IMAGE: "kinora-parallax",
    InputKind.TWO_IMAGES: "kinora-morph",
    InputKind.TEXT: "kinora-scene",
}

MOTION_TYPES: tuple[str, ...] = (
    "Auto",
    "AutoT3",
    "KlingAI",
    "KlingT4",
    "LumaAI",
    "LumaRay2",
    "VeoFast",
    "Veo",
    "RunwayML",
    "MinimaxHailuo",
    "Seedance",
    "SeedanceFast",
    "Hunyuan",
    "Pixverse",
    "PixverseT3",
    "PicoMotion",
    "StaticMotion",
    "Wan",
    "Sora",
    "SoraPro",
    "TryOnVideo",
)
"""The spec's motion_type values (kinora.media.schemas.MotionType; not imported, to stay light)."""

AUTO_TYPES = frozenset({"Auto", "AutoT3"})

OWN_PLUGINS: dict[str, str] = {
    "diffusers": "kinora.engines.diffusion:DiffusersEngine",
    "replicate": "kinora.engines.providers.replicate:ReplicateEngine",
    "fal": "kinora.engines.providers.fal:FalEngine",
    "runway": "kinora.engines.providers.runway:RunwayEngine",
    "luma": "kinora.engines.providers.luma:LumaEngine",
}
"""Kinora's own optional engines, also registered as entry points in pyproject.toml. Loaded
here too when an install's metadata predates those entry points (an old editable install)."""


@cache
def engine_classes() -> dict[str, type[MotionEngine]]:
    """Every engine class registered in the ``kinora.engines`` group, by its declared name."""
    found: dict[str, type[MotionEngine]] = {}
    loaded = [(ep.name, ep.value, ep.load) for ep in entry_points(group="kinora.engines")]
    values = {value for _, value, _ in loaded}
    for name, value in OWN_PLUGINS.items():
        if value not in values:
            loaded.append((name, value, _loader(value)))
    for name, _value, load in loaded:
        try:
            cls = load()
        except Exception:
            log.exception("engine entry point %s failed to load", name)
            continue
        if isinstance(cls, type) and issubclass(cls, MotionEngine):
            found.setdefault(cls.info.name, cls)
    return found


def _loader(value: str) -> Any:
    def load() -> Any:
        module, _, attr = value.partition(":")
        return getattr(import_module(module), attr)

    return load


# --- targets and the routing table -------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """One configured place a motion type can run: ``engine[:argument][?key=value&...]``."""

    engine: str
    argument: str = ""
    options: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> Target:
        text = text.strip()
        if not text:
            raise ValueError("empty engine target")
        spec, _, query = text.partition("?")
        engine, _, argument = spec.partition(":")
        if not engine.strip():
            raise ValueError(f"engine target {text!r} names no engine")
        options = dict(parse_qsl(query, keep_blank_values=True)) if query else {}
        return cls(engine=engine.strip(), argument=argument.strip(), options=options)

    def __str__(self) -> str:
        text = f"{self.engine}:{self.argument}" if self.argument else self.engine
        if self.options:
            text += "?" + "&".join(f"{k}={v}" for k, v in self.options.items())
        return text


@dataclass(frozen=True)
class TargetCheck:
    """What a target can do on this server, decided without loading a model or calling out."""

    accepts: frozenset[InputKind]
    problem: str = ""
    """Why it cannot run here ("" when it can): missing key, directory or package."""


@runtime_checkable
class TargetEngine(Protocol):
    """An engine class configured by a target (diffusers directories, hosted providers)."""

    @classmethod
    def check_target(
        cls, *, argument: str, options: Mapping[str, str], settings: Settings
    ) -> TargetCheck: ...

    @classmethod
    def from_target(
        cls, *, argument: str, options: Mapping[str, str], settings: Settings
    ) -> MotionEngine: ...


def parse_routes(text: str) -> dict[str, list[Target]]:
    """The routing table of ``KINORA_ENGINE_ROUTES``.

    Two spellings: a JSON object (``{"Wan": "diffusers:/models/wan", "KlingAI":
    ["replicate:kwaivgi/kling-v2.1", "fal:fal-ai/kling-video/v2.1/standard/image-to-video"]}``)
    or ``MotionType=target|target`` entries separated by commas, semicolons or newlines.
    Unknown motion types are an error: a typo must not silently route to the built-in.
    """
    text = text.strip()
    if not text:
        return {}
    raw: dict[str, list[str]] = {}
    if text.startswith("{"):
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("engine routes: expected a JSON object")
        for key, value in data.items():
            items = value if isinstance(value, list) else [value]
            raw[str(key)] = [str(v) for v in items]
    else:
        for entry in text.replace(";", "\n").replace(",", "\n").splitlines():
            if not entry.strip():
                continue
            key, sep, value = entry.partition("=")
            if not sep:
                raise ValueError(f"engine routes: {entry.strip()!r} is not MotionType=target")
            raw.setdefault(key.strip(), []).extend(v for v in value.split("|") if v.strip())
    table: dict[str, list[Target]] = {}
    for key, values in raw.items():
        if key not in MOTION_TYPES:
            raise ValueError(f"engine routes: unknown motion_type {key!r}")
        table[key] = [Target.parse(v) for v in values]
    return table


def routes_from_settings(settings: Settings) -> dict[str, list[Target]]:
    return parse_routes(str(getattr(settings, "engine_routes", "") or ""))


def check(target: Target, settings: Settings) -> TargetCheck:
    """What ``target`` accepts here, or why it cannot run."""
    cls = engine_classes().get(target.engine)
    if cls is None:
        return TargetCheck(frozenset(), f"no engine named {target.engine!r} is installed")
    if isinstance(cls, TargetEngine):
        try:
            return cls.check_target(
                argument=target.argument, options=target.options, settings=settings
            )
        except Exception as exc:
            return TargetCheck(frozenset(), f"{type(exc).__name__}: {exc}")
    return TargetCheck(cls.info.accepts)


def candidates(motion_type: str, table: Mapping[str, list[Target]]) -> list[Target]:
    """Targets tried for a motion type, in order (Auto: its own, then every configured one)."""
    own = list(table.get(motion_type, []))
    if motion_type not in AUTO_TYPES:
        return own
    seen = {str(t) for t in own}
    for key, targets in table.items():
        if key in AUTO_TYPES:
            continue
        for t in targets:
            if str(t) not in seen:
                seen.add(str(t))
                own.append(t)
    return own


@dataclass(frozen=True)
class Resolution:
    """The routing decision, before any engine is built."""

    engine: str
    target: Target | None
    """None: the built-in for the inputs."""
    fallback_reason: str = ""
    """Why configured targets were passed over ("" when none were, or none was configured)."""


def resolve(
    *,
    motion_type: str,
    kind: InputKind,
    settings: Settings,
    table: Mapping[str, list[Target]] | None = None,
) -> Resolution:
    table = routes_from_settings(settings) if table is None else table
    reasons: list[str] = []
    for target in candidates(motion_type, table):
        verdict = check(target, settings)
        if verdict.problem:
            reasons.append(f"{target}: {verdict.problem}")
        elif kind not in verdict.accepts:
            reasons.append(f"{target}: does not accept {kind.value}")
        else:
            return Resolution(engine=target.engine, target=target)
    return Resolution(
        engine=BUILTIN_FOR_INPUT[kind], target=None, fallback_reason="; ".join(reasons)
    )


# --- building engines --------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    engine: MotionEngine
    requested_motion_type: str
    target: str = ""
    """The configured target that runs ("" for the built-in)."""
    fallback_reason: str = ""


def make_engine(name: str, *, models_dir: Path) -> MotionEngine:
    cls = engine_classes()[name]
    try:
        return cls(models_dir=models_dir)  # type: ignore[call-arg]
    except TypeError:
        return cls()


def build(target: Target, settings: Settings) -> MotionEngine:
    cls = engine_classes()[target.engine]
    if isinstance(cls, TargetEngine):
        return cast(TargetEngine, cls).from_target(
            argument=target.argument, options=target.options, settings=settings
        )
    return make_engine(target.engine, models_dir=settings.resolved_models_dir)


def route(*, motion_type: str, kind: InputKind, settings: Settings) -> Route:
    """The engine that will run a motion_type for these inputs (see the module docstring)."""
    decision = resolve(motion_type=motion_type, kind=kind, settings=settings)
    if decision.fallback_reason:
        log.warning(
            "motion_type %s (%s) runs on %s: %s",
            motion_type,
            kind.value,
            decision.engine,
            decision.fallback_reason,
        )
    if decision.target is None:
        engine = make_engine(decision.engine, models_dir=settings.resolved_models_dir)
        return Route(engine, motion_type, "", decision.fallback_reason)
    return Route(build(decision.target, settings), motion_type, str(decision.target))
