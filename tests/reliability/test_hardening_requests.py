"""The request layer under attack, on a real ``kinora serve`` (issue 21, hardening).

Each class of the attack is sent over real sockets to a real uvicorn server in its own process,
so that what is measured is what a client sees: amplification (hundreds of thousands of unknown
field names, with ``/health`` polled meanwhile), streaming limits of chunked uploads (no
Content-Length; the server's own write counter shows what reached its temp files), malformed
URL hosts and deep JSON (422 naming the field, no traceback in the log), and slow clients (half
a header, a stalled body: closed within the timeout, while kept-alive and steady clients are
untouched). The in-process twins of the first three are in ``test_hardening_inputs.py``.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from kinora.api.jsonbody import JsonBudgetError, loads_bounded
from tests.conftest import LiveServer, launch_server

HEADER_TIMEOUT = 1.0
BODY_TIMEOUT = 1.0
UPLOAD_MB = 10
MB = 1024 * 1024


@dataclass
class Target:
    server: LiveServer
    key: str

    @property
    def address(self) -> tuple[str, int]:
        parts = urlsplit(self.server.base_url)
        return parts.hostname or "127.0.0.1", parts.port or 80

    def headers(self) -> dict[str, str]:
        return {"X-Api-Key": self.key}

    def connect(self) -> socket.socket:
        return socket.create_connection(self.address, timeout=10)

    def written(self) -> int:
        """Bytes the server process has written to files so far (its temp files included)."""
        io = Path(f"/proc/{self.server.process.pid}/io").read_text()
        for line in io.splitlines():
            if line.startswith("wchar:"):
                return int(line.split()[1])
        raise AssertionError("no wchar in /proc/<pid>/io")

    def log(self) -> str:
        return (self.server.data_dir / "server.log").read_text(errors="replace")

    def assert_nothing_created(self) -> None:
        listed = httpx.get(f"{self.server.base_url}/media", headers=self.headers(), timeout=10)
        assert listed.status_code == 200 and listed.json()["data"] == [], listed.text
        credits = httpx.get(f"{self.server.base_url}/credits", headers=self.headers(), timeout=10)
        assert credits.json()["data"]["credits"] == 100, credits.text


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    live = launch_server(
        tmp_path_factory.mktemp("requests") / "data",
        workers=0,
        KINORA_HEADER_TIMEOUT_SECONDS=str(HEADER_TIMEOUT),
        KINORA_BODY_TIMEOUT_SECONDS=str(BODY_TIMEOUT),
        KINORA_KEEP_ALIVE_SECONDS="5",
        KINORA_MAX_UPLOAD_MB=str(UPLOAD_MB),
        KINORA_RATE_LIMIT="100000/minute",
        KINORA_CREATE_RATE_LIMIT="100000/minute",
    )
    try:
        yield Target(live, live.key())
    finally:
        live.stop()


def _read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 response read off a raw socket (status, lower-cased headers, body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"closed before a response: {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(lines[0].split()[1]), headers, body


def _closed_within(sock: socket.socket, seconds: float) -> tuple[float, bytes]:
    """How long until the server closes ``sock`` (reading whatever it sends first)."""
    started = time.monotonic()
    sock.settimeout(seconds)
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except TimeoutError:
        raise AssertionError(f"still open after {seconds} s; got {received!r}") from None
    except ConnectionResetError:
        pass
    return time.monotonic() - started, received


# --------------------------------------------------------------------------- amplification


def test_many_unknown_fields_answer_small_and_fast_while_health_answers(target: Target) -> None:
    base = target.server.base_url
    huge = {"prompt": "x", **{f"field_{i:06d}": 1 for i in range(500_000)}}
    encoded = json.dumps(huge).encode()
    assert len(encoded) > 9_000_000  # half what the attack sent
    json_headers = {**target.headers(), "Content-Type": "application/json"}
    worst = 0.0
    polls = 0
    done = threading.Event()

    def poll() -> None:
        nonlocal worst, polls
        with httpx.Client(timeout=10) as client:
            while not done.is_set():
                started = time.monotonic()
                assert client.get(f"{base}/health").status_code == 200
                worst = max(worst, time.monotonic() - started)
                polls += 1
                time.sleep(0.02)

    def wait_polls(count: int) -> None:
        deadline = time.monotonic() + 10
        while polls < count and time.monotonic() < deadline:
            time.sleep(0.01)

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        wait_polls(1)  # /health answers before the attack; then it is polled all through it
        with httpx.Client(timeout=30) as client:
            for method, path in (("POST", "/media"), ("PUT", "/media/nope")):
                started = time.monotonic()
                r = client.request(method, f"{base}{path}", content=encoded, headers=json_headers)
                elapsed = time.monotonic() - started
                assert r.status_code == 422, (method, path, r.status_code, r.text[:200])
                assert len(r.content) < 5_000, (method, path, len(r.content))
                assert elapsed < 5, (method, path, elapsed)
                assert r.json()["detail"] == [
                    {
                        "loc": ["body"],
                        "msg": "too many fields (at most 100)",
                        "type": "too_many_fields",
                    }
                ]
        before = polls
        wait_polls(before + 1)  # and answers after it (a fast attack may fit between polls)
    finally:
        done.set()
        poller.join()
    assert polls >= 2 and worst < 1.0, (polls, worst)
    # the same names one level down: refused after the value budget, not listed one by one
    nested = json.dumps({"prompt": "x", "metadata": dict(list(huge.items())[:200_000])})
    r = httpx.post(f"{base}/media", content=nested, headers=json_headers, timeout=30)
    assert r.status_code == 422 and len(r.content) < 5_000, r.text[:300]
    assert r.json()["detail"][0]["type"] == "too_many_values", r.text[:300]
    # under the field cap: each unknown name refused, at most 20 listed and the rest counted
    some = {"prompt": "x", **{f"field_{i:03d}": 1 for i in range(90)}}
    r = httpx.post(f"{base}/media", json=some, headers=target.headers(), timeout=10)
    detail = r.json()["detail"]
    assert r.status_code == 422 and len(detail) == 21, r.text[:300]
    assert detail[0] == {
        "loc": ["body", "field_000"],
        "msg": "Extra inputs are not permitted",
        "type": "extra_forbidden",
    }
    assert detail[-1]["type"] == "too_many_errors" and detail[-1]["input"] == 70
    target.assert_nothing_created()


def test_bounded_json_decodes_as_json_loads_does() -> None:
    """The budgeted decoder behind JSON bodies is the standard grammar, only bounded."""
    docs = [
        '{"a": 1, "b": [1, 2.5, -3e2, {"c": null}], "d": "x\\u00e9\\ud83d\\ude00", "e": true}',
        '[false, "s", {}, [], [[]], 1E400]',
        '"plain"',
        "  12  ",
        '{"a": {"a": {"a": {"a": 1}}}}',
        '{"dup": 1, "dup": 2}',
    ]
    for doc in docs:
        assert loads_bounded(doc, depth=64) == json.loads(doc), doc
        assert loads_bounded(doc.encode("utf-16"), depth=64) == json.loads(doc.encode("utf-16"))
    for bad in ('{"a": 1', "[1,]", "", '{"a" 1}', "[1] 2", "01"):
        with pytest.raises(ValueError) as info:
            loads_bounded(bad, depth=64)
        assert not isinstance(info.value, JsonBudgetError), bad
    budgets: list[tuple[str, dict[str, Any], str]] = [
        ('{"a": {"b": [1]}}', {"depth": 2}, "json_invalid"),
        ("[" * 100_000 + "]" * 100_000, {"depth": 64}, "json_invalid"),  # no RecursionError
        (json.dumps({"a": 1, "b": 2, "c": 3}), {"depth": 2, "fields": 2}, "too_many_fields"),
        (json.dumps({"m": list(range(50))}), {"depth": 4, "values": 20}, "too_many_values"),
    ]
    for doc, limits, kind in budgets:
        with pytest.raises(JsonBudgetError) as budget:
            loads_bounded(doc, **limits)
        assert budget.value.kind == kind, (doc[:40], budget.value.kind)
    # a document within every budget is unchanged by them
    assert loads_bounded('{"a": [1, 2]}', depth=2, fields=1, values=3) == {"a": [1, 2]}


# --------------------------------------------------------------------------- streaming limits


def _chunked_upload(target: Target, part_head: bytes, total: int) -> tuple[int, bytes, int]:
    """A multipart POST /media sent chunked (no Content-Length): one part opened with
    ``part_head`` and then up to ``total`` bytes of its data, stopping once the server has
    answered or hung up. Returns the status, the response body and the bytes sent."""
    sock = target.connect()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
    head = (
        "POST /media HTTP/1.1\r\nHost: kinora\r\n"
        f"X-Api-Key: {target.key}\r\n"
        "Content-Type: multipart/form-data; boundary=kinoraboundary\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    ).encode()
    sock.sendall(head)
    answer: dict[str, Any] = {}

    def read() -> None:
        try:
            answer["response"] = _read_response(sock)
        except OSError as exc:
            answer["error"] = exc

    reader = threading.Thread(target=read)
    reader.start()
    sent = 0
    block = b"\0" * (64 * 1024)
    first = b"--kinoraboundary\r\n" + part_head + b"\r\n"
    frame = f"{len(first):x}\r\n".encode() + first + b"\r\n"
    try:
        sock.sendall(frame)
        while sent < total and "response" not in answer:
            sock.sendall(f"{len(block):x}\r\n".encode() + block + b"\r\n")
            sent += len(block)
    except OSError:
        pass  # the server hung up: what matters is how much it took first
    reader.join(timeout=20)
    sock.close()
    assert "response" in answer, answer
    status, _, body = answer["response"]
    return status, body, sent


def test_chunked_file_part_stops_at_the_limit(target: Target) -> None:
    total = 200 * MB
    before = target.written()
    status, body, sent = _chunked_upload(
        target,
        b'Content-Disposition: form-data; name="image_files"; filename="big.png"\r\n'
        b"Content-Type: image/png\r\n",
        total,
    )
    written = target.written() - before
    assert status == 413, (status, body[:300])
    assert json.loads(body) == {
        "message": "PAYLOAD_TOO_LARGE",
        "detail": f"file is larger than {UPLOAD_MB} MB",
    }
    assert written < (UPLOAD_MB + 1) * MB, written  # the temp file stopped at the limit
    assert sent < 60 * MB, sent  # the server stopped reading (kernel buffers hold the rest)
    target.assert_nothing_created()


def test_chunked_text_part_stops_at_the_limit(target: Target) -> None:
    before = target.written()
    status, body, sent = _chunked_upload(
        target, b'Content-Disposition: form-data; name="prompt"\r\n', 200 * MB
    )
    assert status == 413, (status, body[:300])
    assert json.loads(body) == {
        "message": "PAYLOAD_TOO_LARGE",
        "detail": "a field is larger than 1024 KB",
    }
    assert target.written() - before < MB
    assert sent < 60 * MB, sent
    target.assert_nothing_created()


# --------------------------------------------------------------------------- hosts, nesting

MALFORMED = [
    "http://256.0.0.1/x.png",
    "http://[::1/x.png",
    "http://xn--/x.png",
    "http://\uff11\uff12\uff17.\uff10.\uff10.\uff11/x.png",  # full-width 127.0.0.1
]


@pytest.mark.parametrize("url", MALFORMED)
def test_malformed_hosts_are_422_naming_the_field(target: Target, url: str) -> None:
    base = target.server.base_url
    cases: list[tuple[dict[str, Any], str]] = [
        ({"image_urls": [url]}, "image_urls"),
        ({"media_items": [{"type": "image", "url": url}]}, "media_items"),
        ({"prompt": "x", "webhook_url": url}, "webhook_url"),
        ({"prompt": "x", "audio_option": {"narration_url": url}}, "audio_option"),
    ]
    for body, field in cases:
        r = httpx.post(f"{base}/media", json=body, headers=target.headers(), timeout=15)
        assert r.status_code == 422, (field, r.status_code, r.text[:300])
        assert field in json.dumps(r.json()["detail"]), (field, r.text[:300])
    # the same as a form, as the spec's examples send it
    r = httpx.post(
        f"{base}/media", data={"prompt": "x", "webhook_url": url}, headers=target.headers()
    )
    assert r.status_code == 422 and "webhook_url" in r.text, r.text[:300]
    assert "Traceback" not in target.log()
    target.assert_nothing_created()


@pytest.mark.parametrize("depth", [500, 900])
def test_deep_json_bodies_are_422(target: Target, depth: int) -> None:
    base = target.server.base_url
    headers = {**target.headers(), "Content-Type": "application/json"}
    arrays = b"[" * depth + b"]" * depth
    objects = b'{"a":' * depth + b"1" + b"}" * depth
    for path, content in (
        ("/media", b'{"prompt": "x", "metadata": {"k": ' + arrays + b"}}"),
        ("/media", b'{"prompt": "x", "audio_option": ' + objects + b"}"),
        ("/media", arrays),
        ("/media/nope", b'{"metadata": ' + objects + b"}"),
    ):
        method = "PUT" if path != "/media" else "POST"
        r = httpx.request(method, f"{base}{path}", content=content, headers=headers, timeout=15)
        assert r.status_code == 422, (path, r.status_code, r.text[:300])
        assert r.json()["detail"][0]["loc"][0] == "body"
    assert "Traceback" not in target.log()
    target.assert_nothing_created()


# --------------------------------------------------------------------------- slow clients


def test_half_a_header_is_closed_within_the_timeout(target: Target) -> None:
    with target.connect() as sock:
        sock.sendall(b"POST /media HTTP/1.1\r\nHost: kinora\r\nX-Api-")
        elapsed, received = _closed_within(sock, HEADER_TIMEOUT + 2)
    assert elapsed >= HEADER_TIMEOUT - 0.2, elapsed
    assert received.startswith(b"HTTP/1.1 408 "), received
    assert b'"message": "REQUEST_TIMEOUT"' in received, received


def test_a_silent_connection_is_closed_within_the_timeout(target: Target) -> None:
    with target.connect() as sock:
        elapsed, _ = _closed_within(sock, HEADER_TIMEOUT + 2)
    assert elapsed >= HEADER_TIMEOUT - 0.2, elapsed


def test_a_dripped_header_is_closed_within_the_timeout(target: Target) -> None:
    """The header clock is a total: one byte every 0.2 s does not keep a connection open."""
    started = time.monotonic()
    with target.connect() as sock:
        closed = False
        for byte in b"GET /health HTTP/1.1\r\nHost: kinora\r\nX-Padding: " + b"a" * 200:
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                closed = True
                break
            time.sleep(0.2)
            if time.monotonic() - started > HEADER_TIMEOUT + 2:
                break
        if not closed:
            _closed_within(sock, 0.5)
    assert time.monotonic() - started < HEADER_TIMEOUT + 2.5


def test_a_stalled_body_is_closed_within_the_timeout(target: Target) -> None:
    with target.connect() as sock:
        sock.sendall(
            (
                "POST /media HTTP/1.1\r\nHost: kinora\r\n"
                f"X-Api-Key: {target.key}\r\nContent-Type: application/json\r\n"
                "Content-Length: 1000\r\n\r\n"
                '{"prompt": "'
            ).encode()
        )
        elapsed, received = _closed_within(sock, BODY_TIMEOUT + 2)
    assert elapsed >= BODY_TIMEOUT - 0.2, elapsed
    assert received.startswith(b"HTTP/1.1 408 "), received
    time.sleep(0.2)
    assert "Traceback" not in target.log()
    target.assert_nothing_created()


def test_kept_alive_and_steady_clients_are_not_cut(target: Target) -> None:
    base = target.server.base_url
    with httpx.Client(timeout=10) as client:
        ports = set()
        for pause in (HEADER_TIMEOUT * 1.5, 0):  # idle longer than the header timeout
            r = client.get(f"{base}/health")
            assert r.status_code == 200
            ports.add(r.extensions["network_stream"].get_extra_info("client_addr"))
            time.sleep(pause)
        assert len(ports) == 1  # one connection served both (kept alive for 5 s)
    # a body that arrives steadily, for longer than both timeouts, is read to the end
    with target.connect() as sock:
        body = json.dumps({"prompt": "x", "quantity": 99}).encode()
        sock.sendall(
            (
                "POST /media?dry_run=true HTTP/1.1\r\nHost: kinora\r\n"
                f"X-Api-Key: {target.key}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode()
        )
        started = time.monotonic()
        for i in range(0, len(body), 4):
            sock.sendall(body[i : i + 4])
            time.sleep(BODY_TIMEOUT / 3)
        assert time.monotonic() - started > HEADER_TIMEOUT + BODY_TIMEOUT
        sock.settimeout(10)
        status, _, answer = _read_response(sock)
    assert status == 422 and "quantity" in answer.decode(), (status, answer)
