"""The user hears back (issue 19): GET /signup/{id} and its Server-Sent Events, on real apps,
workers, sink and RabbitMQ; what an app restart keeps (broker) and forgets (thread)."""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import Callable
from typing import Any

import pika
import pytest
from pika.adapters.blocking_connection import BlockingChannel

from mqlab.amqp import settings as amqp_settings
from mqlab.amqp import side
from mqlab.amqp.settings import AmqpSettings, close_quietly, status_exchange, status_stream
from mqlab.job.scan import EICAR
from mqlab.job.signup import Job
from mqlab.job.status import MAX_BATCH, Board, Event, batch_to_bytes
from mqlab.processes import status_follow
from mqlab.processes.procs import free_port
from scenarios import status

from .helpers import (
    App,
    Queues,
    Sink,
    Sse,
    Workers,
    confirming_worker,
    connect,
    drain_states,
    get,
    hear_states,
    signup_job,
    wait_until,
)

pytestmark = pytest.mark.one_sink  # the file's tests share one sink (conftest.py)


SIGNUP = {"email": "ana@example.test", "name": "Ana"}


def settled(app: App, job: str, timeout: float = 15.0) -> dict[str, Any]:
    """GET until the job is in a final state (503 while the app reads the log: asked again)."""
    found: dict[str, Any] = {}

    def final() -> bool:
        code, body = get(app, job)
        found.update(body)
        return code == 200 and bool(body["final"])

    try:
        wait_until(final, timeout, f"job {job} to reach a final state")
    except AssertionError as e:  # with what it read last (the message is made before)
        raise AssertionError(f"{e}; last read: {found}") from None
    return found


def states(body: dict[str, Any]) -> list[str]:
    return [e["state"] for e in body["history"]]


def test_broker_status_via_get_and_sse_and_after_the_app_is_killed(
    queues: Queues, start_app: Callable[..., App], sink: Sink, workers: Workers
) -> None:
    # two handler threads: fewer publisher connections to open, a faster start
    args = (*queues.args(), "--server-threads", "2")
    app = start_app("broker", None, *args)  # declares the status stream
    other = start_app("broker", None, *args)  # a second instance follows it too
    workers.start(sink.port, "--scan-ms", "500")
    posted = time.time()
    code, _ = app.post(SIGNUP, headers={"X-Job-Id": "live-1"})
    assert code == 202
    stream = Sse(app, "live-1")
    events = stream.all()
    stream.close()
    assert [e["data"]["state"] for e in events[:-1]] == ["queued", "scanning", "sent"]
    assert (events[-1]["event"], events[-1]["data"]) == ("end", "sent")
    assert events[0]["received"] < events[2]["received"] - 0.2  # pushed as it happened
    (arrival,) = sink.wait_for(1)
    latency_ms = (events[2]["received"] - arrival.arrived) * 1000
    assert 0 <= latency_ms < 1000, latency_ms  # SMTP accept -> the user's event

    body = settled(app, "live-1")
    assert (body["state"], states(body)) == ("sent", ["queued", "scanning", "sent"])
    times = [e["at"] for e in body["history"]]
    assert posted - 1 < times[0] <= times[1] <= times[2] <= time.time()
    assert body["history"][2]["time"].endswith("Z")

    infected = {**SIGNUP, "attachment": base64.b64encode(EICAR).decode()}
    assert app.post(infected, headers={"X-Job-Id": "virus-1"})[0] == 202
    assert settled(app, "virus-1")["state"] == "quarantined"
    assert settled(other, "live-1")["history"] == body["history"]

    app.child.kill()  # SIGKILL: the app's memory is gone; the stream is not
    again = start_app("broker", None, *args)
    assert settled(again, "live-1")["history"] == body["history"]
    assert states(settled(again, "virus-1")) == ["queued", "scanning", "quarantined"]
    code, answer = get(again, "never-posted")
    assert code == 404 and "unknown job" in answer["error"]


def test_retries_and_the_dead_letter_are_told(
    start_sink: Callable[..., Sink], queues: Queues, workers: Workers
) -> None:
    """The lesson's receiving side, on its own: the stream, read from its first offset."""
    settings = AmqpSettings(url=queues.url, queue=queues.name, exchange=queues.exchange)
    conn = connect(queues.url)
    try:
        status.declare(conn.channel(), settings)  # a listener declares its queue first
        refusing = start_sink("--smtp-fail-rate", "1", "--smtp-fail-kind", "transient")
        args = ("--scan-ms", "0", "--max-retries", "1", "--retry-delay-ms", "100")
        workers.start(refusing.port, *args)
        queues.publish(Job("retried", "ana@example.test", "Ana"))
        seen: list[Event] = []
        channel = conn.channel()
        status.replay(channel, settings, lambda event, offset: seen.append(event))
        deadline = time.monotonic() + 15
        while not (seen and seen[-1].final) and time.monotonic() < deadline:
            conn.process_data_events(time_limit=0.1)
    finally:
        conn.close()
    assert [e.state for e in seen] == ["scanning", "retrying", "scanning", "dead"]
    assert seen[1].detail == "in 0.1 s"
    assert "gave up after 1 retries" in seen[3].detail


