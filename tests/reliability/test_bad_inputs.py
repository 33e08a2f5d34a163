"""The bad-input corpus: every case gets a clear 4xx (or a failed media with a reason), the
server stays healthy, and nothing is charged or left behind.

The real ASGI app, database and Huey consumer. What stands in for the world outside:
- DNS: ``fake_dns`` patches ``socket.getaddrinfo`` in-process (the fetcher resolves through it);
- routing: ``fake_routes`` sends connections for made-up public addresses to loopback servers
  (httpcore's socket connect, below Kinora's guard, which still checks and picks the address);
- remote servers: loopback HTTP servers (redirectors, a slow-loris that dribbles bytes).
"""

from __future__ import annotations

import io
import json
import socket
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpcore
import numpy as np
import pytest
from PIL import Image
from sqlalchemy import func, select

from kinora.db.models import Media
from kinora.inputs.fetch import fetch
from tests.conftest import TESTDATA, Api, FileServer
from tests.reliability.conftest import STATS

COUNTS = STATS["bad-input corpus"]
PUBLIC_A = "93.184.216.34"
"""A made-up public address for the fake DNS (routed to a loopback server by fake_routes)."""
PUBLIC_B = "93.184.216.35"

Files = list[tuple[str, tuple[str, bytes, str]]]


# --------------------------------------------------------------------------- helpers


def corpus_api(api_factory: Callable[..., Api], **settings: Any) -> Api:
    """An app for the corpus: hundreds of requests a minute from one key are fine here."""
    limits = {"rate_limit": "100000/minute", "create_rate_limit": "100000/minute"}
    return api_factory(**{"output_long_side": 128, **limits, **settings})


def media_count(api: Api) -> int:
    with api.runtime.db.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(Media)) or 0)


def stored_files(api: Api) -> list[str]:
    media = api.settings.media_dir
    return sorted(str(p) for p in media.rglob("*") if p.is_file()) if media.exists() else []


