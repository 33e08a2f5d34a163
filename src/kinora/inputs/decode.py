"""Decode untrusted image and video bytes, refusing what is corrupt, unknown or too large."""

from __future__ import annotations

import io
import tempfile
import warnings
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageOps

from kinora.errors import InputError
from kinora.video.frames import Frame

IMAGE_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp", "GIF": "image/gif"}
MAX_VIDEO_SECONDS = 60.0
MAX_VIDEO_FRAMES = 24 * 10


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


def decode_video_file(
    path: Path, *, field: str | tuple[str | int, ...], max_pixels: int
) -> DecodedVideo:
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise InputError(field, "the file has no video stream")
            stream = container.streams.video[0]
            w, h = stream.codec_context.width, stream.codec_context.height
            if w * h > max_pixels or w < 16 or h < 16:
                raise InputError(field, f"video frame size {w}x{h} is not accepted")
            seconds = (container.duration or 0) / 1_000_000
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
