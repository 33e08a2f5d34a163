"""Hosted steps on faces and bodies: lip sync of a rendered video, character performance.

Both send videos, not just images, so they have their own requests beside
:class:`~kinora.engines.providers.base.ProviderRequest` (subclasses of it, so the shared
submit/poll/retry/deadline/download loop of :meth:`ProviderAdapter.generate` runs them
unchanged):

- :class:`LipSyncRequest`: a rendered video and the speech it should say, for fal's
  ``fal-ai/sync-lipsync`` (and its versions, e.g. ``fal-ai/sync-lipsync/v2``) and
  ``fal-ai/latentsync`` (inputs ``video_url`` and ``audio_url``; result ``video.url``, as every
  fal video model's), or Kling's ``/v1/videos/lip-sync``.
- :class:`PerformanceRequest`: a character image and a driving video, for Runway's
  character performance (``act_two``) and Kling's motion control.

Videos and audio travel inline as data URIs (fal and Runway take data URIs for file inputs;
a hosted model too big for that is a provider error, recorded as such).
"""

from __future__ import annotations

import base64
import io
import re
import tempfile
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from kinora.engines.base import EngineInputs, Frame, Render, RenderConfig
from kinora.engines.providers.base import ProviderEngine, ProviderRequest, data_uri, option_inputs
from kinora.engines.providers.fal import FalAdapter
from kinora.errors import RenderError
from kinora.video.encode import Mp4Writer
from kinora.video.fit import cover_fit

FAL_LIPSYNC_MODELS = re.compile(r"^fal-ai/(sync-lipsync(/[\w.-]+)?|latentsync)$")
"""fal's lip-sync endpoints Kinora knows the inputs of (``video_url`` + ``audio_url``)."""

FAL_ANIMATE_MODELS = re.compile(r"^fal-ai/wan/v2\.2-14b/animate/(move|replace)$")
"""Wan 2.2 Animate on fal: ``move`` makes the image's character perform the video's motion,
``replace`` puts the character into the video (inputs ``video_url`` + ``image_url``)."""

MAX_INLINE_VIDEO_BYTES = 64 << 20
"""A video sent inline larger than this is refused here rather than by the provider."""


@dataclass(frozen=True)
class LipSyncRequest(ProviderRequest):
    """Make the face in ``video`` speak ``audio`` (both data URIs)."""

    video: str = ""
    audio: str = ""


@dataclass(frozen=True)
class PerformanceRequest(ProviderRequest):
    """The character of ``images[0]`` performs the driving video ``reference`` (a data URI)."""

    reference: str = ""
    reference_seconds: float = 0.0


def video_data_uri(data: bytes) -> str:
    if len(data) > MAX_INLINE_VIDEO_BYTES:
        raise RenderError(f"the video is {len(data) >> 20} MB, more than can be sent inline")
    return "data:video/mp4;base64," + base64.b64encode(data).decode()


def wav_data_uri(samples: npt.NDArray[np.float32], rate: int) -> str:
    """16-bit mono WAV of ``samples`` (mono or stereo float in [-1, 1])."""
    data = np.asarray(samples, dtype=np.float32)
    mono = data.mean(axis=1) if data.ndim == 2 else data
    pcm = (np.clip(mono, -1.0, 1.0) * 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())
    return "data:audio/wav;base64," + base64.b64encode(buf.getvalue()).decode()


def clip_mp4(frames: Any, fps: float, *, long_side: int = 720) -> bytes:
    """A driving clip's frames as a small MP4 (what a provider's reference video input takes)."""
    first = frames[0]
    h, w = first.shape[:2]
    scale = min(1.0, long_side / max(h, w))
    ow, oh = max(16, round(w * scale) // 2 * 2), max(16, round(h * scale) // 2 * 2)
    with tempfile.TemporaryDirectory(prefix="kinora-driver-") as tmp:
        path = Path(tmp) / "driver.mp4"
        with Mp4Writer(path, width=ow, height=oh, fps=max(1, round(fps))) as writer:
            for frame in frames:
                writer.write(cover_fit(frame, ow, oh))
        return path.read_bytes()


def performance_request(inputs: EngineInputs, config: RenderConfig) -> PerformanceRequest:
    """The character image and the driving video of a character_animate render."""
    driver = inputs.driver
    if driver is None or not driver.frames:
        raise RenderError("character performance needs a driving video")
    if not inputs.images:
        raise RenderError("character performance needs a character image")
    return PerformanceRequest(
        prompt=inputs.prompt or config.prompt,
        images=[data_uri(inputs.images[0])],
        duration=driver.seconds,
        aspect_ratio="",
        width=config.width,
        height=config.height,
        seed=config.seed,
        reference=video_data_uri(clip_mp4(driver.frames, driver.fps)),
        reference_seconds=driver.seconds,
    )


def performance_render(
    engine: ProviderEngine, inputs: EngineInputs, config: RenderConfig
) -> Render:
    """A hosted engine's character performance: the character and the driving video to its
    adapter, the provider's video retimed to the render (the driver's length)."""
    out = Render(iter(()))

    def frames() -> Iterator[Frame]:
        result = engine.adapter.generate(performance_request(inputs, config))
        out.metadata["provider"] = result.metadata()
        out.version = engine.version_of([result])
        yield from engine._retimed(result, config)

    out.frames = frames()
    return out


def fal_animate_inputs(request: PerformanceRequest, options: dict[str, str]) -> dict[str, Any]:
    """Wan animate's inputs on fal: the driving video, the character image, the seed."""
    data: dict[str, Any] = {
        "video_url": request.reference,
        "image_url": request.images[0],
        "seed": request.seed,
    }
    data.update(option_inputs(options))
    return data


class FalLipSyncAdapter(FalAdapter):
    """fal's queue API for its lip-sync endpoints (the queue protocol is :class:`FalAdapter`'s)."""

    def inputs(self, request: ProviderRequest) -> dict[str, Any]:
        if not isinstance(request, LipSyncRequest):
            raise RenderError(f"fal: {self.model} is a lip-sync model; it takes a video and audio")
        data: dict[str, Any] = {"video_url": request.video, "audio_url": request.audio}
        if "latentsync" in self.model:
            data["seed"] = request.seed
        data.update(option_inputs(self.options))
        return data


class FalAnimateAdapter(FalAdapter):
    """fal's queue API for Wan's animate endpoints (``fal-ai/wan/v2.2-14b/animate/move``)."""

    def honoured(self, config: RenderConfig | None = None) -> frozenset[str]:
        fixed = self.fixed_inputs()
        return frozenset({"character_animate"} | ({"seed"} if "seed" not in fixed else set()))

    def inputs(self, request: ProviderRequest) -> dict[str, Any]:
        if not isinstance(request, PerformanceRequest):
            raise RenderError(f"fal: {self.model} needs a character image and a driving video")
        return fal_animate_inputs(request, self.options)
