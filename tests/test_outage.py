"""Outages and shutdowns on real processes: a RabbitMQ node of our own killed and restarted
(never the shared broker), and SIGTERM to the app."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from mqlab.amqp import settings as amqp_settings
from mqlab.amqp import side as side_connection
from mqlab.amqp.settings import AmqpSettings, status_exchange, status_stream
from mqlab.amqp.side import SideConnection
from mqlab.job.status import Event
from mqlab.processes import rabbit, status_follow
from mqlab.processes.procs import http_ok
from scenarios import status

from .helpers import (
    App,
    Queues,
    Sink,
    Workers,
    confirming_worker,
    connect,
    drain_states,
    hear_states,
    into_a_job,
    jobs_connection_lines,
    signup_job,
    wait_until,
)

pytestmark = pytest.mark.one_sink  # the file's tests share one sink (conftest.py)


SIGNUP = {"email": "ana@example.test", "name": "Ana"}
BACK_SOON = ("--reconnect-max", "0.5")  # back within half a second of the node, not ten


@pytest.fixture
def node_queues(node: rabbit.PrivateNode) -> Iterator[Queues]:
    if not node.running:
        node.restart()
    q = Queues(node.url)
    yield q
    if node.running:
        q.delete()
    else:
        q.close()


def mailed(sink: Sink, job_ids: set[str]) -> bool:
    return {a.job_id for a in sink.arrivals()} >= job_ids


def post_until(app: App, status: int, timeout: float = 30.0) -> tuple[list[str], list[int]]:
    """POST signups until one is answered `status`: (ids answered 202, every status seen)."""
    accepted: list[str] = []
    seen: list[int] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job_id = f"o-{uuid.uuid4().hex[:10]}"
        code, _ = app.post(SIGNUP, headers={"X-Job-Id": job_id})
        seen.append(code)
        if code == 202:
            accepted.append(job_id)
        if code == status:
            return accepted, seen
        time.sleep(0.05)
    raise AssertionError(f"no {status} within {timeout:g} s; answers: {seen[-10:]}")


@pytest.mark.broker
def test_a_job_whose_broker_dies_mid_scan_is_not_sent_then_and_is_sent_once_after(
    node: rabbit.PrivateNode, node_queues: Queues, tmp_path: Path, sink: Sink
) -> None:
    """Sent from a dead connection, the mail could never be acked: the broker would hand the
    job out again, and it would be mailed twice. The scan notices the loss and stops short."""
    workers = Workers(tmp_path, node_queues)
    try:
        worker, job = into_a_job(
            workers, node_queues, sink.port, "--scan-ms", "1500", *BACK_SOON, tag="kim"
        )  # inside the scan
        node.kill()
        node.restart()  # the persistent job is back in the durable queue
        (arrival,) = sink.wait_for(1, timeout=30)  # from the worker's new connection
        assert arrival.job_id == job.id
        time.sleep(2.0)  # a second mail would arrive within a scan and a send
        assert len(sink.arrivals()) == 1
        assert "connection lost: handed 1 unsent job(s) back" in workers.log(worker)
    finally:
        workers.stop_all()


@pytest.mark.broker
def test_app_and_worker_ride_through_broker_outages(
    node: rabbit.PrivateNode,
    node_queues: Queues,
    tmp_path: Path,
    sink: Sink,
    start_app: Callable[..., App],
) -> None:
    workers = Workers(tmp_path, node_queues)
    try:
        node.kill()  # the broker is down before anything starts
        app = start_app("broker", sink, *node_queues.args(), *BACK_SOON)  # starts anyway
        worker = workers.start(sink.port, "--scan-ms", "0", *BACK_SOON, ready=False)
        for _ in range(3):
            code, body = app.post(SIGNUP)
            assert code == 503  # never 202 for a job the broker does not hold
            assert body["outcome"] == "not_taken"  # and it surely does not hold it
        assert http_ok(f"{app.url}/health")  # the app stays up
        delivered: list[str] = []
        for outage in range(2):
            node.restart()
            # the app reconnects by itself: the first 202 comes without a restart of the app
            accepted, _ = post_until(app, 202)
            delivered += accepted
            wait_until(
                partial(mailed, sink, set(delivered)),
                timeout=30,
                what=f"the worker to deliver after restart {outage + 1}",
            )
            node.kill()
            answers = [(code, body["outcome"]) for code, body in (app.post(SIGNUP) for _ in "abc")]
            # On busy cores the first may be written before the app's loop has read that the
            # broker closed the connection: sent, and no confirm, so "unknown" (and never
            # mailed: checked below). Once the close is read, the app surely does not hold them.
            assert answers[0] in [(503, "not_taken"), (503, "unknown")], answers
            assert answers[1:] == [(503, "not_taken")] * 2, answers
        assert worker.alive

        def losses() -> int:
            jobs = jobs_connection_lines(workers.log(worker))
            return sum("lost the broker" in line for line in jobs)

        # The worker hears of the last kill at its next look at the socket (every 0.1 s): the
        # log was once read a few ms before it said so (2 == 3).
        wait_until(lambda: losses() >= 3, timeout=10, what="the worker to see the last kill")
        log = workers.log(worker)
        jobs = jobs_connection_lines(log)
        assert sum("lost the broker" in line for line in jobs) == 3  # one line an outage
        assert sum("back on the broker after" in line for line in jobs) == 2
        # the states' own connection: at most one line an outage too
        assert log.count("job states: lost the broker") <= 3
        # Every 202 was mailed and no 503 was. A job whose ack the kill beat may be mailed
        # twice (at-least-once): counted by the runner, allowed here.
        assert {a.job_id for a in sink.arrivals()} == set(delivered)
    finally:
        # The node stays down: this is the file's last test that uses it (a later one
        # would get it back from `node_queues`), and a restart costs 2.5 s of CPU.
        workers.stop_all()


def test_sigterm_lets_the_thread_pool_finish_what_it_accepted(
    start_app: Callable[..., App], sink: Sink
) -> None:
    app = start_app("thread", sink, "--scan-ms", "200", "--workers", "1")
    ids = [f"t{i}" for i in range(3)]
    for job_id in ids:
        assert app.post(SIGNUP, headers={"X-Job-Id": job_id})[0] == 202
    app.child.stop(timeout=30)  # SIGTERM: nobody is kill -9'ing it
    assert app.child.proc is not None and app.child.proc.returncode == 0
    assert sorted(a.job_id for a in sink.arrivals()) == ids  # all three sent before it exited


def test_sigterm_answers_the_request_under_way(start_app: Callable[..., App], sink: Sink) -> None:
    app = start_app("sync", sink, "--scan-ms", "1000")
    answer: dict[str, Any] = {}

    def signup() -> None:
        answer["code"], answer["body"] = app.post(SIGNUP, headers={"X-Job-Id": "s1"})

    client = threading.Thread(target=signup)
    client.start()
    time.sleep(0.3)  # the request is in its scan
    app.child.stop(timeout=30)
    client.join(timeout=15)
    assert answer["code"] == 201  # the user got the answer for the mail that was sent
    assert [a.job_id for a in sink.arrivals()] == ["s1"]
    assert app.child.proc is not None and app.child.proc.returncode == 0


# ------------------------------------------------ the publisher's breaker, probe by probe


def test_a_probe_that_raises_something_unforeseen_keeps_the_breaker_trying(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A Redis client closed under the probe raised ValueError ("I/O operation on closed
    # file"): the probe thread died of it, and the app would have answered 503 for good.
    from mqlab.amqp.publisher import Breaker

    calls: list[float] = []

    def probe() -> None:
        calls.append(time.monotonic())
        if len(calls) < 3:
            raise ValueError("I/O operation on closed file.")

    breaker = Breaker(probe, "redis://127.0.0.1:1", cap_s=0.2)
    try:
        breaker.trip(ConnectionError("gone"))
        assert not breaker.up
        wait_until(lambda: breaker.up, 10, "the breaker up again")
        assert len(calls) == 3
        line = "the broker probe failed (ValueError: I/O operation on closed file.)"
        assert caplog.text.count(line) == 1  # the same failure twice: one line
    finally:
        breaker.close()


def test_the_line_that_the_broker_is_back_comes_before_any_answer_that_it_is(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A test read the app's log as soon as it got its 202 and found no "back" line: the
    breaker let answers through, then wrote it. Now the line is written first."""
    from mqlab.amqp import publisher

    breaker = publisher.Breaker(lambda: None, "amqp://127.0.0.1:1", cap_s=0.1)
    up_when_told: list[bool] = []

    class Watch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "the broker is back" in record.getMessage():
                up_when_told.append(breaker.up)

    watch = Watch()
    caplog.set_level(logging.INFO, logger=publisher.log.name)
    publisher.log.addHandler(watch)
    try:
        breaker.trip(ConnectionError("gone"))
        wait_until(lambda: breaker.up, 10, "the breaker up again")
        wait_until(lambda: bool(up_when_told), 10, "the line")
        assert up_when_told == [False]
    finally:
        publisher.log.removeHandler(watch)
        breaker.close()


