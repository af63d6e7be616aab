"""Broker mode on Redis Streams, on private redis-server processes of the test's own: the app's
signup class, the workers (in worker processes where a test kills one, else in threads of
this process), the status log, the lab's watch. Real Redis, real SMTP sink, real SIGKILLs.

Every test has a queue of its own (`*.run-<tag>`); a test that kills or restarts Redis has
a server of its own. Nothing here touches the system's Redis on 6379.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
import redis

from mqlab import redis_streams
from mqlab.amqp.consumer import Shutdown, WorkerScanner
from mqlab.amqp.settings import (
    AmqpSettings,
    dead_letter_queue,
    reconnect_delay,
    retry_queue,
    status_stream,
)
from mqlab.job import mail
from mqlab.job.ledger import read_arrivals
from mqlab.job.mail import SmtpTarget
from mqlab.job.mailjob import MailJob
from mqlab.job.scan import ScanSettings
from mqlab.job.signup import Job
from mqlab.job.status import Event
from mqlab.processes.procs import Child, free_port, mqlab_argv
from mqlab.processes.redis_server import DURABILITIES, EXPLAIN, PrivateRedis
from mqlab.redis_streams import status as redis_status
from mqlab.redis_streams.connection import GROUP, connect
from mqlab.redis_streams.lease import HEARTBEAT_S
from mqlab.redis_streams.status import Follower
from mqlab.redis_streams.watch import SEEN_S, Watch
from scenarios.broker_redis import RedisSignup
from scenarios.worker_redis import BLOCK_MS, TAKEOVER_S, consume

from .helpers import (
    SLACK_S,
    Sink,
    signup_job,
    sink_on,
    started_processes_and_connections,
    wait_until,
)

pytestmark = pytest.mark.broker  # a real broker (redis-server), started by the tests

# -- the parts: servers, settings, workers ---------------------------------------------------


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateRedis]:
    """One private Redis for the tests that do not kill it (each has a queue of its own)."""
    with PrivateRedis(tmp_path_factory.mktemp("redis"), "everysec") as server:
        yield server


@pytest.fixture
def own(tmp_path: Path) -> Iterator[PrivateRedis]:
    """A private Redis for one test, which may kill it: durable (fsync before each answer)."""
    with PrivateRedis(tmp_path, "always") as server:
        yield server


@pytest.fixture(scope="module")
def module_sink(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sink]:
    """One SMTP sink for the file: each test counts only its own jobs' mails."""
    folder = tmp_path_factory.mktemp("sink")
    sink = sink_on(free_port(), folder, "--quiet")
    yield sink
    sink.child.stop()


def settings_on(server: PrivateRedis, **changes: Any) -> AmqpSettings:
    """A queue of the test's own on `server`; short waits, so that the tests stay fast."""
    settings = AmqpSettings(
        url=server.url,
        queue=f"mqlab.signup.welcome.run-{uuid.uuid4().hex[:8]}",
        broker="redis",
        timeout_s=2.0,
        publish_timeout_s=1.0,
        reconnect_max_s=0.5,
        retry_delay_ms=50.0,
    )
    return replace(settings, **changes)


def keep_consuming(settings: AmqpSettings, mail_job: MailJob, shutdown: Shutdown) -> None:
    """What `mqlab worker --broker redis` does around `consume`: reconnect with backoff."""
    attempt = 0
    try:
        while not shutdown.requested.is_set():
            try:
                consume(settings, mail_job, shutdown)
            except redis_streams.UNAVAILABLE:
                shutdown.requested.wait(reconnect_delay(attempt, settings.reconnect_max_s))
                attempt += 1
    finally:
        mail._drop(mail_job.smtp)  # this thread's SMTP connection (a process would just exit)


