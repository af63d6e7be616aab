"""The app's HTTP server: h11 speaks HTTP/1.1, and the thread that reads a request answers it.

Why not a general-purpose server (mqlab used waitress at first): those read requests on an
event loop, hand each one to a thread of a pool, and wake the loop again to send the
answer. That is three wake-ups a request where one would do. On the 2-core VM, at 800
requests/s, an empty handler cost waitress 0.19-0.22 ms of CPU a request against 0.12 on
one thread per connection with h11, and the app with an empty scenario 0.23-0.28 against
0.19 here: CPU the capacity row of `mqlab bench` pays on every job (bench/README.md). The
handlers block (a scan, an SMTP send, a broker's confirm), so they need threads anyway:
here one thread serves one connection, reads a request, runs the handler and writes the
answer. h11 does the protocol (request parsing, Content-Length and chunked bodies,
keep-alive, what is malformed); this module does only sockets and threads.

- At most `handler_threads` handlers run at once (a semaphore): in sync mode that is the
  number of users served at the same time, as with any server's thread pool.
- Connection threads come from a pool of daemon threads and are reused, so a thread keeps
  what it holds in thread-local storage (the broker scenario's channel) from one
  connection to the next.
  Up to `connections` connections are served at once; more wait for one to close.
- Errors of the protocol (a malformed request, a body over `max_body`) are answered here,
  in the app's JSON, and the connection is closed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass

import h11

log = logging.getLogger(__name__)

RECV_BYTES = 65536
MAX_HEAD_BYTES = 65536  # request line and headers; more is answered 431
ACCEPT_POLL_S = 0.2  # how often the accept loop looks at the stop flag

REASONS = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


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


def json_error(status: int, message: str) -> Response:
    return Response(status, json.dumps({"error": message}).encode("utf-8"))


class _Refused(Exception):
    """The request is answered with this error and the connection closed."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


