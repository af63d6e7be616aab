"""The load generator against a real HTTP server of the test's own (no mqlab app in between)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from mqlab.measure import loadgen
from mqlab.processes.procs import free_port

from .conftest import HOST


class _Slow(BaseHTTPRequestHandler):
    """Answers every POST after 20 ms and notes the client's port: one port per connection."""

    protocol_version = "HTTP/1.1"  # keep-alive, as the app's server
    # Headers and body go out in two writes; with Nagle on, the body would wait for the
    # client's delayed ACK (40 ms), longer than the next request takes to come.
    disable_nagle_algorithm = True
    ports: ClassVar[set[int]] = set()
    lock: ClassVar[threading.Lock] = threading.Lock()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with self.lock:
            self.ports.add(self.client_address[1])
        time.sleep(0.02)
        body = b'{"status": "queued"}'
        self.send_response(202)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512  # listen()'s backlog: the default 5 would drop a spike's SYNs


@pytest.fixture
def slow_server() -> Iterator[str]:
    _Slow.ports = set()
    server = _Server((HOST, 0), _Slow)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{server.server_address[1]}/signup"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("pool", [loadgen.MAX_CONNECTIONS, loadgen.pool_for(8)])
def test_a_spike_opens_no_more_connections_than_the_pool_holds(slow_server: str, pool: int) -> None:
    """All at once, 3x the pool: the rest wait in curl, and every one is answered."""
    count = pool * 3
    result = loadgen.run_load(
        slow_server, loadgen.signups(count, "spike"), rate=0, timeout_s=20, connections=pool
    )
    assert [s.status for s in result.samples] == [202] * count
    assert 1 < len(_Slow.ports) <= pool


def test_waiting_for_a_connection_counts_in_the_response_time(slow_server: str) -> None:
    """Requests queued behind a full pool answer later, measured from their intended time."""
    count = loadgen.MAX_CONNECTIONS * 3
    result = loadgen.run_load(slow_server, loadgen.signups(count, "wait"), rate=0, timeout_s=20)
    times = sorted(s.response_ms or 0 for s in result.samples)
    # three waves of at least 20 ms each: the last wave waited for two before it
    assert times[-1] >= 3 * 20


def test_requests_one_after_another_share_one_kept_alive_connection(slow_server: str) -> None:
    """At 5/s each answer (20 ms) is back long before the next request, even on a busy
    machine: one connection for all."""
    result = loadgen.run_load(slow_server, loadgen.signups(10, "keep"), rate=5, timeout_s=5)
    assert [s.status for s in result.samples] == [202] * 10
    assert len(_Slow.ports) == 1


def test_no_server_is_an_error_in_the_sample_not_an_exception() -> None:
    port = free_port()  # nothing listens there
    result = loadgen.run_load(
        f"http://{HOST}:{port}/signup", loadgen.signups(3, "refused"), rate=0, timeout_s=5
    )
    assert [(s.status, s.error) for s in result.samples] == [(None, "ConnectionRefused")] * 3
    assert all(s.response_ms is not None and not s.accepted for s in result.samples)


def test_an_answer_later_than_the_timeout_is_a_timeout(slow_server: str) -> None:
    result = loadgen.run_load(slow_server, loadgen.signups(2, "late"), rate=0, timeout_s=0.005)
    assert [(s.status, s.error) for s in result.samples] == [(None, "Timeout")] * 2


def test_the_session_posts_one_after_another_on_one_connection(slow_server: str) -> None:
    with loadgen.session(slow_server) as post:
        statuses = [post(r) for r in loadgen.signups(3, "session")]
    assert statuses == [202] * 3
    assert len(_Slow.ports) == 1