def test_a_breaker_closed_while_its_probe_fails_ends_its_thread_quietly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from mqlab.amqp.publisher import Breaker

    probing, go = threading.Event(), threading.Event()
    breaker: Any = None

    def probe() -> None:
        probing.set()
        go.wait(10)  # until the test holds this thread
        breaker.close()  # the app shuts down while the probe runs: its client is closed
        raise ValueError("I/O operation on closed file.")

    breaker = Breaker(probe, "redis://127.0.0.1:1", cap_s=0.1)
    before = set(threading.enumerate())
    breaker.trip(ConnectionError("gone"))
    assert probing.wait(10)
    (thread,) = [t for t in threading.enumerate() if t not in before and t.name == "broker-probe"]
    go.set()
    thread.join(10)
    assert not thread.is_alive(), "the probe thread never ended"
    assert "probe failed" not in caplog.text  # closed: nothing to tell


def close_connections(node: rabbit.PrivateNode, name: str) -> int:
    """Close, from the broker's side, every connection of `node` that its client named
    `name`; how many there were."""
    listed = node.ctl("list_connections", "pid", "client_properties").splitlines()
    mark = f'{{"connection_name","{name}"}}'
    named = [line.split("\t")[0] for line in listed if line.startswith("<") and mark in line]
    for pid in named:
        node.ctl("close_connection", pid, "closed by the test, as a lost status stream does")
    return len(named)


