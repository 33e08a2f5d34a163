"""Helpers shared by the audio tests: encode test signals the way a user's upload would be."""

from __future__ import annotations

import io

import av
import numpy as np
import numpy.typing as npt


def encode(samples: npt.NDArray[np.float32], *, rate: int, fmt: str) -> bytes:
    """Encode (n, 2) float audio as a WAV or MP3 file in memory."""
    buf = io.BytesIO()
    codec = {"wav": "pcm_s16le", "mp3": "libmp3lame"}[fmt]
    with av.open(buf, mode="w", format=fmt) as out:
        stream = out.add_stream(codec, rate=rate, layout="stereo")
        pcm = (np.clip(samples, -1, 1) * 32767).astype(np.int16)
        frame_size = 1152
        for start in range(0, len(pcm), frame_size):
            chunk = np.ascontiguousarray(pcm[start : start + frame_size].reshape(1, -1))
            frame = av.AudioFrame.from_ndarray(chunk, format="s16", layout="stereo")
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()


def tone(seconds: float, *, rate: int = 44100, freq: float = 220.0) -> npt.NDArray[np.float32]:
    t = np.arange(int(seconds * rate)) / rate
    x = 0.5 * np.sin(2 * np.pi * freq * t)
    return np.stack([x, x], axis=1).astype(np.float32)
