"""The float32 ISNet that segmentation runs (derived at install time) keeps the reference masks.

The reference is the imgly float16 file at 1024 px, run through the same ``segment_isnet``;
``segment()`` runs the derivative. Masks are compared thresholded at 0.5 on real photos (the
shared test photos and OpenCV's sample photos), since any speed-up must not cost mask quality.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
import pytest
from engine_helpers import MODELS_DIR, PHOTOS, load_photo, opencv_doc, require_isnet

from kinora.engines.base import Frame
from kinora.engines.parallax import segment as seg
from kinora.engines.preflight import record_path

DOC_PHOTOS = ("examples/data/messi5.jpg", "opencv4/html/230501201_1.jpg")


def _fast() -> Path:
    require_isnet()
    path = seg.fast_isnet_path(MODELS_DIR)
    if path is None or path.name != seg.ISNET_FP32_FILENAME:
        pytest.fail(f"{seg.ISNET_FP32_FILENAME} not installed in {MODELS_DIR}: run `make models`")
    return path


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = int((a | b).sum())
    return 1.0 if union == 0 else int((a & b).sum()) / union


def _doc_photo(member: str) -> Frame:
    bgr = cv2.imread(str(opencv_doc(member)), cv2.IMREAD_COLOR)
    assert bgr is not None
    return np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))


def test_the_installed_fast_model_is_float32_with_the_mask_as_its_only_output() -> None:
    """Pruned side outputs and float32 tensors are what make it faster; the record is what
    preflight checks the file against."""
    path = _fast()
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [(i.name, i.shape, i.type) for i in sess.get_inputs()] == [
        ("input", [1, 3, 1024, 1024], "tensor(float)")
    ]
    assert [(o.name, o.type) for o in sess.get_outputs()] == [("output", "tensor(float)")]
    assert record_path(path).is_file()


@pytest.mark.parametrize("name", [*PHOTOS, *DOC_PHOTOS])
def test_fast_masks_match_the_float16_reference(name: str) -> None:
    """IoU >= 0.97 at 0.5 against the original file's mask (measured: >= 0.9998)."""
    _fast()
    image = _doc_photo(name) if "/" in name else load_photo(name)
    reference = seg.segment_isnet(image, MODELS_DIR / seg.ISNET_FILENAME).mask
    result = seg.segment(image, models_dir=MODELS_DIR)
    assert result.method == "isnet-medium"
    assert result.mask.shape == image.shape[:2] and result.mask.dtype == np.float32
    assert _iou(result.mask > 0.5, reference > 0.5) >= 0.97
    assert float(np.abs(result.mask - reference).max()) < 0.05


def test_the_fast_model_is_used_only_when_its_install_record_matches(tmp_path: Path) -> None:
    """A derivative without its record, of another size, or older than the original (the
    original re-installed since) is passed over for the original file."""
    original = tmp_path / seg.ISNET_FILENAME
    fast = tmp_path / seg.ISNET_FP32_FILENAME
    original.write_bytes(b"\x08original")
    assert seg.fast_isnet_path(tmp_path) == original
    fast.write_bytes(b"\x08float32 derivative")
    assert seg.fast_isnet_path(tmp_path) == original  # no record yet
    record = fast.with_name(fast.name + ".record.json")
    record.write_text(f'{{"size": {fast.stat().st_size + 1}}}')
    assert seg.fast_isnet_path(tmp_path) == original  # another size than installed
    record.write_text(f'{{"size": {fast.stat().st_size}}}')
    assert seg.fast_isnet_path(tmp_path) == fast
    later = fast.stat().st_mtime_ns + 10**9
    os.utime(original, ns=(later, later))
    assert seg.fast_isnet_path(tmp_path) == original  # the original is newer
