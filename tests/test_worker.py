"""Broker workers on real processes: retries, dead letters, quarantine, heartbeats, SIGTERM,
idempotency. Real RabbitMQ, real SMTP sink, real signals; every queue is this test's own."""

from __future__ import annotations

import base64
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mqlab.amqp.consumer import Shutdown
from mqlab.amqp.queues import REASON_HEADER, RETRIES_HEADER
from mqlab.amqp.settings import STATUS_RECONNECT_MAX_S, dead_letter_queue, retry_queue
from mqlab.job.ledger import ProcessedJobs, read_arrivals
from mqlab.job.scan import EICAR
from mqlab.job.signup import Job
from mqlab.processes import worker
from mqlab.processes.procs import free_port

from .helpers import Queues, Sink, Workers, connect, into_a_job, signup_job, sink_on, wait_until

pytestmark = [pytest.mark.broker, pytest.mark.one_sink]


# -- helpers of this file only (the shared ones are in helpers.py) ---------------------------


def refused(sink: Sink) -> list[str]:
    return [
        a.job_id for a in read_arrivals(sink.ledger, include_refused=True) if a.kind == "refused"
    ]


# -- fixtures --------------------------------------------------------------------------------


# -- tests -----------------------------------------------------------------------------------


def test_a_worker_sends_and_acks(queues: Queues, workers: Workers, sink: Sink) -> None:
    workers.start(sink.port, "--scan-ms", "10")
    job = signup_job("ana")
    queues.publish(job)
    (arrival,) = sink.wait_for(1)
    assert (arrival.job_id, arrival.kind, arrival.recipient) == (job.id, "welcome", job.email)
    wait_until(lambda: queues.depth() == (0, 1), what="an empty queue")


def test_a_worker_whose_consumer_the_broker_cancels_consumes_again(
    queues: Queues, workers: Workers, sink: Sink
) -> None:
    """The broker cancels a consumer and keeps its connection when the queue is deleted, or
    when a classic queue's node dies in a cluster (and the app declares the queue again on
    another node). Left waiting on the cancelled consumer, the worker would never get a job
    again; it connects again, declares the queue and consumes it, with a line each way."""
    worker = workers.start(sink.port, "--scan-ms", "0", "--reconnect-max", "0.5")
    conn = connect(queues.url)
    try:
        conn.channel().queue_delete(queues.name)  # its consumer: cancelled
    finally:
        conn.close()
    wait_until(
        lambda: "back on the broker" in workers.log(worker),
        timeout=15,
        what="the worker to consume again",
    )
    assert f"the broker cancelled the consumer of {queues.name}" in workers.log(worker)
    job = signup_job("after-cancel")
    queues.publish(job)
    (arrival,) = sink.wait_for(1)
    assert arrival.job_id == job.id


def test_with_prefetch_a_worker_holds_several_jobs_and_sends_each_once(
    queues: Queues, workers: Workers, sink: Sink
) -> None:
    """--prefetch 3: deliveries arrive while the job thread works; its answers are acked on
    the connection's thread as they come. Unanswered, the worker would stop at three jobs."""
    workers.start(sink.port, "--scan-ms", "20", "--prefetch", "3")
    jobs = [signup_job(f"pre{i}") for i in range(12)]
    for job in jobs:
        queues.publish(job)
    arrivals = sink.wait_for(12, timeout=15)
    assert sorted(a.job_id for a in arrivals) == sorted(j.id for j in jobs)
    wait_until(lambda: queues.depth() == (0, 1), what="an empty queue")
    time.sleep(0.2)
    assert len(sink.arrivals()) == 12  # acked: none came back for a second mail


def test_an_infected_attachment_is_quarantined_not_mailed(
    queues: Queues, workers: Workers, sink: Sink
) -> None:
    workers.start(sink.port, "--scan-ms", "0")
    job = signup_job("eve", attachment=b"cv " + EICAR)
    queues.publish(job)
    (arrival,) = sink.wait_for(1)
    assert (arrival.job_id, arrival.kind) == (job.id, "quarantine")
    assert arrival.recipient != job.email
    time.sleep(0.1)
    assert [a.kind for a in sink.arrivals()] == ["quarantine"]  # and no welcome mail, ever


