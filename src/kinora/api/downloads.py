"""What GET /media/{id}/download serves: the video, renditions, GIF, other formats, thumbnail
or sources.

Renditions (another width or size cap, GIFs) are made once and kept (``domain.renditions``). An
API process without workers of its own (the scaled-out layout) never spends seconds of CPU
transcoding: it queues the job ahead of renders and waits for the file, and parallel requests
share it. A process that hosts workers (one machine) makes it in the request.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool

from kinora.db.models import Media, MediaStatus
from kinora.domain.renditions import (
    GIF_DEFAULT_WIDTH,
    GIF_WIDTHS,
    RENDITION_MEGABYTES,
    RENDITION_WIDTHS,
    TRANSPARENT_KINDS,
    Rendition,
    ensure_rendition,
    rendition_ready,
    snap_down,
    snap_width,
)
from kinora.errors import BadRequestError, NotReadyError
from kinora.pipeline.mattes import draws_subject
from kinora.storage import Storage

if TYPE_CHECKING:
    from kinora.runtime import Runtime

CONTENT_TYPES = {
    "mp4": "video/mp4",
    "gif": "image/gif",
    "jpg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "webm": "video/webm",
    "mov": "video/quicktime",
    "zip": "application/zip",
}
FORMAT_FILES = {
    "bullet_video_webm": ("webm", "video_{index}.webm", "{stem}.webm"),
    "frames_png_zip": ("png_zip", "video_{index}_frames.zip", "{stem}_frames.zip"),
    "bullet_video_webm_alpha": ("webm_alpha", "video_{index}_alpha.webm", "{stem}_alpha.webm"),
    "bullet_video_mov_alpha": ("mov_alpha", "video_{index}_alpha.mov", "{stem}_alpha.mov"),
}
"""object_type to (rendition kind, stored name, download name) for the other formats."""


@dataclass(frozen=True)
class Download:
    key: str
    media_type: str
    filename: str
    storage: Storage

    @property
    def path(self) -> Path:
        """A local copy (cached from remote storage when needed)."""
        return self.storage.local_path(self.key)


class RenditionPending(Exception):
    """A rendition was queued for a worker: the download is ready once it is stored."""

    def __init__(self, rendition: Rendition, download: Download) -> None:
        super().__init__(rendition.key)
        self.rendition, self.download = rendition, download


def _rendition(runtime: Runtime, rendition: Rendition, download: Download) -> Download:
    """The download of a rendition, made on first use: here when this process hosts the
    workers, else queued for them (``RenditionPending``: the caller waits, see
    :func:`wait_for_rendition`)."""
    if ensure_rendition(runtime, rendition):
        return download
    raise RenditionPending(rendition, download)


async def wait_for_rendition(runtime: Runtime, pending: RenditionPending) -> Download:
    """Wait for a worker to store a queued rendition, holding no thread while waiting (a
    thread per waiting download would let a few slow renditions starve the whole API)."""
    deadline = time.monotonic() + runtime.settings.rendition_wait_seconds
    pause = 0.05
    while not await run_in_threadpool(rendition_ready, runtime, pending.rendition.key):
        if time.monotonic() >= deadline:
            raise NotReadyError(
                "the rendition is still being made; retry shortly", headers={"Retry-After": "5"}
            )
        await asyncio.sleep(pause)
        pause = min(0.5, pause * 1.5)
    return pending.download


def _earlier_version(
    media: Media,
    history: list[dict[str, object]],
    bullet_version: str,
    object_type: str,
    index: int,
    store: Storage,
) -> Download:
    """An earlier version's video or thumbnail (an edit or an extension made a newer one)."""
    entry = next((e for e in history if e["bullet_version"] == bullet_version), None)
    if entry is None:
        versions = ", ".join(str(e["bullet_version"]) for e in history)
        raise BadRequestError(f"no version {bullet_version} (versions: {versions})")
    results = entry.get("results")
    if not isinstance(results, list) or not results:
        raise BadRequestError(f"version {bullet_version}'s video was not kept")
    if object_type not in ("bullet_video_mp4", "thumbnail_jpg"):
        raise BadRequestError("an earlier version offers bullet_video_mp4 and thumbnail_jpg")
    if index >= len(results):
        raise BadRequestError(f"index {index} is out of range (0-{len(results) - 1})")
    item = results[index]
    stem = f"{media.id}_v{bullet_version}_{index}"
    if object_type == "thumbnail_jpg":
        return Download(str(item["thumbnail_key"]), "image/jpeg", f"{stem}.jpg", store)
    return Download(str(item["key"]), "video/mp4", f"{stem}.mp4", store)


