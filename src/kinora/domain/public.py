"""The media object and the small response bodies, typed as the spec's examples read them."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel


class FileMapEntry(BaseModel):
    FileType: str
    FileName: str


class SubmitParams(BaseModel):
    native_audio: bool = False
    pipeline_preset: str = "Fast"
    file_size: str = ""
    scale_factor: str = "1"


class PosePreset(BaseModel):
    MotionType: str
    Params: str


class VideoFormat(BaseModel):
    """Another form of a result video: made on its first download, then kept."""

    object_type: str
    url: str
    """GET it (with the API key) for the file; the first request makes it."""
    size: int | None = None
    """Bytes, once made (None: not made yet)."""
    transparent: bool = False
    """The background is transparent (the subject on its own)."""


class ResultVideo(BaseModel):
    url: str
    object_type: str = "bullet_video_mp4"
    index: int
    seed: int
    width: int
    height: int
    duration: float
    thumbnail_url: str
    gif_url: str
    formats: list[VideoFormat] = []
    """The other forms this video can be downloaded in (WebM, PNG frames and, for the
    one-image engine's videos, versions with a transparent background)."""


class IgnoredField(BaseModel):
    field: str
    reason: str


class HistoryEntry(BaseModel):
    generate_type: str = "GENERATE_VIDEO"
    pose_preset: PosePreset
    file_map: list[FileMapEntry]
    service_name: str
    service_version: str
    service_seeds: list[int]
    created_at: str
    bullet_version: str
    resolution: list[int]
    submit_params: SubmitParams
    engine_config: dict[str, Any] = {}
    spec: dict[str, Any] = {}
    """The generation's full spec, as stored: with the seeds it reproduces the render."""
    ignored: list[IgnoredField] = []
    """Fields the request set that the engine that ran does not honour, with the reason."""
    not_drawn: list[str] = []
    """What the prompt asked for that the engine could not draw (subjects without an icon or
    shape, furniture it has no drawing of), in the order the variants reported it."""


class MediaPublic(BaseModel):
    """The media object, typed as the spec's examples read (strings where they are strings)."""

    id: str
    title: str
    description: str
    rating: str
    customer_id: str
    batch_id: str
    base_url: str
    is_transition: Literal["Yes", "No"]
    duration_time: str
    progress_percentage: int
    processing_status: str
    visibility_status: str
    file_map: list[FileMapEntry]
    intermediate_results: list[Any]
    submit_params: SubmitParams
    pose_preset: PosePreset
    bullet_version: str
    video_history: list[HistoryEntry]
    result: list[ResultVideo]
    webhook_url: str
    nsfw: str
    service_name: str
    service_version: str
    error: str
    metadata: dict[str, Any] = {}
    stage: str = ""
    created_at: str
    updated_at: str
    version: str


class MediaEnvelope(BaseModel):
    data: MediaPublic


class ProcessingStatus(BaseModel):
    progress_percentage: str
    processing_status: str
    stage: str = ""
    queue_position: int | None = None
    eta_seconds: int | None = None


class ProcessingStatusEnvelope(BaseModel):
    data: ProcessingStatus


class MediaList(BaseModel):
    data: list[MediaPublic]
    next_cursor: str | None


class CreditsRequired(BaseModel):
    credits_required: int


class BatchItem(BaseModel):
    index: int
    """Its place in the request's ``items``."""
    media_id: str
    status: str
    """The media's ``processing_status``."""
    progress_percentage: int


class BatchPublic(BaseModel):
    id: str
    status: str
    """processing, then success (every media succeeded), partial, or fail (none did)."""
    size: int
    finished: int
    counts: dict[str, int]
    """Media per status."""
    progress_percentage: int
    credits_charged: int
    webhook_url: str
    metadata: dict[str, Any]
    created_at: str
    items: list[BatchItem]


class BatchEnvelope(BaseModel):
    data: BatchPublic


class MessageResponse(BaseModel):
    message: str