def test_a_transient_failure_is_retried_until_the_mail_server_is_back(
    queues: Queues, workers: Workers, tmp_path: Path
) -> None:
    port = free_port()  # nothing listens there yet: "SMTP unavailable", a transient failure
    worker = workers.start(port, "--scan-ms", "0", "--retry-delay-ms", "100", "--max-retries", "20")
    job = signup_job("bob")
    queues.publish(job)
    wait_until(lambda: "retry in" in workers.log(worker), what="a first retry")
    sink = sink_on(port, tmp_path, children=workers.children)
    (arrival,) = sink.wait_for(1, timeout=30)
    assert (arrival.job_id, arrival.kind) == (job.id, "welcome")
    wait_until(lambda: queues.depth() == (0, 1), what="an empty work queue")
    assert queues.depth(retry_queue(queues.name))[0] == 0
    assert queues.take(dead_letter_queue(queues.name)) == []


def test_retries_are_counted_then_the_job_is_dead_lettered(
    queues: Queues, workers: Workers, start_sink: Callable[..., Sink]
) -> None:
    sink = start_sink("--smtp-fail-rate", "1", "--smtp-fail-kind", "transient")
    workers.start(sink.port, "--scan-ms", "0", "--retry-delay-ms", "20", "--max-retries", "2")
    job = signup_job("carl")
    queues.publish(job)
    dead = queues.wait_take(dead_letter_queue(queues.name))
    ((headers, body),) = dead
    assert Job.from_bytes(body) == job
    assert "gave up after 2 retries" in headers[REASON_HEADER]
    assert headers[RETRIES_HEADER] == 2
    assert refused(sink) == [job.id] * 3  # the first try and two retries, each refused
    assert sink.arrivals() == []
    assert queues.depth()[0] == 0 and queues.depth(retry_queue(queues.name))[0] == 0


def test_a_permanent_failure_goes_to_the_dead_letter_queue_at_once(
    queues: Queues, workers: Workers, start_sink: Callable[..., Sink]
) -> None:
    sink = start_sink("--smtp-fail-rate", "1", "--smtp-fail-kind", "permanent")
    workers.start(sink.port, "--scan-ms", "0", "--retry-delay-ms", "20")
    job = signup_job("dora")
    queues.publish(job)
    dead = queues.wait_take(dead_letter_queue(queues.name))
    ((headers, _),) = dead
    assert "permanent" in headers[REASON_HEADER] and "554" in headers[REASON_HEADER]
    assert refused(sink) == [job.id]  # tried once: retrying a 554 cannot help


def test_a_malformed_message_is_dead_lettered_not_dropped_or_looped(
    queues: Queues, workers: Workers, sink: Sink
) -> None:
    worker = workers.start(sink.port, "--scan-ms", "0")
    queues.publish(b"this is not a job")
    good = signup_job("fay")
    queues.publish(good)
    (arrival,) = sink.wait_for(1)
    assert arrival.job_id == good.id  # the worker went on with the next job
    dead = queues.take(dead_letter_queue(queues.name))
    assert [body for _, body in dead] == [b"this is not a job"]
    assert "malformed" in dead[0][0][REASON_HEADER]
    assert worker.alive


def test_heartbeats_flow_during_a_scan_longer_than_the_heartbeat(
    queues: Queues, workers: Workers, sink: Sink
) -> None:
    """A 4 s scan with a 1 s heartbeat: the broker would drop a connection whose thread is
    blocked (and redeliver the job: a second mail). The job thread keeps it alive."""
    worker = workers.start(sink.port, "--scan-ms", "4000", "--heartbeat", "1")
    job = signup_job("gus")
    queues.publish(job)
    (arrival,) = sink.wait_for(1, timeout=30)
    assert arrival.job_id == job.id
    worker.stop()  # un-acked jobs would go back to the queue when the connection closes
    assert worker.proc is not None and worker.proc.returncode == 0
    assert queues.depth() == (0, 0)  # acked: nothing came back
    assert len(sink.arrivals()) == 1  # and acked once: no redelivery, no second mail
    assert "lost the broker" not in workers.log(worker)