@dataclass
class Threads:
    """Workers in threads of this process (for the tests that kill no worker)."""

    running: list[tuple[Shutdown, threading.Thread]] = field(default_factory=list)

    def start(self, settings: AmqpSettings, smtp_port: int, scan_ms: float = 0.0) -> None:
        shutdown = Shutdown()
        mail_job = MailJob(
            WorkerScanner(ScanSettings(ms=scan_ms), shutdown), SmtpTarget(port=smtp_port)
        )
        thread = threading.Thread(
            target=keep_consuming, args=(settings, mail_job, shutdown), daemon=True
        )
        thread.start()
        self.running.append((shutdown, thread))

    def stop(self) -> None:
        for shutdown, _ in self.running:
            shutdown.request()
        for _, thread in self.running:
            thread.join(timeout=5)
            assert not thread.is_alive(), "a worker did not stop within 5 s"


@pytest.fixture
def threads() -> Iterator[Threads]:
    workers = Threads()
    yield workers
    workers.stop()


# A worker process as `mqlab worker --broker redis` will be (the CLI is wired elsewhere):
# SIGTERM asks it to stop, `consume` runs in the same reconnecting loop.
WORKER = """
import json, logging, signal, sys
from mqlab.amqp.consumer import Shutdown, WorkerScanner
from mqlab.amqp.settings import AmqpSettings, reconnect_delay
from mqlab.job import mail
from mqlab.job.mail import SmtpTarget
from mqlab.job.mailjob import MailJob
from mqlab.job.scan import ScanSettings
from mqlab import redis_streams
from scenarios.worker_redis import consume

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
args = json.loads(sys.argv[1])
settings = AmqpSettings(**args["settings"])
shutdown = Shutdown(on_attach=lambda: logging.info("consuming"))
signal.signal(signal.SIGTERM, lambda *_: shutdown.request())
scanner = WorkerScanner(ScanSettings(ms=args["scan_ms"]), shutdown)
mail_job = MailJob(scanner, SmtpTarget(port=args["smtp_port"]))
attempt = 0
while not shutdown.requested.is_set():
    try:
        consume(settings, mail_job, shutdown)
    except redis_streams.UNAVAILABLE as e:
        logging.warning("lost Redis: %r", e)
        shutdown.requested.wait(reconnect_delay(attempt, settings.reconnect_max_s))
        attempt += 1
logging.info("worker stopped")
"""


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Callable[..., Child]]:
    """Worker processes; each started one is consuming (its heartbeat is seen) on return."""
    children: list[Child] = []

    def start(settings: AmqpSettings, smtp_port: int, scan_ms: float = 0.0) -> Child:
        n = len(children) + 1
        args = {"settings": asdict(settings), "scan_ms": scan_ms, "smtp_port": smtp_port}
        argv = [sys.executable, "-c", WORKER, json.dumps(args)]
        child = Child(f"worker {n}", argv, tmp_path / f"worker-{n}.log").start()
        children.append(child)
        watch = Watch(settings)
        try:
            child.wait_ready(lambda: (watch.consumers() or 0) >= n - dead(children), timeout=15)
        finally:
            watch.close()
        return child

    yield start
    for child in children:  # all at once: each takes up to BLOCK_MS to look at its flag
        if child.alive:
            os.killpg(child.pid, signal.SIGTERM)
    for child in children:
        child.stop()


def dead(children: list[Child]) -> int:
    return sum(1 for child in children if not child.alive)


# -- what the tests look at --------------------------------------------------------------------


def client(settings: AmqpSettings) -> redis.Redis:
    return redis.Redis.from_url(settings.url, socket_timeout=2, socket_connect_timeout=2)


def mails(sink: Sink, jobs: list[Job] | list[str]) -> list[str]:
    """The job ids of the welcome mails the sink has for these jobs (duplicates included)."""
    ids = {j.id if isinstance(j, Job) else j for j in jobs}
    return [a.job_id for a in sink.arrivals() if a.job_id in ids and a.kind == "welcome"]


