"""The open-loop load generator: signups on a fixed schedule, whatever the server does.

Request i is *intended* at start + i / rate. It is sent then even if earlier
requests are still waiting (open loop), and its response time is measured from
the intended time, not from when it was actually sent, so a stalled server
cannot hide its tail (coordinated omission). How late the generator itself ran
is recorded too (`sent - intended`): when that is large, the lab says so.

The HTTP client is libcurl (pycurl's multi interface): keep-alive connections, at
most `connections` of them, requests beyond that held by curl until one is free.
The generator shares the machine with what it measures, so its own CPU matters: libcurl
takes about half of what aiohttp on uvloop did (bench/README.md).
"""

from __future__ import annotations

import base64
import json
import os
import select
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import pycurl

from mqlab.job.scan import EICAR

# The generator's connection pool, unless told otherwise (a lab run asks for `pool_for` its
# server threads). Beyond it, requests wait their turn in curl
# (their response time still counts from the intended time) instead of opening hundreds of
# connections: under overload those cost the generator and the server more CPU than the
# requests themselves (and, each, a thread of the app's server).
MAX_CONNECTIONS = 64
IDLE_S = 0.05  # the longest the loop sleeps: a request due later is woken for in time anyway


def pool_for(server_threads: int) -> int:
    """Connections enough to keep every handler thread busy: one being answered, one queued."""
    return 2 * server_threads


@dataclass(frozen=True)
class Request:
    job_id: str
    email: str
    body: bytes


@dataclass
class Sample:
    """One request. Times are wall clock (seconds since the epoch), comparable with the sink's."""

    job_id: str
    intended: float
    sent: float | None = None
    status: int | None = None
    response_ms: float | None = None  # answer - intended
    error: str | None = None

    @property
    def accepted(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass(frozen=True)
class LoadResult:
    samples: list[Sample]
    started: float  # wall clock of intended time 0


def signups(count: int, tag: str, infected: int = 0, attachment_bytes: int = 1024) -> list[Request]:
    """`count` signups with unique job ids and recipients; the first `infected` carry EICAR."""
    clean = base64.b64encode(os.urandom(attachment_bytes)).decode("ascii")
    dirty = base64.b64encode(EICAR).decode("ascii")
    out = []
    for i in range(count):
        job_id = f"{tag}-{i:06d}"
        email = f"user{i:06d}.{tag}@example.test"
        body = {
            "email": email,
            "name": f"Student {i}",
            "attachment": dirty if i < infected else clean,
        }
        out.append(Request(job_id, email, json.dumps(body).encode()))
    return out


def run_load(
    url: str,
    requests: Sequence[Request],
    rate: float,
    timeout_s: float = 30.0,
    on_answer: Callable[[Sample], None] | None = None,
    before_send: Callable[[int], None] | None = None,
    connections: int = MAX_CONNECTIONS,
) -> LoadResult:
    """Send every request to `url` on the open-loop schedule; blocks until all are answered.

    `rate` is requests per second; 0 sends them all at once (a spike). `before_send(i)`
    runs in the generator's loop just before request i goes out (crash tests kill there).
    At most `connections` requests are on the wire at once; the others wait their turn.
    """
    multi = pycurl.CurlMulti()
    multi.setopt(pycurl.M_MAX_TOTAL_CONNECTIONS, connections)
    multi.setopt(pycurl.M_MAXCONNECTS, connections)  # and keep that many open between requests
    spare: list[pycurl.Curl] = []
    in_flight: dict[pycurl.Curl, tuple[Sample, float]] = {}  # handle: (sample, intended)
    samples: list[Sample] = []
    mono0 = time.perf_counter() + 0.05  # a moment to get going
    wall0 = time.time() + (mono0 - time.perf_counter())

    def due(i: int) -> float:
        return mono0 + (i / rate if rate > 0 else 0.0)

    try:
        i = 0
        while i < len(requests) or in_flight:
            while i < len(requests) and due(i) <= time.perf_counter():
                if before_send is not None:
                    before_send(i)
                intended = due(i)
                sample = Sample(requests[i].job_id, intended=wall0 + (intended - mono0))
                sample.sent = sample.intended + (time.perf_counter() - intended)
                handle = spare.pop() if spare else _handle(url, timeout_s)
                _prepare(handle, requests[i])
                multi.add_handle(handle)  # curl holds it until a connection is free
                in_flight[handle] = (sample, intended)
                samples.append(sample)
                i += 1
            for handle, error in _finished(multi):
                sample, intended = in_flight.pop(handle)
                multi.remove_handle(handle)
                spare.append(handle)
                if error is None:
                    sample.status = handle.getinfo(pycurl.RESPONSE_CODE)
                else:
                    sample.error = error  # the user saw an error (or nothing at all)
                sample.response_ms = (time.perf_counter() - intended) * 1000
                if on_answer is not None:
                    on_answer(sample)
            _wait(multi, due(i) if i < len(requests) else None)
    finally:
        for handle in [*in_flight, *spare]:
            handle.close()
        multi.close()
    return LoadResult(samples, wall0)


@contextmanager
def session(url: str, timeout_s: float = 30.0) -> Iterator[Callable[[Request], int]]:
    """`post(request) -> status`, one request after the other on one kept-alive connection:
    the same client, options and bodies as `run_load` (the HTTP floor is timed with it)."""
    handle = _handle(url, timeout_s)

    def post(request: Request) -> int:
        _prepare(handle, request)
        handle.perform()  # raises pycurl.error when there is no answer
        return int(handle.getinfo(pycurl.RESPONSE_CODE))

    try:
        yield post
    finally:
        handle.close()


def _handle(url: str, timeout_s: float) -> pycurl.Curl:
    handle = pycurl.Curl()
    handle.setopt(pycurl.URL, url)
    handle.setopt(pycurl.TIMEOUT_MS, int(timeout_s * 1000))  # counts the wait for a connection
    handle.setopt(pycurl.PROXY, "")  # never through an http_proxy of the environment
    handle.setopt(pycurl.NOSIGNAL, 1)
    handle.setopt(pycurl.WRITEFUNCTION, _discard)
    return handle


def _prepare(handle: pycurl.Curl, request: Request) -> None:
    handle.setopt(pycurl.POSTFIELDS, request.body)
    # "Expect:" off: curl would otherwise wait for a "100 Continue" before larger bodies
    handle.setopt(
        pycurl.HTTPHEADER,
        ["Content-Type: application/json", f"X-Job-Id: {request.job_id}", "Expect:"],
    )


def _discard(_: bytes) -> None:
    """The answer's body: read off the connection (it must be), then dropped."""


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