def test_sigterm_during_the_scan_hands_the_job_back_unsent(
    queues: Queues, workers: Workers, sink: Sink
) -> None:
    worker, job = into_a_job(
        workers, queues, sink.port, "--scan-ms", "3000", tag="hal"
    )  # inside the scan
    worker.stop()
    assert worker.proc is not None and worker.proc.returncode == 0
    assert "handed 1 unsent job(s) back" in workers.log(worker)
    assert sink.arrivals() == []
    assert queues.depth() == (1, 0)  # back in the queue, not lost
    workers.start(sink.port, "--scan-ms", "0")
    (arrival,) = sink.wait_for(1)
    assert arrival.job_id == job.id


def test_sigterm_during_the_send_finishes_and_acks_it(
    queues: Queues, workers: Workers, start_sink: Callable[..., Sink]
) -> None:
    sink = start_sink("--smtp-ms", "1500")  # a slow mail server: the send takes 1.5 s
    worker, job = into_a_job(
        workers, queues, sink.port, "--scan-ms", "0", tag="ida", after_s=0.3
    )  # the scan took 0 ms: the mail is being sent now
    worker.stop(timeout=30)
    assert worker.proc is not None and worker.proc.returncode == 0
    (arrival,) = sink.arrivals()  # sent before the worker exited
    assert arrival.job_id == job.id
    assert queues.depth() == (0, 0)  # and acked: nothing comes back for a second mail
    assert "handed" not in workers.log(worker)


def test_idempotent_workers_skip_jobs_already_sent(
    queues: Queues, workers: Workers, sink: Sink, tmp_path: Path
) -> None:
    db = tmp_path / "processed.db"
    done = ProcessedJobs(db)
    sent_before = signup_job("jo")
    done.add(sent_before)  # as if a worker sent it and died before its ack
    done.close()
    workers.start(sink.port, "--scan-ms", "0", "--idempotent", "--processed-db", str(db))
    fresh = signup_job("kim")
    queues.publish(sent_before)
    queues.publish(fresh)
    (arrival,) = sink.wait_for(1)
    assert arrival.job_id == fresh.id
    wait_until(lambda: queues.depth() == (0, 1), what="both jobs acked")
    time.sleep(0.1)
    assert [a.job_id for a in sink.arrivals()] == [fresh.id]  # the skipped job was acked, unsent
    rows = sqlite3.connect(db).execute("SELECT job_id FROM processed ORDER BY job_id").fetchall()
    assert {r[0] for r in rows} == {sent_before.id, fresh.id}  # recorded once it was sent


def test_without_idempotent_a_redelivered_job_is_sent_again(
    queues: Queues, workers: Workers, sink: Sink, tmp_path: Path
) -> None:
    db = tmp_path / "processed.db"
    done = ProcessedJobs(db)
    job = signup_job("lou")
    done.add(job)
    done.close()
    workers.start(sink.port, "--scan-ms", "0", "--processed-db", str(db))  # no --idempotent
    queues.publish(job)
    (arrival,) = sink.wait_for(1)
    assert arrival.job_id == job.id  # duplicates stay possible, and visible in the ledger


def test_broker_mode_end_to_end_quarantines_eicar(
    queues: Queues, workers: Workers, sink: Sink, start_app: Callable[..., Any]
) -> None:
    app = start_app("broker", sink, *queues.args())
    workers.start(sink.port, "--scan-ms", "0")
    infected = {
        "email": "mo@example.test",
        "name": "Mo",
        "attachment": base64.b64encode(EICAR).decode(),
    }
    code, body = app.post(infected, headers={"X-Job-Id": "eicar-1"})
    assert (code, body["job_id"]) == (202, "eicar-1")
    (arrival,) = sink.wait_for(1)
    assert (arrival.job_id, arrival.kind) == ("eicar-1", "quarantine")
    assert "mo@example.test" not in arrival.recipient


def test_a_worker_waiting_to_reconnect_does_its_other_duties_every_second() -> None:
    """Between two tries at the jobs' connection (up to --reconnect-max apart) the worker
    sends the job states it holds at least every STATUS_RECONNECT_MAX_S; a stop ends the
    wait at once."""
    calls: list[float] = []
    shutdown = Shutdown()
    t0 = time.monotonic()
    worker.backoff(shutdown, 1.5, lambda: calls.append(time.monotonic() - t0))
    assert len(calls) == 2 and calls[0] >= STATUS_RECONNECT_MAX_S and calls[1] >= 1.5, calls
    shutdown.request()
    worker.backoff(shutdown, 30.0, lambda: calls.append(-1.0))
    assert len(calls) == 2