def dead_letters(settings: AmqpSettings) -> list[dict[str, str]]:
    r = client(settings)
    try:
        entries: Any = r.xrange(dead_letter_queue(settings.queue))
        return [
            {k.decode(): v.decode("utf-8", "replace") for k, v in f.items()} for _, f in entries
        ]
    finally:
        r.close()


def accept(settings: AmqpSettings, job: Job) -> None:
    """One signup through an app of its own, answered 202 (the job is on the stream)."""
    signup = RedisSignup(settings, handlers=1)
    try:
        assert signup.handle(job).status == 202
    finally:
        signup.close()


def publish(signup: RedisSignup, jobs: list[Job], threads: int = 4) -> list[int]:
    with ThreadPoolExecutor(threads) as pool:
        return [answer.status for answer in pool.map(signup.handle, jobs)]


def drained(settings: AmqpSettings) -> bool:
    watch = Watch(settings)
    try:
        return watch.backlog() == 0
    finally:
        watch.close()


# -- the tests ---------------------------------------------------------------------------------


def test_every_accepted_job_reaches_the_sink_exactly_once(
    shared: PrivateRedis, module_sink: Sink, processes: Callable[..., Child]
) -> None:
    """30 signups from 4 handler threads, two worker processes (prefetch 2): each 202'd job
    is mailed once, and the stream is empty afterwards (acked entries are deleted)."""
    settings = settings_on(shared, prefetch=2)
    processes(settings, module_sink.port, scan_ms=20)
    processes(settings, module_sink.port, scan_ms=20)
    signup = RedisSignup(settings, handlers=4)
    jobs = [signup_job(f"once{i}") for i in range(30)]
    try:
        assert publish(signup, jobs) == [202] * 30
    finally:
        signup.close()
    wait_until(lambda: len(mails(module_sink, jobs)) >= 30, timeout=15, what="30 mails")
    wait_until(lambda: drained(settings), what="an empty stream")
    time.sleep(0.3)  # a second copy, if there were one, would arrive now
    assert sorted(mails(module_sink, jobs)) == sorted(j.id for j in jobs)
    r = client(settings)
    try:
        assert r.xlen(settings.queue) == 0
        assert r.xpending(settings.queue, GROUP)["pending"] == 0
    finally:
        r.close()


def test_a_transient_failure_is_retried_then_sent(
    shared: PrivateRedis, threads: Threads, tmp_path: Path
) -> None:
    port = free_port()  # nothing listens there yet: "SMTP unavailable", a transient failure
    settings = settings_on(shared, retry_delay_ms=100.0, max_retries=20)
    threads.start(settings, port)
    job = signup_job("bob")
    accept(settings, job)
    r = client(settings)
    try:
        wait_until(lambda: r.zcard(retry_queue(settings.queue)) > 0, what="a first retry")
        sink = sink_on(port, tmp_path, "--quiet")
        try:
            wait_until(lambda: mails(sink, [job]) == [job.id], timeout=15, what="the mail")
        finally:
            sink.child.stop()
        wait_until(lambda: drained(settings), what="nothing left, retries included")
        assert dead_letters(settings) == []
    finally:
        r.close()


def test_retries_are_counted_then_the_job_is_dead_lettered(
    shared: PrivateRedis, threads: Threads, tmp_path: Path
) -> None:
    fails = ("--smtp-fail-rate", "1", "--smtp-fail-kind", "transient")
    sink = sink_on(free_port(), tmp_path, "--quiet", *fails)
    try:
        settings = settings_on(shared, retry_delay_ms=20.0, max_retries=2)
        threads.start(settings, sink.port)
        job = signup_job("carl")
        accept(settings, job)
        wait_until(lambda: dead_letters(settings) != [], what="the dead letter")
        (dead,) = dead_letters(settings)
        assert dead["id"] == job.id and Job.from_bytes(dead["job"].encode()) == job
        assert "gave up after 2 retries" in dead["reason"]
        refused = [a.job_id for a in read_arrivals(sink.ledger, include_refused=True)]
        assert refused == [job.id] * 3  # the first try and two retries, each refused
        assert drained(settings)
    finally:
        sink.child.stop()


