"""A spec's stored inputs, decoded for the engines: images, video lead-in/out, audio files.

Shared by the worker (files from storage) and ``kinora render`` (files on disk), so both see
the same pixels for the same inputs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from kinora.engines.base import EngineInputs, Frame
from kinora.inputs.decode import decode_driver_file, decode_image, decode_video_file
from kinora.pipeline.render import Clip
from kinora.spec import GenerationSpec
from kinora.video.encode import last_frame
from kinora.video.trim import trim_borders


@dataclass
class DecodedInputs:
    inputs: EngineInputs
    lead_in: Clip | None = None
    """Frames of a First video, played before the motion (which starts at its last frame)."""
    lead_out: Clip | None = None
    """Frames of a Last video, played after the motion (which ends at its first frame)."""
    audio_files: dict[str, bytes] = field(default_factory=dict)
    """Narration and music files by role ("narration", "music")."""


def decode_inputs(
    spec: GenerationSpec, local_path: Callable[[str], Path], *, max_pixels: int
) -> DecodedInputs:
    """Decode every input of ``spec``; ``local_path`` maps a stored key to a readable file.

    With character_animate, a video beside an image is the driving video the character
    follows (``EngineInputs.driver``), not a lead-in or lead-out."""
    first: Frame | None = None
    last: Frame | None = None
    decoded = DecodedInputs(inputs=EngineInputs(prompt=spec.prompt))
    has_image = any(item.kind == "image" for item in spec.inputs)
    if spec.keyframed:
        # keyframes: every image in order, each with its time (they are all images)
        images = [_picture(local_path(v.key), max_pixels) for v in spec.visuals]
        decoded.inputs.images = images
        # as shares of the motion's length, so a length set by narration keeps them in place
        length = float(spec.duration)
        decoded.inputs.keyframes = tuple(
            ((v.at or 0.0) / length, v.hold / length) for v in spec.visuals
        )
        for item in spec.inputs:
            if item.kind == "audio":
                decoded.audio_files[item.position] = local_path(item.key).read_bytes()
        return decoded
    for item in spec.inputs:
        path = local_path(item.key)
        if item.kind == "audio":
            decoded.audio_files[item.position] = path.read_bytes()
        elif item.kind == "video" and spec.character_animate and has_image:
            decoded.inputs.driver = decode_driver_file(
                path, field="media_items", max_pixels=max_pixels
            )
        elif item.kind == "video":
            video = decode_video_file(path, field="media_items", max_pixels=max_pixels)
            if item.position == "First":
                first, decoded.lead_in = video.last, Clip(frames=video.tail, fps=video.fps)
            else:
                last, decoded.lead_out = video.first, Clip(frames=video.head, fps=video.fps)
        else:
            pixels = _picture(path, max_pixels)
            if item.position == "First":
                first = pixels
            else:
                last = pixels
    if spec.extends is not None and first is None:
        # An extension continues from the last frame it follows (kept beside the video as
        # a PNG; older videos are decoded through).
        extends = spec.extends
        first = (
            decode_image(
                local_path(extends.last_frame).read_bytes(), field="media_id", max_pixels=max_pixels
            ).pixels
            if extends.last_frame
            else last_frame(local_path(extends.key))
        )
    decoded.inputs.images = [img for img in (first, last) if img is not None]
    return decoded


def _picture(path: Path, max_pixels: int) -> Frame:
    # Black mats, letterbox bars and stitching wedges are not part of the picture.
    return trim_borders(
        decode_image(path.read_bytes(), field="image_files", max_pixels=max_pixels).pixels
    )