def app_with_a_job_sent(
    queues: Queues,
    start_app: Callable[..., App],
    sink: Sink,
    workers: Workers,
    then: Callable[[BlockingChannel, AmqpSettings], object],
) -> App:
    """An app and a worker that have sent one job ("before-1"); then a neighbour does `then`
    to the app's status stream, on a channel of its own."""
    args = (*queues.args(), "--server-threads", "2", "--reconnect-max", "0.5")
    app = start_app("broker", None, *args)
    workers.start(sink.port, "--scan-ms", "0")
    assert app.post(SIGNUP, headers={"X-Job-Id": "before-1"})[0] == 202
    assert settled(app, "before-1")["state"] == "sent"
    settings = AmqpSettings(url=queues.url, queue=queues.name, exchange=queues.exchange)
    conn = connect(queues.url)
    try:
        then(conn.channel(), settings)
    finally:
        conn.close()
    return app


def test_an_app_whose_status_consumer_the_broker_cancels_follows_the_log_again(
    queues: Queues, start_app: Callable[..., App], sink: Sink, workers: Workers
) -> None:
    """The broker may end the app's consumer of the stream and leave its channel open (the
    stream deleted here; its member lost with a node in a cluster): the app says so, follows
    the log again, and hears the next jobs through."""
    app = app_with_a_job_sent(
        queues,
        start_app,
        sink,
        workers,
        lambda channel, settings: channel.queue_delete(status_stream(settings)),  # cancelled
    )
    wait_until(
        lambda: "status events: back" in app.log(),
        timeout=15,
        what="the app to follow the status log again",
    )
    assert "the broker cancelled the status consumer" in app.log()
    assert app.post(SIGNUP, headers={"X-Job-Id": "after-1"})[0] == 202
    assert states(settled(app, "after-1")) == ["queued", "scanning", "sent"]


def test_an_app_that_reads_nothing_of_its_own_back_follows_the_log_again(
    queues: Queues, start_app: Callable[..., App], sink: Sink, workers: Workers
) -> None:
    """A consumer may go silent without a cancel (RabbitMQ 3.10, on a stream member a restart
    replaced; here a neighbour unbound the stream, so nothing reaches it): what the app
    publishes does not come back within ECHO_S, so it reads the log again, binding the
    stream again, and the job's states come through (the workers send them again), its own
    "queued" too: the log, not only this app's memory, holds it for the next app."""
    app = app_with_a_job_sent(
        queues,
        start_app,
        sink,
        workers,
        lambda channel, settings: channel.queue_unbind(
            status_stream(settings), status_exchange(settings)
        ),
    )
    assert app.post(SIGNUP, headers={"X-Job-Id": "after-1"})[0] == 202
    assert states(settled(app, "after-1")) == ["queued", "scanning", "sent"]
    assert "nothing it sent came back from the stream" in app.log()
    # "back" once something of its own came back, which may be read after the workers'
    # states (seen on busy cores: "sent" was read, the line came a moment later)
    wait_until(lambda: "status events: back" in app.log(), 10, "the app to say it is back")
    settings = AmqpSettings(url=queues.url, queue=queues.name, exchange=queues.exchange)
    logged = status_follow.Follower(settings).start()  # the next app: the log, from its first
    try:
        wait_until(
            lambda: (found := logged.board.get("after-1")) is not None and found.final,
            timeout=15,
            what="the log to hold after-1's final state",
        )
        job = logged.board.get("after-1")
        assert job is not None and [e.state for e in job.history] == ["queued", "scanning", "sent"]
    finally:
        logged.close()


