"""GET /models: the engines this server can run and the motion types routed to each."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from kinora.engines.registry import engine_classes

router = APIRouter(tags=["Models"])


@router.get("/models", summary="Engines this server can run")
def list_models() -> dict[str, Any]:
    return {
        "data": [
            {
                "name": cls.info.name,
                "version": cls.info.version,
                "accepts": sorted(k.value for k in cls.info.accepts),
                "needs_gpu": cls.info.needs_gpu,
                "max_duration": cls.info.max_duration,
                "description": cls.info.description,
            }
            for cls in engine_classes().values()
        ]
    }
