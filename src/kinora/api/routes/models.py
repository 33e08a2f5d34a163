"""GET /models: the engines this server can run and the motion types routed to each."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from kinora.api.deps import RuntimeDep
from kinora.engines.base import InputKind
from kinora.engines.presets import NOTICES, PRESETS_VERSION, configured_providers
from kinora.engines.registry import (
    MOTION_TYPES,
    TRY_ON_TARGETS,
    check,
    engine_classes,
    resolve,
    routes_from_settings,
)

router = APIRouter(tags=["Models"])

KINDS = (InputKind.ONE_IMAGE, InputKind.TWO_IMAGES, InputKind.TEXT)


@router.get("/models", summary="Engines this server can run")
def list_models(runtime: RuntimeDep) -> dict[str, Any]:
    """Each engine with its capabilities, its configured targets, and the motion types that
    reach it (per input kind); ``routes`` gives the decision for every motion_type (engine,
    target, ``source``: routes, presets, try-on or built-in, and why configured targets were
    passed over; a ``notice`` where the named model cannot be reached), ``try_on_routes``
    TryOnVideo's for each try-on ``model``, and ``presets`` which providers' shipped routes
    are on."""
    settings = runtime.settings
    table = routes_from_settings(settings)  # valid: settings check the routes when they load
    routes: dict[str, dict[str, Any]] = {}
    reaching: dict[str, dict[str, set[str]]] = {}
    for motion_type in MOTION_TYPES:
        per_kind: dict[str, Any] = {}
        for kind in KINDS:
            decision = resolve(motion_type=motion_type, kind=kind, settings=settings, table=table)
            per_kind[kind.value] = {
                "engine": decision.engine,
                "target": str(decision.target) if decision.target else "",
                "source": decision.source,
                "fallback_reason": decision.fallback_reason,
            }
            reaching.setdefault(decision.engine, {}).setdefault(motion_type, set()).add(kind.value)
        if motion_type in NOTICES:
            per_kind["notice"] = NOTICES[motion_type]
        routes[motion_type] = per_kind
    # TryOnVideo's route depends on its ``model``: the decision for each one.
    try_on: dict[str, dict[str, str]] = {}
    for model in TRY_ON_TARGETS:
        decision = resolve(
            motion_type="TryOnVideo",
            kind=InputKind.TWO_IMAGES,
            settings=settings,
            table=table,
            needs=frozenset({"try_on_model"}),
            try_on_model=model,
        )
        try_on[model] = {
            "engine": decision.engine,
            "target": str(decision.target) if decision.target else "",
            "fallback_reason": decision.fallback_reason,
        }
    targets: dict[str, list[dict[str, Any]]] = {}
    for motion_type, configured in table.items():
        for target in configured:
            verdict = check(target, settings)
            entries = targets.setdefault(target.engine, [])
            entry = next((e for e in entries if e["target"] == str(target)), None)
            if entry is None:
                entry = {
                    "target": str(target),
                    "configured_for": [],
                    "accepts": sorted(k.value for k in verdict.accepts),
                    "available": not verdict.problem,
                    "problem": verdict.problem,
                }
                entries.append(entry)
            entry["configured_for"].append(motion_type)
    data = []
    for name, cls in engine_classes().items():
        info = cls.info
        data.append(
            {
                "name": info.name,
                "version": info.version,
                "accepts": sorted(k.value for k in info.accepts),
                "needs_gpu": info.needs_gpu,
                "min_duration": info.min_duration,
                "max_duration": info.max_duration,
                "aspect_ratios": list(info.aspect_ratios),
                "max_side": info.max_side,
                "description": info.description,
                "targets": targets.get(name, []),
                "motion_types": sorted(reaching.get(name, {})),
                "motion_types_by_input": {
                    mt: sorted(kinds) for mt, kinds in sorted(reaching.get(name, {}).items())
                },
            }
        )
    presets = {
        "version": PRESETS_VERSION,
        "enabled": settings.presets == "on",
        "providers": configured_providers(settings),
    }
    return {"data": data, "routes": routes, "try_on_routes": try_on, "presets": presets}
