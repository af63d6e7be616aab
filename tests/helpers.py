"""Helpers shared by the test files: handles on the real processes the fixtures start
(sink, app, workers), a queue of a test's own on a real RabbitMQ, and a bounded wait.

Plain classes and functions; the fixtures that start the processes are in conftest.py.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, TypeVar

import pika
import pytest
from pika.adapters.blocking_connection import BlockingChannel
from pika.spec import BasicProperties

from mqlab.amqp.queues import delete_run_objects
from mqlab.amqp.settings import AmqpSettings, private_settings
from mqlab.cli.core import main
from mqlab.job.ledger import Arrival, read_arrivals
from mqlab.job.signup import Job
from mqlab.job.status import Event
from mqlab.measure.results import load
from mqlab.processes.procs import Child, mqlab_argv
from scenarios import status

HOST = "127.0.0.1"

Result = dict[str, Any]
T = TypeVar("T")


# What six test processes on two busy cores may add to a bounded wait before the test sees
# its end (0.57 s over a 1 s publish timeout was seen, then 1.02 s on the slowest VM). A hang
# still fails: each test's broker stays away longer (frozen 4 s, stopped or alarmed until
# the test releases it).
SLACK_S = 2.0


# the event lists of the `started_processes_and_connections` blocks under way, by thread
_WATCHED: dict[int, list[str]] = {}


def _on_audit(event: str, args: tuple[Any, ...]) -> None:
    seen = _WATCHED.get(threading.get_ident()) if _WATCHED else None
    if seen is not None and event in ("subprocess.Popen", "os.posix_spawn", "os.fork"):
        seen.append(f"{event} {args[0] if args else ''}")  # os.fork has no arguments
    elif seen is not None and event == "socket.connect":
        seen.append(f"{event} {args[1]}")


sys.addaudithook(_on_audit)  # for the whole test process (a hook cannot be removed): idle here


@contextlib.contextmanager
def started_processes_and_connections() -> Iterator[list[str]]:
    """What the block started (a process) or connected to (a socket) on this thread, from
    Python's audit events: every child of mqlab's is a `subprocess.Popen`, every broker and
    SMTP client a `socket.connect`. Other threads (a breaker's probe) are not watched."""
    seen: list[str] = []
    _WATCHED[threading.get_ident()] = seen
    try:
        yield seen
    finally:
        del _WATCHED[threading.get_ident()]


def drain_states(channel: BlockingChannel, queue: str) -> list[Event]:
    """Every job state waiting in a listener's queue (`scenarios.status.listen`), in order."""
    events: list[Event] = []
    while (got := channel.basic_get(queue, auto_ack=True))[0] is not None:
        events.extend(Event.many_from_bytes(got[2]))
    return events


def hear_states(channel: BlockingChannel, queue: str, count: int, what: str) -> list[Event]:
    """At least `count` job states from a listener's queue, in order, within 10 s."""
    got: list[Event] = []

    def heard() -> bool:
        got.extend(drain_states(channel, queue))
        return len(got) >= count

    try:
        wait_until(heard, timeout=10, what=what)
    except AssertionError as e:
        raise AssertionError(f"{e}; heard {[(ev.job, ev.state) for ev in got]}") from None
    return got


def wait_until(check: Callable[[], bool], timeout: float = 15.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what or check}")


def sigterm_storm(child: Child, seconds: float, every_s: float = 50e-6) -> int:
    """A SIGTERM every `every_s` (0: back to back) for `seconds`, or until `child` is gone:
    now and then one lands while the handler of the one before still runs, as
    `Workers.stop_all`'s SIGTERM and `Child.stop`'s second one did once in a while. (A
    worker's storm goes no faster than the default: signals that come quicker than any
    handler returns may nest without end, whatever the handler does.) How many were sent."""
    sent = 0
    end = time.monotonic() + seconds
    while child.alive and time.monotonic() < end:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child.pid, signal.SIGTERM)
            sent += 1
        pause = time.perf_counter() + every_s
        while time.perf_counter() < pause:
            pass  # a spin: a sleep takes 50 µs or more
    return sent


