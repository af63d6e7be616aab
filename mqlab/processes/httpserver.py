"""The app's HTTP server: uvicorn reads and writes on an event loop, blocking handlers run on
a fixed pool of `handler_threads` threads.

uvicorn (with uvloop, and llhttp through httptools) holds every connection on one loop, so
a slow, idle or streaming client costs a socket, never a thread; only a request whose body
has arrived whole takes a handler thread. The handlers block (a scan, an SMTP send, a
broker's confirm), so at most `handler_threads` run at once: in sync mode, the number of
users served at a time. Why uvicorn and not waitress, cheroot, gunicorn or the
thread-per-connection server mqlab had before: bench/README.md, "The HTTP server".

What mqlab adds to uvicorn, in `_Protocol` (a subclass of its `HttpToolsProtocol`), because
uvicorn has no setting for it:
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
  http.client, requests) reads the 413 instead of a reset;
- requests for `fast_paths` (`/health`, `/stats`) answered on the loop at once, never
  waiting for a handler thread. Their handler must not block. Those that `on_loop` claims
  (the job status and its Server-Sent Events, processes/status_api.py) are answered by a
  coroutine of their own on the loop: a stream holds no thread.
On EMFILE/ENFILE uvloop's accept goes on with libuv's reserve descriptor (accept, close),
never dying and logging nothing (asyncio's own loop backs off too, but logs every failed
accept); `max_connections` is lowered below the descriptor limit so that it rarely comes
to that.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import queue
import resource
import socket
import threading
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import httptools
import uvicorn
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

log = logging.getLogger(__name__)

MAX_HEAD_BYTES = 65536  # request line and headers; more is answered 431
LINGER_BYTES = 64 * 1024 * 1024  # of a refused body read and dropped before the close
FD_RESERVE = 64  # descriptors kept for what is not a client (broker, SMTP, logs, listener)
STOP_TIMEOUT_S = 8.0  # a graceful stop waits this long for requests under way (procs waits 10)

JSON = (b"content-type", b"application/json")


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes  # JSON
    headers: tuple[tuple[str, str], ...] = ()


Handler = Callable[[Request], Response]
# (method, path) -> a coroutine (receive, send) that answers on the loop, or None: not its own
OnLoop = Callable[[str, str], Callable[[Any, Any], Awaitable[None]] | None]


def json_error(status: int, message: str) -> Response:
    return Response(status, json.dumps({"error": message}).encode("utf-8"))


@dataclass(frozen=True)
class Limits:
    max_body: int
    read_timeout: float
    max_connections: int


def connection_cap(wanted: int, reserve: int = FD_RESERVE) -> int:
    """`wanted`, lowered to the process's descriptor limit less `reserve` (at least 1)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(1, min(wanted, soft - reserve))


class Server:
    """Listening from construction; `serve()` runs the loop until `stop_accepting()` (and
    the requests under way are answered) or `close()`."""

    def __init__(
        self,
        host: str,
        port: int,
        handler: Handler,
        *,
        handler_threads: int,
        max_body: int,
        read_timeout: float = 10.0,
        keepalive_timeout: float = 5.0,
        max_connections: int = 1000,
        fast_paths: Iterable[str] = (),
        on_loop: OnLoop | None = None,
    ) -> None:
        self.listener = socket.create_server((host, port), backlog=2048)
        cap = connection_cap(max_connections)
        if cap < max_connections:
            log.info("at most %d connections (the descriptor limit is lower)", cap)
        self.max_connections = cap
        self.pool = _Pool(handler, handler_threads)
        limits = Limits(max_body, read_timeout, cap)
        protocol = type("Protocol", (_Protocol,), {"limits": limits})
        config = uvicorn.Config(
            _App(self.pool, frozenset(fast_paths), on_loop),
            http=protocol,
            loop="auto",  # uvloop where it is installed
            interface="asgi3",
            lifespan="off",
            ws="none",
            log_config=None,  # mqlab's logging stays as it is
            log_level="warning",
            access_log=False,
            proxy_headers=False,
            server_header=False,
            date_header=False,
            timeout_graceful_shutdown=round(STOP_TIMEOUT_S),
            backlog=2048,
        )
        # typed int, used as a float (call_later): test runs shrink it below a second
        config.timeout_keep_alive = keepalive_timeout  # type: ignore[assignment]
        self._uvicorn = uvicorn.Server(config)

    @property
    def port(self) -> int:
        return int(self.listener.getsockname()[1])

    def serve(self) -> None:
        """Run until stopped (on the calling thread, which may be any thread)."""
        try:
            self._uvicorn.run(sockets=[self.listener])
        finally:
            self.pool.close()

    def stop_accepting(self) -> None:
        """A graceful stop: no new connection, the requests under way answered (with
        "Connection: close"), idle connections closed; at most STOP_TIMEOUT_S."""
        self._uvicorn.should_exit = True

    def close(self) -> None:
        """Stop now: every connection dropped, whatever is under way."""
        self._uvicorn.should_exit = True
        self._uvicorn.force_exit = True


