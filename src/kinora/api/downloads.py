"""What GET /media/{id}/download serves: the video, renditions, GIF, thumbnail or sources."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kinora.db.models import Media, MediaStatus
from kinora.errors import BadRequestError
from kinora.render.encode import transcode_mp4, write_gif
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
}


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


def _cached(runtime: Runtime, key: str, make: Callable[[Path], None]) -> str:
    """The key of a derived file, made and stored on first use."""
    storage = runtime.storage
    if not storage.exists(key):
        tmp = runtime.settings.data_dir / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        out = tmp / f"{uuid.uuid4().hex}_{key.rsplit('/', 1)[-1]}"
        try:
            make(out)
            storage.put_file(key, out)
        finally:
            out.unlink(missing_ok=True)
    return key


RENDITION_WIDTHS = (
    16, 32, 48, 64, 96, 128, 160, 192, 256, 320, 384, 426, 480, 512, 640, 720, 768, 854, 960,
    1024, 1080, 1280, 1440, 1600, 1920, 2048, 2560, 3200, 3840,
)  # fmt: skip
"""Widths renditions are made at: a request snaps down to one of these."""
RENDITION_MEGABYTES = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)
"""Size caps renditions are made for: a request snaps down to one of these (1-2-5 steps)."""


def _snap_down(value: float, ladder: tuple[float, ...]) -> float:
    fits = [step for step in ladder if step <= value]
    return fits[-1] if fits else ladder[0]


def resolve_download(
    runtime: Runtime,
    media: Media,
    *,
    object_type: str,
    width: int | None,
    file_size: float | None,
    index: int,
) -> Download:
    store = runtime.storage
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
    source = store.local_path(key)
    if object_type == "bullet_video_gif":
        gif_width = min(width or 480, 960)
        gif = _cached(
            runtime,
            f"{base}/renditions/video_{index}_w{gif_width}.gif",
            lambda out: write_gif(source, out, width=gif_width),
        )
        return Download(gif, "image/gif", f"{stem}.gif", store)
    original = Download(key, "video/mp4", f"{stem}.mp4", store)
    if width is None and file_size is None:
        return original
    if width is not None and width >= int(item["width"]) and file_size is None:
        return original
    if file_size is not None and width is None and source.stat().st_size <= file_size * 2**20:
        return original
    # Each distinct rendition costs a transcode and its storage: requests snap down to a few
    # standard widths and size caps, so a caller cannot make an unbounded number of them.
    if width is not None:
        width = int(_snap_down(width, RENDITION_WIDTHS))
    if file_size is not None:
        if file_size < RENDITION_MEGABYTES[0]:
            raise BadRequestError(f"file_size must be at least {RENDITION_MEGABYTES[0]} MB")
        file_size = _snap_down(file_size, RENDITION_MEGABYTES)
    tag = f"w{width or 0}_s{file_size or 0:g}"
    try:
        rendition = _cached(
            runtime,
            f"{base}/renditions/video_{index}_{tag}.mp4",
            lambda out: transcode_mp4(source, out, width=width, max_megabytes=file_size),
        )
    except ValueError as exc:  # the size target cannot be met: the caller asked for too little
        raise BadRequestError(str(exc)) from None
    return Download(rendition, "video/mp4", f"{stem}.mp4", store)
