"""Motion engines: built-ins and plug-ins registered through the ``kinora.engines`` group."""

from kinora.engines.base import (
    EngineInfo,
    EngineInputs,
    FakeEngine,
    Frame,
    InputKind,
    MotionEngine,
    RenderConfig,
)

__all__ = [
    "EngineInfo",
    "EngineInputs",
    "FakeEngine",
    "Frame",
    "InputKind",
    "MotionEngine",
    "RenderConfig",
]