def test_an_app_with_a_job_no_worker_takes_probes_less_and_less_often(queues: Queues) -> None:
    """With a job unfinished and nothing read, the app sends a probe down the stream after
    PROBE_S to know its reading lives; each that alone comes back doubles the wait (0.5, 1,
    2, 4 s): 3 probes in 5 s, not one every 0.5 s. A state read brings it back to PROBE_S."""
    settings = AmqpSettings(url=queues.url, queue=queues.name, exchange=queues.exchange)
    follower = status_follow.Follower(settings).start()
    conn = connect(queues.url)
    try:
        assert follower.caught_up.wait(15)
        follower.tell(Event.now("nobody-takes-it", "queued"))
        time.sleep(5.0)
        probes = read_types(queues.url, settings).count(status_follow.PROBE)
        assert 2 <= probes <= 4
        assert follower._probe_every >= 4 * status_follow.PROBE_S
        follower.close()  # stopped, so that no probe comes back between the next two lines
        follower._on_event(Event.now("other", "sent"), 0)
        assert follower._probe_every == status_follow.PROBE_S
    finally:
        follower.close()
        conn.channel().queue_delete(status_stream(settings))
        conn.close()


def test_a_state_of_the_apps_that_never_came_back_goes_out_again(
    queues: Queues, caplog: pytest.LogCaptureFixture
) -> None:
    """The app's "queued" goes out without a confirm; it knows the stream kept it when it
    reads it back. One published while no stream was bound (a neighbour unbound it for a
    moment) is gone; the reading lives meanwhile (another app's states keep coming), so after
    AGAIN_S the app sends it again, and the log holds it."""
    caplog.set_level(logging.INFO, logger=status_follow.__name__)
    settings = AmqpSettings(url=queues.url, queue=queues.name, exchange=queues.exchange)
    follower = status_follow.Follower(settings).start()
    conn = connect(queues.url)
    try:
        assert follower.caught_up.wait(15)
        channel = conn.channel()
        channel.queue_unbind(status_stream(settings), status_exchange(settings))
        unheard = Event.now("unheard-1", "queued")
        follower.tell(unheard)
        # published (within READ_EVERY_S) into an exchange bound to nothing; then 0.5 s for
        # the broker to route it before the stream is bound again
        wait_until(lambda: unheard.id in follower._unheard, 15, "the follower to publish it")
        time.sleep(0.5)
        channel.queue_bind(status_stream(settings), status_exchange(settings))
        deadline = time.monotonic() + 2 * status_follow.AGAIN_S + 5
        logged: list[str] = []
        reader = connect(queues.url)
        try:
            status.replay(
                reader.channel(), settings, lambda e, _o: logged.append(f"{e.job} {e.state}")
            )
            while "unheard-1 queued" not in logged and time.monotonic() < deadline:
                status.send(channel, status_exchange(settings), [Event.now("other", "queued")])
                reader.process_data_events(time_limit=0.1)
        finally:
            close_quietly(reader)
        assert "unheard-1 queued" in logged
        assert "1 of the app's job states did not come back: sent again" in caplog.text
        assert "status events: lost" not in caplog.text  # the reading lived throughout
    finally:
        follower.close()
        conn.channel().queue_delete(status_stream(settings))
        conn.close()


def test_only_a_later_message_of_its_own_read_back_makes_an_earlier_one_lost() -> None:
    """A stream reads one channel's messages in order: a message of the app's read back
    while one sent before it was not means that one was dropped, and it goes out again. Not
    before the first of this connection's own is back (the stream may hold copies sent on
    an older one), and never for a reading that only lags."""
    follower = status_follow.Follower(AmqpSettings(url="amqp://guest:guest@127.0.0.1:1/%2F"))
    a, b, c = (Event.now(f"job-{x}", "queued") for x in "abc")
    follower._sent("probe-1")  # a new connection's first
    follower._sent(a.id, [a])
    follower._sent(b.id, [b])
    follower._heard(b.id, state=True)  # before probe-1: an older connection's copy, maybe
    assert not follower._pending and list(follower._unheard) == ["probe-1", a.id]
    follower._heard("probe-1")  # in order from now on
    assert not follower._pending and list(follower._unheard) == [a.id]
    follower._sent(c.id, [c])
    follower._check_echo()  # nothing is late yet: a lagging reading is not a lost message
    assert not follower._pending
    follower._heard(c.id, state=True)
    assert list(follower._pending) == [a] and not follower._unheard