@pytest.mark.broker
def test_a_worker_whose_status_connection_the_broker_closes_still_acks_its_job_once(
    node: rabbit.PrivateNode, node_queues: Queues, tmp_path: Path, sink: Sink
) -> None:
    """A broker that lost the status stream with its node closes the connection that publishes
    into it (506 "Stream not found"). On the jobs' connection that took each job's ack with
    it, and the job was mailed again and again (790 mails for 200 jobs in a node-loss trial).
    The states go on a connection of their own: the job in hand is acked and mailed once, and
    the states come back on a new connection, the one it could not send first among them,
    though no other job comes to carry it (dropped, its user would read "queued" for good)."""
    workers = Workers(tmp_path, node_queues)
    listener = connect(node.url)
    states: set[tuple[str, str]] = set()

    def hear() -> set[tuple[str, str]]:
        states.update((e.job, e.state) for e in drain_states(channel, heard))
        return states

    try:
        worker, first = into_a_job(
            workers, node_queues, sink.port, "--scan-ms", "1000", *BACK_SOON, tag="lee"
        )
        channel = listener.channel()  # the worker declared the status exchange: listen to it
        settings = AmqpSettings(url=node.url, exchange=node_queues.exchange, queue=node_queues.name)
        heard = status.listen(channel, settings)
        assert close_connections(node, "mqlab worker: job states") == 1
        (arrival,) = sink.wait_for(1, timeout=30)
        assert arrival.job_id == first.id
        wait_until(
            lambda: (first.id, "sent") in hear(), timeout=10, what=f"the held 'sent' of {first.id}"
        )
        second = signup_job("lee")
        node_queues.publish(second)
        sink.wait_for(2, timeout=30)
        time.sleep(1.5)  # a job handed back would be mailed again within a scan and a send
        assert sorted(a.job_id for a in sink.arrivals()) == sorted([first.id, second.id])
        assert node_queues.depth() == (0, 1)  # nothing back in the queue, the worker still on
        log = workers.log(worker)
        assert "could be acked" not in log and "handed" not in log
        assert log.count("mqlab worker: job states: lost the broker") == 1
        assert "held until it is back" in log and "never reached" not in log
        assert (second.id, "sent") in hear()
    finally:
        workers.stop_all()
        listener.close()


