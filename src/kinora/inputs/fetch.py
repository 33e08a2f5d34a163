"""Download a URL without letting a request reach places it must not.

The host is resolved once, every address must be global (unless private URLs are allowed),
and the connection goes to the checked address itself, so DNS cannot change between check and
connect. Redirects are followed by hand and each hop is checked again; bytes and total time
are capped.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from kinora.errors import FetchError, InputError


@dataclass(frozen=True)
class Fetched:
    url: str
    content: bytes
    content_type: str


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
"""Local-use NAT64 (RFC 8215): never globally reachable, whatever it embeds."""


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address] | None:
    """The IPv4 addresses an IPv6 address carries (and reaches through a translator or
    tunnel), or None when it carries none: mapped (::ffff:a.b.c.d), translated
    (::ffff:0:a.b.c.d), compatible (::a.b.c.d), NAT64 (64:ff9b::/96), 6to4 (2002::/16) and
    Teredo (2001::/32, the client)."""
    value = int(ip)
    low = ipaddress.IPv4Address(value & 0xFFFFFFFF)
    if ip.ipv4_mapped is not None:
        return [ip.ipv4_mapped]
    if value >> 32 == 0xFFFF0000 or (value >> 32 == 0 and value > 1) or ip in _NAT64:
        return [low]
    if ip.sixtofour is not None:
        return [ip.sixtofour]
    if ip.teredo is not None:
        return [ip.teredo[1]]
    return None


def address_allowed(address: str, *, allow_private: bool) -> bool:
    """Whether a connection may go to ``address``; an IPv6 address that embeds IPv4 ones is
    judged by those (``is_global`` alone passes NAT64, 6to4 and the like)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    candidates: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = [ip]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _NAT64_LOCAL and not allow_private:
            return False
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            candidates = list(embedded)
    for candidate in candidates:
        if allow_private:
            if candidate.is_multicast or candidate.is_unspecified:
                return False
        elif not candidate.is_global or candidate.is_multicast:
            return False
    return True


class _DeadlineStream(httpcore.NetworkStream):
    """A connection that gives up at a fixed time, however slowly the peer dribbles bytes.

    httpx's timeouts are per read, so a server sending a byte a second (headers included) would
    otherwise hold a fetch open forever.
    """

    def __init__(self, inner: httpcore.NetworkStream, deadline: float) -> None:
        self._inner = inner
        self._deadline = deadline

    def _left(self, timeout: float | None, exc: type[Exception]) -> float:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise exc("the fetch ran out of time")
        return left if timeout is None else min(timeout, left)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, timeout=self._left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, timeout=self._left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        inner = self._inner.start_tls(
            ssl_context, server_hostname, timeout=self._left(timeout, httpcore.ConnectTimeout)
        )
        return _DeadlineStream(inner, self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _GuardedBackend(httpcore.NetworkBackend):
    """Resolves, checks and connects to the checked address (no DNS rebinding window)."""

    def __init__(self, *, allow_private: bool, deadline: float | None = None) -> None:
        self._inner = httpcore.SyncBackend()
        self._allow_private = allow_private
        self._deadline = deadline

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}") from exc
        addresses = [str(info[4][0]) for info in infos]
        for address in addresses:
            if not address_allowed(address, allow_private=self._allow_private):
                raise _Refused(f"address {address} of {host} is not allowed")
        if self._deadline is None:
            return self._inner.connect_tcp(
                addresses[0],
                port,
                timeout=timeout,
                local_address=local_address,
                socket_options=socket_options,
            )
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise httpcore.ConnectTimeout("the fetch ran out of time")
        stream = self._inner.connect_tcp(
            addresses[0],
            port,
            timeout=left if timeout is None else min(timeout, left),
            local_address=local_address,
            socket_options=socket_options,
        )
        return _DeadlineStream(stream, self._deadline)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class RefusedAddress(httpcore.ConnectError):
    """A connection refused before it was made: the address is not allowed (never worth
    retrying, unlike other connect errors)."""


_Refused = RefusedAddress


def guarded_client(
    *, allow_private: bool, timeout: float, deadline: float | None = None
) -> httpx.Client:
    """A client whose connections are checked; with ``deadline`` (a ``time.monotonic()``
    value) every connect, read and write also stops at that moment."""
    transport = httpx.HTTPTransport(retries=0)
    transport._pool = httpcore.ConnectionPool(  # the documented way to pick a network backend
        ssl_context=ssl.create_default_context(),
        network_backend=_GuardedBackend(allow_private=allow_private, deadline=deadline),
        max_connections=4,
    )
    return httpx.Client(
        transport=transport, timeout=timeout, follow_redirects=False, trust_env=False
    )


