"""The style pass: one whole-frame filter for the prompt's style, applied last.

It runs on the composed frame rather than per layer so that a style reads as the look of the
picture (pixel art's blocks line up across layers, noir's contrast is the frame's). Watercolour
paper is a seeded texture made once per render: the grain stays put while the scene moves.
"""

from __future__ import annotations

import cv2
import numpy as np

from kinora.engines.scene.draw.raster import F32, U8


class StylePass:
    """Pixel, pastel, vintage, noir, watercolor or neon (other styles pass frames through)."""

    def __init__(self, style: str, *, seed: int, width: int, height: int) -> None:
        self.style, self.seed, self.w, self.h = style, seed, width, height
        self._paper: F32 | None = None

    def __call__(self, out: U8) -> U8:
        style = self.style
        if style == "pixel":
            f = max(2, self.w // 160)
            small = cv2.resize(out, (self.w // f, self.h // f), interpolation=cv2.INTER_AREA)
            return np.asarray(
                cv2.resize(small, (self.w, self.h), interpolation=cv2.INTER_NEAREST), np.uint8
            )
        if style == "pastel":
            return np.asarray(cv2.addWeighted(out, 0.68, np.full_like(out, 250), 0.32, 0), np.uint8)
        if style == "vintage":
            m = np.array([[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]])
            return np.asarray(cv2.transform(out, m * 0.9), np.uint8)
        if style == "noir":
            g = cv2.cvtColor(out, cv2.COLOR_RGB2GRAY)
            g = cv2.convertScaleAbs(g, alpha=1.25, beta=-25)
            return np.asarray(cv2.cvtColor(g, cv2.COLOR_GRAY2RGB), np.uint8)
        if style == "watercolor":
            soft = cv2.bilateralFilter(out, 5, 40, 5) if self.w <= 640 else out
            return np.asarray(np.clip(soft * self.paper() + 8, 0, 255), np.uint8)
        if style == "neon":
            return np.asarray(cv2.convertScaleAbs(out, alpha=1.15, beta=-10), np.uint8)
        return out

    def paper(self) -> F32:
        """The watercolour paper's grain, a multiplier per pixel (made on first use)."""
        if self._paper is None:
            rng = np.random.default_rng(self.seed + 3)
            paper = rng.normal(0, 1, (self.h // 4 + 1, self.w // 4 + 1)).astype(np.float32)
            paper = np.asarray(
                cv2.resize(cv2.GaussianBlur(paper, (0, 0), 1.5), (self.w, self.h)), np.float32
            )
            self._paper = np.clip(0.93 + 0.05 * paper, 0.8, 1.0)[..., None].astype(np.float32)
        return self._paper
