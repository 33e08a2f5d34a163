"""The media object as the API returns it, typed the way the spec's examples read."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from kinora.db.models import Media, utcnow
from kinora.domain.public import (
    FileMapEntry,
    HistoryEntry,
    MediaPublic,
    PosePreset,
    ResultVideo,
    SubmitParams,
    VideoFormat,
)
from kinora.domain.renditions import FORMAT_KINDS, KINDS, TRANSPARENT_KINDS
from kinora.pipeline.mattes import draws_subject
from kinora.spec import GenerationSpec

if TYPE_CHECKING:
    from kinora.runtime import Runtime


def timestamp(value: dt.datetime | None) -> str:
    """Like the live API: ``2025-04-01 18:57:37.355064+00:00``."""
    if value is None:
        return ""
    if value.tzinfo is None:  # SQLite hands back naive datetimes; we store UTC
        value = value.replace(tzinfo=dt.UTC)
    return str(value.astimezone(dt.UTC))


def pose_params(spec: GenerationSpec, aspect_ratio: str = "") -> str:
    aspect = spec.aspect_ratio.value if spec.aspect_ratio is not None else aspect_ratio
    parts = [
        f"Prompt={spec.prompt}",
        f"CameraPath={spec.camera_control.value}",
        f"Quantity={spec.quantity}",
        f"MotionAmount={spec.motion_range}",
        f"MotionLength={spec.duration}",
        f"Loop={spec.loop}",
        f"AspectRatio={aspect}",
    ]
    return "|".join(parts)


def pose_preset(spec: GenerationSpec, aspect_ratio: str = "") -> PosePreset:
    return PosePreset(MotionType=spec.motion_type.value, Params=pose_params(spec, aspect_ratio))


def submit_params(spec: GenerationSpec) -> SubmitParams:
    return SubmitParams(native_audio=spec.native_audio)


FILE_TYPES = {"video": "Video", "image": "Texture", "audio": "Audio"}


def file_map(spec: GenerationSpec) -> list[FileMapEntry]:
    return [FileMapEntry(FileType=FILE_TYPES[i.kind], FileName=i.name) for i in spec.inputs]


def history_entry(
    media: Media,
    *,
    service_name: str,
    service_version: str,
    results: list[dict[str, Any]],
    configs: list[dict[str, Any]],
    aspect_ratio: str,
    ignored: Sequence[dict[str, str]] = (),
) -> dict[str, Any]:
    """One generation's record: what ran, with which configs, and what it did not honour.

    What an engine reported it could not draw (the text engine's ``not_drawn`` per variant)
    is lifted to the entry itself and listed under ``ignored`` as the prompt's part that was
    not honoured, so a client reading one place sees every gap, not only the field-level ones.
    """
    first = results[0] if results else {"width": 0, "height": 0}
    spec = media.spec
    not_drawn = list(dict.fromkeys(str(n) for c in configs for n in c.get("not_drawn", ())))
    if not_drawn:
        ignored = [
            *ignored,
            {
                "field": "prompt",
                "reason": "not drawn (no icon or shape for it): " + ", ".join(not_drawn),
            },
        ]
    return {
        "generate_type": "EXTEND_VIDEO" if spec.extends is not None else "GENERATE_VIDEO",
        "pose_preset": pose_preset(spec, aspect_ratio).model_dump(),
        "file_map": [entry.model_dump() for entry in file_map(spec)],
        "service_name": service_name,
        "service_version": service_version,
        "service_seeds": [int(c["seed"]) for c in configs],
        "created_at": timestamp(utcnow()),
        "bullet_version": str(len(media.video_history) + 1),
        "resolution": [int(first["width"]), int(first["height"])],
        "submit_params": submit_params(spec).model_dump(),
        "engine_config": {"configs": configs, "aspect_ratio": aspect_ratio},
        "spec": spec.to_stored(),
        "ignored": list(ignored),
        "not_drawn": not_drawn,
        # Kept (not shown: storage keys) so that this version's video stays downloadable
        # after a later generation (``download?bullet_version=``).
        "results": [
            {k: r[k] for k in ("index", "key", "thumbnail_key", "duration") if k in r}
            for r in results
        ],
    }


def media_link(runtime: Runtime, media: Media, key: str) -> str:
    """A key-free link to one of the media's files (``Runtime.link``), signing the media's
    link version: the links stop working when it is made private."""
    if runtime.settings.download_mode == "redirect":
        url = runtime.storage.presigned_url(key, ttl_seconds=runtime.settings.url_ttl_seconds)
        if url:
            return url
    return runtime.signer.url(key, version=media.link_version or 0)


def video_formats(
    media: Media, item: dict[str, Any], base: str, *, transparent: bool
) -> list[VideoFormat]:
    """The download links of a result video's other forms, with the sizes of those made."""
    made = item.get("formats", {})
    return [
        VideoFormat(
            object_type=object_type,
            url=f"{base}/media/{media.id}/download?object_type={object_type}&index={item['index']}",
            size=made.get(object_type),
            transparent=kind in TRANSPARENT_KINDS,
        )
        for kind in FORMAT_KINDS
        if transparent or kind not in TRANSPARENT_KINDS
        for object_type in (KINDS[kind],)
    ]


def media_public(media: Media, runtime: Runtime, *, owner: bool = True) -> MediaPublic:
    """The media object; for anyone but its owner, without the owner's private fields."""
    history = list(media.video_history)
    aspect = history[-1]["engine_config"].get("aspect_ratio", "") if history else ""
    base = runtime.settings.public_url.rstrip("/")
    spec = media.spec
    transparent = bool(media.result) and draws_subject(media.service_name) and spec.extends is None
    result = [
        ResultVideo(
            url=media_link(runtime, media, item["key"]),
            index=item["index"],
            seed=item["seed"],
            width=item["width"],
            height=item["height"],
            duration=item["duration"],
            thumbnail_url=media_link(runtime, media, item["thumbnail_key"]),
            gif_url=f"{base}/media/{media.id}/download"
            f"?object_type=bullet_video_gif&index={item['index']}",
            formats=video_formats(media, item, base, transparent=transparent),
        )
        for item in media.result
    ]
    return MediaPublic(
        id=media.id,
        title=media.title,
        description=media.description,
        rating=media.rating,
        customer_id=media.customer_id,
        batch_id=media.batch_id,
        base_url=f"{base}/media/{media.id}",
        is_transition="Yes" if len(spec.visuals) >= 2 else "No",
        duration_time=str(float(media.duration_time)),
        progress_percentage=int(media.progress),
        processing_status=media.status,
        visibility_status=media.visibility_status,
        file_map=file_map(spec),
        intermediate_results=[],
        submit_params=submit_params(spec),
        pose_preset=pose_preset(spec, aspect),
        bullet_version=str(len(history)),
        video_history=[HistoryEntry.model_validate(entry) for entry in history],
        result=result,
        webhook_url=media.webhook_url if owner else "",
        nsfw="0",
        service_name=media.service_name,
        service_version=media.service_version,
        error=media.error,
        metadata=dict(media.extra or {}) if owner else {},
        stage=media.stage,
        created_at=timestamp(media.created_at),
        updated_at=timestamp(media.updated_at),
        version="2",
    )
