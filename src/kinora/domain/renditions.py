"""Renditions: a finished video at another width or size cap, as a GIF, a WebM, PNG frames or
with a transparent background, made once and kept.

A rendition that cannot be made (a size cap too small) leaves a note beside its key, so every
later request gets the same 400 at once. A process that hosts workers makes a rendition itself;
one without (the scaled-out API) queues it for the workers (``runtime.queue.rendition``) and
the caller waits until :func:`rendition_ready`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kinora.db.models import Media
from kinora.errors import BadRequestError
from kinora.pipeline.mattes import write_transparent
from kinora.video.encode import transcode_mp4, write_gif
from kinora.video.formats import write_png_zip, write_webm

if TYPE_CHECKING:
    from kinora.runtime import Runtime

FAILED = ".failed"
"""Suffix of the note left beside a rendition's key when it cannot be made."""

# Each distinct rendition costs a transcode and its storage, and any key may ask for them on
# any public or unlisted video: requests snap down to a few standard sizes, so a caller cannot
# make an unbounded number of files (docs/security.md, "Renditions are snapped").
RENDITION_WIDTHS = (
    16, 32, 48, 64, 96, 128, 160, 192, 256, 320, 384, 426, 480, 512, 640, 720, 768, 854, 960,
    1024, 1080, 1280, 1440, 1600, 1920, 2048, 2560, 3200, 3840,
)  # fmt: skip
"""Widths MP4 renditions are made at: a request snaps down to one of these."""
RENDITION_MEGABYTES = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)
"""Size caps MP4 renditions are made for: a request snaps down to one of these (1-2-5 steps)."""
GIF_WIDTHS = (160, 240, 320, 480, 640, 960)
"""Widths GIFs are made at (default 480): a request snaps down to one of these, and below the
first gets the first; so at most six GIFs exist per video."""
GIF_DEFAULT_WIDTH = 480


def snap_width(width: float, ladder: tuple[float, ...]) -> int:
    """The largest step of ``ladder`` not above ``width`` (the first step when all are)."""
    return int(snap_down(width, ladder))


def snap_down(value: float, ladder: tuple[float, ...]) -> float:
    fits = [step for step in ladder if step <= value]
    return fits[-1] if fits else ladder[0]


def on_ladder(rendition: Rendition) -> bool:
    """Whether a rendition's sizes are standard ones (checked again where it is made: a queued
    message is plain data)."""
    widths = GIF_WIDTHS if rendition.kind == "gif" else RENDITION_WIDTHS
    if rendition.width is not None and rendition.width not in widths:
        return False
    return rendition.file_size is None or rendition.file_size in RENDITION_MEGABYTES


@dataclass(frozen=True)
class Rendition:
    """One derived file: made from ``source_key``, stored at ``key`` (plain data: it travels
    through the queue)."""

    source_key: str
    key: str
    kind: str
    """A key of :data:`KINDS`."""
    width: int | None
    file_size: float | None
    media_id: str = ""
    index: int = 0
    """Whose result video this is made from (the formats it lists, see ``record_format``)."""
    recipe: dict[str, Any] | None = None
    """For the transparent kinds: the generation's stored spec, config and engine name, from
    which ``kinora.pipeline.mattes`` renders the subject's alpha again."""


KINDS = {
    "mp4": "bullet_video_mp4",
    "gif": "bullet_video_gif",
    "webm": "bullet_video_webm",
    "png_zip": "frames_png_zip",
    "webm_alpha": "bullet_video_webm_alpha",
    "mov_alpha": "bullet_video_mov_alpha",
}
"""Rendition kind to the download ``object_type`` that serves it."""
FORMAT_KINDS = ("webm", "png_zip", "webm_alpha", "mov_alpha")
"""The kinds listed in the media object's ``formats`` (one file each per video)."""
TRANSPARENT_KINDS = ("webm_alpha", "mov_alpha")


