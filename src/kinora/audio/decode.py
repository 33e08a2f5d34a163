"""Decode user audio (narration_url, bg_music_url) into 48 kHz stereo float32."""

from __future__ import annotations

import io

import av
import numpy as np
import numpy.typing as npt

from kinora.errors import RenderError

MAX_DECODED_SECONDS = 600.0


def decode_audio(data: bytes, *, rate: int = 48000, what: str = "audio") -> npt.NDArray[np.float32]:
    """Decode MP3/WAV (anything FFmpeg reads) to an (n, 2) float32 array at ``rate``.

    Raises RenderError with a readable message: the bytes came from a user URL, so a bad file
    is a user-facing failure, not a crash.
    """
    if not data:
        raise RenderError(f"{what}: the file is empty")
    chunks: list[npt.NDArray[np.float32]] = []
    limit = int(MAX_DECODED_SECONDS * rate)
    total = 0
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.audio:
                raise RenderError(f"{what}: the file has no audio stream")
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="fltp", layout="stereo", rate=rate)
            for frame in container.decode(stream):
                for piece in resampler.resample(frame):
                    chunks.append(piece.to_ndarray().astype(np.float32, copy=False))
                    total += chunks[-1].shape[1]
                if total > limit:
                    break
            for piece in resampler.resample(None):
                chunks.append(piece.to_ndarray().astype(np.float32, copy=False))
    except RenderError:
        raise
    except (av.FFmpegError, ValueError, OSError) as exc:
        raise RenderError(f"{what}: cannot decode the file as MP3 or WAV audio ({exc})") from exc
    if not chunks:
        raise RenderError(f"{what}: the file decodes to no audio samples")
    planar = np.concatenate(chunks, axis=1)[:, :limit]
    out = np.ascontiguousarray(planar.T, dtype=np.float32)
    if out.shape[0] == 0:
        raise RenderError(f"{what}: the file decodes to no audio samples")
    if not np.all(np.isfinite(out)):
        out = np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)
    return out
