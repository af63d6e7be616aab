"""The open-loop load generator: signups on a fixed schedule, whatever the server does.

Request i is *intended* at start + i / rate. It is sent then even if earlier
requests are still waiting (open loop), and its response time is measured from
the intended time, not from when it was actually sent, so a stalled server
cannot hide its tail (coordinated omission). How late the generator itself ran
is recorded too (`sent - intended`): when that is large, the lab says so.

The schedule runs in a child process of its own (`python -m mqlab.measure.sender`), so
nothing else in the caller (the runner's threads, the GIL they take turns on, a progress
bar) can make it late; a machine short of CPU still can, and `sent - intended` shows it.
Each turn of its loop it tells the parent, in one message on a pipe, which requests it
sent and how those that ended were answered; the parent builds the samples from that and
calls back.

The HTTP client is libcurl, in `sender` (the child's side).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import pickle
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any

import pycurl

from mqlab.errors import ChildFailed, Timeout
from mqlab.job.scan import EICAR
from mqlab.measure import sender
from mqlab.measure.sender import Request as Request

# The generator's connection pool, unless told otherwise (a lab run asks for `pool_for` its
# server threads). Beyond it, requests wait their turn in curl
# (their response time still counts from the intended time) instead of opening hundreds of
# connections: under overload those cost the generator and the server more CPU than the
# requests themselves (and, each, a thread of the app's server).
MAX_CONNECTIONS = 64

# The child process: how long the parent waits for it, at most.
START_S = 30.0  # until its first word: Python, pycurl and the requests, on a busy machine
STALL_S = 10.0  # no word for this long after the start: it hangs (or is stopped)
GRACE_S = 30.0  # beyond the schedule and the last request's timeout: it should have ended
EXIT_S = 5.0  # for it to exit, once done or told to


def pool_for(server_threads: int) -> int:
    """Connections enough to keep every handler thread busy: one being answered, one queued."""
    return 2 * server_threads


@dataclass
class Sample:
    """One request. Times are wall clock (seconds since the epoch), comparable with the sink's."""

    job_id: str
    intended: float
    sent: float | None = None
    status: int | None = None
    response_ms: float | None = None  # answer - intended
    error: str | None = None
    outcome: str | None = None  # what a 503 said of the job: "unknown" (may still be sent)

    @property
    def accepted(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def in_doubt(self) -> bool:
        """Answered 503 "outcome unknown": the broker may still have the job, and its user
        is told to look again (as the accepted ones look at their status)."""
        return self.status == 503 and self.outcome == "unknown"


@dataclass(frozen=True)
class LoadResult:
    samples: list[Sample]
    started: float  # wall clock of intended time 0
    generator_pid: int  # the child process that ran the schedule (not the caller's)


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

    `rate` is requests per second; 0 sends them all at once (a spike). At most `connections`
    requests are on the wire at once; the others wait their turn.

    The schedule runs in a child process (`LoadResult.generator_pid`); the callbacks run
    here, on the calling thread, in order. `before_send(i)` comes once the child has decided
    to send request i: shortly *after* it went out (the rest of the child's loop turn and
    the pipe: about a millisecond, more on a busy machine), never before, so what it does
    (crash tests set an event or kill a process there) happens after request i was sent.
    It may take its time: the child keeps its schedule meanwhile, and the later callbacks
    wait. `on_answer(sample)` comes once per request, after its `before_send`, when it was
    answered or failed.

    A child that dies, or says nothing for STALL_S, is ChildFailed; one that has not
    finished GRACE_S after the schedule and the last request's timeout is Timeout. On any
    exception here (a callback's, Ctrl-C) the child is stopped and waited for (bounded).
    """
    job = (url, [(r.job_id, r.email, r.body) for r in requests], rate, timeout_s, connections)
    schedule_s = len(requests) / rate if rate > 0 else 0.0
    deadline = time.monotonic() + START_S + schedule_s + timeout_s + GRACE_S
    with tempfile.TemporaryFile() as stdin, tempfile.TemporaryFile() as stderr:
        pickle.dump(job, stdin, protocol=pickle.HIGHEST_PROTOCOL)
        stdin.seek(0)
        try:
            child = subprocess.Popen(
                [sys.executable, "-m", "mqlab.measure.sender"],
                stdin=stdin,
                stdout=subprocess.PIPE,
                stderr=stderr,
            )
        except OSError as e:
            raise ChildFailed(f"the load generator could not start: {e}") from e
        try:
            return _follow(child, requests, deadline, stderr, on_answer, before_send)
        finally:
            _stop(child)


def _follow(
    child: subprocess.Popen[bytes],
    requests: Sequence[Request],
    deadline: float,
    stderr: IO[bytes],
    on_answer: Callable[[Sample], None] | None,
    before_send: Callable[[int], None] | None,
) -> LoadResult:
    """The parent's side: read the child's reports, build the samples, call back."""
    assert child.stdout is not None
    reports = _Reports(child.stdout.fileno())
    name = f"the load generator (pid {child.pid})"
    samples: list[Sample] = []
    started: float | None = None
    heard, quiet_ok = time.monotonic(), START_S
    while True:
        now = time.monotonic()
        got = reports.read(min(1.0, deadline - now, heard + quiet_ok - now))
        for report in got:
            if report[0] == "start":
                _, pid, started = report
                quiet_ok = STALL_S
                if pid != child.pid:
                    raise ChildFailed(f"{name} reports from pid {pid}")
            elif report[0] == "turn":
                _, sent, answered = report
                for i, intended, at in sent:
                    samples.append(Sample(requests[i].job_id, intended, at))
                    if before_send is not None:
                        before_send(i)
                for i, status, error, response_ms, outcome in answered:
                    sample = samples[i]
                    sample.status, sample.error, sample.response_ms = status, error, response_ms
                    sample.outcome = outcome
                    if on_answer is not None:
                        on_answer(sample)
            else:  # "done"
                if started is None or any(s.response_ms is None for s in samples):
                    raise ChildFailed(f"{name} ended with requests unanswered")
                if len(samples) != len(requests):
                    raise ChildFailed(f"{name} sent {len(samples)} of {len(requests)} requests")
                with contextlib.suppress(subprocess.TimeoutExpired):
                    child.wait(timeout=EXIT_S)  # on its way out
                return LoadResult(samples, started, child.pid)
        if got:
            heard = time.monotonic()  # after the callbacks: their time is not the child's silence
            continue
        # nothing more in the pipe
        if reports.ended:
            raise ChildFailed(f"{name} died: {_death(child, stderr)}")
        now = time.monotonic()
        if now >= deadline:
            raise Timeout(f"{name} had not finished long after its schedule and timeouts")
        heard = max(heard, reports.heard)  # part of a long report is word from it too
        if now - heard >= quiet_ok:
            raise ChildFailed(f"{name} stopped reporting for {quiet_ok:.0f} s")


class _Reports:
    """The child's reports off a pipe: each a 4-byte length and a pickled tuple."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.ended = False  # the child closed its end: it exited (or is about to)
        self.heard = 0.0  # time.monotonic() of the last bytes read
        self._buffer = bytearray()

    def read(self, timeout: float) -> list[tuple[Any, ...]]:
        """The reports that came within `timeout` seconds (often none, or several)."""
        if not self.ended and select.select([self.fd], [], [], max(timeout, 0.0))[0]:
            chunk = os.read(self.fd, 1 << 16)
            self.ended = not chunk
            self.heard = time.monotonic()
            self._buffer += chunk
        out = []
        while len(self._buffer) >= 4:
            size = int.from_bytes(self._buffer[:4], "big")
            if len(self._buffer) < 4 + size:
                break
            out.append(pickle.loads(self._buffer[4 : 4 + size]))
            del self._buffer[: 4 + size]
        return out


def _death(child: subprocess.Popen[bytes], stderr: IO[bytes]) -> str:
    """How the child ended, in a few words, with the last line it wrote (a traceback's)."""
    try:
        code = child.wait(timeout=EXIT_S)
    except subprocess.TimeoutExpired:
        return "it closed its pipe but did not exit"
    if code < 0:
        how = f"killed by {signal.Signals(-code).name}" if -code in signal.valid_signals() else ""
        how = how or f"killed by signal {-code}"
    else:
        how = f"exit status {code}"
    stderr.seek(0, os.SEEK_END)
    stderr.seek(max(0, stderr.tell() - 4096))
    lines = stderr.read().decode(errors="replace").strip().splitlines()
    return f"{how} ({lines[-1].strip()})" if lines else how


def _stop(child: subprocess.Popen[bytes]) -> None:
    """SIGTERM a child still running (SIGKILL if that is not enough); every wait bounded."""
    if child.poll() is None:
        child.terminate()
        with contextlib.suppress(ProcessLookupError):
            os.kill(child.pid, signal.SIGCONT)  # a stopped process acts on SIGTERM only then
        try:
            child.wait(timeout=EXIT_S)
        except subprocess.TimeoutExpired:
            child.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=EXIT_S)
    if child.stdout is not None:
        child.stdout.close()


@contextmanager
def session(url: str, timeout_s: float = 30.0) -> Iterator[Callable[[Request], int]]:
    """`post(request) -> status`, one request after the other on one kept-alive connection:
    the same client, options and bodies as `run_load` (the HTTP floor is timed with it)."""
    body: list[bytes] = []
    handle = sender.new_handle(url, timeout_s, body)

    def post(request: Request) -> int:
        sender.prepare(handle, request)
        try:
            handle.perform()  # raises pycurl.error when there is no answer
        finally:
            body.clear()
        return int(handle.getinfo(pycurl.RESPONSE_CODE))

    try:
        yield post
    finally:
        handle.close()
