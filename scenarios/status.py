"""Job states as events: the course's broadcast pattern (RabbitMQ tutorial 3, emit_log and
receive_logs), for the last steps of the notes: store the result, push it to the user.

The app and the workers tell whoever listens what became of each job: queued (the app, once
the broker took the job), then scanning -> sent, or retrying in N s, dead-lettered with its
reason, quarantined when the scan found a virus (the worker). Each change goes to a fanout
exchange, `<exchange>.status`, which copies every message into every queue bound to it: any
number of listeners each get all of them (every app instance, a dashboard, `python -m
scenarios.status`), and the publishers know none of them.

One queue bound to it keeps them: `<queue>.status`, a stream, declared by the app (as in
receive_logs, the listeners declare their queues). A classic queue forgets a message once a
consumer acked it; a stream is an append-only log that keeps every message (here for a day)
and lets each reader choose where to start. A (re)started app reads it from the first offset
to rebuild every job's state, then follows it live: the app's memory may die, the log does
not (mqlab/processes/status_follow.py).

What a status event is worth: less than the job. `emit` never waits for the broker and never
raises: the job goes on whatever becomes of its states; its ack, not its status, is what
tells the broker the work is done. So a worker publishes them on a connection of their own
(`worker_events`), which outlives its jobs' connections: whatever befalls it never touches a
job's ack. It asks for publisher confirms and takes them as they come, never waiting: a
state the broker refused or did not confirm (its node died before the stream's other members
had it) is sent again, as is one no queue took (a stream not back yet after a broker
restart). While that connection is away, the worker holds its states (up to MAX_UNSENT
messages) and sends them once it is back, even if no job comes meanwhile: dropped, a job
mailed in those seconds would show "queued" to its user for good. A state sent twice is kept
once by whoever reads it. The app holds its own the same way
(mqlab/processes/status_follow.py). States are lost only when a worker stops while its
broker is away, when more wait than it holds, or when no queue took them for 30 s: the page
then shows an older state.

A worker whose jobs take a few milliseconds (a scan under SHORT_SCAN_MS) holds its events
for up to LINGER_S and sends them together, as one message: a stream pays per message, and
two messages per job cost the broker more than the job itself (bench/README.md, "Capacity").
A slower worker sends each event at once.

Watch the demo's jobs live:  python -m scenarios.status
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import pika
from pika.adapters.blocking_connection import BlockingChannel, BlockingConnection
from pika.spec import Basic, BasicProperties

from mqlab.amqp.settings import (
    UNAVAILABLE,
    AmqpSettings,
    parameters,
    status_exchange,
    status_stream,
)
from mqlab.amqp.side import SideConnection
from mqlab.job.status import MAX_BATCH, Event, batch_to_bytes, not_published

log = logging.getLogger(__name__)

EVENT_TYPE = "mqlab.status"  # the `type` property of a state change; readers skip other types
STREAM = {
    "x-queue-type": "stream",  # an append-only log: reading does not remove
    "x-max-age": "1D",  # what is older is deleted, a segment at a time
    "x-max-length-bytes": 100_000_000,  # and never more than this on the broker's disk
    "x-stream-max-segment-size-bytes": 5_000_000,  # small segments: the limits bite sooner
}
PREFETCH = 1000  # a stream consumer must set one (basic.qos), and ack what it read
ACK_EVERY = 100  # one ack (multiple=True) for this many messages: acks cost a reader time
SHORT_SCAN_MS = 20.0  # a worker scanning less than this holds its events...
LINGER_S = 0.05  # ...for up to this long, to send them as one message
MAX_UNSENT = 1000  # a worker's messages held while its broker is away; then the oldest go
WORKER_STATES = "mqlab worker: job states"  # the side connection's name, in its log lines
CHECK_S = 0.1  # while the broker has not confirmed them all: how often a worker looks
CLOSE_WAIT_S = 1.0  # a worker that stops: how long it waits for the last confirms


@dataclass
class Events:
    """Where `emit` publishes: a channel of its own and the fanout exchange. No channel:
    events are dropped, unless `side`, the connection the channel is on, opens a new one.
    `linger_s` > 0: events wait in `held` for up to that long, then go as one message, sent
    by `timer` (the `call_later` of a connection whose loop runs; by default the channel's).
    With `side`, messages the broker could not take (or did not confirm) wait in `unsent`,
    sent again by `timer` once the side connection may be opened again."""

    channel: BlockingChannel | None
    exchange: str
    linger_s: float = 0.0
    held: list[Event] = field(default_factory=list)
    side: SideConnection[Sequence[Event]] | None = None
    timer: Callable[[float, Callable[[], None]], object] | None = None
    unsent: deque[Sequence[Event]] = field(default_factory=deque)
    retrying: bool = False  # a timer will send `unsent` again
    dropped: int = 0  # states dropped from a full `unsent`, not yet told in the log

    def close(self) -> None:
        """A worker's last word: what it still holds (lingering, unsent, unconfirmed), one
        last try, and up to CLOSE_WAIT_S for the broker to confirm it."""
        if self.side is not None:
            detach(self)  # a try now
            self.side.settle(CLOSE_WAIT_S)
            send_unsent(self, again=False)  # what the broker refused or lost meanwhile: once more
            self.side.settle(CLOSE_WAIT_S)
            self.side.close()
            self.unsent.extend(self.side.take_back())
            lost = self.dropped + sum(len(batch) for batch in self.unsent)
            if lost:
                log.warning("%d job states never reached the broker", lost)


def declare(channel: BlockingChannel, settings: AmqpSettings) -> None:
    """The listeners' side: the fanout exchange, and the stream that keeps what goes through
    it. Durable: both survive a broker restart. Once an app declared them, the stream keeps
    every event, whether an app is running or not."""
    channel.exchange_declare(status_exchange(settings), "fanout", durable=True)
    channel.queue_declare(status_stream(settings), durable=True, arguments=STREAM)
    channel.queue_bind(status_stream(settings), status_exchange(settings))


def events(
    connection: BlockingConnection, settings: AmqpSettings, scan_ms: float | None = None
) -> Events:
    """emit_log's side: a channel of its own and the exchange, nothing more (with no queue
    bound yet, the exchange drops what it gets). Should the broker refuse even that, the
    worker works on and tells nobody: a missing status, never a lost job. `scan_ms`: a
    worker's scan; under SHORT_SCAN_MS, its events linger (see the module's docstring)."""
    linger = _linger(scan_ms)
    try:
        channel = connection.channel()
        channel.exchange_declare(status_exchange(settings), "fanout", durable=True)
    except pika.exceptions.ChannelClosedByBroker as e:
        log.warning("no status events: the broker refused them (%s)", e.reply_text)
        return Events(None, status_exchange(settings))
    return Events(channel, status_exchange(settings), linger)


def worker_events(settings: AmqpSettings, scan_ms: float) -> Events:
    """`events` on a connection of their own, opened again after a loss (with a line when
    lost and one when back), for a worker: a broker that lost the stream closes the whole
    connection that publishes into it, and on the jobs' connection that took the ack of the
    job in hand with it (the job came back and was mailed again, once per try). One per
    worker, for all its jobs' connections: `attach` each as it opens, `detach` it when it
    ends, `close` when the worker stops."""
    side: SideConnection[Sequence[Event]] = SideConnection(settings, WORKER_STATES, log)
    return Events(None, status_exchange(settings), _linger(scan_ms), side=side)


def attach(events: Events, timer: Callable[[float, Callable[[], None]], object]) -> None:
    """A worker's jobs' connection is up: its `call_later` (`timer`), whose loop runs while
    the worker waits for jobs, sends what lingers and what waits; what the last one left
    goes first."""
    assert events.side is not None
    events.timer, events.retrying = timer, False
    _open(events)
    send_unsent(events)


def detach(events: Events) -> None:
    """A worker's jobs' connection ended, and its timers with it: what lingers joins what
    waits, and goes now if it can, else once the next one is attached (or at `close`)."""
    held, events.held = events.held, []
    if held:
        events.unsent.append(held)
    events.timer, events.retrying = None, False
    send_unsent(events, again=False)


def _open(events: Events) -> None:
    """The side connection's channel, the exchange declared on a new one; None while away."""
    assert events.side is not None
    channel = events.side.channel()
    if channel is not None and channel is not events.channel:
        try:
            channel.exchange_declare(events.exchange, "fanout", durable=True)
        except UNAVAILABLE as e:  # a refusal included: its channel is gone, the next one may not
            events.side.lost(e)
            channel = None
    events.channel = channel


