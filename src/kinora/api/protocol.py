"""The HTTP protocol ``kinora serve`` runs: uvicorn's h11 protocol with read timeouts.

uvicorn times out only an idle kept-alive connection; a client that opens a connection and
sends half a header, or stops in the middle of a body, holds it (and its memory) for as long as
it likes. This subclass adds the two timeouts a reverse proxy would have (nginx's
``client_header_timeout`` and ``client_body_timeout``):

- header: from a connection's opening, or the first byte of a request on a kept-alive
  connection, until its request line and headers are complete (a total, so dripping one byte
  at a time does not help). Idle time *between* requests stays uvicorn's keep-alive timeout,
  and a request whose headers are complete is never cut by this one however long its
  response takes;
- body: the longest wait for the next bytes of a request body, counted only while the server
  is reading (while the app is busy and reading is paused, the client is not the slow one).

A timed-out request is answered 408 in the API's error shape if no response has started, and
the connection is closed either way.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol


def _timeout_response(what: str) -> bytes:
    body = json.dumps(
        {"message": "REQUEST_TIMEOUT", "detail": f"the request {what} took too long to arrive"}
    ).encode()
    head = (
        "HTTP/1.1 408 Request Timeout\r\n"
        "content-type: application/json\r\n"
        f"content-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    ).encode()
    return head + body


class TimedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with header and body read timeouts (see the module docstring);
    :func:`timed_protocol` makes the class with the timeouts a server uses."""

    header_timeout: float = 10.0
    body_timeout: float = 30.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timers()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is h11.IDLE:
            self._arm_header()  # the first bytes of a request: its headers are now due
        super().data_received(data)
        self._track()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._track()

    # ------------------------------------------------------------------ timers

    def _arm_header(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout, self._header_expired)

    def _arm_body(self) -> None:
        if self._body_timer is not None:
            self._body_timer.cancel()
        self._body_timer = self.loop.call_later(self.body_timeout, self._body_expired)

    def _cancel_timers(self) -> None:
        for timer in (self._header_timer, self._body_timer):
            if timer is not None:
                timer.cancel()
        self._header_timer = self._body_timer = None

    def _track(self) -> None:
        """After h11 has seen new bytes: stop the header clock once a request's headers are
        in, and (re)start the body clock while its body is still arriving."""
        state = self.conn.their_state
        if state is h11.IDLE:
            if self.conn.trailing_data[0]:  # part of a pipelined request is already here
                self._arm_header()
        elif self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        if state is h11.SEND_BODY:
            self._arm_body()
        elif self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None

    def _header_expired(self) -> None:
        self._header_timer = None
        if self.conn.their_state is h11.IDLE:
            self._close_slow("headers")

    def _body_expired(self) -> None:
        self._body_timer = None
        if self.conn.their_state is not h11.SEND_BODY:
            return
        waiting = self.cycle is not None and self.cycle.waiting_for_100_continue
        if self.flow.read_paused or waiting:
            # The app has not asked for more yet (or for the body at all, which an
            # ``Expect: 100-continue`` client waits for): the client is not the slow one.
            self._arm_body()
            return
        self._close_slow("body")

    def _close_slow(self, what: str) -> None:
        if self.transport.is_closing():
            return
        self.logger.info("closing a connection from %s: its %s timed out", self.client, what)
        if self.conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
            self.transport.write(_timeout_response(what))
        self._cancel_timers()
        self.transport.close()


def timed_protocol(*, header_timeout: float, body_timeout: float) -> type[TimedH11Protocol]:
    """The protocol class for ``uvicorn.run(http=...)`` with these timeouts (seconds)."""
    return type(
        "TimedH11Protocol",
        (TimedH11Protocol,),
        {"header_timeout": header_timeout, "body_timeout": body_timeout},
    )
