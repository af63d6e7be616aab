"""The app's HTTP server on real sockets: what the scenarios rely on beyond HTTP itself."""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from mqlab.httpserver import Request, Response, Server


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


def test_connection_threads_are_reused_across_connections() -> None:
    # The broker scenario keeps a channel per handler thread: a new thread for every
    # connection (curl, a browser) would open a new broker connection for every request.
    quick = Recorder()
    with serving(quick, handler_threads=8) as server:
        # one after the other, each on its own connection, each closed before the next
        codes = [get(server.port, until_closed=True) for _ in range(5)]
    assert codes == [200] * 5
    assert len(set(quick.threads)) == 1


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