@contextlib.contextmanager
def command(
    *args: str, cwd: Path, stderr: IO[str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """`mqlab <args>` as a child process, as a person runs it; killed if it still runs when
    the block ends (a failed test leaves no run behind)."""
    cli = subprocess.Popen(mqlab_argv(*args), cwd=cwd, stderr=stderr)
    try:
        yield cli
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.wait(timeout=10)


def stop_with_sigterm(cli: subprocess.Popen[bytes], timeout: float) -> None:
    """SIGTERM, and the command ends within `timeout` with 143, as a shell's `kill` expects."""
    cli.send_signal(signal.SIGTERM)
    assert cli.wait(timeout=timeout) == 143


def flags(**options: object) -> list[str]:
    """requests=12, scan_ms=20, no_floors=True -> --requests 12 --scan-ms 20 --no-floors"""
    out: list[str] = []
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        if value is True:
            out.append(flag)
        elif value is not False and value is not None:
            out += [flag, str(value)]
    return out


def mqlab_json(out: Path, *args: str, **options: object) -> Result:
    """Run an mqlab command in-process (the real CLI, the real processes behind it) with
    `--json`, its results in `out`; the result file it wrote, loaded and checked. (The
    `mqlab_result` fixture, for fixtures wider than a test, which cannot use capsys.)"""
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main([*args, *flags(out=out, json=True, **options)])
    assert code == 0, stderr.getvalue()
    return load(Path(json.loads(stdout.getvalue())["file"]))


# -- the SMTP sink and the app --------------------------------------------------------------


class Sink:
    def __init__(self, child: Child, port: int, ledger: Path, skip: int = 0) -> None:
        self.child, self.port, self.ledger = child, port, ledger
        self.skip = skip  # mails that arrived before this view of the sink was taken

    def arrivals(self) -> list[Arrival]:
        return read_arrivals(self.ledger)[self.skip :]

    def fresh(self) -> Sink:
        """This sink as a new test sees it: only the mails that arrive from now on. (For a
        sink a file's tests share: the earlier tests' mails have all arrived, as their
        processes were stopped, and waited for, when each test ended.)"""
        return Sink(self.child, self.port, self.ledger, skip=len(read_arrivals(self.ledger)))

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Arrival]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.arrivals()
            if len(got) >= count:
                return got
            time.sleep(0.02)
        raise AssertionError(f"expected {count} mails in the sink, got {len(self.arrivals())}")


def sink_on(port: int, folder: Path, *extra: str, children: list[Child] | None = None) -> Sink:
    """A sink child on `port` (its ledger and log in `folder`), once it listens there itself;
    added to `children` (stopped by their owner) before it is waited for."""
    ledger = folder / f"ledger-{port}.db"
    argv = mqlab_argv("sink", "--port", str(port), "--ledger", str(ledger), *extra)
    child = Child("sink", argv, folder / f"sink-{port}.log").start()
    if children is not None:
        children.append(child)
    child.wait_listening(port, timeout=15)
    return Sink(child, port, ledger)


class App:
    def __init__(self, child: Child, port: int) -> None:
        self.child, self.port = child, port

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def log(self) -> str:
        """What the app wrote to its log so far."""
        return self.child.log_path.read_text(errors="replace")

    def post(
        self,
        body: bytes | dict[str, Any],
        path: str = "/signup",
        headers: dict[str, str] | None = None,
        method: str = "POST",
    ) -> tuple[int, dict[str, Any]]:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        req = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        try:
            with urllib.request.urlopen(req, timeout=15) as r:
                return int(r.status), json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            return int(e.code), json.loads(e.read() or b"{}")


# -- a queue of a test's own, and worker processes on it ------------------------------------


class Sse:
    """A real HTTP client on /signup/{id}/events; `next()` is the next event, with the
    comments that came before it."""

    def __init__(self, app: App, job: str, timeout: float = 10.0) -> None:
        self.conn = http.client.HTTPConnection(HOST, app.port, timeout=timeout)
        self.conn.request("GET", f"/signup/{job}/events")
        self.response = self.conn.getresponse()
        self.comments: list[str] = []

    def next(self) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        while True:
            line = self.response.readline()
            if not line:
                raise EOFError("the stream ended")
            text = line.decode().rstrip("\n")
            if not text and "data" in fields:
                fields["received"] = time.time()
                return fields
            if not text:  # a block without data (retry:) is no event
                fields = {}
            if text.startswith(":"):
                self.comments.append(text)
            elif text:
                name, _, value = text.partition(": ")
                fields[name] = json.loads(value) if name == "data" else value

    def all(self) -> list[dict[str, Any]]:
        """Every event until the stream ends (`event: end` included)."""
        out = [self.next()]
        while out[-1].get("event") != "end":
            out.append(self.next())
        return out

    def close(self) -> None:
        self.conn.close()


def get(app: App, job: str) -> tuple[int, dict[str, Any]]:
    """GET /signup/{job}: (status, JSON body)."""
    return app.post(b"", path=f"/signup/{job}", method="GET")


def connect(url: str) -> pika.BlockingConnection:
    params = pika.URLParameters(url)
    params.socket_timeout = params.stack_timeout = params.blocked_connection_timeout = 5
    params.connection_attempts = 1
    return pika.BlockingConnection(params)


class Queues:
    """A queue of this test's own (and its .retry and .dead), on the given broker.

    Its checks (`depth`, `take`), polled every 20 ms by the waits, share one connection: a
    connection per check costs ~8 ms of CPU (the broker's included), a quarter of a core
    for as long as a test waits. A check whose connection was lost (a node killed) opens a
    new one."""

    def __init__(self, url: str) -> None:
        self.url = url
        settings = private_settings(url)  # an exchange of its own too: no copies of others' jobs
        self.name, self.exchange = settings.queue, settings.exchange
        self._conn: pika.BlockingConnection | None = None
        self._channel: BlockingChannel | None = None

    def args(self) -> list[str]:
        return ["--amqp-url", self.url, "--queue", self.name, "--exchange", self.exchange]

    def publish(self, job: Job | bytes, message_id: str | None = None) -> None:
        """Put a job (or raw bytes) on the work queue, as the app would."""
        body = job.to_bytes() if isinstance(job, Job) else job
        if message_id is None:
            message_id = job.id if isinstance(job, Job) else "raw"
        conn = connect(self.url)
        try:
            ch = conn.channel()
            ch.confirm_delivery()
            ch.queue_declare(self.name, durable=True)
            ch.basic_publish(
                "",
                self.name,
                body,
                BasicProperties(delivery_mode=2, message_id=message_id),
                mandatory=True,
            )
        finally:
            conn.close()

    def _check(self, ask: Callable[[BlockingChannel], T]) -> T:
        """`ask(channel)` on the kept connection; once more on a new one if it was lost."""
        for attempt in (1, 2):
            try:
                if self._conn is None or not self._conn.is_open:
                    self._conn, self._channel = connect(self.url), None
                if self._channel is None or not self._channel.is_open:
                    self._channel = self._conn.channel()
                return ask(self._channel)
            except (pika.exceptions.AMQPConnectionError, pika.exceptions.ConnectionClosed,
                    pika.exceptions.StreamLostError):  # fmt: skip
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def depth(self, queue: str | None = None) -> tuple[int, int]:
        """(ready messages, consumers) of the work queue or another queue; (-1, -1) if absent."""

        def ask(ch: BlockingChannel) -> tuple[int, int]:
            try:
                ok = ch.queue_declare(queue or self.name, passive=True)
            except pika.exceptions.ChannelClosedByBroker:  # absent: the channel is closed
                return -1, -1
            return int(ok.method.message_count), int(ok.method.consumer_count)

        return self._check(ask)

    def take(self, queue: str) -> list[tuple[dict[str, Any], bytes]]:
        """Every message in `queue` (headers, body), taken off it."""

        def ask(ch: BlockingChannel) -> list[tuple[dict[str, Any], bytes]]:
            out: list[tuple[dict[str, Any], bytes]] = []
            while True:
                method, props, body = ch.basic_get(queue, auto_ack=True)
                if method is None:
                    return out
                out.append((dict(props.headers or {}), body))

        return self._check(ask)

    def wait_take(self, queue: str, timeout: float = 15.0) -> list[tuple[dict[str, Any], bytes]]:
        """`take`, once something is there."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.take(queue)
            if got:
                return got
            time.sleep(0.02)
        raise AssertionError(f"nothing arrived in {queue} within {timeout:g} s")

    def close(self) -> None:
        """Close the checks' connection (the next check opens another)."""
        conn, self._conn, self._channel = self._conn, None, None
        if conn is not None and conn.is_open:
            with contextlib.suppress(pika.exceptions.AMQPError, OSError):
                conn.close()

    def delete(self) -> None:
        self.close()
        delete_run_objects(AmqpSettings(url=self.url, queue=self.name, exchange=self.exchange))


def signup_job(tag: str, attachment: bytes = b"") -> Job:
    return Job(f"{tag}-{uuid.uuid4().hex[:8]}", f"{tag}@example.test", tag.title(), attachment)


def into_a_job(
    workers: Workers, queues: Queues, smtp_port: int, *args: str, tag: str, after_s: float = 0.0
) -> tuple[Child, Job]:
    """A worker started with `args`, given one job, and `after_s` seconds into it; with
    `after_s` 0, inside its scan (a scan of 0 ms: `after_s` is the only wait there is)."""
    worker = workers.start(smtp_port, *args)
    job = signup_job(tag)
    queues.publish(job)
    # The broker counts the job unacked once it sent it: the worker may not have read it yet.
    wait_until(lambda: queues.depth() == (0, 1), what="the worker to take the job")
    if after_s:
        time.sleep(after_s)
    else:
        wait_until(lambda: scanning(worker), timeout=10, what="the worker to be in its scan")
    return worker, job


def scanning(worker: Child) -> bool:
    """Is the worker's main thread asleep in a scan? (The scan is the only `time.sleep` of a
    running worker: waiting for the broker, it sits in poll.)"""
    try:
        return Path(f"/proc/{worker.pid}/wchan").read_text() == "hrtimer_nanosleep"
    except OSError:
        return False


def jobs_connection_lines(log: str) -> list[str]:
    """A worker's log lines about its jobs' connection: not those of its job states' own
    connection ("mqlab worker: job states: ...")."""
    return [line for line in log.splitlines() if "job states" not in line]


class Workers:
    def __init__(self, tmp_path: Path, queues: Queues) -> None:
        self.tmp_path, self.queues = tmp_path, queues
        self.children: list[Child] = []

    def start(self, smtp_port: int, *extra: str, ready: bool = True) -> Child:
        n = len(self.children) + 1
        argv = mqlab_argv("worker", "--smtp-port", str(smtp_port), *self.queues.args(), *extra)
        child = Child(f"worker {n}", argv, self.tmp_path / f"worker-{n}.log").start()
        self.children.append(child)
        if ready:  # consuming: the broker lists it as a consumer of the queue
            child.wait_ready(lambda: self.queues.depth()[1] >= 1, timeout=20)
        return child

    def log(self, child: Child) -> str:
        return child.log_path.read_text(errors="replace")

    def stop_all(self) -> None:
        for child in self.children:
            child.stop()


# -- crash tests (tests/test_crash*.py) --------------------------------------------------

# The pool (2 workers x 50 ms) drains 40 jobs/s; 100 requests/s builds a backlog to lose.
WORKLOAD = [
    "--requests",
    "30",
    "--rate",
    "100",
    "--scan-ms",
    "50",
    "--workers",
    "2",
    "--drain-timeout",
    "30",
]


def crash_test(tmp: Path, capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    keep = tmp / "kept"
    assert (
        main(["crash-test", *WORKLOAD, *args, "--out", str(tmp), "--keep", str(keep), "--json"])
        == 0
    )
    data = load(Path(json.loads(capsys.readouterr().out)["file"]))
    data["kept"] = keep
    return data


def row(data: dict[str, Any], mode: str, fault: str, safety: str = "default") -> dict[str, Any]:
    found: dict[str, Any]
    (found,) = [
        r for r in data["rows"] if (r["mode"], r["fault"], r["safety"]) == (mode, fault, safety)
    ]
    assert not found["skipped"], found["note"]
    return found


def own_count(
    data: dict[str, Any], mode: str, fault: str, safety: str = "default"
) -> tuple[int, int]:
    """(distinct jobs mailed, extra copies) straight from the kept SQLite ledger."""
    (folder,) = data["kept"].glob(f"*-{mode}-{fault}-{safety}-1-*")
    db = sqlite3.connect(folder / "ledger.db")
    try:
        distinct, total = db.execute(
            "SELECT COUNT(DISTINCT job_id), COUNT(*) FROM mails WHERE kind = 'welcome'"
        ).fetchone()
    finally:
        db.close()
    return int(distinct), int(total - distinct)


@contextlib.contextmanager
def confirming_worker(
    queues: Queues,
) -> Iterator[tuple[AmqpSettings, pika.BlockingConnection, status.Events]]:
    """A worker's job states on the test's exchange (a slow scan: each state goes at once),
    whose confirms the test takes itself, and a connection of the test's own."""
    settings = AmqpSettings(url=queues.url, queue=queues.name, exchange=queues.exchange)
    conn = connect(queues.url)
    events = status.worker_events(settings, 200.0)
    try:
        status.attach(events, lambda s, f: None)  # no timer: the test calls send_unsent
        assert events.side is not None
        yield settings, conn, events
    finally:
        events.close()
        conn.close()
