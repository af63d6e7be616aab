"""`LimitedProtocol`: uvicorn's httptools connection with the limits mqlab adds to it, because
uvicorn has no setting for them (the server around it: `httpserver`):
- a deadline for a request's head and body together (`read_timeout`): 408, then close.
  uvicorn's only timer is the keep-alive one, and any byte resets it (a slowloris);
- idle connections (no request under way) closed after `keepalive_timeout`, before their
  first request too; at most `max_connections` open, an idle one closed to make room for
  a new one, and 503 when none is idle (uvicorn's `limit_concurrency` counts idle
  keep-alive connections and refuses requests instead);
- the app's JSON for what the server refuses (400, 413, 431; uvicorn answers text), a
  head over MAX_HEAD_BYTES refused (431), a body over `max_body` refused (413) as soon as
  it is known, our side of the connection closed, and the rest of the body read and
  dropped up to LINGER_BYTES within the read deadline before the whole close (nginx's
  lingering close): a client that sends its whole body before reading (Python's
  http.client, requests) reads the 413 instead of a reset.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

MAX_HEAD_BYTES = 65536  # request line and headers; more is answered 431
LINGER_BYTES = 64 * 1024 * 1024  # of a refused body read and dropped before the close


@dataclass(frozen=True)
class Limits:
    max_body: int
    read_timeout: float
    max_connections: int


def error_body(message: str) -> bytes:
    """The app's JSON for an error: {"error": message}."""
    return json.dumps({"error": message}).encode("utf-8")


def _answer(status: int, message: str) -> bytes:
    """A whole answer that closes the connection, for what the server refuses itself."""
    body = error_body(message)
    status_line: bytes = STATUS_LINE[status]
    return (
        status_line
        + b"content-type: application/json\r\nconnection: close\r\n"
        + b"content-length: %d\r\n\r\n" % len(body)
        + body
    )


class LimitedProtocol(HttpToolsProtocol):
    """uvicorn's connection, with deadlines, a connection cap and the app's own refusals
    (see the module's docstring). One instance per connection, on the loop."""

    limits: Limits  # set on the subclass each Server makes

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[arg-type]
        self._in_head = True  # between requests, or reading a head
        self._head_bytes = 0
        self._body_bytes = 0
        self._discarding = 0  # >0: a refused body is being read and dropped (its bytes + 1)
        self._deadline: asyncio.TimerHandle | None = None
        if len(self.connections) > self.limits.max_connections and not self._make_room():
            self._refuse(503, "too many connections, try again later")
            return
        # idle until its first request too: uvicorn only times a connection after an answer
        self.timeout_keep_alive_task = self.loop.call_later(
            self.timeout_keep_alive, self.timeout_keep_alive_handler
        )

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._unset_keepalive_if_required()
        if self._in_head:
            self._head_bytes += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            pass  # answered as any other request, then the connection is closed
        except httptools.HttpParserError as e:
            self._refuse(400, f"malformed request: {e}")
            return
        if self._in_head and self._head_bytes > MAX_HEAD_BYTES:
            self._refuse(431, "request line and headers are too large")

    def _unsupported_upgrade_warning(self) -> None:
        pass  # not worth a warning: the request is answered, the connection closed

    @property
    def idle(self) -> bool:
        """No request under way: none begun, and the last one answered."""
        return (
            self._in_head
            and self._head_bytes == 0
            and (self.cycle is None or self.cycle.response_complete)
        )

    def _make_room(self) -> bool:
        for other in self.connections:
            if other is not self and isinstance(other, LimitedProtocol) and other.idle:
                other.transport.close()
                return True
        return False

    # -- httptools' callbacks, before or instead of uvicorn's

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_bytes = max(self._head_bytes, 1)
        self._body_bytes = 0
        self._cancel_deadline()
        self._deadline = self.loop.call_later(self.limits.read_timeout, self._timed_out)

    def on_headers_complete(self) -> None:
        self._in_head, self._head_bytes = False, 0
        length = dict(self.headers).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.limits.max_body:
            self._refuse_body()  # answered before the body is read
            return
        super().on_headers_complete()
        if self.parser.should_upgrade():
            self.cycle.keep_alive = False  # a protocol switch declined

    def on_body(self, body: bytes) -> None:
        if self._discarding:
            self._discarding += len(body)
            if self._discarding > LINGER_BYTES:
                self.transport.close()
            return
        self._body_bytes += len(body)
        if self._body_bytes > self.limits.max_body:  # chunked: no length was given
            self._drop_cycle()
            self._refuse_body()
            return
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._cancel_deadline()
        self._in_head, self._head_bytes = True, 0
        if self._discarding:
            self.transport.close()  # all of it read: the client gets the 413, not a reset
            return
        super().on_message_complete()

    # -- refusals

    def _refuse(self, status: int, message: str) -> None:
        """Answer with an error and close (what the client sent after it is not read)."""
        self._drop_cycle()
        if not self.transport.is_closing():
            self.transport.write(_answer(status, message))
            self.transport.close()

    def _refuse_body(self) -> None:
        """413 now, and our side closed (the client reads the answer, then the end); the
        rest of the body is read and dropped, then the connection closed."""
        self.transport.write(_answer(413, f"body is larger than {self.limits.max_body} bytes"))
        self.transport.write_eof()
        self._discarding = 1
        self.flow.resume_reading()

    def _drop_cycle(self) -> None:
        """The app's side of a request the server answers itself: it sees a disconnect."""
        self._cancel_deadline()
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.disconnected = True
            self.cycle.message_event.set()

    def _timed_out(self) -> None:
        self._deadline = None
        if self._discarding:
            self.transport.close()  # the 413 is sent; the rest of the body took too long
        else:
            self._refuse(408, f"request not received within {self.limits.read_timeout:g} s")

    def _cancel_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
