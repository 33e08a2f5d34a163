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

import logging
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import import_module
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol, cast, runtime_checkable

from kinora.config import Settings
from kinora.engines.base import (
    EngineInputs,
    Frame,
    InputKind,
    MotionEngine,
    Render,
    RenderConfig,
)
from kinora.engines.presets import preset_targets
from kinora.routing import AUTO_TYPES, MOTION_TYPES, Target, parse_routes

__all__ = [
    "AUTO_TYPES",
    "BUILTIN_FOR_FIELD",
    "BUILTIN_FOR_INPUT",
    "MOTION_TYPES",
    "OWN_PLUGINS",
    "TRY_ON_TARGETS",
    "Resolution",
    "Route",
    "Target",
    "TargetCheck",
    "TargetEngine",
    "build",
    "builtin_for",
    "builtin_names",
    "candidates",
    "check",
    "engine_classes",
    "make_engine",
    "parse_routes",
    "resolve",
    "route",
    "routes_from_settings",
]

log = logging.getLogger(__name__)

BUILTIN_FOR_INPUT: dict[InputKind, str] = {
    InputKind.ONE_IMAGE: "kinora-parallax",
    InputKind.TWO_IMAGES: "kinora-morph",
    InputKind.TEXT: "kinora-scene",
}

BUILTIN_FOR_FIELD: dict[str, tuple[InputKind, str]] = {
    "try_on_model": (InputKind.TWO_IMAGES, "kinora-tryon"),
    "character_animate": (InputKind.ONE_IMAGE, "kinora-character"),
    "keyframes": (InputKind.TWO_IMAGES, "kinora-morph"),
}
"""Built-ins for requests that need a field honoured (a TryOnVideo's model, character_animate):
with those inputs they run here instead of the built-in for the inputs alone."""

OWN_PLUGINS: dict[str, str] = {
    "tryon": "kinora.engines.people.tryon:TryOnEngine",
    "character": "kinora.engines.people.character:CharacterEngine",
    "diffusers": "kinora.engines.diffusion:DiffusersEngine",
    "replicate": "kinora.engines.providers.replicate:ReplicateEngine",
    "fal": "kinora.engines.providers.fal:FalEngine",
    "runway": "kinora.engines.providers.runway:RunwayEngine",
    "luma": "kinora.engines.providers.luma:LumaEngine",
    "fashn": "kinora.engines.providers.fashn:FashnTryOnEngine",
    "fal-tryon": "kinora.engines.providers.fal:FalTryOnEngine",
    "kling": "kinora.engines.providers.kling:KlingEngine",
    "kling-tryon": "kinora.engines.providers.kling:KlingTryOnEngine",
    "gemini": "kinora.engines.providers.gemini:GeminiEngine",
    "minimax": "kinora.engines.providers.minimax:MiniMaxEngine",
    "pixverse": "kinora.engines.providers.pixverse:PixVerseEngine",
    "vidu": "kinora.engines.providers.vidu:ViduEngine",
    "byteplus": "kinora.engines.providers.seedance:SeedanceEngine",
    "dashscope": "kinora.engines.providers.dashscope:DashScopeEngine",
}
"""Kinora's own engines beyond the built-ins for inputs, also registered as entry points in
pyproject.toml. Loaded here too when an install's metadata predates those entry points (an old
editable install)."""

TRY_ON_MOTION_TYPE = "TryOnVideo"

TRY_ON_TARGETS: dict[str, tuple[str, ...]] = {
    "FashnTryOn": ("fashn:tryon-v1.6", "fal-tryon:fal-ai/fashn/tryon/v1.6"),
    "KlingTryOn": (
        "kling-tryon:kolors-virtual-try-on-v1-5",
        "fal-tryon:fal-ai/kling/v1-5/kolors-virtual-try-on",
    ),
    "NanoBananaProTryOn": ("fal-tryon:fal-ai/nano-banana-pro/edit",),
    "SeedreamTryOn": ("fal-tryon:fal-ai/bytedance/seedream/v4/edit",),
    "ViduTryOn": (),
}
"""The shipped mapping of each TryOnVideo ``model`` to the hosted targets tried for it, in
order, when the operator routed nothing for TryOnVideo (``KINORA_ENGINE_ROUTES`` entries for
TryOnVideo replace this table for every model). The first whose key is set runs; with none,
the built-in kinora-tryon, the reasons recorded (docs/providers.md, "Try-on providers").

- FashnTryOn: FASHN's own API (KINORA_FASHN_API_KEY), else FASHN's model on fal.
- KlingTryOn: Kling's own Kolors try-on (KINORA_KLING_ACCESS_KEY and _SECRET_KEY), else the
  same model on fal.
- NanoBananaProTryOn, SeedreamTryOn: those image-edit models on fal, given both images and a
  try-on instruction.
- ViduTryOn: no hosted try-on is shipped (Vidu's API makes videos from references, not a
  dressed still): the built-in, recorded as such, unless the operator routes TryOnVideo."""

