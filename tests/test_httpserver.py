"""The app's HTTP server on real sockets: what the scenarios rely on beyond HTTP itself."""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import socket
import threading
import time
from collections.abc import Awaitable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from mqlab.processes.httpprotocol import MAX_HEAD_BYTES
from mqlab.processes.httpserver import Handler, Request, Response, Server


class Recorder:
    """A handler that sleeps a little and records who ran it, and how many ran at once."""

    def __init__(self, sleep_s: float = 0.0) -> None:
        self.sleep_s = sleep_s
        self.lock = threading.Lock()
        self.running = self.most = 0
        self.threads: list[int] = []

    def __call__(self, request: Request) -> Response:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
            self.threads.append(threading.get_ident())
        time.sleep(self.sleep_s)
        with self.lock:
            self.running -= 1
        return Response(200, b'{"ok": true}')


@contextlib.contextmanager
def serving(handler: Recorder, handler_threads: int) -> Iterator[Server]:
    with serving_handler(handler, handler_threads) as server:
        yield server


@contextlib.contextmanager
def serving_handler(handler: Handler, handler_threads: int = 2) -> Iterator[Server]:
    server = Server("127.0.0.1", 0, handler, handler_threads=handler_threads, max_body=1024)
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.close()
        thread.join(timeout=5)


def get(port: int, until_closed: bool = False) -> int:
    """One GET on a connection of its own; `until_closed`: wait for the server to close it."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/")
        response = conn.getresponse()
        response.read()
        if until_closed:
            assert conn.sock is not None
            conn.sock.shutdown(socket.SHUT_WR)
            assert conn.sock.recv(1) == b""  # the server's side is closed too (5 s timeout)
        return response.status
    finally:
        conn.close()


@pytest.fixture
def slow() -> Recorder:
    return Recorder(sleep_s=0.05)


def test_at_most_handler_threads_handlers_run_at_once(slow: Recorder) -> None:
    with serving(slow, handler_threads=2) as server, ThreadPoolExecutor(6) as clients:
        codes = list(clients.map(lambda _: get(server.port), range(6)))
    assert codes == [200] * 6
    assert slow.most == 2  # six clients at once, two handlers at a time


def test_handler_threads_are_a_fixed_pool_shared_by_every_connection() -> None:
    # A handler may keep what it reuses per thread (sync mode's SMTP connection): a new thread
    # for every connection (curl, a browser) would open a new one for every request.
    quick = Recorder()
    with serving(quick, handler_threads=3) as server:
        # one after the other, each on its own connection, each closed before the next
        codes = [get(server.port, until_closed=True) for _ in range(12)]
    assert codes == [200] * 12
    assert len(set(quick.threads)) <= 3


def test_awaited_requests_wait_together_on_the_loop_between_the_start_and_stop_hooks() -> None:
    """The RabbitMQ app awaits each confirm on the loop: here six requests must all be waiting
    at once before any is answered, with one handler thread, which could hold only one."""
    seen: list[str] = []
    waiting = 0
    all_in: asyncio.Event | None = None

    async def start() -> None:
        nonlocal all_in
        all_in = asyncio.Event()  # on the server's loop
        seen.append("start")

    async def stop() -> None:
        seen.append("stop")

    def awaited(request: Request) -> Awaitable[Response] | None:
        if request.path != "/wait":
            return None

        async def answer() -> Response:
            nonlocal waiting
            assert all_in is not None
            waiting += 1
            if waiting == 6:
                all_in.set()
            try:
                await asyncio.wait_for(all_in.wait(), 5)
            except asyncio.TimeoutError:
                return Response(504, b'{"together": false}')
            return Response(200, b'{"together": true}')

        return answer()

    server = Server(
        "127.0.0.1", 0, Recorder(), handler_threads=1, max_body=1024,
        awaited=awaited, on_start=start, on_stop=stop,
    )  # fmt: skip
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()

    def wait(_: int) -> int:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        try:
            conn.request("GET", "/wait")
            return conn.getresponse().status
        finally:
            conn.close()

    try:
        with ThreadPoolExecutor(6) as clients:
            assert list(clients.map(wait, range(6))) == [200] * 6
        assert get(server.port) == 200  # any other path: the handler thread, as before
        assert seen == ["start"]
    finally:
        server.stop_accepting()  # a graceful stop: the stop hook runs after the last answer
        thread.join(timeout=10)
        server.close()
    assert not thread.is_alive() and seen == ["start", "stop"]


def test_keep_alive_serves_many_requests_on_one_connection() -> None:
    quick = Recorder()
    with serving(quick, handler_threads=8) as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        statuses = []
        for _ in range(3):
            conn.request("POST", "/", body=b"{}")
            response = conn.getresponse()
            response.read()
            statuses.append(response.status)
        conn.close()
    assert statuses == [200] * 3
    assert len(quick.threads) == 3


def test_expect_100_continue_is_answered_without_the_client_waiting() -> None:
    quick = Recorder()
    head = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n"
    with (
        serving(quick, handler_threads=8) as server,
        socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock,
    ):
        sock.sendall(head)
        assert sock.recv(100).startswith(b"HTTP/1.1 100 ")  # else a client waits 1 s
        sock.sendall(b"{}")
        assert b"HTTP/1.1 200 OK" in sock.recv(1000)


class Echo:
    """A handler that answers with what it was given: method, path, headers, body."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, request: Request) -> Response:
        self.calls += 1
        seen = {
            "method": request.method,
            "path": request.path,
            "headers": request.headers,
            "body": request.body.decode(),
        }
        return Response(200, json.dumps(seen).encode())


