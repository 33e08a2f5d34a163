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


def address_allowed(address: str, *, allow_private: bool) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if allow_private:
        return not ip.is_multicast and not ip.is_unspecified
    return ip.is_global and not ip.is_multicast


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


class _Refused(httpcore.ConnectError):
    pass


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


def check_url(url: str, *, field: str | tuple[str | int, ...]) -> str:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise FetchError(field, f"not an http(s) URL: {url[:200]!r}")
    if parts.username or parts.password:
        raise FetchError(field, "URLs with credentials are not accepted")
    return url


def check_webhook_url(url: str, *, allow_private: bool) -> str:
    """Refuse at create what delivery would refuse anyway: other schemes, credentials, and
    (unless private URLs are allowed) loopback or private addresses written into the URL.
    Names are resolved, and checked again, only at delivery."""
    field = ("body", "webhook_url")
    try:
        check_url(url, field=field)
    except FetchError as exc:
        raise InputError(field, exc.message) from None
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if not allow_private and (host == "localhost" or host.endswith(".localhost")):
            raise InputError(field, "loopback addresses are not allowed") from None
        return url
    if not address_allowed(host, allow_private=allow_private):
        raise InputError(field, f"address {host} is not allowed")
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
                        current = check_url(urljoin(current, location), field=field)
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
