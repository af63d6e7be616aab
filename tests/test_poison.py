"""Poison messages and reused job ids (issue 22), on real processes: a real RabbitMQ, a real
SMTP sink, real worker and app processes, real SIGKILLs. Poison bodies are published with
pika straight onto the queue, where anyone who can publish could put them."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pika
import pytest

from mqlab.amqp.consumer import Consumer, Delivery, Shutdown
from mqlab.amqp.queues import REASON_HEADER
from mqlab.amqp.settings import AmqpSettings, dead_letter_queue, parameters
from mqlab.failpoint import ENV as FAILPOINT
from mqlab.job.signup import MAX_JOB_BYTES, Job
from mqlab.processes.procs import Child, mqlab_argv

from .helpers import Queues, Sink, Workers, signup_job, wait_until

pytestmark = [pytest.mark.broker, pytest.mark.one_sink]


def dead_reasons(queues: Queues, count: int) -> dict[str, str]:
    """message id -> reason, once `count` jobs are in `<queue>.dead` (taken off it)."""
    got: dict[str, str] = {}

    def take() -> bool:
        conn = pika.BlockingConnection(parameters(AmqpSettings(url=queues.url)))
        try:
            channel = conn.channel()
            while True:
                method, props, _ = channel.basic_get(dead_letter_queue(queues.name), True)
                if method is None:
                    return len(got) >= count
                got[str(props.message_id)] = str((props.headers or {})[REASON_HEADER])
        finally:
            conn.close()

    wait_until(take, timeout=15, what=f"{count} dead-lettered jobs")
    assert len(got) == count
    return got


def test_poison_messages_are_dead_lettered_and_the_jobs_behind_them_arrive_promptly(
    queues: Queues, workers: Workers, sink: Sink
) -> None:
    """One worker, six odd jobs ahead of twenty good ones. Before: the deep one raised
    RecursionError, was handed back and came straight back, and nothing behind it arrived.
    The job with an unknown extra field is sent: the app ignores unknown fields too, and a
    newer app may add one while older workers still run; only the known fields are used."""
    worker = workers.start(sink.port, "--scan-ms", "0")
    valid = json.loads(signup_job("xtra").to_bytes())
    poison = {
        "deep": b"[" * 200_000 + b"]" * 200_000,
        "not-json": b"\xff\xfe this is not JSON",
        "oversize": json.dumps({**valid, "attachment": "A" * MAX_JOB_BYTES}).encode(),
        "two-rcpt": Job("two-rcpt", "victim@example.test, attacker@evil.test", "V").to_bytes(),
        "crlf": Job("crlf", "ana@example.test", "Ana\r\nBcc: attacker@evil.test").to_bytes(),
    }
    for message_id, body in poison.items():
        queues.publish(body, message_id=message_id)
    queues.publish(json.dumps({**valid, "priority": "high"}).encode(), message_id=valid["id"])
    good = [signup_job(f"good{i}") for i in range(20)]
    start = time.monotonic()
    for job in good:
        queues.publish(job)
    arrivals = sink.wait_for(21, timeout=5)  # one worker, scan 0: well under a second
    took = time.monotonic() - start
    assert sorted(a.job_id for a in arrivals) == sorted([valid["id"], *(j.id for j in good)])
    assert all("evil" not in a.recipient for a in arrivals)
    reasons = dead_reasons(queues, len(poison))
    assert reasons == {
        "deep": "malformed job: body is not valid JSON",
        "not-json": "malformed job: body is not valid JSON",
        "oversize": reasons["oversize"],
        "two-rcpt": "malformed job: 'email' is not a valid address",
        "crlf": "malformed job: 'name' must not contain control characters (CR, LF, ...)",
    }
    assert f"more than the {MAX_JOB_BYTES} allowed" in reasons["oversize"]
    lines = [line for line in workers.log(worker).splitlines() if "dead-lettered" in line]
    assert sorted(line.split(" job ")[1].split()[0] for line in lines) == sorted(poison)
    assert all(" ERROR " in line for line in lines)  # one ERROR line each, no traceback
    assert "Traceback" not in workers.log(worker)
    assert queues.depth() == (0, 1) and worker.alive
    print(f"20 good jobs behind 5 poison ones: all sent {took:.2f} s after their publish began")


def test_a_job_its_worker_dies_on_every_time_is_dead_lettered_after_the_bound(
    queues: Queues, sink: Sink, tmp_path: Path
) -> None:
    """Each worker is SIGKILLed (failpoint) right after its first send: the job comes back
    redelivered. With --max-redeliveries 2 the fourth worker dead-letters it instead of
    dying on it too; before, workers died on it for as long as someone restarted them."""
    job = signup_job("loop")
    queues.publish(job)
    argv = mqlab_argv(
        "worker", "--smtp-port", str(sink.port), "--scan-ms", "0", "--max-redeliveries", "2"
    )
    crashes, children = 0, []
    try:
        for n in range(8):
            env = {FAILPOINT: "after-send:1"}
            child = Child(f"worker {n}", [*argv, *queues.args()], tmp_path / f"w{n}.log", env)
            children.append(child.start())
            if not died_on_the_job(child, queues):
                break  # alive, and the job is in <queue>.dead
            assert child.proc is not None and child.proc.returncode == -9  # the failpoint
            crashes += 1
        ((headers, body),) = queues.take(dead_letter_queue(queues.name))
        assert Job.from_bytes(body) == job
        assert headers[REASON_HEADER] == "redelivered 3 times: its workers crash on it"
        assert crashes == 3  # the first delivery and two redeliveries
        assert [a.job_id for a in sink.arrivals()] == [job.id] * 3  # each sent before its kill
        assert queues.depth()[0] == 0
        # the job reaches <queue>.dead (confirmed) a moment before its worker logs it
        wait_until(lambda: "dead-lettered" in children[-1].log_path.read_text(), timeout=5)
    finally:
        for child in children:
            child.stop()


def died_on_the_job(child: Child, queues: Queues) -> bool:
    """Wait until the worker died, or until the job is in <queue>.dead (False)."""
    assert child.proc is not None
    proc = child.proc
    dead = dead_letter_queue(queues.name)
    wait_until(lambda: proc.poll() is not None or queues.depth(dead)[0] > 0, timeout=20)
    return proc.poll() is not None


def test_a_consumer_dead_letters_a_job_whose_work_raises_instead_of_handing_it_back(
    queues: Queues,
) -> None:
    """The machinery under the lesson, on a real broker: work that raises (as
    RecursionError did) gets `crashed(reason)` settled, once; it is not handed back to loop."""
    settings = AmqpSettings(url=queues.url, queue=queues.name, exchange=queues.exchange)
    queues.publish(b"boom", message_id="poison")
    queues.publish(signup_job("after"))
    seen: list[tuple[str, str]] = []
    connection = pika.BlockingConnection(parameters(settings))
    shutdown = Shutdown()

    def work(delivery: Delivery) -> str:
        if delivery.body == b"boom":
            raise RecursionError("maximum recursion depth exceeded")
        return "ack"

    def settle(delivery: Delivery, verdict: str) -> None:
        seen.append((delivery.job_id, verdict))
        channel.basic_ack(delivery.tag)
        if len(seen) >= 2:
            shutdown.request()

    try:
        channel = connection.channel()
        channel.basic_qos(prefetch_count=1)
        consumer = Consumer(connection, channel, work, settle, shutdown, crashed=lambda r: r)
        connection.call_later(5, shutdown.request)  # a bound on the wait
        consumer.run(queues.name, auto_ack=False)
    finally:
        connection.close()
    assert seen[0][0] == "poison"
    assert seen[0][1].startswith("error: RecursionError('maximum recursion depth exceeded') at ")
    assert seen[1][1] == "ack" and len(seen) == 2  # the next job, and the poison one never again


def test_the_app_answers_409_to_a_job_id_reused_for_another_payload(
    queues: Queues, sink: Sink, start_app: Callable[..., Any]
) -> None:
    app = start_app("broker", sink, *queues.args())
    mine = {"email": "ana@example.test", "name": "Ana"}
    theirs = {"email": "bob@example.test", "name": "Bob"}
    assert app.post(mine, headers={"X-Job-Id": "shared-1"})[0] == 202
    assert app.post(mine, headers={"X-Job-Id": "shared-1"})[0] == 202  # a retry: fine
    code, body = app.post(theirs, headers={"X-Job-Id": "shared-1"})
    assert code == 409
    assert body == {"error": "X-Job-Id shared-1 was used for a different signup; use a new id"}
    assert app.post(theirs, headers={"X-Job-Id": "shared-2"})[0] == 202
    wait_until(lambda: queues.depth()[0] == 3, what="three jobs queued, the 409 one not")


def test_an_idempotent_worker_dead_letters_a_job_id_reused_for_another_payload(
    queues: Queues, workers: Workers, sink: Sink, tmp_path: Path
) -> None:
    """Published straight to the queue (past the app's 409): before, the second user's job
    was "acked unsent" at INFO level, their mail never sent and nobody told."""
    db = tmp_path / "processed.db"
    worker = workers.start(sink.port, "--scan-ms", "0", "--idempotent", "--processed-db", str(db))
    first = Job("reused-1", "ana@example.test", "Ana")
    queues.publish(first)
    sink.wait_for(1)
    queues.publish(Job("reused-1", "bob@example.test", "Bob"))
    assert dead_reasons(queues, 1) == {"reused-1": "job id reused with a different payload"}
    queues.publish(first)  # the same payload again: an honest retry, acked unsent
    wait_until(lambda: "acked unsent" in workers.log(worker), what="the retry acked")
    assert [(a.job_id, a.recipient) for a in sink.arrivals()] == [("reused-1", "ana@example.test")]
    (line,) = [x for x in workers.log(worker).splitlines() if "dead-lettered" in x]
    assert " ERROR " in line and "reused-1" in line
