"""Thin-plate-spline warps: bend one picture so chosen points land on chosen places.

A garment photographed flat (or worn by someone else) has to follow a body: its shoulders on
the person's shoulders, its hem on the hips, its sleeves along the arms. A thin-plate spline
is the smoothest map (least bending energy) that sends a few anchor points exactly (or, with
``smoothing``, nearly) where they must go, and stays affine far from them, so the cloth
between the anchors bends without folds. OpenCV's shape transformer does the same, but its
point-matching API and inverse-map convention are awkward for a one-off warp; this is the
closed-form solve in numpy (a few dozen anchors: a tiny linear system), evaluated on a coarse
grid and interpolated, then one ``cv2.remap``.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]

GRID_STEP = 4
"""The spline is evaluated every GRID_STEP output pixels and interpolated in between: it is
smooth, so this is exact to well under a pixel and 16x cheaper than per pixel."""


def _kernel(r2: F64) -> F64:
    """The thin-plate radial basis U(r) = r^2 log r^2 (0 at r = 0)."""
    out = np.zeros_like(r2)
    nz = r2 > 1e-12
    out[nz] = r2[nz] * np.log(r2[nz])
    return out


class ThinPlateSpline:
    """A 2-D map fitted so that ``controls[i]`` goes to ``values[i]``.

    ``smoothing`` (in squared pixels of the controls' own scale) trades exactness for
    smoothness: anchors found on a noisy mask outline need a little, or the cloth ripples
    around each one.
    """

    def __init__(
        self, controls: npt.ArrayLike, values: npt.ArrayLike, *, smoothing: float = 0.0
    ) -> None:
        c = np.asarray(controls, dtype=np.float64).reshape(-1, 2)
        v = np.asarray(values, dtype=np.float64).reshape(-1, 2)
        if c.shape != v.shape or len(c) < 3:
            raise ValueError("a thin-plate spline needs at least 3 matching point pairs")
        # Work in a unit-scale frame: the kernel's log makes the system's conditioning depend
        # on the coordinates' scale.
        self._centre = c.mean(axis=0)
        self._scale = float(max(np.abs(c - self._centre).max(), 1e-9))
        cn = (c - self._centre) / self._scale
        n = len(cn)
        k = _kernel(((cn[:, None, :] - cn[None, :, :]) ** 2).sum(axis=2))
        k += np.eye(n) * smoothing / self._scale**2
        p = np.hstack([np.ones((n, 1)), cn])
        a = np.zeros((n + 3, n + 3))
        a[:n, :n], a[:n, n:], a[n:, :n] = k, p, p.T
        b = np.zeros((n + 3, 2))
        b[:n] = v
        # lstsq, not solve: coincident or collinear anchors (a garment seen edge-on) leave the
        # system singular, and the least-squares answer is still the smoothest fit.
        sol = np.linalg.lstsq(a, b, rcond=None)[0]
        self._controls = cn
        self._weights = sol[:n]
        self._affine = sol[n:]

    def __call__(self, points: npt.ArrayLike) -> F64:
        """The map at ``points`` (..., 2)."""
        pts = np.asarray(points, dtype=np.float64)
        flat = (pts.reshape(-1, 2) - self._centre) / self._scale
        r2 = ((flat[:, None, :] - self._controls[None, :, :]) ** 2).sum(axis=2)
        out = _kernel(r2) @ self._weights + self._affine[0] + flat @ self._affine[1:]
        return np.asarray(out.reshape(pts.shape), np.float64)


def warp_maps(
    target_points: npt.ArrayLike,
    source_points: npt.ArrayLike,
    size: tuple[int, int],
    *,
    smoothing: float = 0.0,
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """``cv2.remap`` maps of a ``size`` (width, height) output in which each
    ``target_points[i]`` shows the source's ``source_points[i]``: the spline is fitted
    backwards (output to source), as remap samples."""
    width, height = size
    spline = ThinPlateSpline(target_points, source_points, smoothing=smoothing)
    gw, gh = width // GRID_STEP + 2, height // GRID_STEP + 2
    gy, gx = np.mgrid[0:gh, 0:gw].astype(np.float64) * GRID_STEP
    coarse = spline(np.stack([gx, gy], axis=-1)).astype(np.float32)
    # Upsampling the coarse grid: output pixel (x, y) sits at coarse (x / STEP, y / STEP).
    ys = np.arange(height, dtype=np.float32) / GRID_STEP
    xs = np.arange(width, dtype=np.float32) / GRID_STEP
    mx, my = np.meshgrid(xs, ys)
    map_x = cv2.remap(coarse[..., 0], mx, my, cv2.INTER_LINEAR)
    map_y = cv2.remap(coarse[..., 1], mx, my, cv2.INTER_LINEAR)
    return np.asarray(map_x, np.float32), np.asarray(map_y, np.float32)


def warp(
    image: npt.NDArray[np.uint8] | npt.NDArray[np.float32],
    target_points: npt.ArrayLike,
    source_points: npt.ArrayLike,
    size: tuple[int, int],
    *,
    smoothing: float = 0.0,
) -> npt.NDArray[np.generic]:
    """``image`` bent so its ``source_points`` land on ``target_points`` of a ``size``
    (width, height) output; outside the source it is 0 (transparent, for an alpha channel)."""
    map_x, map_y = warp_maps(target_points, source_points, size, smoothing=smoothing)
    return np.asarray(
        cv2.remap(
            np.asarray(image),
            map_x,
            map_y,
            cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=0,
        )
    )
