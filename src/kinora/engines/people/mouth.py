"""The inside of an opened mouth: what shows between the lips when the jaw drops.

Lip sync opens mouths that were shut in the photo, so there is no picture of their inside to
reveal; it is painted here from the face's own colours. A real mouth seen from the front is
dark in its depth and a little lighter near the lips, with the upper teeth's edge showing just
under the upper lip once the lips part by more than a few millimetres, and the tongue a dull
red at the bottom. Drawn any brighter or sharper it reads as a sticker; any darker and flatter,
as a hole. Where the photo already shows teeth (a smile), the caller keeps the photo's own
pixels and uses this only for the newly opened gap. For f and v (``bite``) the upper teeth
rest on the lower lip, so they fill the little gap the raised upper lip leaves.

The other shapes are the warp's (:mod:`.lipsync`): rounded vowels draw the corners in (a
narrow, round opening), spread ones pull them out (a wide, flat one), and pressed lips (m,
b, p) roll both lips in towards their meeting line.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.floating[Any]]

TEETH_MIN_GAP = 0.025
"""The teeth's edge shows once the lips part by this much of the face's height."""
TEETH_HEIGHT = 0.03
"""The visible upper teeth's height, as a share of the face's height (at most half the gap)."""


def _smoothstep(lo: float, hi: float, x: Floats) -> Floats:
    t = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
    result: Floats = t * t * (3.0 - 2.0 * t)
    return result


def interior_colour(
    depth: Floats,
    across: Floats,
    gap: Floats,
    *,
    face_height: float,
    lips: npt.ArrayLike,
    skin: npt.ArrayLike,
    teeth: bool,
    bite: float = 0.0,
) -> Floats:
    """RGB float32 (h, w, 3) in 0-255 for pixels inside the opened mouth.

    ``depth`` is each pixel's place between the upper (0) and lower (1) inner lip, ``across``
    its place between the mouth's centre (0) and a corner (1), ``gap`` the lips' distance in
    pixels at its column; ``lips`` and ``skin`` are the face's RGB colours. ``teeth`` draws a
    hint of upper teeth (off when the photo shows its own). ``bite`` (0-1, f and v) rests the
    lower lip on the upper teeth: the teeth then fill the narrow gap, whatever its size."""
    lip = np.asarray(lips, dtype=np.float32).reshape(1, 1, 3)
    skin_rgb = np.asarray(skin, dtype=np.float32).reshape(1, 1, 3)
    centre = 1.0 - (2.0 * depth - 1.0) ** 2
    sides = 1.0 - 0.45 * np.clip(across, 0.0, 1.0) ** 2
    shade = (0.34 - 0.19 * centre) * sides
    colour: Floats = lip * shade[..., None]
    # The tongue: a dull red rising from the bottom as the mouth opens wider.
    wide = _smoothstep(0.03 * face_height, 0.08 * face_height, gap)
    tongue = _smoothstep(0.55, 0.95, depth) * wide * 0.55 * sides
    colour = colour + (lip * 0.42 - colour) * tongue[..., None]
    if teeth or bite > 0.0:
        height = np.minimum(0.5 * gap, TEETH_HEIGHT * face_height)
        if bite > 0.0:  # the teeth's edge reaches down to the lower lip
            height = height + (np.maximum(0.85 * gap, height) - height) * bite
        below_lip = depth * gap
        band = 1.0 - _smoothstep(
            0.0, 1.0, (below_lip - 0.75 * height) / np.maximum(height * 0.35, 1.0)
        )
        show = _smoothstep(TEETH_MIN_GAP * face_height, 1.6 * TEETH_MIN_GAP * face_height, gap)
        if not teeth:
            show = show * 0.0
        show = np.maximum(show, bite) * (1.0 - _smoothstep(0.45, 0.85, across))
        lum = float(np.mean(skin_rgb))
        white = np.array([1.0, 0.97, 0.9], np.float32).reshape(1, 1, 3) * min(
            235.0, 0.92 * lum + 40.0
        )
        # Shaded at the sides and just under the lip, as the lip's shadow falls on them.
        lit = (0.62 + 0.38 * (1.0 - across**2)) * (
            0.8 + 0.2 * _smoothstep(0.0, 0.5, below_lip / np.maximum(height, 1.0))
        )
        weight = band * show * 0.9
        colour = colour + (white * lit[..., None] - colour) * weight[..., None]
    result: Floats = colour.astype(np.float32)
    return result


__all__ = ["interior_colour"]
