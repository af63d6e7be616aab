"""The load generator's child process (`python -m mqlab.measure.sender`): it sends the
open-loop schedule with libcurl and reports to the parent, `loadgen.run_load`, on a pipe.

libcurl's multi interface: keep-alive connections, at most `connections` of them, requests
beyond that held by curl until one is free. The generator shares the machine with what it
measures, so its own CPU matters: libcurl takes about half of what aiohttp on uvloop did
(bench/README.md).
"""

from __future__ import annotations

import json
import os
import pickle
import select
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pycurl

IDLE_S = 0.05  # the longest the loop sleeps: a request due later is woken for in time anyway
REPORT_EVERY_S = 0.5  # the child reports at least this often, even with nothing to tell


@dataclass(frozen=True)
class Request:
    job_id: str
    email: str
    body: bytes


def _child() -> None:
    """`python -m mqlab.measure.sender`: the job pickled on stdin, reports on stdout."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's: it stops us
    outbox = _Outbox(os.dup(1))
    os.dup2(2, 1)  # whatever else prints goes to stderr, not into the reports
    url, jobs, rate, timeout_s, connections = pickle.load(sys.stdin.buffer)
    _loop(url, [Request(*job) for job in jobs], rate, timeout_s, connections, outbox)
    outbox.close("done")


class _Outbox:
    """The child's reports to the parent (a 4-byte length, a pickled tuple), written without
    ever blocking the schedule: what the pipe cannot take now (a parent busy in a callback)
    waits here for the next turn. A parent gone for good: BrokenPipeError, and we end."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._pending = bytearray()
        os.set_blocking(fd, False)

    def send(self, *message: Any) -> None:
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        self._pending += len(data).to_bytes(4, "big") + data
        self.flush()

    def flush(self) -> None:
        while self._pending:
            try:
                written = os.write(self.fd, self._pending)
            except BlockingIOError:
                return
            del self._pending[:written]

    def close(self, *last: Any) -> None:
        """The last report, and everything before it: now we can wait for the parent."""
        os.set_blocking(self.fd, True)
        self.send(*last)
        os.close(self.fd)


def _loop(
    url: str,
    requests: Sequence[Request],
    rate: float,
    timeout_s: float,
    connections: int,
    outbox: _Outbox,
) -> None:
    """The schedule itself, in the child. Each turn ends with one report: ("turn", sent,
    answered), sent as (i, intended, sent) and answered as (i, status, error, response_ms,
    outcome), wall clock times; `outcome` is what a 503 said of the job ("unknown": it may
    still be sent; "not_taken"), else None. A turn with nothing to tell reports only every
    REPORT_EVERY_S; one that takes longer (a big spike) reports what it sent so far every
    REPORT_EVERY_S."""
    multi = pycurl.CurlMulti()
    multi.setopt(pycurl.M_MAX_TOTAL_CONNECTIONS, connections)
    multi.setopt(pycurl.M_MAXCONNECTS, connections)  # and keep that many open between requests
    spare: list[pycurl.Curl] = []
    in_flight: dict[pycurl.Curl, tuple[int, float]] = {}  # handle: (index, intended)
    bodies: dict[pycurl.Curl, list[bytes]] = {}  # handle: its answer's body, in chunks
    mono0 = time.perf_counter() + 0.05  # a moment to get going
    wall0 = time.time() + (mono0 - time.perf_counter())
    outbox.send("start", os.getpid(), wall0)
    reported = time.perf_counter()

    def due(i: int) -> float:
        return mono0 + (i / rate if rate > 0 else 0.0)

    try:
        i = 0
        while i < len(requests) or in_flight:
            sent: list[tuple[int, float, float]] = []
            answered: list[tuple[int, int | None, str | None, float, str | None]] = []
            while i < len(requests) and due(i) <= time.perf_counter():
                intended = due(i)
                wall = wall0 + (intended - mono0)
                sent.append((i, wall, wall + (time.perf_counter() - intended)))
                if spare:
                    handle = spare.pop()
                else:
                    body: list[bytes] = []
                    handle = new_handle(url, timeout_s, body)
                    bodies[handle] = body
                prepare(handle, requests[i])
                multi.add_handle(handle)  # curl holds it until a connection is free
                in_flight[handle] = (i, intended)
                i += 1
                if time.perf_counter() - reported > REPORT_EVERY_S:  # a long spike
                    outbox.send("turn", sent, [])
                    sent, reported = [], time.perf_counter()
            for handle, error in _finished(multi):
                index, intended = in_flight.pop(handle)
                multi.remove_handle(handle)
                spare.append(handle)
                # no status: the user saw an error (or nothing at all)
                status = handle.getinfo(pycurl.RESPONSE_CODE) if error is None else None
                took_ms = (time.perf_counter() - intended) * 1000
                answered.append((index, status, error, took_ms, outcome(status, bodies[handle])))
                bodies[handle].clear()
            if sent or answered or time.perf_counter() - reported > REPORT_EVERY_S:
                outbox.send("turn", sent, answered)
                reported = time.perf_counter()
            else:
                outbox.flush()
            _wait(multi, due(i) if i < len(requests) else None)
    finally:
        for handle in [*in_flight, *spare]:
            handle.close()
        multi.close()


