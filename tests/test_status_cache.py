"""processing-status answers are served again for KINORA_STATUS_CACHE_SECONDS, and what this
process changes shows at once (kinora.api.statuscache)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from kinora.api.statuscache import MAX_ENTRIES, StatusCache
from tests.conftest import Api


def test_answers_expire_are_forgotten_and_stay_bounded() -> None:
    cache = StatusCache(0.2)
    cache.put("a", b"1")
    assert cache.get("a") == b"1"
    time.sleep(0.25)
    assert cache.get("a") is None
    cache.put("a", b"2")
    cache.forget("a")
    assert cache.get("a") is None
    for i in range(MAX_ENTRIES + 10):
        cache.put(str(i), b"x")
    assert cache.stats()["entries"] <= MAX_ENTRIES
    off = StatusCache(0)
    off.put("a", b"1")
    assert off.get("a") is None


def test_a_cancel_shows_at_the_next_poll_and_progress_within_the_ttl(
    api_factory: Callable[..., Api], testdata: Path
) -> None:
    api = api_factory(workers=0, status_cache_seconds=5.0)
    photo = (testdata / "rocket.jpg").read_bytes()
    r = api.client.post(
        "/media",
        files=[("image_files", ("r.jpg", photo, "image/jpeg"))],
        data={"duration": "1"},
        headers=api.headers(),
    )
    assert r.status_code == 200, r.text
    media_id = r.json()["data"]["id"]
    url = f"/media/{media_id}/processing-status"
    first = api.client.get(url).json()["data"]
    assert first["processing_status"] == "queue_bullet"
    # No worker: the row changes only through this process, and the cancel shows at once
    # although the cached answer is young.
    r = api.client.post(f"/media/{media_id}/cancel", headers=api.headers())
    assert r.status_code == 200, r.text
    assert api.client.get(url).json()["data"]["processing_status"] == "cancel"
    r = api.client.delete(f"/media/{media_id}", headers=api.headers())
    assert r.status_code == 204
    assert api.client.get(url).status_code == 404
