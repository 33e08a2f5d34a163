"""Where a picture's subject is, as a point to frame crops, zooms and reveals around.

Two estimates, for two situations: with a subject mask (the one-image engine segments its
photo) the centre comes from the mask; without one (the two-image engine's pairs) it comes
from spectral-residual saliency, which needs no model. Both return relative (x, y) in [0, 1]
of the image, and the image centre when there is nothing to go on.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from kinora.video.frames import Frame


def subject_centre_of_mask(
    mask: npt.NDArray[np.float32], *, threshold: float = 0.5
) -> tuple[float, float]:
    """Relative (x, y) to centre a cover crop on: the subject's centroid, pulled towards its top
    (faces and heads matter more than feet); the image centre when there is no subject."""
    h, w = mask.shape[:2]
    binary = mask > threshold
    area = float(binary.mean())
    if area < 0.005 or area > 0.92:
        return (0.5, 0.5)
    ys, xs = np.nonzero(binary)
    cx, cy = float(xs.mean()), float(ys.mean())
    cy = cy + 0.3 * (float(ys.min()) - cy)
    return ((cx + 0.5) / w, (cy + 0.5) / h)


def salient_centre(image: Frame) -> tuple[float, float]:
    """Relative (x, y) of the most salient region of an RGB image (spectral residual saliency).

    Cheap and model-free; pulled a third of the way toward the centre so an odd saliency peak
    on the border cannot push a zoom or reveal into a corner.
    """
    small = cv2.resize(
        cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), (64, 64), interpolation=cv2.INTER_AREA
    )
    spec = np.fft.fft2(small.astype(np.float32))
    log_amp = np.log(np.abs(spec) + 1e-6)
    residual = log_amp - cv2.blur(log_amp.astype(np.float32), (3, 3))
    sal = np.abs(np.fft.ifft2(np.exp(residual + 1j * np.angle(spec)))) ** 2
    sal = cv2.GaussianBlur(sal.astype(np.float32), (0, 0), 3.0)
    sal = np.maximum(sal - np.quantile(sal, 0.8), 0.0)
    total = float(sal.sum())
    if total <= 0:
        return 0.5, 0.5
    ys, xs = np.mgrid[0:64, 0:64]
    cx = float((sal * (xs + 0.5)).sum() / total / 64)
    cy = float((sal * (ys + 0.5)).sum() / total / 64)
    return 0.5 + (cx - 0.5) * 0.67, 0.5 + (cy - 0.5) * 0.67
