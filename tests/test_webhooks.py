"""Signed webhooks, delivered by queue tasks to real receivers on loopback (they stand in for
the customer's server, so these apps allow private URLs unless a test says otherwise)."""

from __future__ import annotations

import http.server
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.conftest import Api


@dataclass
class Receiver:
    url: str
    answers: list[int]
    """Status codes to answer with, in turn (the last one repeats)."""
    calls: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    location: str = ""

    def wait(self, n: int, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while len(self.calls) < n and time.monotonic() < deadline:
            time.sleep(0.05)


@pytest.fixture
def receivers() -> Iterator[Callable[..., Receiver]]:
    servers: list[http.server.ThreadingHTTPServer] = []

    def make(answers: list[int], location: str = "") -> Receiver:
        state = Receiver(url="", answers=list(answers), location=location)

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                state.calls.append(({k.lower(): v for k, v in self.headers.items()}, body))
                code = state.answers[min(len(state.calls), len(state.answers)) - 1]
                self.send_response(code)
                if 300 <= code < 400:
                    self.send_header("Location", state.location)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        state.url = f"http://127.0.0.1:{httpd.server_address[1]}/hook"
        return state

    yield make
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


def secret_of(api: Api) -> str:
    r = api.client.get("/webhooks/secret", headers=api.headers())
    assert r.status_code == 200
    secret = r.json()["data"]["secret"]
    assert secret.startswith("whsec_")
    return str(secret)


def create(api: Api, url: str, **fields: str) -> str:
    data = {"prompt": "rain", "duration": "1", "webhook_url": url, **fields}
    r = api.client.post("/media", data=data, headers=api.headers())
    assert r.status_code == 200, r.text
    return str(r.json()["data"]["id"])


def test_signed_delivery_with_retries_keeps_one_id(api_factory, receivers) -> None:
    api: Api = api_factory(allow_private_urls=True, webhook_retry_delays="0.2,0.2,0.2")
    receiver = receivers([500, 503, 200])
    media_id = create(api, receiver.url, metadata='{"order": 42}')
    api.wait(media_id)
    receiver.wait(3)
    assert len(receiver.calls) == 3
    ids = {headers["webhook-id"] for headers, _ in receiver.calls}
    assert len(ids) == 1
    hook = Webhook(secret_of(api))
    for headers, body in receiver.calls:
        payload = hook.verify(body, headers)
        assert payload["media_id"] == media_id
        assert payload["status"] == "success"
        assert payload["customer_id"] == api.customer_id
        assert payload["metadata"] == {"order": 42}
        assert payload["media"]["processing_status"] == "success"
    headers, body = receiver.calls[-1]
    with pytest.raises(WebhookVerificationError):
        hook.verify(body.replace(b"success", b"failure"), headers)
    time.sleep(0.5)
    r = api.client.get("/webhooks/deliveries", params={"media_id": media_id}, headers=api.headers())
    attempts = r.json()["data"]
    assert [a["status_code"] for a in attempts] == [200, 503, 500]
    assert [a["outcome"] for a in attempts] == ["delivered", "retrying", "retrying"]
    assert {a["webhook_id"] for a in attempts} == ids


def test_redeliver_sends_the_same_event_again(api_factory, receivers) -> None:
    api: Api = api_factory(allow_private_urls=True, webhook_retry_delays="0.2")
    receiver = receivers([200])
    media_id = create(api, receiver.url)
    api.wait(media_id)
    receiver.wait(1)
    time.sleep(0.3)
    (first,) = api.client.get("/webhooks/deliveries", headers=api.headers()).json()["data"]
    r = api.client.post(f"/webhooks/deliveries/{first['id']}/redeliver", headers=api.headers())
    assert r.status_code == 200
    receiver.wait(2)
    assert len(receiver.calls) == 2
    assert receiver.calls[0][0]["webhook-id"] == receiver.calls[1][0]["webhook-id"]
    assert json.loads(receiver.calls[0][1]) == json.loads(receiver.calls[1][1])
    other = api.new_key()
    r = api.client.post(f"/webhooks/deliveries/{first['id']}/redeliver", headers=api.headers(other))
    assert r.status_code == 404


def test_redirects_are_not_followed(api_factory, receivers) -> None:
    api: Api = api_factory(allow_private_urls=True, webhook_retry_delays="0.2")
    target = receivers([200])
    redirecting = receivers([302], location=target.url)
    media_id = create(api, redirecting.url)
    api.wait(media_id)
    redirecting.wait(1)
    time.sleep(1.0)
    assert len(redirecting.calls) == 1
    assert target.calls == []
    (attempt,) = api.client.get("/webhooks/deliveries", headers=api.headers()).json()["data"]
    assert attempt["status_code"] == 302 and attempt["outcome"] == "failed"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://localhost/hook",
        "http://[::1]/hook",
        "http://10.1.2.3/hook",
        "http://169.254.169.254/latest/meta-data",
        "ftp://example.com/hook",
        "https://user:pw@example.com/hook",
    ],
)
def test_webhook_url_refused_at_create(api: Api, url: str) -> None:
    before = api.credits()
    r = api.client.post(
        "/media", data={"prompt": "rain", "webhook_url": url}, headers=api.headers()
    )
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == ["body", "webhook_url"]
    assert api.credits() == before
    assert api.client.get("/media", headers=api.headers()).json()["data"] == []


def test_webhook_to_a_name_resolving_private_is_not_sent_fake_dns(
    api: Api, receivers, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A name passes the create check; delivery resolves it, sees loopback and refuses. The
    name's DNS answer is faked (DNS lies outside the project)."""
    receiver = receivers([200])
    port = receiver.url.split(":")[2].split("/")[0]
    real = socket.getaddrinfo

    def fake_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        flags = kwargs.get("flags", args[4] if len(args) > 4 else 0)
        if host == "hooks.example.test" and flags & socket.AI_NUMERICHOST:
            raise socket.gaierror(socket.EAI_NONAME, "not a numeric host")  # as a real resolver
        return real("127.0.0.1" if host == "hooks.example.test" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    media_id = create(api, f"http://hooks.example.test:{port}/hook")
    api.wait(media_id)
    time.sleep(1.0)
    assert receiver.calls == []
    (attempt,) = api.client.get("/webhooks/deliveries", headers=api.headers()).json()["data"]
    assert attempt["outcome"] == "failed" and "not allowed" in attempt["error"]
