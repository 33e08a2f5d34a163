"""The frame type every layer passes around (defined here, at the bottom, so that inputs,
video and engines can all name it)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Frame = npt.NDArray[np.uint8]
"""An RGB frame, shape (height, width, 3), dtype uint8, C-contiguous."""