def exchange(port: int, data: bytes) -> bytes:
    """Send raw bytes, read until the server closes the connection (5 s timeout)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(data)
        got = b""
        while chunk := sock.recv(65536):
            got += chunk
    return got


def answers(raw: bytes) -> list[tuple[int, dict[str, str], bytes]]:
    """The HTTP/1.1 answers in `raw`, one after the other (each with a Content-Length)."""
    out = []
    while raw:
        head, _, rest = raw.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines)}
        length = int(headers["content-length"])
        out.append((int(status_line.split()[1]), headers, rest[:length]))
        raw = rest[length:]
    return out


def test_pipelined_requests_are_answered_in_order_and_close_ends_the_connection() -> None:
    body = b'{"a": 1}'
    data = (
        b"POST /one?x=1 HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        + b"GET /two HTTP/1.1\r\nHost: x\r\nX-Thing:  spaced \t\r\nConnection: close\r\n\r\n"
    )
    with serving_handler(Echo()) as server:
        got = answers(exchange(server.port, data))
    assert [status for status, _, _ in got] == [200, 200]
    first, second = (json.loads(b) for _, _, b in got)
    assert (first["method"], first["path"], first["body"]) == ("POST", "/one", '{"a": 1}')
    assert (second["method"], second["path"]) == ("GET", "/two")
    assert second["headers"]["x-thing"] == "spaced"  # no spaces around a header's value
    assert got[1][1]["connection"] == "close"


def test_a_chunked_body_arrives_whole_with_its_headers() -> None:
    data = (
        b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nX-Job-Id: chunked-1\r\n"
        b"Connection: close\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n"
    )
    with serving_handler(Echo()) as server:
        ((status, _, body),) = answers(exchange(server.port, data))
    seen = json.loads(body)
    assert (status, seen["body"]) == (200, "abcdefg")  # the app validates it like any other
    assert seen["headers"]["x-job-id"] == "chunked-1"


def test_http_1_0_is_answered_then_closed() -> None:
    with serving_handler(Echo()) as server:
        ((status, headers, _),) = answers(exchange(server.port, b"GET /old HTTP/1.0\r\n\r\n"))
    assert (status, headers["connection"]) == (200, "close")  # exchange saw the close


def test_a_protocol_switch_is_declined_by_an_ordinary_answer_and_a_close() -> None:
    data = b"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
    with serving_handler(Echo()) as server:
        ((status, headers, _),) = answers(exchange(server.port, data))
    assert (status, headers["connection"]) == (200, "close")


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        (b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (MAX_HEAD_BYTES + 10), 431, "large"),
        # only the headers: the server answers from Content-Length alone, without the body
        (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n", 413, "larger than"),
        (
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n" + b"a" * 2000,
            413,
            "larger than",
        ),
        (
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n801\r\n"
            + b"a" * 2049,
            413,
            "larger than",
        ),
        (b"GET / HTTP/1.1\r\nno colon\r\n\r\n", 400, "malformed"),
        (b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400, "malformed"),
    ],
    ids=[
        "head too large",
        "content-length over max_body",
        "body sent whole over max_body",
        "chunk over max_body",
        "no colon",
        "two lengths",
    ],
)
def test_what_cannot_be_served_gets_a_json_error_and_a_close(
    data: bytes, status: int, message: str
) -> None:
    echo = Echo()
    with serving_handler(echo) as server:
        ((got, headers, body),) = answers(exchange(server.port, data))
    assert (got, headers["connection"]) == (status, "close")
    assert headers["content-type"] == "application/json"
    assert message in json.loads(body)["error"]
    assert echo.calls == 0  # the handler (the app: no job, no mail) never saw it
