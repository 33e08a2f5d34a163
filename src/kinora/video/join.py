"""One video followed by another, as one MP4: what an extension's result is (the media's
previous video, then the seconds the extension rendered from its last frame).

The pictures are not encoded again when both videos come from Kinora's own writer at the same
size and frame rate (the same x264 settings give the same parameter sets): the second's
packets are copied after the first's, so joining costs a copy, not an encode. Otherwise both
are decoded and encoded once more. The sound is always decoded and encoded again as one track
(a video without sound contributes silence for its length), so the join has no gap or click.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt

from kinora.video.encode import AUDIO_RATE, Mp4Writer, iter_frames, mux_audio, read_audio


def _video_stream(container: Any) -> Any:
    return container.streams.video[0]


def _frame_count(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.demux(video=0) if _.size)


def _soundtrack(parts: list[tuple[Path, int]], fps: int) -> npt.NDArray[np.float32] | None:
    """Both parts' sound end to end (silence for a part without), each cut or padded to its
    own frames' length; None when neither has sound."""
    tracks = [read_audio(path) for path, _ in parts]
    if all(t is None for t in tracks):
        return None
    pieces = []
    for (_, frames), track in zip(parts, tracks, strict=True):
        n = round(frames * AUDIO_RATE / fps)
        samples = np.zeros((n, 2), np.float32)
        if track is not None:
            got = track[0][:n]
            samples[: len(got)] = got
        pieces.append(samples)
    # 10 ms crossfade-free splice: the second part's first samples ramp in from the first's
    # last value, so a step in the waveform does not click.
    joined = np.concatenate(pieces)
    seam = len(pieces[0])
    ramp = min(480, len(pieces[1]))
    if seam and ramp:
        start = joined[seam - 1].copy()
        weights = np.linspace(1.0, 0.0, ramp, dtype=np.float32)[:, None]
        joined[seam : seam + ramp] += (start - joined[seam]) * weights
    return joined


def _same_pictures(first: Path, second: Path) -> bool:
    with av.open(str(first)) as a, av.open(str(second)) as b:
        va, vb = _video_stream(a), _video_stream(b)
        ca, cb = va.codec_context, vb.codec_context
        return bool(
            ca.name == cb.name == "h264"
            and (ca.width, ca.height) == (cb.width, cb.height)
            and va.average_rate == vb.average_rate
            and bytes(ca.extradata or b"") == bytes(cb.extradata or b"")
        )


def join_videos(first: Path, second: Path, out: Path, *, fps: int) -> int:
    """Write ``first`` then ``second`` to ``out``; returns the frames written."""
    frames = [_frame_count(first), _frame_count(second)]
    audio = _soundtrack([(first, frames[0]), (second, frames[1])], fps)
    if not _same_pictures(first, second):
        with av.open(str(first)) as probe_first:
            ctx = _video_stream(probe_first).codec_context
            width, height = ctx.width, ctx.height
        with Mp4Writer(out, width=width, height=height, fps=fps, audio=audio) as writer:
            for path in (first, second):
                for frame in iter_frames(path):
                    writer.write(frame)
        return writer.frames_written
    container: Any = av.open(str(out), mode="w", format="mp4", options={"movflags": "+faststart"})
    try:
        with av.open(str(first)) as source:
            stream = container.add_stream_from_template(_video_stream(source))
        astream: Any = None
        if audio is not None:  # every stream is declared before the first packet
            astream = container.add_stream("aac", rate=AUDIO_RATE, layout="stereo")
            astream.bit_rate = 160_000
        offset = 0  # frames of the parts before
        for path, count in zip((first, second), frames, strict=True):
            with av.open(str(path)) as source:
                vin = _video_stream(source)
                shift = int(Fraction(offset, fps) / vin.time_base)
                for packet in source.demux(vin):
                    if packet.dts is None:
                        continue  # the demuxer's flush packet
                    packet.pts = (packet.pts if packet.pts is not None else packet.dts) + shift
                    packet.dts = packet.dts + shift
                    packet.stream = stream
                    container.mux(packet)
            offset += count
        if astream is not None and audio is not None:
            mux_audio(container, astream, audio)
    finally:
        container.close()
    return sum(frames)
