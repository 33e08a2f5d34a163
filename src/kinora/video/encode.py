"""Encoding with PyAV: H.264/AAC MP4 (faststart), GIF and JPEG thumbnails.

Streams are flushed and containers closed explicitly: a file is complete only after ``close``,
so writers work on a temporary name and the caller moves the finished file into place.
"""

from __future__ import annotations

import contextlib
import math
import os
import queue
import sys
import threading
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Any

import av
import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image

from kinora.video.colour import rgb_to_i420
from kinora.video.frames import Frame

AUDIO_RATE = 48_000
ENCODER_NICENESS = 10
"""Default niceness added to the encoder thread (measured in bench/bench_text.py: renders slower
than the encoder, streamed into it, finish 5-10 % sooner on two cores than at equal priority;
engines faster than the encoder ask for 0, see ``MotionEngine.encoder_niceness``)."""


def mux_audio(
    container: Any,
    stream: Any,
    samples: npt.NDArray[np.float32],
    *,
    rate: int = AUDIO_RATE,
    sample_format: str = "fltp",
    chunk: int = 1024,
) -> None:
    """Encode a whole (samples, channels) float track into ``stream`` and mux it, flushing
    the encoder (``sample_format`` s16p: scaled to 16 bits, as FLAC and PCM codecs take)."""
    layout = "mono" if samples.shape[1] == 1 else "stereo"
    planar = np.ascontiguousarray(np.clip(samples, -1, 1).T)
    if sample_format == "s16p":
        planar = np.ascontiguousarray((planar * 32767).astype(np.int16))
    for start in range(0, planar.shape[1], chunk):
        part = np.ascontiguousarray(planar[:, start : start + chunk])
        af = av.AudioFrame.from_ndarray(part, format=sample_format, layout=layout)
        af.sample_rate = rate
        af.pts = start
        for packet in stream.encode(af):
            container.mux(packet)
    for packet in stream.encode(None):
        container.mux(packet)


def _i420_frame(buffer: Frame, height: int) -> Any:
    """A yuv420p VideoFrame of an I420 buffer, borrowing it where PyAV can.

    PyAV's ``from_numpy_buffer`` takes the height as rows // 6 * 4: for a height that is
    not a multiple of 4 (270, a 480-wide 16:9) it drops two rows and shifts the chroma
    planes (garbage on the top rows), so those heights go through ``from_ndarray`` (a copy).
    """
    if height % 4 == 0:
        return av.VideoFrame.from_numpy_buffer(buffer, format="yuv420p")
    return av.VideoFrame.from_ndarray(np.ascontiguousarray(buffer), format="yuv420p")