def _linger(scan_ms: float | None) -> float:
    return LINGER_S if scan_ms is not None and scan_ms < SHORT_SCAN_MS else 0.0


def emit(events: Events, job_id: str, state: str, detail: str = "") -> None:
    """emit_log: one state change, to every listener. Never waits for the broker, never raises."""
    event = Event.now(job_id, state, detail)
    if events.linger_s <= 0 or events.channel is None or not events.channel.is_open:
        publish(events, [event])  # now
        return
    events.held.append(event)  # with the next ones: pika's timer publishes them
    if len(events.held) >= MAX_BATCH:
        flush(events)
    elif len(events.held) == 1:
        timer = events.timer or events.channel.connection.call_later
        timer(events.linger_s, lambda: flush(events))


def flush(events: Events) -> None:
    """Publish what `emit` held (`Events.close` sends what is left when a worker stops)."""
    held, events.held = events.held, []
    if held:
        publish(events, held)


def publish(events: Events, batch: Sequence[Event]) -> None:
    """One message: one event, or several as a JSON array (at most MAX_BATCH)."""
    if events.side is not None:  # a worker's: held while its broker is away
        while len(events.unsent) >= MAX_UNSENT:  # the oldest go; one line says so, once back
            events.dropped += len(events.unsent.popleft())
        events.unsent.append(batch)
        send_unsent(events)
        return
    if events.channel is None or not events.channel.is_open:
        return
    try:
        send(events.channel, events.exchange, batch)
    except UNAVAILABLE as e:
        not_published(log, batch, e)  # lost: nobody hears of these changes; the jobs go on


