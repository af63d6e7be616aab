"""The app's HTTP server: llhttp parses HTTP/1.1, and the thread that reads a request answers it.

Why not a general-purpose server (mqlab used waitress at first): those read requests on an
event loop, hand each one to a thread of a pool, and wake the loop again to send the
answer. That is three wake-ups a request where one would do. On the 2-core VM, at 800
requests/s, an empty handler cost waitress 0.19-0.22 ms of CPU a request against 0.12 on
one thread per connection with h11, and the app with an empty scenario 0.23-0.28 against
0.19 here: CPU the capacity row of `mqlab bench` pays on every job (bench/README.md). The
handlers block (a scan, an SMTP send, a broker's confirm), so they need threads anyway:
here one thread serves one connection, reads a request, runs the handler and writes the
answer. The parser is llhttp, Node.js's, through httptools (uvicorn's): request line and
headers, Content-Length and chunked bodies, keep-alive, what is malformed. It replaced
h11, pure Python, which cost the broker app 0.47-0.50 ms of CPU a job against 0.34-0.38
(2-core VM, 550 jobs/s at scan 0, three runs each; issue 6). This module does sockets,
threads, the size limits and the answer's few header lines.

- At most `handler_threads` handlers run at once (a semaphore): in sync mode that is the
  number of users served at the same time, as with any server's thread pool.
- Connection threads come from a pool of daemon threads and are reused, so a thread keeps
  what it holds in thread-local storage (the broker scenario's channel) from one
  connection to the next.
  Up to `connections` connections are served at once; more wait for one to close.
- Errors of the protocol (a malformed request, a head over MAX_HEAD_BYTES, a body over
  `max_body`) are answered here, in the app's JSON, and the connection is closed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import socket
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import httptools

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
        reader = _RequestReader(self.max_body)
        try:
            while True:
                try:
                    read = self._read(reader, sock)
                except _Refused as e:
                    self._send(sock, e.response, head=False, close=True)
                    return
                if read is None:
                    return  # the client closed the connection, or left it idle too long
                request, keep_alive = read
                self._count(+1)  # under way from now, waiting for a slot included (drain)
                try:
                    with self._slots:  # at most handler_threads handlers at once
                        response = self._handle(request)
                        closing = not keep_alive or not self._accepting
                        self._send(sock, response, request.method == "HEAD", closing)
                finally:
                    self._count(-1)
                if closing:
                    return  # HTTP/1.0, "Connection: close", or a protocol switch declined
        except OSError:
            pass  # the client went away mid-request: nobody is left to answer

    def _count(self, step: int) -> None:
        with self._lock:
            self._busy += step

    def _read(self, reader: _RequestReader, sock: socket.socket) -> tuple[Request, bool] | None:
        """The next request on the connection and whether to keep it open after the answer."""
        while not reader.complete:
            if reader.waiting_for_continue:  # the client waits for this before its body
                reader.waiting_for_continue = False
                sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            try:
                data = sock.recv(RECV_BYTES)
            except TimeoutError:
                return None
            if not data:
                return None  # the client closed its side
            reader.feed(data)
        return reader.complete.popleft()

    def _handle(self, request: Request) -> Response:
        try:
            return self.handler(request)
        except Exception:
            log.exception("%s %s failed", request.method, request.path)
            return json_error(500, "internal error")

    def _send(self, sock: socket.socket, response: Response, head: bool, close: bool) -> None:
        lines = [
            f"HTTP/1.1 {response.status} {REASONS.get(response.status, '')}",
            "Content-Type: application/json",
            f"Content-Length: {len(response.body)}",
            *(f"{name}: {value}" for name, value in response.headers),
        ]
        if close:
            lines.append("Connection: close")
        out = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        # the answer to HEAD has the headers of a GET's, and no body
        sock.sendall(out if head else out + response.body)


class _RequestReader:
    """One connection's parser: llhttp (httptools) calls these methods as bytes come in, and
    every request it completes waits in `complete` with whether the connection stays open."""

    def __init__(self, max_body: int) -> None:
        self.max_body = max_body
        self.parser = httptools.HttpRequestParser(self)
        self.complete: deque[tuple[Request, bool]] = deque()
        self.waiting_for_continue = False
        self._head_bytes = 0  # bytes fed since the request began, while its head is not done
        self._in_head = True
        self._url = b""
        self._headers: dict[str, str] = {}
        self._body = bytearray()

    def feed(self, data: bytes) -> None:
        """Parse what came in. Raises _Refused for what is to be answered with an error."""
        if self._in_head:
            self._head_bytes += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as e:
            if isinstance(e.__context__, _Refused):
                raise e.__context__ from None
            raise
        except httptools.HttpParserUpgrade:
            pass  # the request is answered as any other, then the connection is closed
        except httptools.HttpParserError as e:
            raise _Refused(json_error(400, f"malformed request: {e}")) from None
        if self._in_head and self._head_bytes > MAX_HEAD_BYTES:
            raise _Refused(json_error(431, "request line and headers are too large"))

    # -- httptools' callbacks

    def on_message_begin(self) -> None:
        self._url, self._headers, self._body = b"", {}, bytearray()

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        # llhttp leaves the spaces after a value in it; HTTP says they are not part of it
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1").strip(" \t")

    def on_headers_complete(self) -> None:
        self._in_head, self._head_bytes = False, 0
        length = self._headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_body:
            raise _Refused(self._too_large())  # answered before its body is read
        self.waiting_for_continue = (
            self._headers.get("expect", "").lower() == "100-continue"
            and self.parser.get_http_version() == "1.1"
        )

    def on_body(self, data: bytes) -> None:
        self.waiting_for_continue = False
        self._body += data
        if len(self._body) > self.max_body:
            raise _Refused(self._too_large())

    def on_message_complete(self) -> None:
        request = Request(
            method=self.parser.get_method().decode("ascii"),
            path=self._url.decode("ascii", "replace").partition("?")[0],
            headers=self._headers,
            body=bytes(self._body),
        )
        # HTTP/1.0 closes after each answer, even with "Connection: keep-alive"
        keep_alive = (
            self.parser.should_keep_alive()
            and not self.parser.should_upgrade()
            and self.parser.get_http_version() == "1.1"
        )
        self.complete.append((request, keep_alive))
        self.waiting_for_continue = False
        self._in_head, self._head_bytes = True, 0

    def _too_large(self) -> Response:
        return json_error(413, f"body is larger than {self.max_body} bytes")