def _url_host(url: str, *, field: str | tuple[str | int, ...]) -> str:
    """The host of an http(s) URL as the HTTP client will connect to it (IDNA-encoded, IPv6
    without brackets), or a FetchError for a URL it could not even parse."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises for a port out of range)
        host = parts.hostname
    except ValueError:
        raise FetchError(field, f"malformed URL: {url[:200]!r}") from None
    if parts.scheme not in {"http", "https"} or not host:
        raise FetchError(field, f"not an http(s) URL: {url[:200]!r}")
    if parts.username or parts.password:
        raise FetchError(field, "URLs with credentials are not accepted")
    try:
        host = httpx.URL(url).host
    except (httpx.InvalidURL, ValueError):  # IDNAError is a ValueError
        raise FetchError(field, f"malformed host in URL: {url[:200]!r}") from None
    if not host:
        raise FetchError(field, f"not an http(s) URL: {url[:200]!r}")
    if ":" not in host and _looks_numeric(host) and _numeric_addresses(host) is None:
        raise FetchError(field, f"malformed IPv4 address in URL: {url[:200]!r}")
    return host


def _looks_numeric(host: str) -> bool:
    """A host whose last label is a number is an IPv4 address (as browsers parse it), so it
    must parse as one: ``256.0.0.1`` is malformed, not a name."""
    last = host.rstrip(".").rsplit(".", 1)[-1].lower()
    digits = last[2:] if last.startswith("0x") else last
    return (
        bool(last)
        and all(c in "0123456789abcdef" for c in digits)
        and (last.isdigit() or last.startswith("0x"))
    )


def _numeric_addresses(host: str) -> list[str] | None:
    """The addresses a numeric host means to the system resolver (``127.1``, ``0x7f000001``,
    ``2130706433``, ``0177.0.0.1``, ``0``, an IPv6 literal), or None for a name. No DNS."""
    try:
        infos = socket.getaddrinfo(
            host.rstrip(".") if ":" not in host else host,
            None,
            type=socket.SOCK_STREAM,
            flags=socket.AI_NUMERICHOST,
        )
    except (socket.gaierror, UnicodeError, ValueError, OSError):
        pass
    else:
        return [str(info[4][0]) for info in infos] or None
    try:  # inet_aton semantics, should the resolver not accept a short or octal form
        return [socket.inet_ntoa(socket.inet_aton(host.rstrip(".")))]
    except (OSError, ValueError):
        return None


def check_url(url: str, *, field: str | tuple[str | int, ...]) -> str:
    _url_host(url, field=field)
    return url


def check_webhook_url(url: str, *, allow_private: bool) -> str:
    """Refuse at create what delivery would refuse anyway: other schemes, credentials,
    malformed hosts and (unless private URLs are allowed) loopback or private addresses in
    any spelling the system resolver accepts (``127.1``, ``0x7f000001``, ``2130706433``,
    ``0177.0.0.1``, ``0``, IPv4 embedded in IPv6). Names are resolved, and checked again, only
    at delivery."""
    field = ("body", "webhook_url")
    try:
        host = _url_host(url, field=field).rstrip(".").lower()
    except FetchError as exc:
        raise InputError(field, exc.message) from None
    addresses = _numeric_addresses(host)
    if addresses is None:
        if not allow_private and (host == "localhost" or host.endswith(".localhost")):
            raise InputError(field, "loopback addresses are not allowed")
        return url
    for address in addresses:
        if not address_allowed(address, allow_private=allow_private):
            raise InputError(field, f"address {host} ({address}) is not allowed")
    return url


def fetch(
    url: str,
    *,
    field: str | tuple[str | int, ...],
    max_bytes: int,
    timeout: float,
    allow_private: bool,
    max_redirects: int = 5,
) -> Fetched:
    deadline = time.monotonic() + timeout
    current = check_url(url, field=field)
    with guarded_client(
        allow_private=allow_private, timeout=min(timeout, 10.0), deadline=deadline
    ) as client:
        for _hop in range(max_redirects + 1):
            try:
                with client.stream("GET", current, headers={"User-Agent": "kinora"}) as response:
                    if response.is_redirect:
                        location = response.headers.get("location", "")
                        try:
                            joined = urljoin(current, location)
                        except ValueError:
                            raise FetchError(field, "malformed redirect location") from None
                        current = check_url(joined, field=field)
                        continue
                    if response.status_code != 200:
                        raise FetchError(field, f"{current[:200]} answered {response.status_code}")
                    declared = response.headers.get("content-length")
                    if declared and declared.isdigit() and int(declared) > max_bytes:
                        raise FetchError(field, f"file is larger than {max_bytes // 2**20} MB")
                    chunks: list[bytes] = []
                    size = 0
                    for chunk in response.iter_bytes():
                        size += len(chunk)
                        if size > max_bytes:
                            raise FetchError(field, f"file is larger than {max_bytes // 2**20} MB")
                        if time.monotonic() > deadline:
                            raise FetchError(field, f"download took longer than {timeout:.0f} s")
                        chunks.append(chunk)
                    return Fetched(
                        url=current,
                        content=b"".join(chunks),
                        content_type=response.headers.get("content-type", ""),
                    )
            except _Refused as exc:
                raise FetchError(field, f"URL not allowed: {exc}") from None
            except httpx.TimeoutException:
                raise FetchError(
                    field, f"timed out fetching {current[:200]} (limit {timeout:g} s)"
                ) from None
            except httpx.HTTPError as exc:
                cause = exc.__cause__ or exc.__context__
                if isinstance(cause, _Refused):
                    raise FetchError(field, f"URL not allowed: {cause}") from None
                raise FetchError(field, f"could not fetch {current[:200]}: {exc}") from None
        raise FetchError(field, "too many redirects")
