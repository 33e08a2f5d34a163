"""Completion notices: a JSON POST to the media's webhook_url, from a queue task."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from kinora.errors import FetchError
from kinora.inputs.fetch import check_url, guarded_client

if TYPE_CHECKING:
    from kinora.runtime import Runtime

log = logging.getLogger(__name__)


class DeliveryFailed(Exception):
    """Raised so Huey retries the task."""


def deliver(runtime: Runtime, *, url: str, payload: dict[str, Any]) -> int:
    settings = runtime.settings
    try:
        check_url(url, field="webhook_url")
    except FetchError:
        log.warning("webhook URL %r is not http(s); dropped", url[:200])
        return 0
    client = guarded_client(
        allow_private=settings.allow_private_urls, timeout=settings.webhook_timeout_seconds
    )
    with client:
        try:
            response = client.post(url, json=payload, headers={"User-Agent": "kinora-webhook"})
        except Exception as exc:
            raise DeliveryFailed(f"webhook to {url[:200]} failed: {exc}") from None
    if response.status_code >= 500 or response.status_code in (408, 429):
        raise DeliveryFailed(f"webhook to {url[:200]} answered {response.status_code}")
    return response.status_code