def test_a_later_message_of_its_own_read_back_answers_for_a_dropped_one_the_echo_awaited(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The echo awaits the first message of the app's own sent since the last one came back.
    Dropped, it never comes: a later one of ours read back shows the reading works, so a
    stream that then goes quiet is not a lost connection. And a probe read back (sent on this
    connection: a fresh id) shows the order even before the connection's first echo."""
    monkeypatch.setattr(status_follow, "ECHO_S", 0.0)  # "quiet for too long" at once
    follower = status_follow.Follower(AmqpSettings(url="amqp://guest:guest@127.0.0.1:1/%2F"))
    follower.caught_up.set()
    a, b = (Event.now(f"job-{x}", "queued") for x in "ab")
    follower._sent("probe-0")  # a new connection's first
    follower._heard("probe-0")  # back: in order
    follower._sent("probe-1")  # the echo awaits it; the broker drops it
    follower._sent(a.id, [a])
    follower._heard(a.id, state=True)
    assert follower._echo is None and not follower._unheard
    follower._check_echo()  # quiet now, and nothing of ours is awaited: no Unheard

    fresh = status_follow.Follower(AmqpSettings(url="amqp://guest:guest@127.0.0.1:1/%2F"))
    fresh.caught_up.set()
    fresh._sent("probe-2")  # a new connection's first: dropped
    fresh._sent(b.id, [b])  # dropped too
    fresh._sent("probe-3")  # AGAIN_S later, to find out
    fresh._heard("probe-3")
    assert list(fresh._pending) == [b] and not fresh._unheard and fresh._echo is None
    fresh._check_echo()


def read_types(url: str, settings: AmqpSettings) -> list[str]:
    """The `type` of every message in the status stream, from its first, on a connection of
    its own: closed quietly, since what arrives meanwhile cannot be handed back to a stream
    (pika would reject it, and RabbitMQ closes the connection of a reject on a stream)."""
    reader = connect(url)
    channel = reader.channel()
    channel.basic_qos(prefetch_count=1000)
    types: list[str] = []
    end = {"at": time.monotonic() + 1.0}

    def on(ch: Any, method: Any, properties: Any, body: bytes) -> None:
        types.append(str(properties.type))
        end["at"] = time.monotonic() + 0.5
        ch.basic_ack(method.delivery_tag)

    try:
        channel.basic_consume(status_stream(settings), on, arguments={"x-stream-offset": "first"})
        while time.monotonic() < end["at"]:
            reader.process_data_events(time_limit=0.1)
    finally:
        close_quietly(reader)
    return types


def test_an_app_refused_the_stream_asks_again_and_reads_it_once_it_is_granted(
    queues: Queues,
    start_app: Callable[..., App],
    sink: Sink,
    workers: Workers,
) -> None:
    """A broker may refuse the stream (a node without a replica of it, after a node loss; here
    a classic queue of its name in the way): the app follows live events only. It asks for the
    stream again; once granted, it reads it, so what it hears is kept for an app that starts
    later (which, with the app stuck on live events, would not know the job)."""
    settings = AmqpSettings(url=queues.url, queue=queues.name, exchange=queues.exchange)
    conn = connect(queues.url)
    try:
        conn.channel().queue_declare(status_stream(settings), durable=True)  # not a stream
        args = (*queues.args(), "--server-threads", "2")
        app = start_app("broker", None, *args)
        log = app.child.log_path
        assert "no status stream" in log.read_text(errors="replace")
        workers.start(sink.port, "--scan-ms", "0")
        assert app.post(SIGNUP, headers={"X-Job-Id": "live-only-1"})[0] == 202
        assert settled(app, "live-only-1")["state"] == "sent"
        conn.channel().queue_delete(status_stream(settings))  # out of the way
    finally:
        conn.close()
    wait_until(
        lambda: "status stream back" in log.read_text(errors="replace"),
        timeout=20,  # it asks every STREAM_RETRY_S
        what="the app to read the status stream again",
    )
    assert app.post(SIGNUP, headers={"X-Job-Id": "streamed-1"})[0] == 202
    assert states(settled(app, "streamed-1")) == ["queued", "scanning", "sent"]
    later = start_app("broker", None, *args)
    assert states(settled(later, "streamed-1")) == ["queued", "scanning", "sent"]


def test_an_app_given_the_stream_again_keeps_what_only_its_own_queue_brought(
    queues: Queues,
) -> None:
    """Refused the stream, the app follows a queue of its own. Granted it again, it drops that
    queue, but only after taking in what it brought and was not read yet: the stream may
    lack it (one declared again lacks all of it), and those users would read "queued" for
    good. Driven step by step on the test's thread, so the states are surely unread then."""
    settings = AmqpSettings(url=queues.url, queue=queues.name, exchange=queues.exchange)
    follower = status_follow.Follower(settings)
    conn = connect(queues.url)
    app = pika.BlockingConnection(amqp_settings.parameters(settings))
    try:
        publisher = conn.channel()
        publisher.queue_declare(status_stream(settings), durable=True)  # not a stream
        reading = follower._subscribe(app, app.channel())
        assert follower._live is not None  # refused: following a queue of its own
        publisher.confirm_delivery()  # confirmed: in the app's queue, not read by the app
        told = [Event.now(f"own-queue-{n}", "sent") for n in range(5)]
        for event in told:
            status.send(publisher, status_exchange(settings), [event], mandatory=True)
        publisher.queue_delete(status_stream(settings))  # out of the way
        follower._stream_again(app, reading)
        assert follower._live is None  # granted
        assert [follower.board.get(e.job) is not None for e in told] == [True] * len(told)
    finally:
        close_quietly(app)
        conn.channel().queue_delete(status_stream(settings))
        conn.close()


def test_a_worker_with_short_jobs_sends_their_states_together(
    queues: Queues, workers: Workers, sink: Sink
) -> None:
    """At scan 0 a job takes a few ms: a worker holds its states for up to status.LINGER_S
    and publishes them as one message (a stream pays per message). A job's "scanning" and
    "sent" share a message (pika's timer runs between two jobs, never inside one); no state
    is lost or out of order. A message's events have one stream offset."""
    settings = AmqpSettings(url=queues.url, queue=queues.name, exchange=queues.exchange)
    jobs = [signup_job(f"short{i}") for i in range(12)]
    messages: dict[int, list[Event]] = {}
    conn = connect(queues.url)
    try:
        status.declare(conn.channel(), settings)
        workers.start(sink.port, "--scan-ms", "0")
        for job in jobs:
            queues.publish(job)

        def keep(event: Event, offset: int) -> None:
            messages.setdefault(offset, []).append(event)

        def sent() -> int:
            return sum(e.state == "sent" for m in messages.values() for e in m)

        status.replay(conn.channel(), settings, keep)
        deadline = time.monotonic() + 15
        while sent() < len(jobs) and time.monotonic() < deadline:
            conn.process_data_events(time_limit=0.1)
    finally:
        conn.close()
    per_job: dict[str, list[str]] = {}
    for offset in sorted(messages):
        for event in messages[offset]:
            per_job.setdefault(event.job, []).append(event.state)
    assert per_job == {job.id: ["scanning", "sent"] for job in jobs}
    for message in messages.values():
        pairs = {(e.job, e.state) for e in message}
        assert all((job, "sent") in pairs for job, state in pairs if state == "scanning"), pairs
    assert len(messages) < 2 * len(jobs)  # together: fewer messages than states


def test_only_a_worker_with_short_jobs_holds_its_states(queues: Queues) -> None:
    """The lesson's 200 ms scan (and the app, which gives no scan) publish each state at
    once: a user watching sees "scanning" while it scans."""
    settings = AmqpSettings(url=queues.url, queue=queues.name, exchange=queues.exchange)
    conn = connect(queues.url)
    try:
        assert status.events(conn, settings, 200.0).linger_s == 0.0
        assert status.events(conn, settings).linger_s == 0.0
        assert status.events(conn, settings, 0.0).linger_s == status.LINGER_S
    finally:
        conn.close()


def test_thread_mode_forgets_every_job_when_the_app_dies(
    start_app: Callable[..., App], sink: Sink
) -> None:
    app = start_app("thread", sink, "--scan-ms", "50")
    assert app.post(SIGNUP, headers={"X-Job-Id": "mem-1"})[0] == 202
    assert states(settled(app, "mem-1")) == ["queued", "scanning", "sent"]
    app.child.kill()
    again = start_app("thread", sink, "--scan-ms", "50")
    code, body = get(again, "mem-1")
    assert code == 404
    assert "memory" in body["error"] and "dies with the app" in body["error"]

    sync = start_app("sync", sink, "--scan-ms", "0")
    assert sync.post(SIGNUP, headers={"X-Job-Id": "s-1"})[0] == 201
    code, body = get(sync, "s-1")
    assert code == 404 and "the answer to POST /signup was the outcome" in body["error"]


def test_a_dropped_stream_is_freed_at_once_and_the_limit_answers_503(
    start_app: Callable[..., App], sink: Sink
) -> None:
    app = start_app(
        "thread", sink, "--scan-ms", "3000", "--max-streams", "2", "--sse-keepalive", "0.2"
    )
    assert app.post(SIGNUP, headers={"X-Job-Id": "slow-1"})[0] == 202

    def streams() -> int:
        _, body = app.post(b"", path="/stats", method="GET")
        return int(body["streams"])

    first, second = Sse(app, "slow-1"), Sse(app, "slow-1")
    assert [first.next()["data"]["state"], second.next()["data"]["state"]] == [
        "queued",
        "queued",
    ]
    wait_until(lambda: streams() == 2, 5, "two open streams")
    code, body = get_events(app, "slow-1")
    assert code == 503 and "try again" in body["error"]

    assert first.next()["data"]["state"] == second.next()["data"]["state"] == "scanning"
    lines = [second.response.readline().strip() for _ in range(4)]
    assert b": keep-alive" in lines  # an idle stream still says something, every 0.2 s

    dropped = time.monotonic()
    first.close()  # the client goes away mid-stream
    wait_until(lambda: streams() == 1, 2, "the dropped stream to be freed")
    assert time.monotonic() - dropped < 1.0
    third = Sse(app, "slow-1")  # room again
    assert third.response.status == 200
    third.close()
    second.close()

    for path, method, code, text in [
        ("/signup/bad%20id", "GET", 400, "1-80 characters"),
        ("/signup/", "GET", 404, "no such path"),
        ("/signup/" + "x" * 81, "GET", 400, "1-80 characters"),
        ("/signup/bad%0d%0aid/events", "GET", 400, "1-80 characters"),
        ("/signup/unknown-1", "GET", 404, "unknown job"),
        ("/signup/unknown-1/events", "GET", 404, "unknown job"),
        ("/signup/x/y", "GET", 404, "no such path"),
        ("/signup/x/events/y", "GET", 404, "no such path"),
        ("/signup/x", "POST", 405, "use GET"),
        ("/signup/x/events", "DELETE", 405, "use GET"),
    ]:
        got, body = app.post(b"", path=path, method=method)
        assert (got, text in body.get("error", "")) == (code, True), (path, got, body)
    app.child.kill()  # no need to wait for the 3 s scan


def get_events(app: App, job: str) -> tuple[int, dict[str, Any]]:
    return app.post(b"", path=f"/signup/{job}/events", method="GET")


def test_the_board_orders_dedupes_and_forgets() -> None:
    board = Board(max_jobs=3)
    queued = Event("a", "queued", 10.0)
    board.add(Event("a", "scanning", 10.5))
    board.add(queued)  # late, from another connection: still first in the history
    assert board.add(queued) is False  # the same event twice counts once
    board.add(Event("a", "sent", 11.0))
    board.add(Event("a", "scanning", 12.0))  # a second run of a job sent already
    found = board.get("a")
    assert found is not None
    assert [e.state for e in found.history] == ["queued", "scanning", "sent", "scanning"]
    assert found.state == "sent"  # the first final state stays
    for job in ("b", "c", "d"):
        board.record(job, "queued")
    assert len(board) == 3 and board.get("a") is None  # the finished job went first
    assert board.get("b") is not None and board.forgotten == 1


def test_an_event_off_the_queue_is_checked() -> None:
    good = Event("j-1", "sent", 1.0, "ok")
    assert Event.from_bytes(good.to_bytes()) == good
    for bad in [
        b"[]",
        b'{"job": "a b", "state": "sent", "at": 1, "id": "x"}',
        b'{"job": "a", "state": "exploded", "at": 1, "id": "x"}',
        b'{"job": "a", "state": "sent", "at": NaN, "id": "x"}',
        b'{"job": "a", "state": "sent", "at": true, "id": "x"}',
        b'{"job": "a", "state": "sent", "at": 1}',
    ]:
        try:
            Event.from_bytes(bad)
        except ValueError:
            continue
        raise AssertionError(f"accepted {bad!r}")


def test_a_batch_of_events_off_the_queue_is_checked_as_a_whole() -> None:
    batch = [Event("j-1", "scanning", 1.0, "try 1"), Event("j-1", "sent", 1.5, "ok")]
    assert Event.many_from_bytes(batch_to_bytes(batch)) == batch
    assert Event.many_from_bytes(batch[0].to_bytes()) == batch[:1]  # one event, as before
    one_bad = b'[{"job": "a", "state": "sent", "at": 1, "id": "x"}, {"job": "a b"}]'
    too_many = batch_to_bytes([batch[0]] * MAX_BATCH)[:-1] + b", " + batch[0].to_bytes() + b"]"
    for bad in [b"[", b"[1]", one_bad, too_many, b"[" + b" " * (MAX_BATCH * 4096) + b"]"]:
        with pytest.raises(ValueError):
            Event.many_from_bytes(bad)
    with pytest.raises(ValueError):
        batch_to_bytes([])


def test_a_worker_that_stops_sends_the_states_it_still_held(queues: Queues) -> None:
    """At scan 0 a worker holds its states for up to LINGER_S, for a timer on its jobs'
    connection to send. That connection may end first (a node lost, a broker closing it):
    closing the states' side sends what was held, instead of dropping it unsaid."""
    settings = AmqpSettings(url=queues.url, queue=queues.name, exchange=queues.exchange)
    conn = connect(queues.url)
    try:
        events = status.worker_events(settings, 0.0)
        status.attach(events, lambda s, f: None)  # the jobs' connection's timer never fires
        ch = conn.channel()
        heard = status.listen(ch, settings)  # the exchange is there: attach declared it
        status.emit(events, "held-1", "scanning")
        status.emit(events, "held-1", "sent")
        assert [e.state for e in events.held] == ["scanning", "sent"]  # lingering, not sent
        events.close()
        got = hear_states(ch, heard, 2, "the held states")
        assert [(e.job, e.state) for e in got] == [("held-1", "scanning"), ("held-1", "sent")]
    finally:
        conn.close()


def test_a_worker_away_from_its_broker_holds_at_most_max_unsent_and_says_what_it_lost(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Nothing listens on the port: each state waits in `unsent` (the oldest go past
    MAX_UNSENT), one timer is set to try again however many come, and closing says how many
    states never reached the broker: those dropped and those still held."""
    monkeypatch.setattr(status, "MAX_UNSENT", 3)
    settings = AmqpSettings(url=f"amqp://guest:guest@127.0.0.1:{free_port()}/%2F")
    timers: list[float] = []
    events = status.worker_events(settings, 200.0)
    status.attach(events, lambda s, f: timers.append(s))
    for n in range(5):
        status.emit(events, f"job-{n}", "sent")
    assert [b[0].job for b in events.unsent] == ["job-2", "job-3", "job-4"]
    assert events.dropped == 2 and len(timers) == 1
    events.close()
    assert "5 job states never reached the broker" in caplog.text


def test_a_worker_keeps_what_its_lost_jobs_connection_held_for_the_next_one(
    queues: Queues, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A node dies: the worker's jobs' connection ends, and its timers with it, while its
    states' connection is away too. What was held then goes out once the next jobs'
    connection is attached, instead of being dropped with the one that ended."""
    monkeypatch.setattr(amqp_settings, "reconnect_delay", lambda attempt, cap: 0.3)  # no jitter
    settings = AmqpSettings(url=queues.url, queue=queues.name, exchange=queues.exchange)
    conn = connect(queues.url)
    events = status.worker_events(settings, 0.0)
    try:
        status.attach(events, lambda s, f: None)  # this connection's timer never fires
        ch = conn.channel()
        heard = status.listen(ch, settings)
        status.emit(events, "carried-1", "scanning")
        status.emit(events, "carried-1", "sent")
        assert events.side is not None
        events.side.lost(ConnectionResetError("the node went away"))  # what a pika error does
        status.detach(events)  # the jobs' connection ended: nothing can go yet
        assert [[e.state for e in batch] for batch in events.unsent] == [["scanning", "sent"]]
        time.sleep(events.side.wait_s())  # the backoff before the states' connection again
        status.attach(events, lambda s, f: None)  # the next jobs' connection
        got = hear_states(ch, heard, 2, "the states held across the connections")
        assert [(e.job, e.state) for e in got] == [("carried-1", "scanning"), ("carried-1", "sent")]
    finally:
        events.close()
        conn.close()


def test_a_state_the_broker_refuses_is_sent_again_until_it_is_confirmed(
    queues: Queues, caplog: pytest.LogCaptureFixture
) -> None:
    """Publisher confirms, taken without waiting: a queue bound to the states' exchange that
    refuses every message (full, reject-publish) makes the broker nack the state, as a
    stream whose node died would not confirm it; the worker sends it again, and once the
    broker can take it, it is confirmed. Without confirms it went out once, unknown."""
    with confirming_worker(queues) as (settings, conn, events):
        ch = conn.channel()
        heard = status.listen(ch, settings)
        full = ch.queue_declare(
            "", exclusive=True, arguments={"x-max-length": 0, "x-overflow": "reject-publish"}
        ).method.queue
        ch.queue_bind(full, status_exchange(settings))
        status.emit(events, "refused-1", "sent")

        def refused() -> bool:
            status.send_unsent(events, again=False)  # what the timer does
            return "RefusedError" in caplog.text

        wait_until(refused, timeout=10, what="the broker's nack")
        assert [[e.job for e in batch] for batch in events.unsent] == [["refused-1"]]
        ch.queue_delete(full)

        def confirmed() -> bool:
            status.send_unsent(events, again=False)
            return not events.unsent and events.side is not None and events.side.waiting == 0

        wait_until(confirmed, timeout=10, what="the state sent again and confirmed")
        # the refused copy reached this queue, then the new one, then, a refusal being a
        # lost connection, the copy sent AGAIN_S after the first confirm that follows it
        copies = drain_states(ch, heard)
        assert [e.job for e in copies] == ["refused-1"] * 3
        assert len({e.id for e in copies}) == 1  # one state: every reader keeps it once


def test_a_state_no_queue_took_is_sent_again_once_one_is_bound(
    queues: Queues, caplog: pytest.LogCaptureFixture
) -> None:
    """After a broker restart the stream comes back a moment after the broker: meanwhile the
    states' exchange routes to no queue, and a state sent then was gone, its user left at
    "queued" for good. Sent as mandatory, it comes back (basic.return), waits, and is sent
    again; once a queue is bound, that queue gets it, once."""
    caplog.set_level(logging.INFO, logger=status.log.name)
    with confirming_worker(queues) as (settings, conn, events):
        status.emit(events, "unrouted-1", "sent")  # no queue is bound to the exchange yet

        def returned() -> bool:
            status.send_unsent(events, again=False)  # what the timer does
            return "no queue took them" in caplog.text

        wait_until(returned, timeout=10, what="the broker's return")
        ch = conn.channel()
        heard = status.listen(ch, settings)

        def delivered() -> bool:
            status.send_unsent(events, again=False)
            return events.side is not None and events.side.waiting == 0 and not events.unsent

        wait_until(delivered, timeout=10, what="the state sent again and taken by a queue")
        assert [e.job for e in drain_states(ch, heard)] == ["unrouted-1"]
        assert "a queue takes them again" in caplog.text


def test_after_a_lost_connection_a_confirmed_state_goes_out_once_more(
    queues: Queues, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Right after a broker restart RabbitMQ 3.10 confirmed states its stream never held. So
    for DOUBT_S after the first confirm that follows a lost connection, each confirmed state
    goes out once more AGAIN_S later (readers keep it once); one before the loss, or after
    the window, goes once. (The window made short here.)"""
    monkeypatch.setattr(side, "DOUBT_S", 1.0)
    monkeypatch.setattr(side, "AGAIN_S", 0.2)
    with confirming_worker(queues) as (settings, conn, events):
        ch = conn.channel()
        heard = status.listen(ch, settings)
        connection = events.side
        assert connection is not None

        def settled() -> bool:
            status.send_unsent(events, again=False)  # what the timer does
            return connection.waiting == 0 and not events.unsent

        status.emit(events, "before-loss", "sent")
        wait_until(settled, 10, "the first state confirmed")
        connection.lost(ConnectionResetError("dropped by the test, as by a broker restart"))
        status.emit(events, "after-loss", "sent")
        wait_until(settled, 10, "the state after the loss confirmed, and its copy")
        time.sleep(1.0)  # the window is over
        status.emit(events, "later", "sent")
        wait_until(settled, 10, "the later state confirmed")
        jobs = [e.job for e in drain_states(ch, heard)]
        assert jobs == ["before-loss", "after-loss", "after-loss", "later"]


def test_a_state_no_queue_takes_for_long_is_dropped_with_one_line_and_counted(
    queues: Queues, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker with no app and no stream bound (nothing ever listens) does not send its
    states again forever: past RETURNED_KEEP_S they are dropped, with one line, and the
    count is told once a queue takes them again."""
    monkeypatch.setattr(side, "RETURNED_KEEP_S", 0.0)  # dropped at the first return
    caplog.set_level(logging.INFO, logger=status.log.name)
    with confirming_worker(queues) as (settings, conn, events):
        status.emit(events, "nobody-1", "sent")
        status.emit(events, "nobody-2", "sent")

        def dropped() -> bool:
            status.send_unsent(events, again=False)
            return events.side is not None and events.side.waiting == 0 and not events.unsent

        wait_until(dropped, timeout=10, what="the states no queue took, dropped")
        assert caplog.text.count("dropping what no queue took") == 1
        ch = conn.channel()
        heard = status.listen(ch, settings)
        status.emit(events, "heard-1", "sent")
        wait_until(dropped, timeout=10, what="the next state, taken by a queue")
        assert [e.job for e in drain_states(ch, heard)] == ["heard-1"]
        assert "a queue takes them again (2 dropped meanwhile)" in caplog.text
