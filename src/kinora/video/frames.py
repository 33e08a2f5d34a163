"""The frame type every layer passes around (defined here, at the bottom, so that inputs,
video and engines can all name it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Frame = npt.NDArray[np.uint8]
"""An RGB frame, shape (height, width, 3), dtype uint8, C-contiguous."""


@dataclass(frozen=True)
class Clip:
    """Decoded frames of a video input at its own frame rate (a lead-in or lead-out spliced
    around the motion, or a driving video that an engine follows)."""

    frames: Sequence[Frame]
    fps: float
    audio: bytes | None = None
    """The video's own sound, as an encoded file (None: it had none or it was not kept)."""

    @property
    def seconds(self) -> float:
        return len(self.frames) / max(self.fps, 1e-6)
