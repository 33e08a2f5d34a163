"""What GET /media/{id}/download serves: the video, renditions, GIF, thumbnail or sources."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kinora.db.models import Media, MediaStatus
from kinora.errors import BadRequestError
from kinora.render.encode import transcode_mp4, write_gif

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
    path: Path
    media_type: str
    filename: str


def _cached(runtime: Runtime, key: str, make: object) -> Path:
    storage = runtime.storage
    if not storage.exists(key):
        tmp = runtime.settings.data_dir / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        out = tmp / key.replace("/", "_")
        make(out)  # type: ignore[operator]
        storage.put_file(key, out)
        out.unlink(missing_ok=True)
    return storage.local_path(key)


def resolve_download(
    runtime: Runtime,
    media: Media,
    *,
    object_type: str,
    width: int | None,
    file_size: float | None,
    index: int,
) -> Download:
    if object_type == "source":
        if not media.inputs:
            raise BadRequestError("this media has no source files")
        item = media.inputs[min(index, len(media.inputs) - 1)]
        ext = item["key"].rsplit(".", 1)[-1]
        return Download(
            runtime.storage.local_path(item["key"]),
            CONTENT_TYPES.get(ext, "application/octet-stream"),
            item["name"],
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
        return Download(
            runtime.storage.local_path(item["thumbnail_key"]), "image/jpeg", f"{stem}.jpg"
        )
    source = runtime.storage.local_path(key)
    if object_type == "bullet_video_gif":
        gif_width = min(width or 480, 960)
        path = _cached(
            runtime,
            f"{base}/renditions/video_{index}_w{gif_width}.gif",
            lambda out: write_gif(source, out, width=gif_width),
        )
        return Download(path, "image/gif", f"{stem}.gif")
    if width is None and file_size is None:
        return Download(source, "video/mp4", f"{stem}.mp4")
    if width is not None and width >= int(item["width"]) and file_size is None:
        return Download(source, "video/mp4", f"{stem}.mp4")
    if file_size is not None and width is None and source.stat().st_size <= file_size * 2**20:
        return Download(source, "video/mp4", f"{stem}.mp4")
    tag = f"w{width or 0}_s{file_size or 0:g}"
    path = _cached(
        runtime,
        f"{base}/renditions/video_{index}_{tag}.mp4",
        lambda out: transcode_mp4(source, out, width=width, max_megabytes=file_size),
    )
    return Download(path, "video/mp4", f"{stem}.mp4")