def send_unsent(events: Events, again: bool = True) -> None:
    """A worker's held messages, oldest first, on its side connection (opened again if it may
    be), after what the broker refused or did not confirm; what it cannot take yet waits for
    a timer that tries again (if `again`), as do confirms still to come."""
    side = events.side
    assert side is not None
    side.check()  # the confirms that came in; a refusal or a late one counts as a loss
    events.unsent.extendleft(reversed(side.take_back()))  # first in line again
    while events.unsent:
        _open(events)  # None while the broker is away
        if events.channel is None:
            break
        batch = events.unsent.popleft()
        body = encode(batch)
        # Known before it goes: pika may take in its return and confirm while it writes it.
        side.sent(batch, body)  # to be confirmed, or returned by no queue
        try:
            send(events.channel, events.exchange, batch, mandatory=True, body=body)
        except UNAVAILABLE as e:
            side.lost(e)  # one line, then a new connection after a backoff
            events.channel = None
            events.unsent.extendleft(reversed(side.take_back()))  # this one among them
            break
    if events.dropped and not events.unsent:
        log.warning("%d job states were dropped while the broker was away", events.dropped)
        events.dropped = 0
    if again and (events.unsent or side.waiting) and not events.retrying:
        timer = events.timer or (events.channel.connection.call_later if events.channel else None)
        if timer is not None:  # even if no job comes to send them, or to take the confirms
            events.retrying = True
            delay = side.wait_s() + 0.01 if events.unsent else CHECK_S
            timer(delay, lambda: _retry(events))


def _retry(events: Events) -> None:
    events.retrying = False
    send_unsent(events)


def encode(batch: Sequence[Event]) -> bytes:
    """A message's body: one event, or several as a JSON array."""
    return batch[0].to_bytes() if len(batch) == 1 else batch_to_bytes(batch)