class Server:
    """Listening from construction; `serve()` accepts until `stop_accepting()`."""

    def __init__(
        self,
        host: str,
        port: int,
        handler: Handler,
        *,
        handler_threads: int,
        max_body: int,
        connections: int = 256,
        idle_timeout: float = 60.0,
    ) -> None:
        self.listener = socket.create_server((host, port), backlog=2048)
        self.listener.settimeout(ACCEPT_POLL_S)
        self.handler = handler
        self.max_body = max_body
        self.idle_timeout = idle_timeout
        self._slots = threading.BoundedSemaphore(handler_threads)
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._busy = 0  # requests read and not yet answered
        # The pool: daemon threads (a handler still running never holds up the exit),
        # started when no idle one is left, at most `connections` of them.
        self._waiting: queue.SimpleQueue[socket.socket] = queue.SimpleQueue()
        self._max_threads = connections
        self._threads = 0
        self._idle = 0
        self._accepting = True

    @property
    def port(self) -> int:
        return int(self.listener.getsockname()[1])

    def serve(self) -> None:
        """Accept connections until `stop_accepting()`; each is served on a pool thread."""
        while self._accepting:
            try:
                sock, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                if not self._accepting:
                    return  # the listener was closed under us
                raise
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.settimeout(self.idle_timeout)
            self._dispatch(sock)

    def stop_accepting(self) -> None:
        """No new connection from now on; the ones open are still served."""
        self._accepting = False
        with contextlib.suppress(OSError):
            self.listener.close()

    def busy(self) -> bool:
        """Is a request under way (read, and its answer not sent yet)?"""
        with self._lock:
            return self._busy > 0

    def close(self) -> None:
        """Stop accepting and drop every connection, idle or not."""
        self.stop_accepting()
        with self._lock:
            open_ = list(self._open)
        for sock in open_:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # wakes the thread waiting in recv

    # -- the pool

    def _dispatch(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.add(sock)
            self._waiting.put(sock)
            if self._idle > 0:
                self._idle -= 1  # an idle thread takes it
                return
            if self._threads >= self._max_threads:
                return  # it waits until a connection closes
            self._threads += 1
            name = f"http-{self._threads}"
        threading.Thread(target=self._pool_thread, name=name, daemon=True).start()

    def _pool_thread(self) -> None:
        while True:
            sock = self._waiting.get()
            try:
                self._connection(sock)
            finally:
                with self._lock:
                    self._open.discard(sock)
                    self._idle += 1  # before the close: a client that saw it finds us idle
                sock.close()

    # -- one connection, on a pool thread (which closes it afterwards)

    def _connection(self, sock: socket.socket) -> None:
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD_BYTES)
        try:
            while True:
                try:
                    request = self._read(conn, sock)
                except _Refused as e:
                    self._send(conn, sock, e.response, head=False, close=True)
                    return
                if request is None:
                    return  # the client closed the connection, or left it idle too long
                self._count(+1)  # under way from now, waiting for a slot included (drain)
                try:
                    with self._slots:  # at most handler_threads handlers at once
                        response = self._handle(request)
                        closing = not self._accepting
                        self._send(conn, sock, response, request.method == "HEAD", closing)
                finally:
                    self._count(-1)
                if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                    return  # HTTP/1.0, "Connection: close", or a body we did not read
                conn.start_next_cycle()
        except (OSError, h11.ProtocolError):
            pass  # the client went away mid-request: nobody is left to answer

    def _count(self, step: int) -> None:
        with self._lock:
            self._busy += step

    def _read(self, conn: h11.Connection, sock: socket.socket) -> Request | None:
        head: h11.Request | None = None
        body = bytearray()
        while True:
            try:
                event = conn.next_event()
            except h11.RemoteProtocolError as e:
                raise _Refused(json_error(e.error_status_hint, f"malformed request: {e}")) from None
            if event is h11.NEED_DATA:
                if conn.they_are_waiting_for_100_continue:
                    sock.sendall(conn.send(h11.InformationalResponse(status_code=100, headers=[])))
                try:
                    data = sock.recv(RECV_BYTES)
                except TimeoutError:
                    return None
                conn.receive_data(data)  # b"": the client closed its side
            elif isinstance(event, h11.Request):
                head = event
                length = _header(event, b"content-length")
                if length is not None and int(length) > self.max_body:
                    raise _Refused(self._too_large())  # answered before its body is read
            elif isinstance(event, h11.Data):
                body += event.data
                if len(body) > self.max_body:
                    raise _Refused(self._too_large())
            elif isinstance(event, h11.EndOfMessage):
                assert head is not None
                return Request(
                    method=head.method.decode("ascii"),
                    path=head.target.decode("ascii", "replace").partition("?")[0],
                    headers={k.decode("latin-1"): v.decode("latin-1") for k, v in head.headers},
                    body=bytes(body),
                )
            else:  # ConnectionClosed, or PAUSED (a protocol switch, which we never agree to)
                return None

    def _too_large(self) -> Response:
        return json_error(413, f"body is larger than {self.max_body} bytes")

    def _handle(self, request: Request) -> Response:
        try:
            return self.handler(request)
        except Exception:
            log.exception("%s %s failed", request.method, request.path)
            return json_error(500, "internal error")

    def _send(
        self, conn: h11.Connection, sock: socket.socket, response: Response, head: bool, close: bool
    ) -> None:
        headers = [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(response.body))),
            *response.headers,
        ]
        if close:
            headers.append(("Connection", "close"))
        try:
            out = conn.send(
                h11.Response(
                    status_code=response.status,
                    headers=headers,
                    reason=REASONS.get(response.status, "").encode("ascii"),
                )
            )
            if not head:  # the answer to HEAD has the headers of a GET's, and no body
                out += conn.send(h11.Data(data=response.body)) or b""
            out += conn.send(h11.EndOfMessage()) or b""
        except h11.LocalProtocolError:
            return  # too broken to answer at all: the connection is closed
        sock.sendall(out)


def _header(request: h11.Request, name: bytes) -> bytes | None:
    for key, value in request.headers:
        if key == name:
            return bytes(value)
    return None
