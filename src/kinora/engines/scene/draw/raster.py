"""RGBA primitives shared by the painters.

Layers are built in straight alpha (``over``, ``tint``), then premultiplied once
(``premultiply``) so that colour and coverage warp together and per-frame compositing is a
cheap 8-bit ``blend``. ``place`` puts a small premultiplied image into a frame by one
``warpAffine`` into its bounding box only, which is what keeps sprites and hearts cheap.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import numpy.typing as npt

from kinora.engines.scene.compose import Color

U8 = npt.NDArray[np.uint8]
F32 = npt.NDArray[np.float32]
Mat = npt.NDArray[np.float64]


def haze_amount(depth: float) -> float:
    """How much a thing at ``depth`` fades towards the palette's far colour (aerial haze)."""
    return float(np.clip((depth - 1.2) / 14.0, 0.0, 0.55))


def tint(rgba: U8, *, light: tuple[float, float, float], haze: Color, amount: float) -> U8:
    """Light an RGBA image by the palette's light and fade it ``amount`` towards ``haze``."""
    rgb = rgba[..., :3].astype(np.float32) * np.array(light, dtype=np.float32)
    rgb = rgb * (1 - amount) + np.array(haze, dtype=np.float32) * amount
    out = np.empty_like(rgba)
    out[..., :3] = np.clip(rgb, 0, 255).astype(np.uint8)
    out[..., 3] = rgba[..., 3]
    return out


def over(dst: U8, src: U8, x: int, y: int) -> None:
    """Straight-alpha 'over' of src onto RGBA dst at (x, y), clipped."""
    h, w = src.shape[:2]
    x0, y0, x1, y1 = max(0, x), max(0, y), min(dst.shape[1], x + w), min(dst.shape[0], y + h)
    if x1 <= x0 or y1 <= y0:
        return
    s = src[y0 - y : y1 - y, x0 - x : x1 - x].astype(np.float32)
    d = dst[y0:y1, x0:x1].astype(np.float32)
    sa = s[..., 3:4] / 255.0
    da = d[..., 3:4] / 255.0
    oa = sa + da * (1 - sa)
    rgb = (s[..., :3] * sa + d[..., :3] * da * (1 - sa)) / np.maximum(oa, 1e-6)
    dst[y0:y1, x0:x1, :3] = np.clip(rgb, 0, 255).astype(np.uint8)
    dst[y0:y1, x0:x1, 3] = np.clip(oa[..., 0] * 255, 0, 255).astype(np.uint8)


def premultiply(rgba: U8) -> U8:
    """Straight to premultiplied alpha, in 8 bits (what ``blend`` and ``place`` take)."""
    rgba = np.ascontiguousarray(rgba)
    a = cv2.extractChannel(rgba, 3)
    out = cv2.multiply(rgba, cv2.merge((a, a, a, np.full_like(a, 255))), scale=1.0 / 255.0)
    return np.asarray(out, np.uint8)


def blend(out: U8, img: U8, x0: int, y0: int) -> None:
    """Composite a premultiplied RGBA image over the RGB ``out`` at (x0, y0), in 8-bit."""
    h, w = img.shape[:2]
    if h == 0 or w == 0:
        return
    roi = out[y0 : y0 + h, x0 : x0 + w]
    clear = cv2.bitwise_not(cv2.extractChannel(img, 3))
    back = cv2.multiply(roi, cv2.merge((clear, clear, clear)), scale=1.0 / 255.0)
    cv2.add(cv2.cvtColor(img, cv2.COLOR_RGBA2RGB), back, dst=roi)


def place(out: U8, img: U8, m: Mat) -> None:
    """Warp a small premultiplied RGBA image by the 2x3 affine m into its bounding box in
    ``out`` and blend it there (the rest of the frame is not touched)."""
    h, w = img.shape[:2]
    corners = m @ np.array([[0, w, 0, w], [0, 0, h, h], [1, 1, 1, 1]], dtype=np.float64)
    x0 = int(max(0, math.floor(corners[0].min())))
    y0 = int(max(0, math.floor(corners[1].min())))
    x1 = int(min(out.shape[1], math.ceil(corners[0].max()) + 1))
    y1 = int(min(out.shape[0], math.ceil(corners[1].max()) + 1))
    if x1 <= x0 or y1 <= y0:
        return
    mr = m.copy()
    mr[0, 2] -= x0
    mr[1, 2] -= y0
    warped: U8 = cv2.warpAffine(  # type: ignore[assignment]
        img,
        mr,
        (x1 - x0, y1 - y0),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(0, 0, 0, 0),
    )
    blend(out, warped, x0, y0)


def map_point(hm: Mat, x: float, y: float) -> tuple[float, float, float]:
    """Where the homography takes canvas pixel (x, y), and its local scale there (the square
    root of the Jacobian's determinant): how much bigger a sprite or particle drawn there
    must be to look attached to its plane."""
    p = hm @ np.array([x, y, 1.0])
    q = hm @ np.array([x + 1.0, y, 1.0])
    r = hm @ np.array([x, y + 1.0, 1.0])
    px, py = p[0] / p[2], p[1] / p[2]
    jx = (q[0] / q[2] - px, q[1] / q[2] - py)
    jy = (r[0] / r[2] - px, r[1] / r[2] - py)
    scale = math.sqrt(abs(jx[0] * jy[1] - jx[1] * jy[0]))
    return px, py, scale
