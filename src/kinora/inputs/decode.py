"""Decode untrusted image and video bytes, refusing what is corrupt, unknown or too large."""

from __future__ import annotations

import io
import tempfile
import warnings
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np
from PIL import Image, ImageOps

from kinora.errors import InputError
from kinora.video.frames import Clip, Frame

IMAGE_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp", "GIF": "image/gif"}
MAX_VIDEO_SECONDS = 60.0
MAX_VIDEO_FRAMES = 24 * 10
MAX_DRIVER_SECONDS = 20.0
"""The longest driving video character_animate follows (its length becomes the clip's)."""
DRIVER_LONG_SIDE = 480
"""Driving video frames are kept at most this size: only their motion is read."""


@dataclass(frozen=True)
class DecodedImage:
    pixels: Frame
    format: str
    """One of PNG, JPEG, WEBP, GIF."""

    @property
    def extension(self) -> str:
        return {"JPEG": "jpg"}.get(self.format, self.format.lower())


@dataclass(frozen=True)
class DecodedVideo:
    head: list[Frame]
    """The first frames (at most MAX_VIDEO_FRAMES): what follows a generated clip."""
    tail: list[Frame]
    """The last frames (at most MAX_VIDEO_FRAMES): what leads into a generated clip."""
    fps: float

    @property
    def first(self) -> Frame:
        return self.head[0]

    @property
    def last(self) -> Frame:
        return self.tail[-1]


def decode_image(
    data: bytes, *, field: str | tuple[str | int, ...], max_pixels: int
) -> DecodedImage:
    if not data:
        raise InputError(field, "the file is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                fmt = img.format or ""
                if fmt not in IMAGE_FORMATS:
                    raise InputError(field, f"unsupported image format {fmt or 'unknown'}")
                w, h = img.size
                if w * h > max_pixels:
                    raise InputError(field, f"image is too large ({w}x{h} pixels)")
                if w < 16 or h < 16:
                    raise InputError(field, f"image is too small ({w}x{h} pixels)")
                img.seek(0)  # animated GIF/WebP: the first frame only
                img.load()
                upright: Image.Image = ImageOps.exif_transpose(img) or img
                if upright.mode in {"RGBA", "LA", "P", "PA"}:
                    rgba = upright.convert("RGBA")
                    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                    upright = Image.alpha_composite(background, rgba)
                pixels = np.ascontiguousarray(np.asarray(upright.convert("RGB"), dtype=np.uint8))
    except InputError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InputError(field, "image is too large (decompression bomb)") from None
    except Exception:  # Pillow raises many types for corrupt data
        raise InputError(field, "not a readable PNG, JPEG, WebP or GIF image") from None
    return DecodedImage(pixels=pixels, format=fmt)


def decode_video(
    data: bytes, *, field: str | tuple[str | int, ...], max_pixels: int
) -> DecodedVideo:
    with tempfile.NamedTemporaryFile(suffix=".video") as tmp:
        tmp.write(data)
        tmp.flush()
        return decode_video_file(Path(tmp.name), field=field, max_pixels=max_pixels)


def _checked_stream(
    container: Any, field: str | tuple[str | int, ...], max_pixels: int
) -> tuple[Any, int, int, float]:
    """The container's video stream, its frame size and duration (s), refused with the field
    named when there is none or its frames are too large or too small."""
    if not container.streams.video:
        raise InputError(field, "the file has no video stream")
    stream = container.streams.video[0]
    w, h = stream.codec_context.width, stream.codec_context.height
    if w * h > max_pixels or w < 16 or h < 16:
        raise InputError(field, f"video frame size {w}x{h} is not accepted")
    return stream, w, h, (container.duration or 0) / 1_000_000


def decode_video_file(
    path: Path, *, field: str | tuple[str | int, ...], max_pixels: int
) -> DecodedVideo:
    try:
        with av.open(str(path)) as container:
            stream, _, _, seconds = _checked_stream(container, field, max_pixels)
            if seconds > MAX_VIDEO_SECONDS:
                raise InputError(field, f"video is longer than {MAX_VIDEO_SECONDS:.0f} s")
            fps = float(stream.average_rate or 24)
            head: list[Frame] = []
            tail: deque[Frame] = deque(maxlen=MAX_VIDEO_FRAMES)
            for i, vf in enumerate(container.decode(stream)):
                arr = np.asarray(vf.to_ndarray(format="rgb24"), dtype=np.uint8)
                if len(head) < MAX_VIDEO_FRAMES:
                    head.append(arr)
                tail.append(arr)
                if i > MAX_VIDEO_SECONDS * 120:
                    raise InputError(field, "video has too many frames")
    except InputError:
        raise
    except Exception:
        raise InputError(field, "not a readable video") from None
    if not head:
        raise InputError(field, "the video has no frames")
    return DecodedVideo(head=head, tail=list(tail), fps=fps)


def looks_like_video(data: bytes) -> bool:
    """Whether an upload is a video container (MP4/MOV, WebM/MKV, AVI) by its first bytes:
    a video sent in image_files is recognised by its content, not its name."""
    head = data[:16]
    return (
        head[4:8] == b"ftyp"  # ISO BMFF: MP4, MOV, M4V
        or head[:4] == b"\x1a\x45\xdf\xa3"  # Matroska / WebM
        or (head[:4] == b"RIFF" and head[8:12] == b"AVI ")
    )


def decode_driver(data: bytes, *, field: str | tuple[str | int, ...], max_pixels: int) -> Clip:
    """:func:`decode_driver_file` on bytes (checked at create, before anything is stored)."""
    with tempfile.NamedTemporaryFile(suffix=".video") as tmp:
        tmp.write(data)
        tmp.flush()
        return decode_driver_file(Path(tmp.name), field=field, max_pixels=max_pixels)


def decode_driver_file(
    path: Path,
    *,
    field: str | tuple[str | int, ...],
    max_pixels: int,
    max_seconds: float = MAX_DRIVER_SECONDS,
    long_side: int = DRIVER_LONG_SIDE,
) -> Clip:
    """Every frame of a driving video (downscaled to ``long_side``) and its sound, if any.

    Refused with the field named: unreadable, no frames, longer than ``max_seconds``."""
    frames: list[Frame] = []
    try:
        with av.open(str(path)) as container:
            stream, w, h, seconds = _checked_stream(container, field, max_pixels)
            if seconds > max_seconds + 0.05:
                limit = f"a driving video may last {max_seconds:.0f} s"
                raise InputError(field, f"{limit} (it lasts {seconds:.1f} s)")
            fps = float(stream.average_rate or 24)
            has_audio = bool(container.streams.audio)
            scale = min(1.0, long_side / max(w, h))
            size = (max(2, round(w * scale) // 2 * 2), max(2, round(h * scale) // 2 * 2))
            for vf in container.decode(stream):
                if scale < 1.0:
                    vf = vf.reformat(width=size[0], height=size[1])
                frames.append(np.ascontiguousarray(vf.to_ndarray(format="rgb24")))
                if len(frames) > (max_seconds + 1) * max(fps, 1.0):
                    raise InputError(field, f"a driving video may last {max_seconds:.0f} s")
    except InputError:
        raise
    except Exception:
        raise InputError(field, "not a readable video") from None
    if not frames:
        raise InputError(field, "the video has no frames")
    return Clip(frames=frames, fps=fps, audio=path.read_bytes() if has_audio else None)
