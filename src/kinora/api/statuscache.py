"""A short-lived memory of processing-status answers, per media id.

Clients poll processing-status in tight loops (the spec's examples poll it; so do dashboards,
several per media), and on a 2-core machine that also renders, each answer's database read
and the hop to a worker thread are most of its cost (bench/bench_load.py). Answers younger
than ``KINORA_STATUS_CACHE_SECONDS`` are served again: progress is at most that stale, which
no poller can tell from its own polling interval. What this process itself changes (cancel,
delete, an edit's new generation) is forgotten at once; what workers change shows within
the TTL. 0 turns it off.
"""

from __future__ import annotations

import threading
import time
from typing import Any

MAX_ENTRIES = 4096
"""Answers kept at most; the oldest half is dropped when full (a poll storm over many ids
costs a few reads, never memory)."""


class StatusCache:
    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._answers: dict[str, tuple[float, bytes]] = {}
        self._lock = threading.Lock()

    def get(self, media_id: str) -> bytes | None:
        if self.ttl <= 0:
            return None
        entry = self._answers.get(media_id)
        if entry is None or time.monotonic() - entry[0] > self.ttl:
            return None
        return entry[1]

    def put(self, media_id: str, body: bytes) -> None:
        if self.ttl <= 0:
            return
        with self._lock:
            if len(self._answers) >= MAX_ENTRIES:
                for key in list(self._answers)[: MAX_ENTRIES // 2]:
                    self._answers.pop(key, None)
            self._answers[media_id] = (time.monotonic(), body)

    def forget(self, media_id: str) -> None:
        with self._lock:
            self._answers.pop(media_id, None)

    def stats(self) -> dict[str, Any]:
        return {"entries": len(self._answers), "ttl": self.ttl}
