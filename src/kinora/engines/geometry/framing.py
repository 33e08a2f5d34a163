"""Where a picture's subject is, as a point to frame crops, zooms and reveals around.

Two estimates, for two situations: with a subject mask (the one-image engine segments its
photo) the centre comes from the mask, and with the crop's size it keeps the subject whole
(:func:`subject_frame_centre`); without one (the two-image engine's pairs) it comes from
spectral-residual saliency, which needs no model. Both return relative (x, y) in [0, 1]
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


FRAME_PAD = 0.06
"""Room kept between a subject that fits and the crop's sides, as a share of the crop: the
camera's moves (and the zoom that hides borders) take about that much from each side."""


def subject_frame_centre(
    mask: npt.NDArray[np.float32],
    *,
    crop: tuple[float, float],
    face: tuple[float, float] | None = None,
    threshold: float = 0.5,
) -> tuple[float, float]:
    """Relative (x, y) to centre a cover crop of relative size ``crop`` (width, height as
    shares of the image) on, so that the subject stays whole wherever the crop can hold it.

    Per axis: a subject that fits (with FRAME_PAD to spare) is centred, so its feet and what it
    holds (a ball) stay in with its head; one that does not fit keeps its top (a head, a tower's
    top) just inside the crop. Sideways a subject too wide is centred on its face when it has
    one, else on its mass. The extent ignores the outermost half percent of the subject's
    pixels (specks the segmenter left). Without a subject, the face or else the image centre.
    """
    h, w = mask.shape[:2]
    binary = mask > threshold
    area = float(binary.mean())
    if area < 0.005 or area > 0.92:
        return face if face is not None else (0.5, 0.5)
    ys, xs = np.nonzero(binary)
    x0, x1 = (float(v) for v in np.quantile(xs, [0.005, 0.995]))
    y0, y1 = (float(v) for v in np.quantile(ys, [0.005, 0.995]))
    x0, x1, y0, y1 = x0 / w, (x1 + 1.0) / w, y0 / h, (y1 + 1.0) / h
    cw, ch = crop
    pad_x, pad_y = FRAME_PAD * cw, FRAME_PAD * ch
    if x1 - x0 <= cw - 2.0 * pad_x:
        cx = 0.5 * (x0 + x1)
    elif face is not None:
        cx = face[0]
    else:
        cx = (float(xs.mean()) + 0.5) / w
    fits = y1 - y0 <= ch - 2.0 * pad_y
    cy = 0.5 * (y0 + y1) if fits else y0 - pad_y + 0.5 * ch
    return (cx, cy)


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