class Mp4Writer:
    """Writes RGB or I420 frames (and optionally a mono/stereo float track) to an H.264 MP4.

    Encoding runs on a background thread fed by a short queue, so an engine renders frame
    n+1 while x264 encodes frame n (both release the GIL); that thread runs at a lower
    priority, so the render (the critical path) gets the cores first. Frames are copied into encoder
    buffers before ``write`` returns, so engines may reuse their arrays.
    """

    def __init__(
        self,
        path: Path | str,
        *,
        width: int,
        height: int,
        fps: int = 24,
        crf: int = 20,
        preset: str = "veryfast",
        bit_rate: int | None = None,
        audio: npt.NDArray[np.float32] | None = None,
        audio_rate: int = AUDIO_RATE,
        threaded: bool = True,
        niceness: int = ENCODER_NICENESS,
    ) -> None:
        self.path = Path(path)
        self.width, self.height, self.fps = width, height, fps
        self._container: Any = av.open(
            str(self.path), mode="w", format="mp4", options={"movflags": "+faststart"}
        )
        stream: Any = self._container.add_stream("libx264", rate=fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        opts = {"preset": preset}
        if bit_rate:
            stream.bit_rate = bit_rate
            opts["maxrate"] = str(bit_rate)
            opts["bufsize"] = str(bit_rate * 2)
        else:
            opts["crf"] = str(crf)
        stream.options = opts
        # Frame threads, as the ffmpeg CLI uses: PyAV's default (slice threads) costs more CPU
        # per frame and compresses a little worse.
        stream.codec_context.thread_type = "FRAME"
        stream.time_base = Fraction(1, fps)
        self._video = stream
        self._audio: Any = None
        self._audio_data: npt.NDArray[np.float32] | None = None
        self._audio_rate = audio_rate
        if audio is not None:
            data = np.asarray(audio, dtype=np.float32)
            self._audio_data = data[:, None] if data.ndim == 1 else data
            layout = "mono" if self._audio_data.shape[1] == 1 else "stereo"
            astream: Any = self._container.add_stream("aac", rate=audio_rate, layout=layout)
            astream.bit_rate = 160_000
            self._audio = astream
        self.frames_written = 0
        self._queue: queue.Queue[Any] | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._niceness = niceness
        if threaded:
            self._queue = queue.Queue(maxsize=6)
            self._thread = threading.Thread(target=self._encode_loop, daemon=True)
            self._thread.start()

    def write(self, frame: Frame) -> None:
        if frame.shape != (self.height, self.width, 3):
            raise ValueError(f"frame shape {frame.shape} != {(self.height, self.width, 3)}")
        self._submit(frame)

    def write_i420(self, frame: Frame) -> None:
        """Write a frame already in the encoder's I420 (see ``render.colour``): no conversion."""
        if frame.shape != (self.height * 3 // 2, self.width) or self.height % 2 or self.width % 2:
            raise ValueError(
                f"I420 frame shape {frame.shape} != {(self.height * 3 // 2, self.width)}"
            )
        self._submit(frame)

    def _submit(self, frame: Frame) -> None:
        if self._error is not None:
            raise self._error
        index = self.frames_written
        self.frames_written += 1
        if self._queue is not None:
            # A copy: engines may reuse their arrays; any conversion runs on the encoder thread.
            self._queue.put((index, np.array(frame, dtype=np.uint8, copy=True)))
        else:
            self._encode(self._video_frame(index, frame))

    def _video_frame(self, index: int, frame: Frame) -> Any:
        # The writer owns these arrays (copies or conversions): the frame can borrow them.
        if frame.ndim == 2:
            vf = _i420_frame(frame, self.height)
        elif self.width % 2 == 0 and self.height % 2 == 0:
            vf = _i420_frame(rgb_to_i420(frame), self.height)
        else:
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
        vf.pts = index
        return vf

    def _encode(self, vf: Any) -> None:
        for packet in self._video.encode(vf):
            self._container.mux(packet)

    def _encode_loop(self) -> None:
        assert self._queue is not None
        # Behind the renderer: the engine's thread is the critical path, and x264's own
        # threads (started from this one on the first frame) inherit this niceness.
        if sys.platform == "linux" and self._niceness:
            with contextlib.suppress(OSError):
                tid = threading.get_native_id()
                nice = os.getpriority(os.PRIO_PROCESS, tid) + self._niceness
                os.setpriority(os.PRIO_PROCESS, tid, min(19, nice))
        while True:
            item = self._queue.get()
            if item is None:
                return
            if self._error is not None:
                continue  # drain, so writers never block on a dead encoder
            try:
                self._encode(self._video_frame(*item))
            except BaseException as exc:
                self._error = exc

    def _stop_thread(self) -> None:
        if self._thread is not None and self._queue is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def write_all(self, frames: Iterable[Frame]) -> None:
        for frame in frames:
            self.write(frame)

    def _encode_audio(self) -> None:
        """Encode the whole audio track (muxed after the video; MP4 needs no interleaving)."""
        assert self._audio is not None and self._audio_data is not None
        mux_audio(self._container, self._audio, self._audio_data, rate=self._audio_rate)

    def close(self) -> None:
        if self._container is None:
            return
        try:
            self._stop_thread()
            if self._error is not None:
                raise self._error
            for packet in self._video.encode(None):
                self._container.mux(packet)
            if self._audio is not None:
                self._encode_audio()
        finally:
            self._container.close()
            self._container = None

    def __enter__(self) -> Mp4Writer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def read_frames(path: Path | str, *, max_frames: int | None = None) -> list[Frame]:
    """Decode a video's frames as RGB arrays (for tests, inputs and renditions)."""
    frames: list[Frame] = []
    with av.open(str(path)) as container:
        for vf in container.decode(video=0):
            frames.append(np.asarray(vf.to_ndarray(format="rgb24"), dtype=np.uint8))
            if max_frames is not None and len(frames) >= max_frames:
                break
    return frames


def last_frame(path: Path | str) -> Frame:
    """A video's last frame: decoded through on the decoder's threads, only the last one
    converted to RGB."""
    last: Any = None
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for vf in container.decode(stream):
            last = vf
    if last is None:
        raise ValueError(f"{path} has no frames")
    return np.asarray(last.to_ndarray(format="rgb24"), dtype=np.uint8)


def iter_frames(path: Path | str) -> Iterable[Frame]:
    with av.open(str(path)) as container:
        for vf in container.decode(video=0):
            yield np.asarray(vf.to_ndarray(format="rgb24"), dtype=np.uint8)


def probe(path: Path | str) -> dict[str, Any]:
    """Width, height, fps, frame count, duration and codecs of a media file."""
    with av.open(str(path)) as container:
        info: dict[str, Any] = {"duration": (container.duration or 0) / 1_000_000}
        if container.streams.video:
            v = container.streams.video[0]
            info.update(
                width=v.codec_context.width,
                height=v.codec_context.height,
                fps=float(v.average_rate or 0),
                frames=v.frames,
                video_codec=v.codec_context.name,
                pix_fmt=v.codec_context.pix_fmt,
            )
        if container.streams.audio:
            a = container.streams.audio[0]
            info.update(audio_codec=a.codec_context.name, sample_rate=a.codec_context.sample_rate)
    return info


def write_frame_png(frame: Frame, path: Path | str) -> None:
    """A frame as a losslessly kept PNG, quickly (zlib level 1)."""
    ok = cv2.imwrite(
        str(path), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 1]
    )
    if not ok:
        raise OSError(f"cannot write {path}")


def write_thumbnail(frame: Frame, path: Path | str, *, max_side: int = 640) -> None:
    h, w = frame.shape[:2]
    scale = min(1.0, max_side / max(h, w))
    img = Image.fromarray(frame)
    if scale < 1:
        img = img.resize((round(w * scale), round(h * scale)), Image.Resampling.LANCZOS)
    img.save(str(path), format="JPEG", quality=88)


def transcode_mp4(
    src: Path | str,
    dst: Path | str,
    *,
    width: int | None = None,
    max_megabytes: float | None = None,
) -> None:
    """Re-encode an MP4 scaled to ``width`` and/or to at most ``max_megabytes`` (audio kept).

    Rate control overshoots on short clips, so a size target is met by re-encoding at a lower
    bit rate (and, when the rate gets very low, a smaller size) until the file fits.
    """
    info = probe(src)
    sw = int(info["width"])
    tw = min(sw, width) if width else sw
    audio = read_audio(src) if "audio_codec" in info else None
    if not max_megabytes:
        _transcode_once(src, dst, info=info, width=tw, bit_rate=None, audio=audio)
        return
    seconds = max(float(info["duration"]), 0.1)
    budget = max_megabytes * 1024 * 1024
    audio_bits = 160_000 * seconds if audio is not None else 0
    bit_rate = max(20_000, int((budget * 8 * 0.9 - audio_bits) / seconds))
    for _attempt in range(8):
        _transcode_once(src, dst, info=info, width=tw, bit_rate=bit_rate, audio=audio)
        size = Path(dst).stat().st_size
        if size <= budget:
            return
        bit_rate = max(10_000, int(bit_rate * budget / size * 0.85))
        if bit_rate < 0.05 * tw * tw:  # too few bits for this size: make it smaller too
            tw = max(32, int(tw * 0.75))
    raise ValueError(f"cannot fit the video into {max_megabytes} MB")


def _transcode_once(
    src: Path | str,
    dst: Path | str,
    *,
    info: dict[str, Any],
    width: int,
    bit_rate: int | None,
    audio: tuple[npt.NDArray[np.float32], int] | None,
) -> None:
    sw, sh = int(info["width"]), int(info["height"])
    tw = max(2, width - width % 2)
    th = max(2, round(sh * tw / sw / 2) * 2)
    with Mp4Writer(
        dst,
        width=tw,
        height=th,
        fps=round(info["fps"] or 24),
        bit_rate=bit_rate,
        audio=audio[0] if audio else None,
        audio_rate=audio[1] if audio else AUDIO_RATE,
    ) as w:
        for frame in iter_frames(src):
            if (tw, th) != (sw, sh):
                frame = np.asarray(
                    cv2.resize(frame, (tw, th), interpolation=cv2.INTER_AREA), np.uint8
                )
            w.write(frame)


def read_audio(path: Path | str) -> tuple[npt.NDArray[np.float32], int] | None:
    chunks: list[npt.NDArray[np.float32]] = []
    rate = AUDIO_RATE
    with av.open(str(path)) as container:
        if not container.streams.audio:
            return None
        resampler = av.AudioResampler(format="flt", layout="stereo", rate=AUDIO_RATE)
        for af in container.decode(audio=0):
            for out in resampler.resample(af):
                chunks.append(np.asarray(out.to_ndarray(), np.float32).reshape(-1, 2))
        for out in resampler.resample(None):
            chunks.append(np.asarray(out.to_ndarray(), np.float32).reshape(-1, 2))
    if not chunks:
        return None
    return np.concatenate(chunks).astype(np.float32), rate


def write_gif(src: Path | str, dst: Path | str, *, width: int = 480, fps: int = 12) -> None:
    """An animated GIF rendition of an MP4 (palette per frame via Pillow, looping forever)."""
    info = probe(src)
    step = max(1.0, float(info["fps"] or 24) / fps)
    sw, sh = int(info["width"]), int(info["height"])
    tw = min(width, sw)
    th = max(2, round(sh * tw / sw))
    images: list[Image.Image] = []
    next_pick = 0.0
    for i, frame in enumerate(iter_frames(src)):
        if i + 1e-6 < next_pick:
            continue
        next_pick += step
        small = cv2.resize(frame, (tw, th), interpolation=cv2.INTER_AREA)
        images.append(Image.fromarray(small).quantize(colors=256, method=Image.Quantize.MEDIANCUT))
    if not images:
        raise ValueError("no frames to write")
    images[0].save(
        str(dst),
        format="GIF",
        save_all=True,
        append_images=images[1:],
        duration=max(20, math.floor(1000 / fps)),
        loop=0,
        optimize=False,
    )
