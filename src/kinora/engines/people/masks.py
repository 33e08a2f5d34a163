"""The subject masks of the people engines, one ISNet pass per photo in a worker process.

ISNet is the dearest step of a first render (about a second on two cores, several under
load). The character engine caches its prepared scene per photo *and output size*, and the
try-on engine its dressed photo for the latest request only, so without this a photo was
segmented again for each new size, each engine, and each try-on of the same person with
another garment. Here the mask is kept per photo (its pixels' hash) for the last few photos;
the masks are read-only, so no caller can change what another one gets.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from kinora.engines.base import Frame
from kinora.engines.parallax.segment import Segmentation, segment

KEEP = 6
"""Photos whose masks are kept (a person and a garment, for a few requests)."""

_cache: OrderedDict[tuple[str, str], Segmentation] = OrderedDict()
_lock = threading.Lock()


def _key(image: Frame, models_dir: Path | None) -> tuple[str, str]:
    digest = hashlib.blake2b(digest_size=16)
    digest.update(str(image.shape).encode())
    digest.update(np.ascontiguousarray(image).data)
    return digest.hexdigest(), str(models_dir)


def subject_mask(image: Frame, *, models_dir: Path | None = None) -> Segmentation:
    """:func:`kinora.engines.parallax.segment.segment` of ``image`` (RGB), from the cache
    when this photo was segmented before with the same models."""
    key = _key(image, models_dir)
    with _lock:
        found = _cache.get(key)
        if found is not None:
            _cache.move_to_end(key)
            return found
    seg = segment(image, models_dir=models_dir)
    seg.mask.setflags(write=False)
    with _lock:
        _cache[key] = seg
        while len(_cache) > KEEP:
            _cache.popitem(last=False)
    return seg