def test_a_permanent_failure_is_dead_lettered_with_its_reason(
    shared: PrivateRedis, threads: Threads, tmp_path: Path
) -> None:
    fails = ("--smtp-fail-rate", "1", "--smtp-fail-kind", "permanent")
    sink = sink_on(free_port(), tmp_path, "--quiet", *fails)
    try:
        settings = settings_on(shared)
        threads.start(settings, sink.port)
        job = signup_job("dora")
        accept(settings, job)
        wait_until(lambda: dead_letters(settings) != [], what="the dead letter")
        ((dead),) = dead_letters(settings)
        assert "permanent" in dead["reason"] and "554" in dead["reason"]
        refused = [a.job_id for a in read_arrivals(sink.ledger, include_refused=True)]
        assert refused == [job.id]  # tried once: retrying a 554 cannot help
        assert drained(settings)
    finally:
        sink.child.stop()


def test_a_malformed_entry_is_dead_lettered_and_the_next_job_sent(
    shared: PrivateRedis, module_sink: Sink, threads: Threads
) -> None:
    settings = settings_on(shared)
    r = client(settings)
    try:
        r.xadd(settings.queue, {"job": b"this is not a job"})  # anyone who may XADD could
        good = signup_job("fay")
        r.xadd(settings.queue, {"id": good.id, "job": good.to_bytes()})
        threads.start(settings, module_sink.port)
        wait_until(lambda: mails(module_sink, [good]) == [good.id], what="the good job's mail")
        (dead,) = dead_letters(settings)
        assert dead["job"] == "this is not a job" and dead["id"] == "unreadable"
        assert dead["reason"].startswith("malformed job")
        wait_until(lambda: drained(settings), what="nothing pending")
    finally:
        r.close()


def test_a_job_its_workers_keep_dying_on_is_dead_lettered_as_poison(
    shared: PrivateRedis, module_sink: Sink, threads: Threads
) -> None:
    """The state dead workers leave: an entry read by a worker that never acked it, handed
    out again and again (XCLAIM's RETRYCOUNT sets the count those takeovers would have)."""
    settings = settings_on(shared, max_redeliveries=2)
    r = client(settings)
    try:
        r.xgroup_create(settings.queue, GROUP, id="0", mkstream=True)
        job = signup_job("gus")
        entry_id = r.xadd(settings.queue, {"id": job.id, "job": job.to_bytes()})
        r.xreadgroup(GROUP, "died-on-it", {settings.queue: ">"}, count=1)
        r.xclaim(settings.queue, GROUP, "died-on-it", 0, [entry_id], idle=60_000, retrycount=3)
        threads.start(settings, module_sink.port)  # takes it over: delivered a 4th time
        wait_until(lambda: dead_letters(settings) != [], what="the dead letter")
        (dead,) = dead_letters(settings)
        assert dead["reason"] == "poison: delivered 4 times, its workers never settled it"
        assert mails(module_sink, [job]) == []
        wait_until(lambda: drained(settings), what="nothing pending")
    finally:
        r.close()


