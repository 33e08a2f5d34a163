"""Renditions: a finished video at another width or size cap, or as a GIF, made once and kept.

A rendition that cannot be made (a size cap too small) leaves a note beside its key, so every
later request gets the same 400 at once. A process that hosts workers makes a rendition itself;
one without (the scaled-out API) queues it for the workers (``runtime.queue.rendition``) and
the caller waits until :func:`rendition_ready`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kinora.errors import BadRequestError
from kinora.video.encode import transcode_mp4, write_gif

if TYPE_CHECKING:
    from kinora.runtime import Runtime

FAILED = ".failed"
"""Suffix of the note left beside a rendition's key when it cannot be made."""


@dataclass(frozen=True)
class Rendition:
    """One derived file: made from ``source_key``, stored at ``key`` (plain data: it travels
    through the queue)."""

    source_key: str
    key: str
    kind: str
    """"mp4" or "gif"."""
    width: int | None
    file_size: float | None


def make_rendition(runtime: Runtime, rendition: Rendition) -> None:
    """Make and store one rendition (in a request, or as the worker task ``make_rendition``)."""
    storage, key = runtime.storage, rendition.key
    if storage.exists(key) or storage.exists(key + FAILED):
        return
    source = storage.local_path(rendition.source_key)
    tmp = runtime.settings.data_dir / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    out = tmp / f"{uuid.uuid4().hex}_{key.rsplit('/', 1)[-1]}"
    try:
        try:
            if rendition.kind == "gif":
                write_gif(source, out, width=rendition.width or 480)
            else:
                transcode_mp4(source, out, width=rendition.width, max_megabytes=rendition.file_size)
        except ValueError as exc:  # the caller asked for the impossible: say so, for good
            storage.put_bytes(key + FAILED, str(exc).encode())
            return
        storage.put_file(key, out)
    finally:
        out.unlink(missing_ok=True)


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
