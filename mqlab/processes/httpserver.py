"""The app's HTTP server: uvicorn reads and writes on an event loop, blocking handlers run on
a fixed pool of `handler_threads` threads, or, for a handler that waits without blocking, as a
coroutine on the loop.

uvicorn (with uvloop, and llhttp through httptools) holds every connection on one loop, so
a slow, idle or streaming client costs a socket, never a thread; only a request whose body
has arrived whole takes a handler thread. The handlers block (a scan, an SMTP send, a
Redis or NATS publish), so at most `handler_threads` run at once: in sync mode, the number
of users served at a time. What `awaited` claims (the RabbitMQ app's signups, which wait for
the broker's confirm) is awaited on the loop instead, with `on_start` and `on_stop` around
the requests. Why uvicorn and not waitress, cheroot, gunicorn or the
thread-per-connection server mqlab had before: bench/README.md, "The HTTP server".

What mqlab adds to uvicorn (deadlines, a connection cap, the app's own JSON refusals) is in
`httpprotocol.LimitedProtocol`. Requests for `fast_paths` (`/health`, `/stats`) are
answered on the loop at once, never waiting for a handler thread. Their handler must not
block. Those that `on_loop` claims (the job status and its Server-Sent Events,
processes/status_api.py) are answered by a coroutine of their own on the loop: a stream
holds no thread.

On EMFILE/ENFILE uvloop's accept goes on with libuv's reserve descriptor (accept, close),
never dying and logging nothing (asyncio's own loop backs off too, but logs every failed
accept); `max_connections` is lowered below the descriptor limit so that it rarely comes
to that.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import resource
import socket
import threading
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import uvicorn

from mqlab.processes.httpprotocol import LimitedProtocol, Limits, error_body

log = logging.getLogger(__name__)

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
# a request -> its answer as a coroutine, to await on the loop instead of a handler thread, or
# None: the thread's (a handler that waits without blocking: the broker's confirm)
Awaited = Callable[[Request], Awaitable[Response] | None]
Hook = Callable[[], Awaitable[None]]
# (method, path) -> a coroutine (receive, send) that answers on the loop, or None: not its own
OnLoop = Callable[[str, str], Callable[[Any, Any], Awaitable[None]] | None]


def json_error(status: int, message: str) -> Response:
    return Response(status, error_body(message))


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
        awaited: Awaited | None = None,
        on_start: Hook | None = None,
        on_stop: Hook | None = None,
    ) -> None:
        self.listener = socket.create_server((host, port), backlog=2048)
        cap = connection_cap(max_connections)
        if cap < max_connections:
            log.info("at most %d connections (the descriptor limit is lower)", cap)
        self.max_connections = cap
        self.pool = _Pool(handler, handler_threads)
        limits = Limits(max_body, read_timeout, cap)
        protocol = type("Protocol", (LimitedProtocol,), {"limits": limits})
        config = uvicorn.Config(
            _App(self.pool, frozenset(fast_paths), on_loop, awaited, on_start, on_stop),
            http=protocol,
            loop="auto",  # uvloop where it is installed
            interface="asgi3",
            # on_start before the first request, on_stop after the last answer (not after a
            # forced stop), both on the loop
            lifespan="on" if on_start or on_stop else "off",
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
    every connection: what a handler keeps in thread-local storage (sync mode's SMTP
    connection) is reused."""

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

    def __init__(
        self,
        pool: _Pool,
        fast_paths: frozenset[str],
        on_loop: OnLoop | None,
        awaited: Awaited | None,
        on_start: Hook | None,
        on_stop: Hook | None,
    ) -> None:
        self.pool = pool
        self.fast_paths = fast_paths
        self.on_loop = on_loop
        self.awaited = awaited
        self.on_start = on_start
        self.on_stop = on_stop

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self.lifespan(receive, send)
            return
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
        answer = self.awaited(request) if self.awaited is not None else None
        if answer is not None:
            try:
                response = await answer
            except asyncio.CancelledError:  # a forced stop: the broker may still confirm it
                response = json_error(503, "the server stopped first: outcome unknown")
        elif request.path in self.fast_paths:
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

    async def lifespan(self, receive: Any, send: Any) -> None:
        """ASGI's start-up and shutdown: the hooks, on the loop."""
        while True:
            message = await receive()
            phase = message["type"].removeprefix("lifespan.")  # startup, shutdown
            hook = self.on_start if phase == "startup" else self.on_stop
            try:
                if hook is not None:
                    await hook()
            except Exception as e:
                log.exception("the app's %s failed", phase)
                await send({"type": f"lifespan.{phase}.failed", "message": str(e)})
                return
            await send({"type": f"lifespan.{phase}.complete"})
            if phase == "shutdown":
                return
