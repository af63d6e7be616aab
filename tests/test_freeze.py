"""A broker that hangs (SIGSTOP) or blocks publishers (a memory alarm) instead of dying, on a
RabbitMQ node of our own (never the shared broker): the app answers 202 or 503 within its
publish deadline, nothing exits, a "not_taken" 503 is never mailed, and a worker that wakes
up late does not send a job the broker gave to another worker."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from mqlab.job.signup import Job
from mqlab.processes import rabbit, status_follow
from mqlab.processes.procs import Child, mqlab_argv

from .helpers import (
    SLACK_S,
    App,
    Queues,
    Sink,
    Workers,
    command,
    into_a_job,
    jobs_connection_lines,
    stop_with_sigterm,
    wait_until,
)

pytestmark = [pytest.mark.broker, pytest.mark.one_sink]

DEADLINE = 1.0  # --publish-timeout of every app here
FAST = ("--publish-timeout", str(DEADLINE), "--reconnect-max", "0.5")


@pytest.fixture
def queues(node: rabbit.PrivateNode) -> Iterator[Queues]:
    """A queue of the test's own on the node, thawed before and after. (The one test that
    raises a memory alarm clears it itself: each rabbitmqctl run boots an Erlang VM.)"""
    node.thaw()
    q = Queues(node.url)
    yield q
    node.thaw()
    q.delete()


@dataclass
class Signup:
    job_id: str
    status: int
    outcome: str
    seconds: float
    retry_after: str | None


def signup(app: App, job_id: str | None = None) -> Signup:
    """One POST /signup, timed: its status, the 503's outcome and Retry-After."""
    job_id = job_id or f"f-{uuid.uuid4().hex[:10]}"
    request = urllib.request.Request(
        f"{app.url}/signup",
        data=json.dumps({"email": f"{job_id}@example.test", "name": "Fay"}).encode(),
        headers={"Content-Type": "application/json", "X-Job-Id": job_id},
    )
    t0 = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=15) as r:
            status, body, retry_after = int(r.status), json.loads(r.read()), None
    except urllib.error.HTTPError as e:
        status, body, retry_after = int(e.code), json.loads(e.read()), e.headers["Retry-After"]
    seconds = time.monotonic() - t0
    if status == 503:
        assert body["job_id"] == job_id
    return Signup(job_id, status, str(body.get("outcome", "")), seconds, retry_after)


def trickle(app: App, rate: float, seconds: float) -> Callable[[], list[Signup]]:
    """Signups at `rate` per second for `seconds`, each on its own thread (a slow answer does
    not hold back the next one). Returns a function that waits for all and gives them."""
    done: list[Signup] = []
    threads: list[threading.Thread] = []

    def send() -> None:
        done.append(signup(app))

    def pace() -> None:
        start = time.monotonic()
        for i in range(int(rate * seconds)):
            time.sleep(max(0.0, start + i / rate - time.monotonic()))
            thread = threading.Thread(target=send, daemon=True)
            thread.start()
            threads.append(thread)

    pacer = threading.Thread(target=pace, daemon=True)
    pacer.start()

    def results() -> list[Signup]:
        pacer.join(timeout=seconds + 10)
        for thread in threads:
            thread.join(timeout=20)
        return done

    return results


def health_ok(app: App) -> bool:
    with urllib.request.urlopen(f"{app.url}/health", timeout=1) as r:
        return int(r.status) == 200


def test_a_frozen_broker_gets_a_503_in_time_and_every_202_is_delivered_after(
    node: rabbit.PrivateNode,
    queues: Queues,
    tmp_path: Path,
    sink: Sink,
    start_app: Callable[..., App],
) -> None:
    app = start_app("broker", sink, *FAST, *queues.args())
    workers = Workers(tmp_path, queues)
    try:
        worker = workers.start(sink.port, "--scan-ms", "0", "--heartbeat", "1",
                               "--reconnect-max", "0.5")  # fmt: skip
        results = trickle(app, rate=15, seconds=9)
        time.sleep(1.5)
        node.freeze()
        for _ in range(8):  # 4 s frozen; the app stays up and answers its probe at once
            assert health_ok(app)
            time.sleep(0.5)
        node.thaw()
        answered = results()
        assert len(answered) == 135
        assert {s.status for s in answered} == {202, 503}
        slowest = max(s.seconds for s in answered)
        assert slowest <= DEADLINE + SLACK_S, f"a signup took {slowest:.2f} s"  # frozen 4 s
        assert app.child.alive and worker.alive
        accepted = {s.job_id for s in answered if s.status == 202}
        not_taken = {s.job_id for s in answered if s.outcome == "not_taken"}
        assert not_taken and all(s.retry_after for s in answered if s.status == 503)
        wait_until(
            lambda: {a.job_id for a in sink.arrivals()} >= accepted,
            timeout=30,
            what="every 202 to be delivered after the thaw",
        )
        time.sleep(1.0)  # a "not_taken" job that was sent anyway would arrive by now
        assert not not_taken & {a.job_id for a in sink.arrivals()}
    finally:
        node.thaw()
        workers.stop_all()


