"""Fused perspective warp and premultiplied "over" kernels (``kernels.c``), through ctypes.

``make install`` compiles ``kernels.c`` into ``_kernels.so`` beside this module. The kernels
sample exactly as :mod:`kinora.engines.geometry.warp`'s grid plus ``cv2.remap`` do, without
building a map, and blend a subject only over the grid cells that can show it; the one-image engine
renders about twice as fast with them. Where the library was not built (no C compiler),
:func:`available` is false and callers use OpenCV.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt

from kinora.engines.geometry.warp import Grid

LIBRARY = Path(__file__).with_name("_kernels.so")
PAD = 2
"""Pixels of border the C code may read on every side (plus slack on the right and bottom)."""

U8 = npt.NDArray[np.uint8]


class _Grid(ctypes.Structure):
    _fields_ = [
        ("nodes", ctypes.c_void_p),
        ("rows", ctypes.c_int),
        ("cols", ctypes.c_int),
        ("step", ctypes.c_int),
    ]


class _Plane(ctypes.Structure):
    _fields_ = [
        ("data", ctypes.c_void_p),
        ("width", ctypes.c_int),
        ("height", ctypes.c_int),
        ("stride", ctypes.c_int),
        ("channels", ctypes.c_int),
    ]


def _load() -> ctypes.CDLL | None:
    if not LIBRARY.exists():
        return None
    try:
        lib = ctypes.CDLL(str(LIBRARY))
    except OSError:
        return None
    lib.kn_warp.restype = ctypes.c_int
    lib.kn_over.restype = ctypes.c_long
    lib.kn_over.argtypes = [
        ctypes.c_void_p,
        ctypes.c_int,
        ctypes.c_void_p,
        ctypes.c_void_p,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_float,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_void_p,
        ctypes.c_int,
    ]
    lib.kn_simd.restype = ctypes.c_int
    lib.kn_max_width.restype = ctypes.c_int
    return lib


_LIB = _load()
_enabled = _LIB is not None
MAX_WIDTH = int(_LIB.kn_max_width()) if _LIB is not None else 0
"""Widest window the kernels take."""


def available() -> bool:
    """Whether the compiled kernels are loaded and switched on."""
    return _LIB is not None and _enabled


def enable(on: bool) -> bool:
    """Switch the kernels on or off (tests render both ways); returns the previous state."""
    global _enabled
    previous = _enabled
    _enabled = on and _LIB is not None
    return previous


def simd() -> bool:
    """Whether the kernels sample with AVX2 (else plain C)."""
    return _LIB is not None and bool(_LIB.kn_simd())


def force_scalar(on: bool) -> None:
    """Sample with the plain C code even where AVX2 is available (tests compare the two)."""
    if _LIB is not None:
        _LIB.kn_force_scalar(int(on))


@dataclass(frozen=True)
class Plane:
    """A source plane of 1 or 2 interleaved channels, padded as the kernels read it."""

    padded: U8
    width: int
    height: int
    channels: int
    _struct: _Plane = field(repr=False, compare=False)

    @classmethod
    def of(cls, image: U8, *, border: Literal["replicate", "zero"]) -> Plane:
        h, w = image.shape[:2]
        channels = 1 if image.ndim == 2 else image.shape[2]
        if channels not in (1, 2):
            raise ValueError(f"planes hold 1 or 2 channels, not {channels}")
        mode = cv2.BORDER_REPLICATE if border == "replicate" else cv2.BORDER_CONSTANT
        # 4 extra bytes on the right for 4-byte reads; one extra row below for the row after.
        border_made = cv2.copyMakeBorder(
            np.ascontiguousarray(image), PAD, PAD + 1, PAD, PAD + 2, mode, value=0
        )
        padded: U8 = np.ascontiguousarray(
            np.asarray(border_made, np.uint8).reshape(h + 2 * PAD + 1, -1)
        )
        stride = int(padded.strides[0])
        data = padded.ctypes.data + PAD * stride + PAD * channels
        return cls(padded, w, h, channels, _Plane(data, w, h, stride, channels))


@dataclass(frozen=True)
class Coverage:
    """Which blocks of a front plane hold any alpha: a summed-area table of ``block``-pixel
    blocks, for skipping what cannot show."""

    table: npt.NDArray[np.int32]
    block: float

    @classmethod
    def of(cls, alpha: U8, block: int) -> Coverage:
        ny, nx = -(-alpha.shape[0] // block), -(-alpha.shape[1] // block)
        blocks = np.zeros((ny * block, nx * block), np.uint8)
        blocks[: alpha.shape[0], : alpha.shape[1]] = alpha
        seen = blocks.reshape(ny, block, nx, block).max(axis=(1, 3)) > 0
        table = np.zeros((ny + 1, nx + 1), np.int32)
        table[1:, 1:] = seen.astype(np.int32).cumsum(0).cumsum(1)
        return cls(table, float(block))

    def halved(self) -> Coverage:
        """The same blocks seen from a half-size plane (chroma)."""
        return Coverage(self.table, self.block / 2)


def _grid(grid: Grid) -> tuple[_Grid, npt.NDArray[np.float32]]:
    if grid.step < 4 or grid.step % 2:
        raise ValueError(f"grid steps are even and at least 4, not {grid.step}")
    nodes = np.ascontiguousarray(grid.nodes, np.float32)
    rows, cols = nodes.shape[:2]
    return _Grid(nodes.ctypes.data, rows, cols, grid.step), nodes


def _targets(
    dst: Sequence[U8], width: int, height: int
) -> tuple[ctypes.Array[ctypes.c_void_p], int]:
    if width > MAX_WIDTH:
        raise ValueError(f"windows are at most {MAX_WIDTH} pixels wide")
    stride = int(dst[0].strides[0])
    for d in dst:
        if d.shape != (height, width) or d.dtype != np.uint8 or d.strides != (stride, 1):
            raise ValueError("destinations must be uint8 windows of the same size and stride")
    return (ctypes.c_void_p * len(dst))(*(d.ctypes.data for d in dst)), stride


def _planes(planes: Sequence[Plane]) -> ctypes.Array[_Plane]:
    if any((p.width, p.height) != (planes[0].width, planes[0].height) for p in planes):
        raise ValueError("planes sampled together must have the same size")
    return (_Plane * len(planes))(*(p._struct for p in planes))


def warp(
    planes: Sequence[Plane], grid: Grid, window: tuple[int, int, int, int], dst: Sequence[U8]
) -> None:
    """Warp ``planes`` through ``grid`` over ``window`` (x, y, width, height of the grid's
    window) into ``dst``, one 2-D destination per channel."""
    assert _LIB is not None
    x, y, w, h = window
    targets, stride = _targets(dst, w, h)
    g, nodes = _grid(grid)
    if _LIB.kn_warp(_planes(planes), len(planes), ctypes.byref(g), x, y, w, h, targets, stride):
        raise ValueError("kn_warp refused its arguments")
    del nodes


def over(
    planes: Sequence[Plane],
    grid: Grid,
    coverage: Coverage,
    window: tuple[int, int, int, int],
    dst: Sequence[U8],
) -> int:
    """``dst = value + dst * (1 - alpha)`` for premultiplied values warped through ``grid``:
    the planes' channels are the values, then the alpha; one destination per value. Returns
    the pixels blended (cells that cannot show coverage are skipped)."""
    assert _LIB is not None
    x, y, w, h = window
    targets, stride = _targets(dst, w, h)
    g, nodes = _grid(grid)
    table = coverage.table
    ny, nx = table.shape[0] - 1, table.shape[1] - 1
    done = int(
        _LIB.kn_over(
            _planes(planes),
            len(planes),
            ctypes.byref(g),
            table.ctypes.data,
            nx,
            ny,
            coverage.block,
            x,
            y,
            w,
            h,
            targets,
            stride,
        )
    )
    if done < 0:
        raise ValueError("kn_over refused its arguments")
    del nodes
    return done
