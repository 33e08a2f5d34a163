"""Kinora: an open, self-hostable media-animation API that speaks the Vimmerse media API."""

from kinora.client import APIError, AsyncClient, Client, GenerationFailed
from kinora.config import Settings, get_settings
from kinora.engines.base import EngineInfo, EngineInputs, InputKind, MotionEngine, RenderConfig
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

__version__ = "0.1.0"

__all__ = [
    "APIError",
    "AsyncClient",
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
    "MediaNotFoundError",
    "MotionEngine",
    "NotFoundError",
    "RenderConfig",
    "RenderError",
    "Settings",
    "__version__",
    "get_settings",
]