class _Pool:
    """`handler_threads` daemon threads (a handler still running never holds up the exit)
    that run the handler and hand the answer back to the loop. The same threads serve
    every connection: what a handler keeps in thread-local storage (the broker scenario's
    channel) is reused."""

    def __init__(self, handler: Handler, size: int) -> None:
        self.handler = handler
        self._jobs: queue.SimpleQueue[
            tuple[Request, asyncio.Future[Response], asyncio.AbstractEventLoop] | None
        ] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._work, name=f"http-{i + 1}", daemon=True)
            for i in range(size)
        ]
        for thread in self._threads:
            thread.start()

    def run(self, request: Request) -> asyncio.Future[Response]:
        """On the loop: the answer, once a thread has run the handler."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Response] = loop.create_future()
        self._jobs.put((request, future, loop))
        return future

    def call(self, request: Request) -> Response:
        try:
            return self.handler(request)
        except Exception:
            log.exception("%s %s failed", request.method, request.path)
            return json_error(500, "internal error")

    def close(self) -> None:
        for _ in self._threads:
            self._jobs.put(None)

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            request, future, loop = job
            response = self.call(request)
            with contextlib.suppress(RuntimeError):  # the loop is gone (a forced stop)
                loop.call_soon_threadsafe(_settle, future, response)


def _settle(future: asyncio.Future[Response], response: Response) -> None:
    if not future.done():  # not cancelled by a stop meanwhile
        future.set_result(response)


class _App:
    """The ASGI side: the whole body, then the handler (on the pool, or at once for
    `fast_paths`), then the answer with a length."""

    def __init__(self, pool: _Pool, fast_paths: frozenset[str], on_loop: OnLoop | None) -> None:
        self.pool = pool
        self.fast_paths = fast_paths
        self.on_loop = on_loop

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client left, or the server refused the request meanwhile
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        request = Request(
            method=scope["method"],
            path=scope["raw_path"].decode("ascii", "replace"),
            # llhttp leaves the spaces after a value in it; HTTP says they are not part of it
            headers={
                name.decode("latin-1"): value.decode("latin-1").strip(" \t")
                for name, value in scope["headers"]
            },
            body=bytes(body),
        )
        own = self.on_loop(request.method, request.path) if self.on_loop is not None else None
        if own is not None:
            await own(receive, send)
            return
        if request.path in self.fast_paths:
            response = self.pool.call(request)
        else:
            try:
                response = await self.pool.run(request)
            except asyncio.CancelledError:  # a forced stop: the handler may still finish
                response = json_error(503, "the server stopped first: outcome unknown")
        headers = [
            JSON,
            (b"content-length", str(len(response.body)).encode()),
            *((k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers),
        ]
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        await send({"type": "http.response.body", "body": response.body})


def _answer(status: int, message: str) -> bytes:
    """A whole answer that closes the connection, for what the server refuses itself."""
    body = json_error(status, message).body
    status_line: bytes = STATUS_LINE[status]
    return (
        status_line
        + b"content-type: application/json\r\nconnection: close\r\n"
        + b"content-length: %d\r\n\r\n" % len(body)
        + body
    )


class _Protocol(HttpToolsProtocol):
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
            if other is not self and isinstance(other, _Protocol) and other.idle:
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
