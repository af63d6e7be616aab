"""Clients that are slow, idle, endless, too many or too big, against the REAL app server
(`mqlab serve sync` children, a real SMTP sink): a normal signup is still served at once.

Deadlines are shrunk through the server's options (`--read-timeout 1`); the thresholds
leave room for a loaded 2-core machine, and each was seen to fail on the
thread-per-connection server mqlab had before.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import resource
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mqlab.processes.procs import free_port, http_ok, mqlab_argv

from .helpers import HOST, App, Sink

pytestmark = pytest.mark.one_sink  # the file's tests share one sink (conftest.py)


SIGNUP = {"email": "ana@example.test", "name": "Ana"}
PARTIAL_HEAD = b"POST /signup HTTP/1.1\r\nHost: x\r\n"


def timed_signup(app: App | int) -> float:
    """Seconds for one normal signup (to the app, or to the port), answered 201."""
    port = app if isinstance(app, int) else app.port
    conn = http.client.HTTPConnection(HOST, port, timeout=15)
    started = time.monotonic()
    try:
        conn.request("POST", "/signup", body=json.dumps(SIGNUP).encode())
        response = conn.getresponse()
        assert (response.status, json.loads(response.read())["status"]) == (201, "sent")
    finally:
        conn.close()
    return time.monotonic() - started


@contextlib.contextmanager
def connections(port: int, count: int, first: bytes = b"") -> Iterator[list[socket.socket]]:
    """`count` connections to the app, each having sent `first`; all closed afterwards."""
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.create_connection((HOST, port), timeout=10)
            if first:
                sock.sendall(first)
            socks.append(sock)
        yield socks
    finally:
        for sock in socks:
            sock.close()


def status_of(sock: socket.socket) -> int | None:
    """The status the server answered on `sock` (None: it closed without one)."""
    got = b""
    with contextlib.suppress(OSError):
        while b"\r\n" not in got and (chunk := sock.recv(4096)):
            got += chunk
    return int(got.split()[1]) if got.startswith(b"HTTP/1.1 ") else None


def trickle(socks: list[socket.socket], stop: threading.Event) -> None:
    """One more header line on every connection every 0.2 s: each recv gets data, only a
    deadline for the whole head can end them."""
    n = 0
    while not stop.wait(0.2):
        n += 1
        for sock in socks:
            with contextlib.suppress(OSError):
                sock.sendall(b"X-%d: 1\r\n" % n)


def test_slow_heads_leave_a_normal_signup_served_and_are_answered_408(
    start_app: Callable[..., App], sink: Sink
) -> None:
    app = start_app("sync", sink, "--scan-ms", "0", "--read-timeout", "1")
    stop = threading.Event()
    with connections(app.port, 300, PARTIAL_HEAD) as slow:
        feeder = threading.Thread(target=trickle, args=(slow, stop), daemon=True)
        feeder.start()
        try:
            time.sleep(0.3)
            assert timed_signup(app) < 2.0
            deadline = time.monotonic() + 10
            statuses = []
            for sock in slow:  # each one's head takes longer than 1 s: 408, then the close
                sock.settimeout(max(0.1, deadline - time.monotonic()))
                statuses.append(status_of(sock))
        finally:
            stop.set()
            feeder.join(timeout=5)
    assert statuses == [408] * 300


def test_idle_keep_alive_connections_hold_nothing_and_are_closed(
    start_app: Callable[..., App], sink: Sink
) -> None:
    app = start_app("sync", sink, "--scan-ms", "0", "--keepalive-timeout", "1")
    health = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
    with connections(app.port, 400, health) as idle:
        for sock in idle:  # each read its answer and stays open, idle
            assert status_of(sock) == 200
        assert timed_signup(app) < 2.0
        started = time.monotonic()
        for sock in idle:
            sock.settimeout(10)
            with contextlib.suppress(ConnectionResetError):
                while sock.recv(4096):
                    pass  # the rest of the answer, then the server's close
        assert time.monotonic() - started < 6.0  # closed after about 1 s idle


def test_a_chunked_body_that_never_ends_gets_408_and_holds_no_handler(
    start_app: Callable[..., App], sink: Sink
) -> None:
    app = start_app("sync", sink, "--scan-ms", "0", "--server-threads", "1", "--read-timeout", "1")
    head = b"POST /signup HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n"
    stop = threading.Event()
    with connections(app.port, 1, head) as (endless,):
        feeder = threading.Thread(target=_chunks, args=(endless, stop), daemon=True)
        feeder.start()
        try:
            assert timed_signup(app) < 2.0  # the one handler thread is free
            endless.settimeout(5)
            started = time.monotonic()
            assert status_of(endless) == 408
            assert time.monotonic() - started < 4.0
        finally:
            stop.set()
            feeder.join(timeout=5)


def _chunks(sock: socket.socket, stop: threading.Event) -> None:
    while not stop.wait(0.2):
        with contextlib.suppress(OSError):
            sock.sendall(b"1\r\n \r\n")


def test_connections_beyond_the_cap_get_503(start_app: Callable[..., App], sink: Sink) -> None:
    app = start_app("sync", sink, "--scan-ms", "0", "--max-connections", "20")
    with connections(app.port, 20, PARTIAL_HEAD):  # busy, not idle: none can make room
        time.sleep(0.3)
        with connections(app.port, 1) as (extra,):
            extra.settimeout(5)
            assert status_of(extra) == 503
    time.sleep(0.3)  # the server has seen the 21 closes
    assert timed_signup(app) < 2.0


def _limit_fds(n: int) -> Callable[[], None]:
    return lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (n, n))


def test_after_a_storm_past_the_descriptor_limit_the_server_answers_again(
    tmp_path: Path, sink: Sink
) -> None:
    port = free_port()
    argv = mqlab_argv("serve", "sync", "--port", str(port), "--smtp-port", str(sink.port))
    argv += ["--scan-ms", "0"]
    with (tmp_path / "app.log").open("wb") as log:
        proc = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, preexec_fn=_limit_fds(256)
        )
    try:
        deadline = time.monotonic() + 15
        while not http_ok(f"http://{HOST}:{port}/health"):
            assert proc.poll() is None and time.monotonic() < deadline, "the app did not start"
            time.sleep(0.05)
        # more connections than the app has descriptors, each with a head begun
        with connections(port, 400, PARTIAL_HEAD):
            time.sleep(1.0)
        storm_over = time.monotonic()
        answered = False
        while not answered and time.monotonic() - storm_over < 2.0:
            answered = http_ok(f"http://{HOST}:{port}/health")
        assert answered, "no answer within 2 s of the storm's end"
        assert timed_signup(port) < 2.0
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_a_whole_oversized_body_sent_before_reading_still_reads_its_413(
    start_app: Callable[..., App], sink: Sink
) -> None:
    app = start_app("sync", sink, "--scan-ms", "0")
    big = b'{"email": "a@b.test", "name": "' + b"x" * (10 * 1024 * 1024) + b'"}'
    outcomes = []
    for _ in range(10):  # http.client sends the whole body, then reads
        conn = http.client.HTTPConnection(HOST, app.port, timeout=15)
        try:
            conn.request("POST", "/signup", body=big, headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            outcomes.append(f"{response.status} {json.loads(response.read())['error']}")
        except OSError as e:  # a reset: the old server closed with the body unread
            outcomes.append(repr(e))
        finally:
            conn.close()
    assert outcomes == [f"413 body is larger than {1024 * 1024} bytes"] * 10
    assert sink.arrivals() == []


def test_health_answers_at_once_while_every_handler_is_busy(
    start_app: Callable[..., App], sink: Sink
) -> None:
    app = start_app("sync", sink, "--server-threads", "2", "--scan-ms", "3000")
    busy = [threading.Thread(target=app.post, args=(SIGNUP,), daemon=True) for _ in range(2)]
    for thread in busy:
        thread.start()
    time.sleep(0.5)  # both signups are scanning: every handler thread is taken
    took = []
    for _ in range(3):
        started = time.monotonic()
        assert http_ok(f"{app.url}/health")
        took.append(time.monotonic() - started)
    assert all(thread.is_alive() for thread in busy)  # still scanning while /health answered
    assert min(took) < 0.1 and max(took) < 0.5, took
    for thread in busy:
        thread.join(timeout=10)