def new_handle(url: str, timeout_s: float, body: list[bytes]) -> pycurl.Curl:
    """A handle for `url` whose answers' bodies go into `body` (curl's default would print
    them), to be cleared after each."""
    handle = pycurl.Curl()
    handle.setopt(pycurl.URL, url)
    handle.setopt(pycurl.TIMEOUT_MS, int(timeout_s * 1000))  # counts the wait for a connection
    handle.setopt(pycurl.PROXY, "")  # never through an http_proxy of the environment
    handle.setopt(pycurl.NOSIGNAL, 1)
    handle.setopt(pycurl.WRITEFUNCTION, body.append)
    return handle


def prepare(handle: pycurl.Curl, request: Request) -> None:
    handle.setopt(pycurl.POSTFIELDS, request.body)
    # "Expect:" off: curl would otherwise wait for a "100 Continue" before larger bodies
    handle.setopt(
        pycurl.HTTPHEADER,
        ["Content-Type: application/json", f"X-Job-Id: {request.job_id}", "Expect:"],
    )


def outcome(status: int | None, body: list[bytes]) -> str | None:
    """What a 503's JSON body says of the job (`outcome`: "unknown" or "not_taken"), else
    None. Other answers' bodies are read off the connection (they must be) and dropped."""
    if status != 503:
        return None
    try:
        said = json.loads(b"".join(body)).get("outcome")
    except (ValueError, AttributeError):  # not JSON, or not an object
        return None
    return said if isinstance(said, str) else None


def _finished(multi: pycurl.CurlMulti) -> Iterator[tuple[pycurl.Curl, str | None]]:
    """Move every transfer along, then yield those that ended: (handle, error or None)."""
    while multi.perform()[0] == pycurl.E_CALL_MULTI_PERFORM:
        pass
    while True:
        left, ok, failed = multi.info_read()
        for handle in ok:
            yield handle, None
        for handle, code, _message in failed:
            yield handle, _CURL_ERRORS.get(code, f"curl error {code}")
        if not left:
            return


def _wait(multi: pycurl.CurlMulti, next_due: float | None) -> None:
    """Until a transfer can move, the next request is due, or curl wants a look, whichever
    comes first (and never longer than IDLE_S)."""
    timeout = IDLE_S if next_due is None else next_due - time.perf_counter()
    curl_ms = multi.timeout()  # -1: curl has no timer running
    if curl_ms >= 0:
        timeout = min(timeout, curl_ms / 1000)
    timeout = min(max(timeout, 0.0), IDLE_S)
    readable, writable, broken = multi.fdset()
    if readable or writable or broken:
        select.select(readable, writable, broken, timeout)
    else:  # nothing on the wire (curl would return at once): a plain sleep
        time.sleep(timeout)


_CURL_ERRORS = {
    pycurl.E_COULDNT_CONNECT: "ConnectionRefused",
    pycurl.E_OPERATION_TIMEDOUT: "Timeout",
    pycurl.E_GOT_NOTHING: "EmptyReply",
    pycurl.E_SEND_ERROR: "SendError",
    pycurl.E_RECV_ERROR: "RecvError",
}


if __name__ == "__main__":
    _child()