def send(
    channel: BlockingChannel,
    exchange: str,
    batch: Sequence[Event],
    mandatory: bool = False,
    body: bytes | None = None,
) -> bytes:
    """One message on `channel` (`body`: `batch` encoded already), returned by the broker if
    no queue takes it (`mandatory`); what the broker's absence raises goes up. Returns the
    body sent."""
    body = encode(batch) if body is None else body
    channel.basic_publish(
        exchange,
        routing_key="",  # a fanout exchange ignores it
        body=body,
        properties=BasicProperties(
            type=EVENT_TYPE, message_id=batch[0].job, content_type="application/json"
        ),
        mandatory=mandatory,
    )
    return body


def listen(channel: BlockingChannel, settings: AmqpSettings) -> str:
    """receive_logs: a queue of our own (named by the broker, gone when we disconnect)
    bound to the exchange. It gets what is published from now on, nothing from before."""
    queue = str(channel.queue_declare("", exclusive=True).method.queue)
    channel.queue_bind(queue, status_exchange(settings))
    return queue


def read(
    properties: BasicProperties,
    body: bytes,
    on_event: Callable[[Event], None],
    on_other: Callable[[BasicProperties, bytes], None] | None = None,
) -> None:
    """One message off the exchange: `on_event` for each state change it holds (one, or a
    worker's few), `on_other` for anything else (an app's bookmark or probe). A malformed
    message of states is skipped with a line; the reading goes on."""
    if properties.type == EVENT_TYPE:
        try:
            events = Event.many_from_bytes(body)
        except ValueError as e:
            log.warning("skipped a malformed status event: %s", e)
            return
        for event in events:
            on_event(event)
    elif on_other is not None:
        on_other(properties, body)


def replay(
    channel: BlockingChannel,
    settings: AmqpSettings,
    on_event: Callable[[Event, int], None],
    offset: str | int | datetime = "first",
    on_other: Callable[[BasicProperties, bytes], None] | None = None,
) -> str:
    """Read the stream from `offset` ("first": all it keeps; a number: from that message; a
    time: from what was written then; "next": only new ones), then live. `on_event(event,
    offset)` for each state change, `on_other` for any other message (an app's bookmark);
    returns the consumer tag.

    A stream wants a prefetch and manual acks. An ack does not remove anything: the stream
    keeps every message until it is too old; it only lets the broker send the next ones
    (one ack for ACK_EVERY messages: `multiple=True` acks all those before it too)."""
    channel.basic_qos(prefetch_count=PREFETCH)

    def on_message(
        ch: BlockingChannel, method: Basic.Deliver, properties: BasicProperties, body: bytes
    ) -> None:
        position = (properties.headers or {}).get("x-stream-offset", -1)
        read(properties, body, lambda event: on_event(event, int(position)), on_other)
        if method.delivery_tag % ACK_EVERY == 0:  # fewer than PREFETCH unacked, always
            ch.basic_ack(method.delivery_tag, multiple=True)

    return str(
        channel.basic_consume(
            status_stream(settings), on_message, arguments={"x-stream-offset": offset}
        )
    )


if __name__ == "__main__":  # every state change of the demo's jobs, from now on
    settings = AmqpSettings(url=os.environ.get("MQLAB_AMQP_URL", AmqpSettings.url))
    connection = pika.BlockingConnection(parameters(settings))
    channel = connection.channel()
    declare(channel, settings)
    queue = listen(channel, settings)

    def show(ch: BlockingChannel, m: Basic.Deliver, p: BasicProperties, body: bytes) -> None:
        try:  # a line per state, also when a worker sent a few as one message
            lines = [e.to_bytes() for e in Event.many_from_bytes(body)]
        except ValueError:
            lines = [body]  # not ours: shown as it came
        for line in lines:
            print(line.decode("utf-8", "replace"), flush=True)

    channel.basic_consume(queue, show, auto_ack=True)
    print(f"waiting for job states on {status_exchange(settings)}; Ctrl-C to stop")
    try:
        channel.start_consuming()
    except KeyboardInterrupt:
        connection.close()