@dataclass
class Corpus:
    """Sends one bad request, checks the answer and that nothing changed, counts it."""

    api: Api

    def __post_init__(self) -> None:
        self.credits = self.api.credits()
        self.media = media_count(self.api)

    def expect_4xx(
        self,
        name: str,
        send: Callable[[], Any],
        *,
        statuses: tuple[int, ...] = (400, 413, 415, 422),
        reason: str | None = None,
        max_seconds: float | None = None,
    ) -> Any:
        started = time.monotonic()
        response = send()
        elapsed = time.monotonic() - started
        COUNTS["cases"] += 1
        if response.status_code >= 500:
            COUNTS["server_errors"] += 1
        assert response.status_code in statuses, (name, response.status_code, response.text[:500])
        body = response.json()
        assert "detail" in body or "message" in body, (name, body)
        if reason is not None:
            assert reason in json.dumps(body), (name, body)
        if max_seconds is not None:
            assert elapsed < max_seconds, (name, elapsed)
        self.assert_unchanged(name)
        return body

    def assert_unchanged(self, name: str) -> None:
        health = self.api.client.get("/health")
        assert health.status_code == 200, (name, health.text)
        credits = self.api.credits()
        if credits != self.credits:
            COUNTS["charged"] += 1
        assert credits == self.credits, (name, credits, self.credits)
        assert media_count(self.api) == self.media, name

    def post(
        self, *, data: Any = None, files: Files | None = None, **kwargs: Any
    ) -> Callable[[], Any]:
        return lambda: self.api.client.post(
            "/media", data=data, files=files, headers=self.api.headers(), **kwargs
        )

    def post_json(self, body: Any) -> Callable[[], Any]:
        return lambda: self.api.client.post("/media", json=body, headers=self.api.headers())

    def post_raw(self, content: bytes, content_type: str) -> Callable[[], Any]:
        headers = {**self.api.headers(), "Content-Type": content_type}
        return lambda: self.api.client.post("/media", content=content, headers=headers)


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (64, 48), **save: Any) -> bytes:
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, fmt, **save)
    return buf.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int, height: int) -> bytes:
    """A 1-bit PNG of width x height zeros: tiny on disk, huge decoded."""
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    row = b"\x00" * (1 + (width + 7) // 8)
    comp = zlib.compressobj(9)
    idat = b"".join(comp.compress(row) for _ in range(height)) + comp.flush()
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


def png_header_only(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IEND", b"")


def gif_screen_bomb() -> bytes:
    """A GIF whose logical screen is 65535 x 65535 (one tiny frame)."""
    small = io.BytesIO()
    Image.new("P", (16, 16)).save(small, "GIF")
    data = bytearray(small.getvalue())
    data[6:10] = struct.pack("<HH", 65535, 65535)
    return bytes(data)


def gif_frame_bomb(frames: int = 3000) -> bytes:
    """An animated GIF with thousands of full-screen frames."""
    rng = np.random.default_rng(1)
    images = [
        Image.fromarray(rng.integers(0, 255, (64, 64), dtype=np.uint8), "L").convert("P")
        for _ in range(8)
    ]
    seq = [images[i % 8] for i in range(frames)]
    buf = io.BytesIO()
    seq[0].save(buf, "GIF", save_all=True, append_images=seq[1:], duration=10, loop=0)
    return buf.getvalue()


def upload(name: str, data: bytes, ctype: str = "image/png") -> Files:
    return [("image_files", (name, data, ctype))]


# --------------------------------------------------------------------------- fakes of the world


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """A test-local resolver: names in the returned dict resolve to their addresses."""
    table: dict[str, list[str]] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name in table:
            out = []
            for address in table[name]:
                family = socket.AF_INET6 if ":" in address else socket.AF_INET
                sockaddr: tuple[Any, ...] = (
                    (address, int(port or 0), 0, 0) if ":" in address else (address, int(port or 0))
                )
                out.append((family, socket.SOCK_STREAM, 6, "", sockaddr))
            return out
        if isinstance(name, str) and name.endswith(".example"):
            raise socket.gaierror(socket.EAI_NONAME, "unknown name")
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return table


@pytest.fixture
def fake_routes(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Connections to a made-up public address go to a loopback port (the fake internet)."""
    routes: dict[str, int] = {}
    real = httpcore.SyncBackend.connect_tcp

    def connect_tcp(self: Any, host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        if host in routes:
            return real(self, "127.0.0.1", routes[host], *args, **kwargs)
        return real(self, host, port, *args, **kwargs)

    monkeypatch.setattr(httpcore.SyncBackend, "connect_tcp", connect_tcp)
    return routes


class _Server:
    """A loopback TCP server whose handler gets the raw socket."""

    def __init__(self, handle: Callable[[socket.socket], None]) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = int(self.sock.getsockname()[1])
        self.handle = handle
        self.stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._run, args=(conn,), daemon=True).start()

    def _run(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(60)
            self.handle(conn)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


@pytest.fixture
def tcp_server() -> Iterator[Callable[[Callable[[socket.socket], None]], _Server]]:
    servers: list[_Server] = []

    def make(handle: Callable[[socket.socket], None]) -> _Server:
        servers.append(_Server(handle))
        return servers[-1]

    yield make
    for server in servers:
        server.close()


def _read_request(conn: socket.socket) -> str:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.decode("latin-1")


def redirector(target: str) -> Callable[[socket.socket], None]:
    def handle(conn: socket.socket) -> None:
        _read_request(conn)
        conn.sendall(
            f"HTTP/1.1 302 Found\r\nLocation: {target}\r\nContent-Length: 0\r\n"
            "Connection: close\r\n\r\n".encode()
        )

    return handle


def photo_server() -> Callable[[socket.socket], None]:
    body = (TESTDATA / "coffee.png").read_bytes()

    def handle(conn: socket.socket) -> None:
        _read_request(conn)
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\nConnection: close\r\n\r\n"
            + body
        )

    return handle


# --------------------------------------------------------------------------- uploads


def test_corrupt_truncated_polyglot_and_huge_images(api_factory: Callable[..., Api]) -> None:
    api = corpus_api(api_factory, max_upload_mb=2.0)
    corpus = Corpus(api)
    png = (TESTDATA / "coffee.png").read_bytes()
    jpg = (TESTDATA / "rocket.jpg").read_bytes()
    rng = np.random.default_rng(7)
    cases: dict[str, bytes] = {
        "empty": b"",
        "random bytes": rng.integers(0, 256, 4096, dtype=np.uint8).tobytes(),
        "png signature then garbage": b"\x89PNG\r\n\x1a\n" + b"\xff" * 1000,
        "truncated png": png[: len(png) // 3],
        "truncated jpeg": jpg[: len(jpg) // 4],
        "jpeg header only": jpg[:200],
        "png with corrupt IDAT": png[:100] + bytes(b ^ 0x5A for b in png[100:4000]) + png[4000:],
        "html then png (polyglot)": b"<html><script>alert(1)</script></html>\n" + png,
        "gif/javascript polyglot": b"GIF89a/*\x00\x00\x00\x00*/=alert(document.domain);//",
        "pdf": b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF",
        "svg": b'<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"/>',
        "zip": b"PK\x03\x04" + b"\x00" * 200,
        "bmp (unsupported)": image_bytes("BMP"),
        "tiff (unsupported)": image_bytes("TIFF"),
        "1x1 png (too small)": image_bytes("PNG", (1, 1)),
        "png header claiming 100000x100000": png_header_only(100_000, 100_000),
        "png header claiming 2^31 wide": png_header_only(2**31 - 1, 1),
        "png decompression bomb 20000x20000": png_bomb(20_000, 20_000),
        "gif logical screen 65535x65535": gif_screen_bomb(),
        "webp truncated": image_bytes("WEBP")[:60],
    }
    for name, data in cases.items():
        corpus.expect_4xx(name, corpus.post(data={"duration": "1"}, files=upload("x.png", data)))
    # Larger than max_upload_mb (2 MB) but under the request cap: the file itself is refused.
    big = b"\x89PNG\r\n\x1a\n" + rng.integers(0, 256, 2_500_000, dtype=np.uint8).tobytes()
    corpus.expect_4xx("file over max_upload_mb", corpus.post(files=upload("big.png", big)))
    # Over the request cap (2 x max_upload_mb + 1 MB): refused before parsing, by length.
    huge = b"\x00" * (6 * 1024 * 1024)
    corpus.expect_4xx(
        "body over the cap (Content-Length)",
        corpus.post_raw(huge, "application/json"),
        statuses=(413,),
    )

    # A chunked JSON body has no Content-Length: the cap holds while reading.
    def chunks() -> Iterator[bytes]:
        for _ in range(8):
            yield b" " * (1024 * 1024)

    corpus.expect_4xx(
        "chunked body over the cap",
        lambda: api.client.post(
            "/media",
            content=chunks(),
            headers={**api.headers(), "Content-Type": "application/json"},
        ),
        statuses=(413,),
    )
    # Three files (at most two), and files under the wrong field name.
    three = upload("a.png", png) * 3
    corpus.expect_4xx("three images", corpus.post(files=three))
    corpus.expect_4xx(
        "file in another field", corpus.post(files=[("prompt", ("p.png", png, "image/png"))])
    )
    assert stored_files(api) == []


def test_animated_gif_bomb_uses_only_the_first_frame(api_factory: Callable[..., Api]) -> None:
    """Thousands of frames: only the first is decoded (dry run: priced, validated, not run)."""
    api = corpus_api(api_factory)
    corpus = Corpus(api)
    bomb = gif_frame_bomb()
    started = time.monotonic()
    r = api.client.post(
        "/media",
        params={"dry_run": "true"},
        data={"duration": "1"},
        files=upload("bomb.gif", bomb, "image/gif"),
        headers=api.headers(),
    )
    COUNTS["cases"] += 1
    assert r.status_code == 200, r.text
    assert time.monotonic() - started < 5
    corpus.assert_unchanged("gif frame bomb")


# --------------------------------------------------------------------------- request shapes


def test_wrong_content_types_and_malformed_bodies(api_factory: Callable[..., Api]) -> None:
    api = corpus_api(api_factory)
    corpus = Corpus(api)
    form = b"prompt=a+red+balloon&duration=1"
    json_body = b'{"prompt": "a red balloon", "duration": 1}'
    raw_cases: list[tuple[str, bytes, str]] = [
        ("text/plain", b"prompt=hello", "text/plain"),
        ("xml", b"<media><prompt>x</prompt></media>", "application/xml"),
        ("octet-stream", b"\x00\x01\x02", "application/octet-stream"),
        ("json declared, form sent", form, "application/json"),
        ("multipart without boundary", json_body, "multipart/form-data"),
        ("multipart, json sent", json_body, "multipart/form-data; boundary=xyz"),
        ("json array", b"[1, 2, 3]", "application/json"),
        ("json string", b'"prompt"', "application/json"),
        ("json null", b"null", "application/json"),
        ("invalid utf-8 json", b'{"prompt": "\xff\xfe"}', "application/json"),
        ("deeply nested json", b"[" * 100_000 + b"]" * 100_000, "application/json"),
        ("deeply nested object", b'{"a":' * 50_000 + b"1" + b"}" * 50_000, "application/json"),
        # Deep enough to pass json.loads but not the recursive checks behind it (was a 500).
        (
            "nested 500 in metadata",
            b'{"metadata":' + b"[" * 500 + b"]" * 500 + b"}",
            "application/json",
        ),
        (
            "nested 900 in a field",
            b'{"x":' + b'{"a":' * 900 + b"1" + b"}" * 901,
            "application/json",
        ),
        # Amplification: one error per unknown name was 8 times the body, built on the loop.
        (
            "100000 unknown fields",
            json.dumps({f"f{i}": 1 for i in range(100_000)}).encode(),
            "application/json",
        ),
        ("truncated json", json_body[:20], "application/json"),
        ("NaN in json", b'{"prompt": "x", "duration": NaN}', "application/json"),
        ("huge number", b'{"prompt": "x", "duration": ' + b"9" * 5000 + b"}", "application/json"),
        ("form with bad percent", b"prompt=%ZZ%&duration=%", "application/x-www-form-urlencoded"),
    ]
    for name, content, ctype in raw_cases:
        corpus.expect_4xx(name, corpus.post_raw(content, ctype))
    # Thousands of multipart parts (fields and files).
    boundary = "b0undary"
    parts = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="f{i}"\r\n\r\nv\r\n'
        for i in range(5000)
    )
    corpus.expect_4xx(
        "5000 form fields",
        corpus.post_raw(
            (parts + f"--{boundary}--\r\n").encode(), f"multipart/form-data; boundary={boundary}"
        ),
    )
    files = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="image_files"; '
        f'filename="f{i}.png"\r\nContent-Type: image/png\r\n\r\nx\r\n'
        for i in range(3000)
    )
    corpus.expect_4xx(
        "3000 file parts",
        corpus.post_raw(
            (files + f"--{boundary}--\r\n").encode(), f"multipart/form-data; boundary={boundary}"
        ),
    )
    corpus.expect_4xx(
        "unterminated multipart",
        corpus.post_raw(
            f'--{boundary}\r\nContent-Disposition: form-data; name="prompt"\r\n\r\nabc'.encode(),
            f"multipart/form-data; boundary={boundary}",
        ),
    )
    corpus.expect_4xx(
        "multipart header without name",
        corpus.post_raw(
            f"--{boundary}\r\nContent-Disposition: form-data\r\n\r\nabc\r\n"
            f"--{boundary}--\r\n".encode(),
            f"multipart/form-data; boundary={boundary}",
        ),
    )
    # Very long fields.
    long = "a" * 100_001
    for name in ("prompt", "title", "description", "negative_prompt", "narration"):
        corpus.expect_4xx(f"long {name}", corpus.post(data={"prompt": "x", name: long}))
    corpus.expect_4xx("long url", corpus.post(data={"image_urls": "https://a.example/" + long}))
    corpus.expect_4xx(
        "big metadata", corpus.post_json({"prompt": "x", "metadata": {"k": "v" * 5000}})
    )
    corpus.expect_4xx("unknown field", corpus.post(data={"prompt": "x", "evil": "1"}))
    for name, value in {
        "quantity": "0",
        "duration": "99999999999999999999999",
        "loop": "-1",
        "motion_range": "1e400",
        "seed": "-5",
        "motion_type": "Teleport",
        "camera_control": "Warp",
        "aspect_ratio": "1:999",
        "visibility_status": "7",
        "native_audio": "maybe",
        "model": "GPT",
        "narrator": "Nobody",
    }.items():
        corpus.expect_4xx(f"bad {name}", corpus.post(data={"prompt": "x", name: value}))
    # A PUT on someone's media with a JSON array body, and on a missing id.
    corpus.expect_4xx(
        "put json array",
        lambda: api.client.put(
            "/media/nope",
            content=b"[]",
            headers={**api.headers(), "Content-Type": "application/json"},
        ),
        statuses=(404, 422),
    )


UNICODE_VALUES = [
    "\x00",
    "nul\x00inside",
    "\ud800",
    "\x01\x02\x1b[31mred\x1b[0m\x7f",
    "\u202eevil\u202c",
    "zero\u200bwidth\ufeff",
    "𝕳𝖊𝖑𝖑𝖔 🎬 ☃ عربى 中文 \U0010ffff",
    "\r\n\r\nX-Injected: 1",
    "../../../../etc/passwd",
    "'; DROP TABLE media; --",
    "%s%s%n{0}{{7*7}}",
]
STRING_FIELDS = [
    "title",
    "description",
    "prompt",
    "negative_prompt",
    "narration",
    "narrator",
    "bg_music_prompt",
    "webhook_url",
    "visibility_status",
    "motion_type",
    "camera_control",
    "aspect_ratio",
    "model",
    "metadata",
    "media_items",
    "audio_option",
    "image_urls",
    "rating",
]


def test_unicode_and_control_characters_in_every_string_field(
    api_factory: Callable[..., Api],
) -> None:
    """Every string field, every nasty value, as JSON (dry run: validated and priced only).

    A value is either refused with a 4xx or accepted as text; never a 500. Then one real media
    with nasty text in every free-text field renders (or fails with a refund) and reads back.
    """
    api = corpus_api(api_factory, credits=10)
    corpus = Corpus(api)
    for field in STRING_FIELDS:
        for value in UNICODE_VALUES:
            body = {"prompt": "a red balloon", "duration": 1, field: value}
            r = api.client.post(
                "/media",
                params={"dry_run": "true"},
                content=json.dumps(body).encode(),  # ASCII escapes: lone surrogates survive
                headers={**api.headers(), "Content-Type": "application/json"},
            )
            COUNTS["cases"] += 1
            if r.status_code >= 500:
                COUNTS["server_errors"] += 1
            assert r.status_code in (200, 422), (field, value, r.status_code, r.text[:300])
            if "\x00" in value or "\ud800" in value:
                assert r.status_code == 422, (field, value, r.text[:300])
            # The same through a form (what the spec's Python examples send).
            if "\ud800" not in value:
                r = api.client.post(
                    "/media",
                    params={"dry_run": "true"},
                    data={"prompt": "a red balloon", "duration": "1", field: value},
                    headers=api.headers(),
                )
                COUNTS["cases"] += 1
                if r.status_code >= 500:
                    COUNTS["server_errors"] += 1
                assert r.status_code in (200, 422), (field, value, r.status_code, r.text[:300])
    corpus.assert_unchanged("unicode dry runs")
    # Headers: a non-ASCII or control-laden key is just an unknown key.
    for key in ("kin_\u00e9\u00e8", "kin_" + "x" * 10_000, "\t kin_ \t"):
        r = api.client.get("/credits", headers={"X-Api-Key": key.encode("utf-8")})
        COUNTS["cases"] += 1
        assert r.status_code == 401, r.text
    # One real media with nasty (but storable) text everywhere: it renders or fails with a
    # refund, and reads back intact.
    nasty = "\x01\x1b[31m \u202eevil\u202c 🎬 中文 '; DROP TABLE media; -- {{7*7}}"
    r = api.client.post(
        "/media",
        json={
            "prompt": "a red balloon " + nasty,
            "negative_prompt": nasty,
            "title": nasty,
            "description": nasty,
            "metadata": {nasty: nasty},
            "duration": 1,
        },
        headers=api.headers(),
    )
    COUNTS["cases"] += 1
    assert r.status_code == 200, r.text
    media = api.wait(r.json()["data"]["id"])
    assert media["title"] == nasty and media["metadata"] == {nasty: nasty}
    if media["processing_status"] == "fail":
        assert media["error"], media
        assert api.credits() == 10
    else:
        assert media["processing_status"] == "success", media
        assert api.credits() == 10 - 1
    r = api.client.put(f"/media/{media['id']}", json={"title": "\x00"}, headers=api.headers())
    COUNTS["cases"] += 1
    assert r.status_code == 422, r.text


def test_malformed_media_items_and_audio_option(api_factory: Callable[..., Api]) -> None:
    api = corpus_api(api_factory)
    corpus = Corpus(api)
    items: list[Any] = [
        "not json",
        "[",
        "[]" + "x",
        "{}",
        "42",
        "null",
        '"a string"',
        '[{"type": "image"}]',
        '[{"url": "https://a.example/x.png"}]',
        '[{"type": "audio", "url": "https://a.example/x.mp3"}]',
        '[{"type": "image", "url": "file:///etc/passwd"}]',
        '[{"type": "image", "url": "ftp://a.example/x.png"}]',
        '[{"type": "image", "url": "gopher://127.0.0.1:70/x"}]',
        '[{"type": "image", "url": "https://user:pw@a.example/x.png"}]',
        '[{"type": "image", "url": "https://a.example/x.png", "position": "Middle"}]',
        '[{"type": "image", "url": "https://a.example/x.png", "extra": 1}]',
        json.dumps([{"type": "image", "url": "https://a.example/x.png"}] * 3),
        json.dumps([{"type": "image", "url": "https://a.example/x.png", "position": "First"}] * 2),
        json.dumps([{"type": "image", "url": "https://nonexistent.example/x.png"}]),
        "[" * 5000 + "]" * 5000,
        json.dumps([{"type": "image", "url": ""}]),
        json.dumps([{"type": ["image"], "url": {"u": 1}}]),
    ]
    for i, value in enumerate(items):
        corpus.expect_4xx(f"media_items #{i}", corpus.post(data={"media_items": value}))
        if isinstance(value, str) and value.strip().startswith(("[", "{")):
            try:
                decoded = json.loads(value)
            except (ValueError, RecursionError):
                continue
            corpus.expect_4xx(
                f"media_items #{i} (json)", corpus.post_json({"media_items": decoded})
            )
    audio: list[Any] = [
        "x",
        "[]",
        "1",
        '{"narrator": "Nobody"}',
        '{"narration_url": "file:///etc/passwd"}',
        '{"bg_music_url": "http://127.0.0.1:1/x.mp3"}',
        '{"narration_url": "https://nonexistent.example/a.mp3"}',
        '{"extra": 1}',
        '{"narration": ' + json.dumps("n" * 6000) + "}",
        '{"narrator": ["Rachel"]}',
    ]
    for i, value in enumerate(audio):
        corpus.expect_4xx(
            f"audio_option #{i}", corpus.post(data={"prompt": "x", "audio_option": value})
        )


# --------------------------------------------------------------------------- URLs (SSRF)


def test_urls_to_private_loopback_link_local_and_mapped_addresses_are_refused(
    api_factory: Callable[..., Api], fake_external_host: FileServer
) -> None:
    """Literal addresses and names from /etc/hosts; the photo server on loopback is real."""
    api = corpus_api(api_factory)
    corpus = Corpus(api)
    port = fake_external_host.base_url.rsplit(":", 1)[1]
    urls = [
        fake_external_host.url("coffee.png"),
        f"http://localhost:{port}/coffee.png",
        f"http://vm:{port}/coffee.png",  # /etc/hosts
        f"http://[::1]:{port}/coffee.png",
        f"http://[::ffff:127.0.0.1]:{port}/coffee.png",
        f"http://[::ffff:7f00:1]:{port}/coffee.png",
        f"http://127.1:{port}/coffee.png",
        f"http://2130706433:{port}/coffee.png",
        f"http://0x7f000001:{port}/coffee.png",
        f"http://0177.0.0.1:{port}/coffee.png",
        f"http://0:{port}/coffee.png",
        # IPv4 inside IPv6: NAT64, local-use NAT64, 6to4, compatible and translated forms.
        f"http://[64:ff9b::7f00:1]:{port}/coffee.png",
        f"http://[64:ff9b:1::a9fe:a9fe]:{port}/coffee.png",
        f"http://[2002:7f00:1::]:{port}/coffee.png",
        f"http://[::7f00:1]:{port}/coffee.png",
        f"http://[::ffff:0:7f00:1]:{port}/coffee.png",
        # Malformed hosts (were 500s).
        "http://256.0.0.1/x.png",
        "http://[::1/x.png",
        "http://xn--/x.png",
        "http://\uff11\uff12\uff17.\uff10.\uff10.\uff11/x.png",
        f"http://0.0.0.0:{port}/coffee.png",
        "http://10.0.0.1/x.png",
        "http://172.16.0.1/x.png",
        "http://192.168.1.1/x.png",
        "http://100.64.0.1/x.png",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fe80::1]/x.png",
        "http://[fd00::1]/x.png",
        "http://[::ffff:169.254.169.254]/latest/meta-data/",
        "http://[64:ff9b::a9fe:a9fe]/latest/meta-data/",
        "http://224.0.0.1/x.png",
        "http://255.255.255.255/x.png",
        "file:///etc/passwd",
        "ftp://10.0.0.1/x.png",
        "http://user:pass@example.com/x.png",
        "http:///x.png",
        "javascript:alert(1)",
    ]
    for url in urls:
        corpus.expect_4xx(url, corpus.post(data={"image_urls": url}), max_seconds=15)
        item = json.dumps([{"type": "image", "url": url}])
        corpus.expect_4xx(f"item {url}", corpus.post(data={"media_items": item}), max_seconds=15)
    for url in urls:
        if url.startswith("http") and "//vm:" not in url:  # names: checked at delivery
            corpus.expect_4xx(
                f"webhook {url}", corpus.post(data={"prompt": "x", "webhook_url": url})
            )
    for url in urls[:6]:
        corpus.expect_4xx(
            f"narration {url}",
            corpus.post(data={"prompt": "x", "audio_option": json.dumps({"narration_url": url})}),
        )


def test_redirects_to_private_addresses_are_refused_fake_dns_and_routing(
    api_factory: Callable[..., Api],
    fake_dns: dict[str, list[str]],
    fake_routes: dict[str, int],
    tcp_server: Callable[[Callable[[socket.socket], None]], _Server],
    fake_external_host: FileServer,
) -> None:
    """A public-looking host answers 302 to a private place: each hop is checked again."""
    api = corpus_api(api_factory)
    corpus = Corpus(api)
    port = fake_external_host.base_url.rsplit(":", 1)[1]
    photos = tcp_server(photo_server())
    fake_dns["photos.example"] = [PUBLIC_B]
    fake_routes[PUBLIC_B] = photos.port
    # The control: a public name that serves a photo is fetched (the guard is not refusing all).
    got = fetch(
        "http://photos.example/coffee.png",
        field="x",
        max_bytes=2**24,
        timeout=5,
        allow_private=False,
    )
    assert got.content[:4] == b"\x89PNG"
    targets = [
        f"http://127.0.0.1:{port}/coffee.png",
        f"http://localhost:{port}/coffee.png",
        f"http://vm:{port}/coffee.png",
        f"http://[::ffff:127.0.0.1]:{port}/coffee.png",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fe80::1]/",
        "file:///etc/passwd",
        "gopher://127.0.0.1:6379/_FLUSHALL",
        "//127.0.0.1/scheme-relative",
    ]
    for i, target in enumerate(targets):
        server = tcp_server(redirector(target))
        name = f"redirect{i}.example"
        fake_dns[name] = [f"93.184.216.{40 + i}"]
        fake_routes[f"93.184.216.{40 + i}"] = server.port
        url = f"http://{name}/photo.png"
        corpus.expect_4xx(
            f"redirect to {target}", corpus.post(data={"image_urls": url}), max_seconds=15
        )
    # A redirect loop ends too.
    loop = tcp_server(redirector("http://loop.example/again"))
    fake_dns["loop.example"] = ["93.184.216.60"]
    fake_routes["93.184.216.60"] = loop.port
    corpus.expect_4xx(
        "redirect loop",
        corpus.post(data={"image_urls": "http://loop.example/x"}),
        reason="too many redirects",
    )


def test_dns_names_resolving_to_private_addresses_are_refused_fake_dns(
    api_factory: Callable[..., Api],
    fake_dns: dict[str, list[str]],
    fake_routes: dict[str, int],
    tcp_server: Callable[[Callable[[socket.socket], None]], _Server],
) -> None:
    api = corpus_api(api_factory)
    corpus = Corpus(api)
    photos = tcp_server(photo_server())
    fake_routes[PUBLIC_A] = photos.port
    fake_dns.update(
        {
            "loopback.example": ["127.0.0.1"],
            "private.example": ["10.1.2.3"],
            "metadata.example": ["169.254.169.254"],
            "v6-loopback.example": ["::1"],
            "v6-mapped.example": ["::ffff:10.0.0.1"],
            "unique-local.example": ["fd12:3456::1"],
            # Rebinding-style: one public and one private answer. Every address must be global.
            "mixed.example": [PUBLIC_A, "127.0.0.1"],
            "mixed-reverse.example": ["192.168.0.10", PUBLIC_A],
        }
    )
    for name in fake_dns:
        corpus.expect_4xx(
            name,
            corpus.post(data={"image_urls": f"http://{name}/coffee.png"}),
            reason="not allowed",
            max_seconds=15,
        )
    corpus.expect_4xx(
        "unknown name", corpus.post(data={"image_urls": "http://nowhere.example/x.png"})
    )


def _slow_headers(conn: socket.socket) -> None:
    _read_request(conn)
    for byte in b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nX-Slow: " + b"a" * 500:
        conn.sendall(bytes([byte]))
        time.sleep(0.2)


def _slow_body(conn: socket.socket) -> None:
    _read_request(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 100000\r\n\r\n")
    for _ in range(500):
        conn.sendall(b"\x89")
        time.sleep(0.2)


def _silent(conn: socket.socket) -> None:
    _read_request(conn)
    time.sleep(30)


def test_slow_loris_url_servers_are_given_up_in_time(
    api_factory: Callable[..., Api],
    tcp_server: Callable[[Callable[[socket.socket], None]], _Server],
) -> None:
    """Loopback servers that dribble bytes (private URLs allowed here: the clock is tested).
    The total timeout is 1 s: still five times the 0.2 s between bytes, so a per-read timeout
    alone would never fire and only the total deadline can end each fetch in time."""
    timeout = 1.0
    api = corpus_api(api_factory, allow_private_urls=True, fetch_timeout_seconds=timeout)
    corpus = Corpus(api)
    for name, handler in (
        ("headers a byte at a time", _slow_headers),
        ("body a byte at a time", _slow_body),
        ("never answers", _silent),
    ):
        server = tcp_server(handler)
        url = f"http://127.0.0.1:{server.port}/x.png"
        corpus.expect_4xx(name, corpus.post(data={"image_urls": url}), max_seconds=timeout + 2)
        item = json.dumps([{"type": "image", "url": url}])
        corpus.expect_4xx(
            f"item: {name}", corpus.post(data={"media_items": item}), max_seconds=timeout + 2
        )


def test_bad_input_counts() -> None:
    """Runs after the corpus (same module): enough cases, no 500, nothing charged."""
    assert COUNTS["cases"] >= 300, COUNTS
    assert COUNTS["server_errors"] == 0, COUNTS
    assert COUNTS["charged"] == 0, COUNTS