NO_TRY_ON_PROVIDER = "{model}: no hosted try-on provider is shipped for it"


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
# The grammar (Target, parse_routes, MOTION_TYPES) lives in kinora.routing, below the settings
# that validate it; it is re-exported here.


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
    source: str = "built-in"
    """Where the targets tried came from: "routes" (KINORA_ENGINE_ROUTES), "try-on" (the
    shipped try-on table), "presets" (:mod:`kinora.engines.presets`) or "built-in" (none)."""


def builtin_names() -> list[str]:
    """Every built-in engine: those for the inputs, then those for fields."""
    names = [*BUILTIN_FOR_INPUT.values(), *(name for _, name in BUILTIN_FOR_FIELD.values())]
    return list(dict.fromkeys(names))


def builtin_for(kind: InputKind, needs: frozenset[str] = frozenset()) -> str:
    """The built-in engine for these inputs and the fields the request needs honoured."""
    installed = engine_classes()
    for field, (field_kind, name) in BUILTIN_FOR_FIELD.items():
        if field in needs and kind is field_kind and name in installed:
            return name
    return BUILTIN_FOR_INPUT[kind]


def try_on_candidates(
    motion_type: str, table: Mapping[str, list[Target]], try_on_model: str
) -> tuple[list[Target], str]:
    """The targets of a TryOnVideo: the operator's route for it, else the shipped ones for
    its ``model`` (:data:`TRY_ON_TARGETS`); and why there are none, when there are none."""
    own = candidates(motion_type, table)
    if own or motion_type != TRY_ON_MOTION_TYPE or not try_on_model:
        return own, ""
    shipped = [Target.parse(t) for t in TRY_ON_TARGETS.get(try_on_model, ())]
    return shipped, "" if shipped else NO_TRY_ON_PROVIDER.format(model=try_on_model)


def _reachable(cls: type[MotionEngine], target: Target) -> frozenset[str]:
    """The fields this target can honour: per model where the engine says so (Runway's
    ``act_two`` performs a character, ``gen4_turbo`` does not), else the class's own."""
    per_model = getattr(cls, "honours_for", None)
    if callable(per_model):
        return frozenset(per_model(target.argument))
    return cls.info.reachable


def target_honours(target: Target) -> frozenset[str]:
    """The engine fields (``ENGINE_FIELDS``) a target honours, from its class alone: no key,
    no network (the "Presets" table in docs/engines-plugins.md lists them per row)."""
    return _reachable(engine_classes()[target.engine], target)