def test_a_worker_killed_mid_scan_has_its_job_sent_by_another(
    shared: PrivateRedis, module_sink: Sink, processes: Callable[..., Child]
) -> None:
    """The takeover: no server-side redelivery, so the job waits TAKEOVER_S after the dead
    worker's last heartbeat, until another worker's XAUTOCLAIM takes it."""
    settings = settings_on(shared)
    slow = processes(settings, module_sink.port, scan_ms=5000)
    job = signup_job("hal")
    accept(settings, job)
    r = client(settings)
    watch = Watch(settings)
    try:
        wait_until(lambda: r.xpending(settings.queue, GROUP)["pending"] == 1, what="the job taken")
        processes(settings, module_sink.port, scan_ms=0)  # the other worker: idle, looking
        assert watch.consumers() == 2
        slow.kill()  # SIGKILL, mid-scan: no ack, no goodbye
        killed_at = time.monotonic()
        wait_until(lambda: mails(module_sink, [job]) == [job.id], timeout=10, what="the mail")
        takeover_s = time.monotonic() - killed_at
        print(f"takeover after a SIGKILL: {takeover_s:.2f} s (TAKEOVER_S {TAKEOVER_S:g})")
        assert TAKEOVER_S - 2 * HEARTBEAT_S <= takeover_s <= TAKEOVER_S + BLOCK_MS / 1000 + 1.5
        wait_until(lambda: watch.consumers() == 1, timeout=SEEN_S + 2, what="one consumer")
        wait_until(lambda: drained(settings), what="nothing pending")
        time.sleep(0.2)
        assert mails(module_sink, [job]) == [job.id]  # once: the dead worker never sent it
    finally:
        watch.close()
        r.close()


def test_sigterm_during_the_scan_leaves_the_job_pending_unsent(
    shared: PrivateRedis, module_sink: Sink, processes: Callable[..., Child]
) -> None:
    settings = settings_on(shared)
    worker = processes(settings, module_sink.port, scan_ms=3000)
    job = signup_job("ida")
    accept(settings, job)
    r = client(settings)
    watch = Watch(settings)
    try:
        wait_until(lambda: r.xpending(settings.queue, GROUP)["pending"] == 1, what="the job taken")
        time.sleep(0.3)  # well inside the scan
        began = time.monotonic()
        worker.stop()
        assert worker.proc is not None and worker.proc.returncode == 0
        assert time.monotonic() - began < 1.5  # the stop flag is looked at between slices
        assert "handed 1 unsent job(s) back" in worker.log_path.read_text()
        assert mails(module_sink, [job]) == []
        # Not lost: pending still, under a name that gives no sign of life any more, as a
        # killed worker's job (the test above: another worker takes it over).
        assert r.xpending(settings.queue, GROUP)["pending"] == 1
        assert watch.consumers() == 0
    finally:
        watch.close()
        r.close()


def test_no_accepted_job_is_lost_when_redis_is_killed_and_restarted(
    own: PrivateRedis, module_sink: Sink, threads: Threads
) -> None:
    """appendfsync always, SIGKILL in the middle of the load (100 signups/s, two workers
    drain 40/s: a backlog builds): every job that got a 202 is mailed, some maybe twice (a
    job sent whose XACK the crash swallowed)."""
    settings = settings_on(own)
    threads.start(settings, module_sink.port, scan_ms=50)
    threads.start(settings, module_sink.port, scan_ms=50)
    signup = RedisSignup(settings, handlers=4)
    jobs = [signup_job(f"crash{i}") for i in range(70)]
    answers: dict[str, int] = {}
    raised: list[str] = []  # a pool thread's exception would otherwise vanish with it
    watch = Watch(settings)

    def send(job: Job) -> None:
        try:
            answers[job.id] = signup.handle(job).status
        except Exception as e:  # a handler answers 202 or 503, it never raises
            raised.append(f"{job.id}: {e!r}")

    def send_all(batch: list[Job]) -> None:
        """100 signups/s on four handler threads; back once each of them is answered."""
        with ThreadPoolExecutor(4) as pool:
            for job in batch:
                pool.submit(send, job)
                time.sleep(0.01)

    try:
        send_all(jobs[:30])  # none in flight after: each of them answered with Redis up
        at_risk = watch.backlog()  # accepted, not yet acked
        own.kill()
        send_all(jobs[30:40])
        assert watch.backlog() is None and watch.consumers() is None  # down: and no raise
        own.restart()
        wait_until(lambda: signup.handle(jobs[40]).status == 202, timeout=5, what="a 202")
        answers[jobs[40].id] = 202
        send_all(jobs[41:])
    finally:
        signup.close()
        watch.close()
    accepted = [job_id for job_id, status in answers.items() if status == 202]
    assert at_risk is not None and at_risk > 0
    assert raised == []
    statuses = [answers.get(job.id) for job in jobs]  # in the order sent, the kill at 30
    refused = {i: status for i, status in enumerate(statuses) if status != 202}
    assert 503 in statuses and len(accepted) >= 60, refused  # refused while down, not before
    wait_until(
        lambda: set(mails(module_sink, accepted)) == set(accepted), timeout=20, what="every 202"
    )
    copies = len(mails(module_sink, accepted)) - len(accepted)
    print(f"{at_risk} at risk at the kill; accepted {len(accepted)}, lost 0, {copies} twice")


