"""RGB and the encoder's YUV 4:2:0 (BT.601, limited range, as swscale and x264 take it).

I420 frames are one array of shape ``(height * 3 // 2, width)``: the Y plane, then U and V at
half size. Engines that render straight to it (the parallax engine) skip a colour conversion
per frame and warp a third fewer samples; chroma sits at the centre of each 2x2 block
(plane pixel ``j`` is full-size ``2j + 0.5``), as swscale puts it.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

U8 = npt.NDArray[np.uint8]

_CHROMA = np.array(
    [[-0.148, -0.291, 0.439, 128.0], [0.439, -0.368, -0.071, 128.0]], dtype=np.float32
)
"""BT.601 limited-range U and V from RGB, as swscale computes them for yuv420p."""
_CHROMA_PADDED = np.vstack([_CHROMA, np.zeros((1, 4), np.float32)])
_TO_RGB = np.array(
    [
        [1.164, 0.0, 1.596, -222.912],
        [1.164, -0.392, -0.813, 135.616],
        [1.164, 2.017, 0.0, -276.8],
    ],
    dtype=np.float32,
)
"""Limited-range BT.601 Y, U, V to RGB (the inverse of the above with OpenCV's luma)."""


def rgb_to_i420(frame: U8) -> U8:
    """RGB to planar YUV 4:2:0, as swscale makes it at half the cost.

    OpenCV's own RGB->I420 takes each 2x2 block's chroma from one pixel, which fringes thin
    coloured detail (sparkles, 1-px lines); chroma here averages the block, as swscale does.
    """
    h, w = frame.shape[:2]
    rgb = np.ascontiguousarray(frame)
    out = np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420), np.uint8)
    small = cv2.resize(rgb, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    uv = cv2.transform(small, _CHROMA)
    q = (h // 2) * (w // 2)
    out[h:].reshape(-1)[:q] = uv[..., 0].reshape(-1)
    out[h:].reshape(-1)[q:] = uv[..., 1].reshape(-1)
    return out


def i420_planes(frame: U8) -> tuple[U8, U8, U8]:
    """Views of the Y, U and V planes of an I420 frame (writable when the frame is)."""
    h2, w = frame.shape
    h = h2 * 2 // 3
    q = (h // 2) * (w // 2)
    flat = frame[h:].reshape(-1)
    return (
        frame[:h],
        flat[:q].reshape(h // 2, w // 2),
        flat[q:].reshape(h // 2, w // 2),
    )


def i420_to_rgb(frame: U8) -> U8:
    """I420 back to RGB with chroma interpolated (not repeated per block, as OpenCV's is)."""
    y, u, v = i420_planes(frame)
    h, w = y.shape
    # Chroma sample j sits at 2j + 0.5: cv2.resize's own centre convention for a 2x upscale.
    uv = cv2.resize(cv2.merge((u, v)), (w, h), interpolation=cv2.INTER_LINEAR)
    return np.asarray(cv2.transform(cv2.merge((y, uv)), _TO_RGB), np.uint8)


def yuv_planes(rgb: U8) -> tuple[U8, U8]:
    """An RGB image (even size) as a Y plane and a half-size chroma plane ``[U, V, 0]``.

    Chroma gets a third, zero channel: OpenCV warps 3-channel images with SIMD but 2-channel
    ones without, so ``[U, V, 0]`` warps in about half the time of ``[U, V]``.
    """
    h, w = rgb.shape[:2]
    if h % 2 or w % 2:
        raise ValueError(f"yuv_planes needs an even size, got {w}x{h}")
    rgb = np.ascontiguousarray(rgb)
    y = np.ascontiguousarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420)[:h], np.uint8)
    small = cv2.resize(rgb, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    return y, np.asarray(cv2.transform(small, _CHROMA_PADDED), np.uint8)


def premultiplied_yuv_planes(rgb: U8, alpha: U8) -> tuple[U8, U8, U8]:
    """A layer with coverage (even size) as premultiplied Y, its alpha, and half-size
    ``[U*a, V*a, a]`` (chroma and coverage averaged per 2x2 block after premultiplying)."""
    h, w = rgb.shape[:2]
    if h % 2 or w % 2:
        raise ValueError(f"premultiplied_yuv_planes needs an even size, got {w}x{h}")
    y, _ = yuv_planes(rgb)
    a = alpha.astype(np.float32) / 255.0
    yp = np.asarray(np.rint(y * a), np.uint8)
    uv = cv2.transform(rgb.astype(np.float32), _CHROMA)  # full size, float
    premultiplied = np.dstack([uv * a[..., None], alpha.astype(np.float32)])
    small = cv2.resize(premultiplied, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    chroma = np.asarray(np.clip(np.rint(small), 0, 255), np.uint8)
    return np.ascontiguousarray(yp), np.ascontiguousarray(alpha, np.uint8), chroma


class ColourMatch:
    """A per-channel gain and offset that gives ``source`` the mean and spread of ``target``
    (each channel's mean and standard deviation), applied to later frames too: a provider's
    extension, which starts from the frame it continues but shifts its colours, is brought
    back to that frame's colour, and keeps the correction throughout so it does not drift."""

    def __init__(self, source: U8, target: U8) -> None:
        src = source.reshape(-1, 3).astype(np.float32)
        tgt = target.reshape(-1, 3).astype(np.float32)
        mu_s, sd_s = src.mean(axis=0), src.std(axis=0)
        mu_t, sd_t = tgt.mean(axis=0), tgt.std(axis=0)
        # A flat source channel has no spread to stretch: only its mean moves.
        gain = np.where(sd_s > 1.0, np.clip(sd_t / np.maximum(sd_s, 1e-6), 0.5, 2.0), 1.0)
        self.matrix = np.zeros((3, 4), np.float32)
        self.matrix[np.arange(3), np.arange(3)] = gain
        self.matrix[:, 3] = mu_t - gain * mu_s

    def apply(self, frame: U8) -> U8:
        """The frame with the correction (a new array; saturated at 0 and 255)."""
        out = cv2.transform(np.ascontiguousarray(frame), self.matrix)
        return np.asarray(out, dtype=np.uint8)
