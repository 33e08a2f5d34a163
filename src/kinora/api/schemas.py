"""The API's request and response shapes, in one place for the routes and the OpenAPI document.

Request bodies are the domain's (:mod:`kinora.domain.requests`: one field base for create and
edit); the media object and the small bodies are :mod:`kinora.domain.public`. This module
re-exports both, so the HTTP layer names one module.
"""

from kinora.domain.public import (
    BatchEnvelope,
    BatchItem,
    BatchPublic,
    CreditsRequired,
    FileMapEntry,
    HistoryEntry,
    MediaEnvelope,
    MediaList,
    MediaPublic,
    MessageResponse,
    PosePreset,
    ProcessingStatus,
    ProcessingStatusEnvelope,
    ResultVideo,
    SubmitParams,
)
from kinora.domain.requests import (
    GENERATION_FIELDS,
    AudioOption,
    MediaCreate,
    MediaExtend,
    MediaFields,
    MediaItem,
    MediaUpdate,
)
from kinora.vocab import NARRATORS, AspectRatio, CameraControl, MotionType, TryOnModel

__all__ = [
    "GENERATION_FIELDS",
    "NARRATORS",
    "AspectRatio",
    "AudioOption",
    "BatchEnvelope",
    "BatchItem",
    "BatchPublic",
    "CameraControl",
    "CreditsRequired",
    "FileMapEntry",
    "HistoryEntry",
    "MediaCreate",
    "MediaEnvelope",
    "MediaExtend",
    "MediaFields",
    "MediaItem",
    "MediaList",
    "MediaPublic",
    "MediaUpdate",
    "MessageResponse",
    "MotionType",
    "PosePreset",
    "ProcessingStatus",
    "ProcessingStatusEnvelope",
    "ResultVideo",
    "SubmitParams",
    "TryOnModel",
]