def test_the_app_answers_503_while_redis_is_down_and_202_once_it_is_back(
    own: PrivateRedis, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_on(own)
    signup = RedisSignup(settings, handlers=2)
    caplog.set_level(logging.INFO, logger="mqlab.amqp.publisher")
    try:
        assert signup.handle(signup_job("up")).status == 202
        own.kill()
        first = signup.handle(signup_job("down"))
        assert first.status == 503 and first.body["outcome"] == "not_taken"
        assert dict(first.headers)["Retry-After"].isdigit()
        with started_processes_and_connections() as reached:
            again = signup.handle(signup_job("down"))  # the breaker: at once, Redis not tried
        assert again.status == 503 and reached == []
        own.restart()
        wait_until(lambda: signup.handle(signup_job("back")).status == 202, timeout=5, what="a 202")
    finally:
        signup.close()
    lines = [r.getMessage() for r in caplog.records]
    assert sum("lost the broker" in line for line in lines) == 1
    assert sum("the broker is back" in line for line in lines) == 1


def test_no_answer_in_time_is_a_503_whose_outcome_is_unknown(own: PrivateRedis) -> None:
    """A hung Redis (SIGSTOP) got the XADD but does not answer: 503 "unknown" within the
    publish timeout, never a 202; once it resumes, it ran the command: the job is there."""
    settings = settings_on(own)
    signup = RedisSignup(settings, handlers=1)
    assert own.proc is not None
    try:
        os.kill(own.proc.pid, signal.SIGSTOP)
        began = time.monotonic()
        job = signup_job("hung")
        answer = signup.handle(job)
        waited = time.monotonic() - began
        assert answer.status == 503 and answer.body["outcome"] == "unknown"
        assert settings.publish_timeout_s <= waited < settings.publish_timeout_s + SLACK_S
    finally:
        os.kill(own.proc.pid, signal.SIGCONT)
        signup.close()
    r = client(settings)
    try:
        entries: Any = r.xrange(settings.queue)
        ((_, fields),) = entries
        assert Job.from_bytes(fields[b"job"]) == job  # "it may still be delivered": it will
    finally:
        r.close()


def test_a_worker_never_waits_for_a_status_event_and_sends_what_waits_when_it_closes(
    own: PrivateRedis, caplog: pytest.LogCaptureFixture
) -> None:
    """A hung Redis (SIGSTOP): `emit` returns at once (the job goes on; an XADD waited for
    would take EMIT_TIMEOUT_S), the event is lost and one line says so; once Redis answers
    again, what a worker emits is in the log by the time its `close` returns."""
    settings = settings_on(own)
    events = redis_status.Events(settings)
    job = signup_job("told-later")
    assert own.proc is not None
    try:
        os.kill(own.proc.pid, signal.SIGSTOP)
        began = time.monotonic()
        redis_status.emit(events, job.id, "scanning", "try 1")
        assert time.monotonic() - began < redis_status.EMIT_TIMEOUT_S / 2
        wait_until(lambda: "not published" in caplog.text, what="the lost event's line")
    finally:
        os.kill(own.proc.pid, signal.SIGCONT)
    redis_status.emit(events, job.id, "sent", "the mail server accepted the welcome mail")
    events.close()
    r = client(settings)
    try:
        entries: Any = r.xrange(status_stream(settings))
    finally:
        r.close()
    states = [Event.from_bytes(fields[b"event"]) for _, fields in entries]
    assert ("sent", job.id) in [(e.state, e.job) for e in states]


def test_an_app_that_starts_while_redis_is_down_answers_503_then_202(
    own: PrivateRedis,
) -> None:
    settings = settings_on(own)
    own.kill()
    began = time.monotonic()
    signup = RedisSignup(settings, handlers=2)  # does not wait for Redis, does not fail
    try:
        assert time.monotonic() - began < settings.publish_timeout_s + SLACK_S
        assert signup.handle(signup_job("early")).status == 503
        own.restart()
        wait_until(
            lambda: signup.handle(signup_job("later")).status == 202, timeout=5, what="a 202"
        )
    finally:
        signup.close()


def test_a_restarted_app_rebuilds_every_jobs_state_from_the_log(
    own: PrivateRedis, module_sink: Sink, threads: Threads
) -> None:
    """The app's follower reads the status stream from its start: after the app (and Redis)
    restarted, it knows every job, and their whole history, again."""
    settings = settings_on(own)
    first = Follower(settings).start()
    signup = RedisSignup(settings, handlers=2, status=first.tell)
    threads.start(settings, module_sink.port)
    jobs = [signup_job(f"told{i}") for i in range(3)]
    try:
        assert publish(signup, jobs) == [202] * 3

        def all_sent(follower: Follower) -> bool:
            states = [follower.board.get(job.id) for job in jobs]
            return all(s is not None and s.state == "sent" for s in states)

        wait_until(lambda: all_sent(first), what="the first app to see them sent")
    finally:
        signup.close()
        first.close()
    threads.stop()
    own.kill()
    own.restart()  # the log survives Redis too (appendfsync always)
    second = Follower(settings).start()
    try:
        assert second.caught_up.wait(5), "the replay did not finish"
        assert all_sent(second)
        for job in jobs:
            status = second.board.get(job.id)
            assert status is not None
            assert [e.state for e in status.history] == ["queued", "scanning", "sent"]
        assert second.replayed == 9
    finally:
        second.close()


def test_a_private_server_keeps_off_the_standard_port_and_says_what_each_setting_does(
    tmp_path: Path,
) -> None:
    assert set(EXPLAIN) == set(DURABILITIES) == {"none", "everysec", "always"}
    with pytest.raises(ValueError, match="6379"):
        PrivateRedis(tmp_path, "always", port=6379)
    server = PrivateRedis(tmp_path, "none")
    assert server.port != 6379 and server.url == f"redis://127.0.0.1:{server.port}/0"
    assert str(server.data_dir).startswith(str(tmp_path))


def test_refused_tells_what_no_retry_can_help_from_an_outage() -> None:
    """`mqlab worker` gives up at once (exit 3) on the first, and reconnects on the second."""
    for url, why in [
        ("redis://no-such-host.invalid:6390/0", "cannot resolve the host name"),
        (f"redis://127.0.0.1:{free_port()}/0", None),  # nothing listens: an outage
    ]:
        r = connect(AmqpSettings(url=url, timeout_s=1.0))
        try:
            with pytest.raises(redis_streams.UNAVAILABLE) as caught:
                r.ping()
            assert redis_streams.refused(caught.value) == why
        finally:
            r.close()


def test_a_worker_whose_queue_key_is_not_a_stream_stops_with_one_line(
    shared: PrivateRedis, tmp_path: Path
) -> None:
    import subprocess

    queue = f"not-a-stream-{uuid.uuid4().hex[:6]}"
    redis.Redis.from_url(shared.url).set(queue, "someone else's value")
    argv = mqlab_argv("worker", "--broker-url", shared.url, "--queue", queue, "--quiet")
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "another type than a stream" in done.stderr and "Traceback" not in done.stderr
