"""A finished MP4 in the other forms editors ask for: WebM (VP9 + Opus), a PNG sequence in a
zip, and versions with a transparent background (VP9 with alpha in WebM, ProRes 4444 in MOV).

Each reads the MP4 (its frames and its sound) and writes one file; the transparent forms take
the subject's alpha per frame from the caller (``kinora.pipeline.mattes`` renders it again from
the stored render spec), so the colours are exactly the video's, lip sync included.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import numpy.typing as npt

from kinora.video.encode import AUDIO_RATE, iter_frames, mux_audio, probe, read_audio
from kinora.video.frames import Frame

Matte = npt.NDArray[np.uint8]
"""One frame's alpha: height x width, 255 opaque."""

VP9_OPTIONS = {"deadline": "realtime", "cpu-used": "8", "row-mt": "1", "crf": "30", "b": "0"}
"""libvpx-vp9 at its fast settings, quality by CRF (``b=0``): a 5 s 720p clip in a few seconds
on two cores (``deadline=good`` is about ten times slower for a little less size)."""


def write_webm(src: Path | str, dst: Path | str) -> None:
    """VP9 video and Opus sound in WebM."""
    _write(src, dst, container="webm", codec="libvpx-vp9", pix_fmt="yuv420p", mattes=None)


def write_webm_alpha(src: Path | str, dst: Path | str, mattes: Iterable[Matte]) -> None:
    """VP9 with an alpha channel (``yuva420p``; players that ignore alpha show the video)."""
    _write(src, dst, container="webm", codec="libvpx-vp9", pix_fmt="yuva420p", mattes=mattes)


def write_mov_alpha(src: Path | str, dst: Path | str, mattes: Iterable[Matte]) -> None:
    """ProRes 4444 with alpha and 16-bit PCM sound in MOV, the form editing suites import."""
    _write(src, dst, container="mov", codec="prores_ks", pix_fmt="yuva444p10le", mattes=mattes)


def write_png_zip(src: Path | str, dst: Path | str) -> None:
    """Every frame as a PNG (``frame_00001.png`` ...), stored uncompressed in a zip: PNG is
    compressed already."""
    with zipfile.ZipFile(dst, "w", compression=zipfile.ZIP_STORED) as archive:
        count = 0
        for index, frame in enumerate(iter_frames(src), start=1):
            ok, data = cv2.imencode(
                ".png", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 1]
            )
            if not ok:
                raise ValueError(f"frame {index} could not be written as PNG")
            archive.writestr(f"frame_{index:05d}.png", data.tobytes())
            count = index
        if count == 0:
            raise ValueError("no frames to write")


def _write(
    src: Path | str,
    dst: Path | str,
    *,
    container: str,
    codec: str,
    pix_fmt: str,
    mattes: Iterable[Matte] | None,
) -> None:
    info = probe(src)
    width, height = int(info["width"]), int(info["height"])
    fps = round(info["fps"] or 24)
    sound = read_audio(src) if "audio_codec" in info else None
    alphas: Iterator[Matte] | None = iter(mattes) if mattes is not None else None
    out: Any = av.open(str(dst), mode="w", format=container)
    try:
        video: Any = out.add_stream(codec, rate=fps)
        video.width, video.height, video.pix_fmt = width, height, pix_fmt
        video.time_base = Fraction(1, fps)
        if codec == "libvpx-vp9":
            video.options = dict(VP9_OPTIONS)
        else:
            video.options = {"profile": "4", "vendor": "apl0", "bits_per_mb": "4000"}
        audio: Any = None
        if sound is not None:
            audio = out.add_stream(
                "libopus" if container == "webm" else "pcm_s16le", rate=AUDIO_RATE
            )
            audio.layout = "stereo"
        for index, frame in enumerate(iter_frames(src)):
            if alphas is not None:
                matte = next(alphas, None)
                if matte is None or matte.shape != (height, width):
                    raise ValueError("the subject's alpha does not match the video's frames")
                vf = av.VideoFrame.from_ndarray(np.dstack((frame, matte)), format="rgba")
            else:
                vf = av.VideoFrame.from_ndarray(frame, format="rgb24")
            vf.pts = index
            for packet in video.encode(vf):
                out.mux(packet)
        for packet in video.encode(None):
            out.mux(packet)
        if audio is not None and sound is not None:
            _encode_sound(out, audio, sound[0])
    finally:
        out.close()


def _encode_sound(out: Any, stream: Any, samples: npt.NDArray[np.float32]) -> None:
    fmt = "fltp" if stream.codec_context.name == "libopus" else "s16p"
    mux_audio(out, stream, samples, sample_format=fmt, chunk=960)  # one Opus frame at 48 kHz


def first_frames_rgba(path: Path | str, *, frames: int = 1) -> list[Frame]:
    """The first ``frames`` frames of a video with their alpha, as RGBA (the transparent
    forms' check; VP9's alpha is read with libvpx's decoder, FFmpeg's own drops it)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        decoder: Any = (
            av.CodecContext.create("libvpx-vp9", "r")
            if stream.codec_context.name == "vp9"
            else stream.codec_context
        )
        got: list[Frame] = []
        for packet in container.demux(stream):
            for vf in decoder.decode(packet):
                got.append(np.asarray(vf.to_ndarray(format="rgba"), np.uint8))
                if len(got) >= frames:
                    return got
        return got
