"""The media object as the API returns it, typed the way the spec's examples read."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from kinora.db.models import Media, utcnow

if TYPE_CHECKING:
    from kinora.runtime import Runtime


def timestamp(value: dt.datetime | None) -> str:
    """Like the live API: ``2025-04-01 18:57:37.355064+00:00``."""
    if value is None:
        return ""
    if value.tzinfo is None:  # SQLite hands back naive datetimes; we store UTC
        value = value.replace(tzinfo=dt.UTC)
    return str(value.astimezone(dt.UTC))


def pose_params(params: dict[str, Any], aspect_ratio: str = "") -> str:
    parts = [
        f"Prompt={params.get('prompt', '')}",
        f"CameraPath={params.get('camera_control', '')}",
        f"Quantity={params.get('quantity', 1)}",
        f"MotionAmount={params.get('motion_range', 5)}",
        f"MotionLength={params.get('duration', 5)}",
        f"Loop={params.get('loop', 1)}",
        f"AspectRatio={params.get('aspect_ratio') or aspect_ratio}",
    ]
    return "|".join(parts)


def pose_preset(params: dict[str, Any], aspect_ratio: str = "") -> dict[str, str]:
    return {
        "MotionType": str(params.get("motion_type", "Auto")),
        "Params": pose_params(params, aspect_ratio),
    }


def submit_params(params: dict[str, Any]) -> dict[str, Any]:
    return {
        "native_audio": bool(params.get("native_audio", False)),
        "pipeline_preset": "Fast",
        "file_size": "",
        "scale_factor": "1",
    }


FILE_TYPES = {"video": "Video", "image": "Texture", "audio": "Audio"}


def file_map(inputs: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [{"FileType": FILE_TYPES[item["kind"]], "FileName": item["name"]} for item in inputs]


def visual_inputs(inputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [item for item in inputs if item["kind"] in ("image", "video")]


def history_entry(
    media: Media,
    *,
    service_name: str,
    service_version: str,
    results: list[dict[str, Any]],
    configs: list[dict[str, Any]],
    aspect_ratio: str,
) -> dict[str, Any]:
    first = results[0] if results else {"width": 0, "height": 0}
    return {
        "generate_type": "GENERATE_VIDEO",
        "pose_preset": pose_preset(media.params, aspect_ratio),
        "file_map": file_map(media.inputs),
        "service_name": service_name,
        "service_version": service_version,
        "service_seeds": [int(c["seed"]) for c in configs],
        "created_at": timestamp(utcnow()),
        "bullet_version": str(len(media.video_history) + 1),
        "resolution": [int(first["width"]), int(first["height"])],
        "submit_params": submit_params(media.params),
        "engine_config": {"configs": configs, "aspect_ratio": aspect_ratio},
    }


def media_public(media: Media, runtime: Runtime, *, owner: bool = True) -> dict[str, Any]:
    """The media object; for anyone but its owner, without the owner's private fields."""
    history = list(media.video_history)
    aspect = history[-1]["engine_config"].get("aspect_ratio", "") if history else ""
    result = [
        {
            "url": runtime.link(item["key"]),
            "object_type": "bullet_video_mp4",
            "index": item["index"],
            "seed": item["seed"],
            "width": item["width"],
            "height": item["height"],
            "duration": item["duration"],
            "thumbnail_url": runtime.link(item["thumbnail_key"]),
            "gif_url": f"{runtime.settings.public_url.rstrip('/')}/media/{media.id}/download"
            f"?object_type=bullet_video_gif&index={item['index']}",
        }
        for item in media.result
    ]
    return {
        "id": media.id,
        "title": media.title,
        "description": media.description,
        "rating": media.rating,
        "customer_id": media.customer_id,
        "batch_id": media.batch_id,
        "base_url": f"{runtime.settings.public_url.rstrip('/')}/media/{media.id}",
        "is_transition": "Yes" if len(visual_inputs(media.inputs)) >= 2 else "No",
        "duration_time": str(float(media.duration_time)),
        "progress_percentage": int(media.progress),
        "processing_status": media.status,
        "visibility_status": media.visibility_status,
        "file_map": file_map(media.inputs),
        "intermediate_results": [],
        "submit_params": submit_params(media.params),
        "pose_preset": pose_preset(media.params, aspect),
        "bullet_version": str(len(history)),
        "video_history": history,
        "result": result,
        "webhook_url": media.webhook_url if owner else "",
        "nsfw": "0",
        "service_name": media.service_name,
        "service_version": media.service_version,
        "error": media.error,
        "metadata": dict(media.extra or {}) if owner else {},
        "stage": media.stage,
        "created_at": timestamp(media.created_at),
        "updated_at": timestamp(media.updated_at),
        "version": "2",
    }