@pytest.mark.broker
def test_an_app_whose_stream_went_with_a_node_reads_the_one_declared_again(
    node: rabbit.PrivateNode, node_queues: Queues, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A node lost with its disk can take the status stream with it, and the app that comes
    back declares it again, numbered from 0. Read from the next offset it knew, it would wait
    past the new stream's end and never hear the states told in it (users told "queued" for
    good in node-loss trials): it reads from a point in time instead."""
    monkeypatch.setattr(amqp_settings, "reconnect_delay", lambda attempt, cap: 1.5)  # no jitter
    settings = AmqpSettings(url=node.url, exchange=node_queues.exchange, queue=node_queues.name)
    follower = status_follow.Follower(settings).start()
    conn = connect(node.url)
    try:
        wait_until(follower.caught_up.is_set, timeout=15, what="the app's replay")
        channel = conn.channel()
        before = [Event.now(f"before-{n}", "sent") for n in range(3)]
        for event in before:
            status.send(channel, status_exchange(settings), [event])
        wait_until(
            lambda: all(follower.board.get(e.job) for e in before), timeout=10, what="the states"
        )
        assert close_connections(node, status_follow.CONNECTION_NAME) == 1
        channel.queue_delete(status_stream(settings))  # gone with its node...
        status.declare(channel, settings)  # ...and declared again, before the app is back
        status.send(channel, status_exchange(settings), [Event.now("after-1", "sent")])
        wait_until(
            lambda: follower.board.get("after-1") is not None,
            timeout=15,
            what="the state told in the stream declared again",
        )
    finally:
        follower.close()
        conn.close()


@pytest.mark.broker
def test_a_state_the_broker_has_not_confirmed_in_a_second_goes_out_once_more(
    node: rabbit.PrivateNode, node_queues: Queues
) -> None:
    """After a restart RabbitMQ neither confirmed nor returned a state routed to the stream
    not back yet, and the worker sent it again only after CONFIRM_S (5 s): the app heard it
    after its users were asked. Here the broker holds the confirm (frozen): after RESEND_S
    the worker sends a copy, and both arrive once it resumes (readers keep one)."""
    with confirming_worker(node_queues) as (settings, conn, events):
        channel = conn.channel()
        heard = status.listen(channel, settings)
        status.publish(events, [Event.now("warm-1", "sent")])  # the side connection is up
        assert [e.job for e in hear_states(channel, heard, 1, "the first state")] == ["warm-1"]
        assert events.side is not None
        events.side.settle(10.0)  # its confirm taken in: nothing else is waiting for one
        assert events.side.waiting == 0
        node.freeze()
        try:
            status.publish(events, [Event.now("held-1", "sent")])  # into the socket: no confirm
            time.sleep(side_connection.RESEND_S + 0.3)
            status.send_unsent(events, again=False)  # what a worker's timer does
            assert events.side.waiting == 2  # the state and its copy, neither confirmed
        finally:
            node.thaw()
        got = hear_states(channel, heard, 2, "the state and its copy")
        assert [e.job for e in got] == ["held-1", "held-1"]


def test_an_apps_status_follower_tries_again_at_least_every_second() -> None:
    """The others back off up to --reconnect-max (10 s): an app's follower, so capped, came
    back up to 4.7 s after a broker that was away 1.8 s, and once its users were asked before
    it was back ("queued" for good). Its waits stay under STATUS_RECONNECT_MAX_S."""
    settings = AmqpSettings(url="amqp://guest:guest@127.0.0.1:1/%2F")
    outage = amqp_settings.status_outage(settings, logging.getLogger("test"))
    waits = [outage.lost(ConnectionRefusedError()) for _ in range(20)]
    assert max(waits) <= amqp_settings.STATUS_RECONNECT_MAX_S
    assert settings.reconnect_max_s > amqp_settings.STATUS_RECONNECT_MAX_S  # the others' cap


def test_a_workers_state_connection_tries_again_at_least_every_second() -> None:
    """A worker with no job left has nothing else that brings the broker back: capped at
    10 s, its held states waited past a run's end (2 users "queued" for good in a
    `--transient` broker-restart trial, their mails sent). Its waits stay under
    STATUS_RECONNECT_MAX_S too."""
    settings = AmqpSettings(url="amqp://guest:guest@127.0.0.1:1/%2F")
    side: SideConnection[str] = SideConnection(settings, "states", logging.getLogger("test"))
    waits = []
    for _ in range(20):
        side.lost(ConnectionRefusedError())
        waits.append(side.wait_s())
    assert 0 < max(waits) <= amqp_settings.STATUS_RECONNECT_MAX_S