def test_a_memory_alarm_gets_a_503_in_time_then_202_once_it_clears(
    node: rabbit.PrivateNode, queues: Queues, start_app: Callable[..., App]
) -> None:
    app = start_app("broker", None, *FAST, *queues.args())
    assert signup(app).status == 202
    node.memory_alarm(True)
    try:
        # The node raises its alarm and blocks the app's connection a moment after
        # rabbitmqctl returns: a signup before that is truly accepted (202, confirmed).
        first, until = signup(app), time.monotonic() + 5
        while first.status == 202 and time.monotonic() < until:
            first = signup(app)
        # the first to meet the alarm: sent, but blocked, so nobody knows
        assert (first.status, first.outcome) == (503, "unknown")
        assert first.seconds <= DEADLINE + SLACK_S
        then = [signup(app) for _ in range(5)]  # the app knows now: not even tried
        assert {(s.status, s.outcome) for s in then} == {(503, "not_taken")}
        assert max(s.seconds for s in then) < 0.5
        # The status reading notices too (its probe of the stream does not come back), once:
        # a new connection that cannot publish is not "back" (it flapped every 3 s)
        wait_until(lambda: "status events: lost" in app.log(), 10, "the reading to notice")
        time.sleep(status_follow.ECHO_S)  # it said "back" 0.1 s after "lost"
        assert "status events: back" not in app.log()
    finally:
        node.memory_alarm(False)  # also when an assertion failed: the next tests need none
    deadline = time.monotonic() + 15
    while signup(app).status != 202:
        assert time.monotonic() < deadline, "no 202 within 15 s of the alarm's end"
        time.sleep(0.1)
    assert app.child.alive
    wait_until(lambda: "status events: back" in app.log(), 15, "the reading to be back")
    assert app.log().count("status events: lost") == 1


def test_a_worker_started_while_the_broker_is_frozen_consumes_once_it_resumes(
    node: rabbit.PrivateNode, queues: Queues, tmp_path: Path, sink: Sink
) -> None:
    workers = Workers(tmp_path, queues)
    try:
        queues.depth()  # the queue exists before the freeze
        node.freeze()
        worker = workers.start(sink.port, "--scan-ms", "0", "--reconnect-max", "0.5",
                               ready=False)  # fmt: skip
        # its handshake times out (5 s): it failed at least once, and it goes on
        wait_until(lambda: "lost the broker" in workers.log(worker), 15, "a failed connect")
        assert worker.alive
        node.thaw()
        wait_until(lambda: queues.depth()[1] == 1, timeout=20, what="the worker to consume")
        job_id = f"z-{uuid.uuid4().hex[:8]}"
        queues.publish(Job(job_id, "zoe@example.test", "Zoe", b""))
        (arrival,) = sink.wait_for(1, timeout=15)
        assert arrival.job_id == job_id
        log = workers.log(worker)
        jobs = jobs_connection_lines(log)
        assert sum("lost the broker" in line for line in jobs) == 1, log
        assert sum("back on the broker after" in line for line in jobs) == 1, log
        assert "Traceback" not in log
    finally:
        node.thaw()
        workers.stop_all()


def test_a_worker_with_a_wrong_password_exits_3_with_one_line(
    node: rabbit.PrivateNode, tmp_path: Path, sink: Sink
) -> None:
    wrong = node.url.replace("guest:guest@", "guest:wrong-secret@")
    argv = mqlab_argv("worker", "--smtp-port", str(sink.port), "--amqp-url", wrong)
    child = Child("worker", argv, tmp_path / "worker-wrong.log").start()
    assert child.proc is not None
    try:
        assert child.proc.wait(timeout=30) == 3
    finally:
        child.kill()
    log = child.log_path.read_text()
    errors = [line for line in log.splitlines() if line.startswith("mqlab: error:")]
    assert len(errors) == 1 and "login refused" in errors[0], log
    assert "wrong-secret" not in log and "Traceback" not in log


def test_a_worker_resumed_after_sigstop_does_not_send_a_job_given_to_another(
    node: rabbit.PrivateNode, queues: Queues, tmp_path: Path, sink: Sink
) -> None:
    """SIGSTOPped mid-scan with a 1 s heartbeat: the broker drops its connection and gives the
    job to a second worker, which sends it. SIGCONTed, the first must not send it too."""
    workers = Workers(tmp_path, queues)
    try:
        late, job = into_a_job(workers, queues, sink.port, "--scan-ms", "250", "--heartbeat", "1",
                               tag="sam")  # fmt: skip  # inside its single slice
        os.kill(late.pid, signal.SIGSTOP)
        wait_until(lambda: queues.depth() == (1, 0), timeout=20, what="the broker to drop it")
        workers.start(sink.port, "--scan-ms", "0")
        (arrival,) = sink.wait_for(1, timeout=15)
        assert arrival.job_id == job.id
        os.kill(late.pid, signal.SIGCONT)
        time.sleep(2.0)  # its send would arrive by now
        assert [a.job_id for a in sink.arrivals()] == [job.id]
        assert late.alive
        assert "handed 1 unsent job(s) back" in workers.log(late)
    finally:
        for child in workers.children:
            if child.alive:
                os.kill(child.pid, signal.SIGCONT)
        workers.stop_all()


def test_a_run_stopped_with_sigterm_leaves_none_of_its_queues_on_the_broker(
    node: rabbit.PrivateNode, tmp_path: Path
) -> None:
    """A run declares queues, an exchange and a stream of its own, and deletes them at its
    end, also when a SIGTERM ends it mid-load: left on a broker it did not start, they
    stayed there for good. (On this file's private node: every queue there is a test's.)"""
    argv = ("crash-test", "--amqp-url", node.url, "--modes", "broker", "--faults", "app-kill",
            "--trials", "20", "-n", "40", "--rate", "100", "--scan-ms", "50", "--workers", "2",
            "--out", str(tmp_path))  # fmt: skip
    progress = tmp_path / "progress.txt"  # one line as each trial starts
    with progress.open("w") as err, command(*argv, cwd=tmp_path, stderr=err) as cli:
        # a rabbitmqctl call took seconds on a busy machine, longer than a trial's queues live
        wait_until(lambda: "trial 2: starting" in progress.read_text(), 60, "trial 2")
        time.sleep(1.0)  # mid-trial: the app killed, or being started again
        stop_with_sigterm(cli, timeout=30)
        assert ".run-" not in node.ctl("list_queues", "name")