def resolve_download(
    runtime: Runtime,
    media: Media,
    *,
    object_type: str,
    width: int | None,
    file_size: float | None,
    index: int,
    bullet_version: str | None = None,
) -> Download:
    store = runtime.storage
    history = list(media.video_history)
    if bullet_version is not None and history and bullet_version != history[-1]["bullet_version"]:
        return _earlier_version(media, history, bullet_version, object_type, index, store)
    if object_type == "source":
        if not media.inputs:
            raise BadRequestError("this media has no source files")
        item = media.inputs[min(index, len(media.inputs) - 1)]
        ext = item["key"].rsplit(".", 1)[-1]
        return Download(
            item["key"], CONTENT_TYPES.get(ext, "application/octet-stream"), item["name"], store
        )
    if media.status != MediaStatus.SUCCESS or not media.result:
        raise BadRequestError("the video is not ready")
    if index >= len(media.result):
        raise BadRequestError(f"index {index} is out of range (0-{len(media.result) - 1})")
    item = media.result[index]
    key = item["key"]
    base = key.rsplit("/", 1)[0]
    stem = f"{media.id}_{index}"
    if object_type == "thumbnail_jpg":
        return Download(item["thumbnail_key"], "image/jpeg", f"{stem}.jpg", store)
    if object_type == "bullet_video_gif":
        # Snapped like the MP4 widths (any key may ask, on any public or unlisted video), and
        # never wider than the video: a wider GIF would only be an upscaled copy.
        asked = min(width or GIF_DEFAULT_WIDTH, int(item["width"]) or GIF_DEFAULT_WIDTH)
        gif_width = snap_width(asked, GIF_WIDTHS)
        gif_key = f"{base}/renditions/video_{index}_w{gif_width}.gif"
        gif = Rendition(key, gif_key, "gif", gif_width, None)
        return _rendition(runtime, gif, Download(gif_key, "image/gif", f"{stem}.gif", store))
    if object_type in FORMAT_FILES:
        return _format(runtime, media, object_type, index, base, stem)
    original = Download(key, "video/mp4", f"{stem}.mp4", store)
    if width is None and file_size is None:
        return original
    if width is not None and width >= int(item["width"]) and file_size is None:
        return original
    if file_size is not None and width is None and _size(item, store) <= file_size * 2**20:
        return original
    # Each distinct rendition costs a transcode and its storage: requests snap down to a few
    # standard widths and size caps, so a caller cannot make an unbounded number of them.
    if width is not None:
        width = snap_width(width, RENDITION_WIDTHS)
    if file_size is not None:
        if file_size < RENDITION_MEGABYTES[0]:
            raise BadRequestError(f"file_size must be at least {RENDITION_MEGABYTES[0]} MB")
        file_size = snap_down(file_size, RENDITION_MEGABYTES)
    tag = f"w{width or 0}_s{file_size or 0:g}"
    mp4_key = f"{base}/renditions/video_{index}_{tag}.mp4"
    rendition = Rendition(key, mp4_key, "mp4", width, file_size)
    return _rendition(runtime, rendition, Download(mp4_key, "video/mp4", f"{stem}.mp4", store))


def _format(
    runtime: Runtime, media: Media, object_type: str, index: int, base: str, stem: str
) -> Download:
    """A WebM, the PNG frames, or a version with a transparent background (whose recipe is
    the generation's stored spec and config: the subject's alpha is rendered again)."""
    kind, stored, name = FORMAT_FILES[object_type]
    item = media.result[index]
    recipe = None
    if kind in TRANSPARENT_KINDS:
        if not draws_subject(media.service_name):
            raise BadRequestError(
                f"{object_type} needs a video with a subject of its own: "
                f"{media.service_name or 'this engine'} draws none (the one-image and character "
                "engines do)"
            )
        if media.spec.extends is not None:
            raise BadRequestError(
                f"{object_type}: an extended video has none yet (its parts come from "
                "different renders)"
            )
        recipe = _recipe(media, index)
    key = f"{base}/renditions/{stored.format(index=index)}"
    ext = name.rsplit(".", 1)[-1]
    download = Download(key, CONTENT_TYPES[ext], name.format(stem=stem), runtime.storage)
    rendition = Rendition(item["key"], key, kind, None, None, media.id, index, recipe)
    return _rendition(runtime, rendition, download)


def _recipe(media: Media, index: int) -> dict[str, object]:
    """What the current result's render was made from (its history entry)."""
    entry = media.video_history[-1] if media.video_history else {}
    configs = entry.get("engine_config", {}).get("configs", [])
    seed = media.result[index].get("seed")
    if "spec" not in entry or index >= len(configs) or configs[index].get("seed") != seed:
        raise BadRequestError("this video's render was not recorded: it cannot be made again")
    return {
        "spec": entry["spec"],
        "config": configs[index],
        "service_name": media.service_name,
    }


def _size(item: dict[str, object], store: Storage) -> float:
    """The stored video's bytes (from the media's result when it says, else from the file)."""
    size = item.get("file_size")
    if isinstance(size, int | float) and size > 0:
        return float(size)
    return float(store.local_path(str(item["key"])).stat().st_size)