def make_rendition(runtime: Runtime, rendition: Rendition) -> None:
    """Make and store one rendition (in a request, or as the worker task ``make_rendition``)."""
    storage, key = runtime.storage, rendition.key
    if not on_ladder(rendition):
        raise BadRequestError("renditions are made at standard widths and sizes only")
    if storage.exists(key) or storage.exists(key + FAILED):
        return
    source = storage.local_path(rendition.source_key)
    tmp = runtime.settings.data_dir / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    out = tmp / f"{uuid.uuid4().hex}_{key.rsplit('/', 1)[-1]}"
    try:
        try:
            encode_rendition(runtime, rendition, source, out)
        except ValueError as exc:  # the caller asked for the impossible: say so, for good
            storage.put_bytes(key + FAILED, str(exc).encode())
            return
        size = out.stat().st_size
        storage.put_file(key, out)
    finally:
        out.unlink(missing_ok=True)
    if rendition.media_id and rendition.kind in FORMAT_KINDS:
        record_format(runtime, rendition, size)


def record_format(runtime: Runtime, rendition: Rendition, size: int) -> None:
    """List a made format with its size in the result video it was made from (unless the
    media has moved on to another result since)."""
    with runtime.db.session() as s:
        media = s.get(Media, rendition.media_id, with_for_update=True)
        if media is None or rendition.index >= len(media.result):
            return
        item = dict(media.result[rendition.index])
        if item.get("key") != rendition.source_key:
            return
        item["formats"] = {**item.get("formats", {}), KINDS[rendition.kind]: size}
        result = list(media.result)
        result[rendition.index] = item
        media.result = result


RENDITION_TIME_LIMIT_SECONDS = 300.0
"""A rendition's encode (a GIF, a smaller MP4, a WebM or PNGs of at most a minute of video; a
transparent version's render of the subject's alpha) in a child."""


def encode_rendition(runtime: Runtime, rendition: Rendition, source: Path, out: Path) -> None:
    """Encode the rendition in one of the worker's render children when this process has
    them (so the API process of ``kinora serve`` never encodes video itself, and a crash in
    the codec ends only that child), else here (a worker process without a pool)."""
    function: Any
    kwargs: dict[str, Any] = {}
    if rendition.kind == "gif":
        function, kwargs = write_gif, {"width": rendition.width or GIF_DEFAULT_WIDTH}
    elif rendition.kind == "webm":
        function = write_webm
    elif rendition.kind == "png_zip":
        function = write_png_zip
    elif rendition.kind in TRANSPARENT_KINDS:
        if rendition.recipe is None:
            raise ValueError("this video's render was not recorded: it cannot be made again")
        function = write_transparent
        kwargs = {"kind": rendition.kind, "recipe": rendition.recipe, "settings": runtime.settings}
    else:
        function = transcode_mp4
        kwargs = {"width": rendition.width, "max_megabytes": rendition.file_size}
    pool = runtime.render_pool
    if pool is None:
        function(source, out, **kwargs)
        return
    pool.call(function, source, out, limit_seconds=RENDITION_TIME_LIMIT_SECONDS, **kwargs)


def rendition_ready(runtime: Runtime, key: str) -> bool:
    """Whether the rendition at ``key`` is stored; its note's 400 when it cannot be made."""
    storage = runtime.storage
    if storage.exists(key):
        return True
    if storage.exists(key + FAILED):
        raise BadRequestError(storage.get_bytes(key + FAILED).decode())
    return False


def ensure_rendition(runtime: Runtime, rendition: Rendition) -> bool:
    """True when the rendition is stored now (made here if this process hosts the workers: queued,
    it would wait behind the render its worker is busy with, on the same CPU); False when it was
    queued for a worker, ahead of renders (poll :func:`rendition_ready`)."""
    if rendition_ready(runtime, rendition.key):
        return True
    if runtime.hosts_workers:
        make_rendition(runtime, rendition)
        rendition_ready(runtime, rendition.key)  # its 400 when it cannot be made
        return True
    runtime.queue.rendition(rendition)
    return False