def resolve(
    *,
    motion_type: str,
    kind: InputKind,
    settings: Settings,
    table: Mapping[str, list[Target]] | None = None,
    needs: frozenset[str] = frozenset(),
    try_on_model: str = "",
) -> Resolution:
    """The first configured target that can run these inputs and honours every field in
    ``needs`` (see :data:`BUILTIN_FOR_FIELD`), else the built-in for them. A TryOnVideo's
    ``try_on_model`` picks the shipped provider targets when the operator routed none."""
    table = routes_from_settings(settings) if table is None else table
    targets, none_shipped = try_on_candidates(motion_type, table, try_on_model)
    source = "routes" if candidates(motion_type, table) else "try-on" if targets else "built-in"
    if not targets and motion_type not in table and not none_shipped:
        # No route of the operator's for it: the shipped presets of the keys that are set.
        targets = preset_targets(motion_type, kind, settings)
        source = "presets" if targets else "built-in"
    reasons: list[str] = [none_shipped] if none_shipped else []
    for target in targets:
        verdict = check(target, settings)
        cls = engine_classes().get(target.engine)
        missing = sorted(needs - _reachable(cls, target)) if cls is not None else []
        if verdict.problem:
            reasons.append(f"{target}: {verdict.problem}")
        elif kind not in verdict.accepts:
            reasons.append(f"{target}: does not accept {kind.value}")
        elif missing:
            reasons.append(f"{target}: does not honour {', '.join(missing)}")
        else:
            return Resolution(engine=target.engine, target=target, source=source)
    return Resolution(
        engine=builtin_for(kind, needs),
        target=None,
        fallback_reason="; ".join(reasons),
        source=source,
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
    """A new engine instance (see :func:`engine_for` for the one a worker thread reuses)."""
    cls = engine_classes()[name]
    try:
        return cls(models_dir=models_dir)  # type: ignore[call-arg]
    except TypeError:
        return cls()


_built = threading.local()


def engine_for(name: str, *, models_dir: Path) -> MotionEngine:
    """The engine this thread built for ``name`` and ``models_dir``, built on first use.

    Engines are built once per worker thread and reused, so what they cache between jobs
    (the one-image engine's scene layout per photo, the text engine's vocabulary) survives;
    one per thread, because an engine's caches are not shared across concurrent renders.
    """
    cache: dict[tuple[str, str], MotionEngine] | None = getattr(_built, "engines", None)
    if cache is None:
        cache = _built.engines = {}
    key = (name, str(models_dir))
    engine = cache.get(key)
    if engine is None:
        engine = cache[key] = make_engine(name, models_dir=models_dir)
    return engine


def build(target: Target, settings: Settings) -> MotionEngine:
    cls = engine_classes()[target.engine]
    if isinstance(cls, TargetEngine):
        return cast(TargetEngine, cls).from_target(
            argument=target.argument, options=target.options, settings=settings
        )
    return engine_for(target.engine, models_dir=settings.resolved_models_dir)


def route(
    *,
    motion_type: str,
    kind: InputKind,
    settings: Settings,
    needs: frozenset[str] = frozenset(),
    try_on_model: str = "",
) -> Route:
    """The engine that will run a motion_type for these inputs (see the module docstring);
    ``needs``: fields the request needs honoured, ``try_on_model``: a TryOnVideo's model
    (:func:`resolve`). A built-in that runs for want of a usable target records why in each
    render's metadata (``fallback_reason``, kept in the generation's history)."""
    decision = resolve(
        motion_type=motion_type,
        kind=kind,
        settings=settings,
        needs=needs,
        try_on_model=try_on_model,
    )
    if decision.fallback_reason:
        log.warning(
            "motion_type %s (%s) runs on %s: %s",
            motion_type,
            kind.value,
            decision.engine,
            decision.fallback_reason,
        )
    if decision.target is None:
        engine = engine_for(decision.engine, models_dir=settings.resolved_models_dir)
        if decision.fallback_reason and needs:
            engine = noted(engine, decision.fallback_reason)
        return Route(engine, motion_type, "", decision.fallback_reason)
    return Route(build(decision.target, settings), motion_type, str(decision.target))


class _Noted(MotionEngine):
    """An engine whose renders also report why the configured targets were passed over (see
    :func:`noted`): everything else is the wrapped engine's."""

    def __init__(self, inner: MotionEngine, reason: str) -> None:
        self.inner, self.reason = inner, reason

    def honoured_fields(self, config: RenderConfig | None = None) -> frozenset[str]:
        return self.inner.honoured_fields(config)

    def service_version(self) -> str:
        return self.inner.service_version()

    def render(self, inputs: EngineInputs, config: RenderConfig) -> Render:
        rendered = self.inner.render(inputs, config)
        rendered.metadata["fallback_reason"] = self.reason
        return rendered

    def frames(self, inputs: EngineInputs, config: RenderConfig) -> Iterator[Frame]:
        return self.inner.frames(inputs, config)

    def frames_i420(self, inputs: EngineInputs, config: RenderConfig) -> Iterator[Frame] | None:
        return self.inner.frames_i420(inputs, config)


def noted(engine: MotionEngine, reason: str) -> MotionEngine:
    """``engine`` (a built-in that runs for want of a usable target, for a request that needs
    a field honoured: a TryOnVideo's model) with ``reason`` in every render's metadata, so the
    generation's history says why no provider ran. Same name, info and frames as ``engine``."""
    cls = type(engine)
    wrapper: type[_Noted] = type(
        f"Noted{cls.__name__}",
        (_Noted,),
        {"info": cls.info, "encoder_niceness": cls.encoder_niceness},
    )
    return wrapper(engine, reason)
