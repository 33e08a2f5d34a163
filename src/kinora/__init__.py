"""Kinora: an open, self-hostable media-animation API that speaks the Vimmerse media API.

The client (``Client``, ``AsyncClient`` and their request types) and the errors import eagerly
and lightly; the server-side names (settings, engine types) load on first use, so
``from kinora import Client`` never pulls in NumPy, pydantic, FastAPI or SQLAlchemy.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from kinora.client import (
    APIError,
    AsyncClient,
    AudioOption,
    Client,
    GenerationFailed,
    Media,
    MediaItem,
)
from kinora.errors import (
    AuthError,
    BadRequestError,
    InputError,
    InsufficientCreditError,
    KinoraError,
    MediaNotFoundError,
    NotFoundError,
    RenderError,
)

if TYPE_CHECKING:
    from kinora.config import Settings, get_settings
    from kinora.engines.base import (
        EngineInfo,
        EngineInputs,
        InputKind,
        MotionEngine,
        RenderConfig,
    )

__version__ = "0.1.0"

_LAZY = {
    "Settings": "kinora.config",
    "get_settings": "kinora.config",
    "EngineInfo": "kinora.engines.base",
    "EngineInputs": "kinora.engines.base",
    "InputKind": "kinora.engines.base",
    "MotionEngine": "kinora.engines.base",
    "RenderConfig": "kinora.engines.base",
}


if not TYPE_CHECKING:  # hidden from mypy, which sees the imports above (and flags typos)

    def __getattr__(name: str) -> Any:
        module = _LAZY.get(name)
        if module is None:
            raise AttributeError(f"module 'kinora' has no attribute {name!r}")
        value = getattr(import_module(module), name)
        globals()[name] = value
        return value


__all__ = [
    "APIError",
    "AsyncClient",
    "AudioOption",
    "AuthError",
    "BadRequestError",
    "Client",
    "EngineInfo",
    "EngineInputs",
    "GenerationFailed",
    "InputError",
    "InputKind",
    "InsufficientCreditError",
    "KinoraError",
    "Media",
    "MediaItem",
    "MediaNotFoundError",
    "MotionEngine",
    "NotFoundError",
    "RenderConfig",
    "RenderError",
    "Settings",
    "__version__",
    "get_settings",
]
