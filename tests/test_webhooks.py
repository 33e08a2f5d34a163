"""Completion webhooks, delivered by a queue task to a receiver on loopback."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import Api


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Stands in for the customer's webhook endpoint (loopback, so private URLs are allowed)."""
    received: list[dict[str, Any]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            received.append(json.loads(body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/hook", received
    httpd.shutdown()
    httpd.server_close()


def test_webhook_posts_on_completion(api_factory, receiver) -> None:
    url, received = receiver
    api: Api = api_factory(allow_private_urls=True)
    r = api.client.post(
        "/media",
        data={"prompt": "rain", "duration": "1", "webhook_url": url},
        headers=api.headers(),
    )
    media_id = r.json()["data"]["id"]
    api.wait(media_id)
    deadline = time.monotonic() + 20
    while not received and time.monotonic() < deadline:
        time.sleep(0.1)
    assert received == [{"customer_id": api.customer_id, "media_id": media_id, "status": "success"}]


def test_webhook_to_private_address_is_not_sent(api: Api, receiver) -> None:
    url, received = receiver
    r = api.client.post(
        "/media",
        data={"prompt": "rain", "duration": "1", "webhook_url": url},
        headers=api.headers(),
    )
    api.wait(r.json()["data"]["id"])
    time.sleep(1.0)
    assert received == []
