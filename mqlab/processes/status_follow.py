"""Broker mode: the app's table of every job's state, rebuilt from the broker and kept live.

One background thread with one connection of its own reads the status stream
(`<queue>.status`, declared in scenarios/status.py) from its first offset into a `Board`,
then follows it; every app instance does the same, each at its own offset (a stream is read,
not taken). The same thread publishes the app's own "queued" events, so that a handler
thread never waits for them.

Once caught up, the thread looks every READ_EVERY_S: it publishes what the handlers told it
meanwhile, as one message, and takes in every event that arrived, at once: woken for each
message instead (a few hundred a second at scan 0), it cost the app and RabbitMQ CPU a job
(bench/README.md, "The job states and the capacity row"). A state shows up to READ_EVERY_S
later.

Why a stream, and not the app's memory or a file: the app is what we kill in the lesson. A
stream is a log kept by the broker, on its disk, that survives the app (and a broker
restart); any number of apps replay it; it needs no store of mqlab's own. Its retention
(scenarios.status.STREAM: a day, at most 100 MB) bounds what a restarted app can know, and
replaying it is what a restart costs (see the report of issue 19 for the figures). On a
broker that refuses the stream (no stream support, one declared with other arguments, or,
after a node loss, a node without a replica of it), the app binds a queue of its own instead,
follows live only, says so in its log, and asks for the stream again every STREAM_RETRY_S.

Catching up: until the replay reaches the bookmark this app put at the end of the stream
when it connected, a job it has not seen yet may still come: `caught_up` is not set, and the
app answers 503 for an unknown job rather than a false 404.

A lost connection: like the publisher and the workers, capped backoff with jitter, one line
when lost and one when back; the reading resumes at the time of the newest state read, less
RESUME_MARGIN_S (a stream can be read from a point in time), not at the next offset: a node
lost with its disk can take the stream with it, and the one declared again numbers from 0,
so the next offset could lie far past its end (the states told in it were never read, and
their users read "queued" for good). What is read twice is kept once. Events published
meanwhile are read then; the app's own, up to MAX_PENDING, are published then, the one
a lost connection could not take included. A consumer
the broker cancels while the connection lives (its stream deleted, or its node lost in a
cluster) is a lost connection too, except that the reading starts again from the first
offset: the stream may be a new one.

A consumer that hears nothing: one that goes silent without a cancel would leave every
user at their last state for good. RabbitMQ 3.10's stream consumers are known to hang on a
member that goes away (rabbitmq-server#4133), and a restarted node starts each past epoch's
writer again, each dying within milliseconds, before the last; a frozen broker or a memory
alarm silences the reading too. (The broker-restart users left at "queued" that first
pointed here were states the broker confirmed and never stored: see mqlab/amqp/side.py.)
So what the app publishes must come back: its own events, its bookmark, or, when nothing
was read for PROBE_S while a job is unfinished (PROBE_IDLE_S otherwise), a probe; the wait
doubles after each probe that alone came back, up to PROBE_IDLE_S (jobs no worker takes
cost a probe every 30 s, not two a second). With one of them on its way and nothing read
for ECHO_S, the connection counts as lost, and the reading resumes as above; it is back (its
line, the answers' "live") once a probe sent on the new connection came back through it.

The app's own states come back the same way, and that is how it knows they were kept (they
go out without publisher confirms: the echo is the confirm). One that did not come back while
something the app sent after it did was dropped (a stream reads one channel's messages in
order): it goes out again, first in line, with a line; so does every one not read back when
the connection is lost. One not back after AGAIN_S sends a probe after it, to find out; a
reading that only lags brings both back, and nothing is sent twice. The later one also
answers for a dropped one the echo awaited: the reading works, and a dropped probe does not
make a lost connection of a quiet stream. Without all this, a "queued" told into a stream
the broker had just restarted (which may confirm and drop what it gets in its first second:
mqlab/amqp/side.py), or into an exchange no stream was bound to for a moment, was known to
this app only: another app, or this one restarted, never heard it.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
import uuid
from collections import OrderedDict, deque
from datetime import datetime, timezone

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel, BlockingConnection
from pika.spec import BasicProperties

from mqlab.amqp.settings import (
    UNAVAILABLE,
    AmqpSettings,
    Cancels,
    close_quietly,
    parameters,
    status_exchange,
    status_outage,
)
from mqlab.job.status import MAX_BATCH, Board, Event
from scenarios import status

log = logging.getLogger(__name__)

POLL_S = 0.2  # while replaying: how often the thread looks at the stop flag
STREAM_RETRY_S = 1.0  # following live events only: how often it asks for the stream again
READ_EVERY_S = 0.05  # once caught up: how often it publishes and reads
MAX_PENDING = 10_000  # the app's own events waiting for the broker; the oldest go first
BOOKMARK = "mqlab.status.bookmark"  # the `type` of the message that marks the replay's end
CONSUMER = "the status consumer (its queue moved or is gone)"  # in the line of a cancel
CONNECTION_NAME = "mqlab app: job states"
RESUME_MARGIN_S = 10.0  # read again from this long before the newest state read (clocks)
ECHO_S = 2.0  # what the app published and did not read back by then: the reading is stuck
PROBE_S = 0.5  # nothing read for this long while a job is unfinished: a probe goes out...
PROBE_IDLE_S = 30.0  # ...and, at the latest (the wait doubles up to it), after this long
PROBE = "mqlab.status.probe"  # the `type` of a probe: read back by the app that sent it
AGAIN_S = 2.0  # a message of the app's own states not read back by then: a probe after it


class Unheard(Exception):
    """What the app published did not come back from the stream: its consumer is stuck."""


LOST: tuple[type[Exception], ...] = (*UNAVAILABLE, Unheard)  # the reading starts again


class Follower:
    """`board`: every job's state, as the stream tells it. `tell(event)`: the app's own."""

    def __init__(self, settings: AmqpSettings, board: Board | None = None) -> None:
        self.settings = settings
        self.board = board if board is not None else Board()
        self.caught_up = threading.Event()
        self.replayed = 0  # events read before the bookmark
        self._pending: deque[Event] = deque(maxlen=MAX_PENDING)
        # sent and not read back yet, oldest first: {key: (when sent, its states or None)}; a
        # message of states is keyed by its last event's id, a bookmark or probe by its body
        self._unheard: OrderedDict[str, tuple[float, list[Event] | None]] = OrderedDict()
        self._asked_at = 0.0  # when the last probe went out to find out about one of them
        self._in_order = False  # reading what this connection sent, in order (see _heard)
        self._closed = threading.Event()
        self._events = status.Events(None, "")
        self._newest: float | None = None  # the time of the newest state read from the stream
        self._cancels: Cancels | None = None  # of the channel we read on
        self._live: str | None = None  # our own queue, while the broker refuses the stream
        self._live_tag = ""  # its consumer
        self._stream_at = 0.0  # when to ask for the stream again, meanwhile
        self._bookmark = uuid.uuid4().hex.encode()
        self._started = time.monotonic()
        self._echo: tuple[str, float] | None = None  # (id, since) of ours, awaited back
        self._heard_at = 0.0  # when the last message of any kind was read
        self._probe_every = PROBE_S  # doubled by each probe that alone came back
        self.outage = status_outage(settings, log)
        self._thread = threading.Thread(target=self._run, name="status", daemon=True)

    def start(self) -> Follower:
        self._thread.start()
        return self

    def tell(self, event: Event) -> None:
        """From a handler thread: known here at once, published by the follower's thread
        within READ_EVERY_S, with the others told meanwhile (one message for all: a stream
        pays per message)."""
        self.board.add(event)
        self._pending.append(event)

    def close(self) -> None:
        self._closed.set()
        self._thread.join(timeout=2 * POLL_S + 1)

    # -- on the follower's thread

    def _run(self) -> None:
        while not self._closed.is_set():
            try:
                self._follow()
            except LOST as e:
                self._closed.wait(self.outage.lost(e))

    def _follow(self) -> None:
        connection = pika.BlockingConnection(parameters(self.settings, name=CONNECTION_NAME))
        try:
            self._echo, self._heard_at, self._in_order = None, time.monotonic(), False
            self._probe_every = PROBE_S
            reading = self._subscribe(connection, connection.channel())
            self._events = status.events(connection, self.settings)
            # Back once something of ours comes back through the reading (`_heard`): a
            # connection that opens but cannot publish (a memory alarm) or hears nothing is
            # not back, and saying so flapped the lines every few seconds of an alarm.
            if self._events.channel is None:
                self.outage.back()  # nothing of ours can go out: the reading is all there is
            elif not self.caught_up.is_set():
                self._mark()
            else:
                self._probe()
            while not self._closed.is_set():
                self._flush()  # raises if the connection is gone: its events wait for the next
                if not connection.is_open:
                    raise pika.exceptions.ConnectionClosed(0, "the status connection was lost")
                if self.caught_up.is_set():  # what arrived meanwhile, all at once
                    connection.process_data_events(time_limit=0)
                    self._closed.wait(READ_EVERY_S)
                else:  # replaying: as fast as the broker sends
                    connection.process_data_events(time_limit=POLL_S)
                if not reading.is_open:
                    raise pika.exceptions.ChannelClosed(0, "the status channel was closed")
                self._check_echo()
                if self._live is not None and time.monotonic() >= self._stream_at:
                    reading = self._stream_again(connection, reading)
                if self._cancels is not None and self._cancels.cancelled:
                    # A stream deleted and declared again numbers from 0: our next offset may
                    # never come. Read it from its first again; the board keeps each event once.
                    self._newest = None
                    self._cancels.check()
        finally:
            self._events = status.Events(None, "")  # the app's own events wait in _pending
            self._again(len(self._unheard), say=False)  # all it did not bring back (the
            # lost connection has its line)
            close_quietly(connection)

    def _subscribe(
        self, connection: BlockingConnection, channel: BlockingChannel
    ) -> BlockingChannel:
        """The stream from where we are (from the first offset at the start), or, where the
        broker refuses it, a queue of our own: live events only. The channel it reads on
        (the one `_follow` watches: the stream's is closed by then).

        RabbitMQ 3.10 refuses a stream ("home node ... is down or inaccessible", 404) for a
        second or so after its node restarted, and for good when the node was SIGKILLed
        within 0.5 s of the first stream's declare (measure/faults.py, RA_SAVED_S), so after
        a broker restart the app follows live events only until the stream is granted again
        (`_stream_again`): what it knew stays, the workers send again what no queue took
        meanwhile, and an app restarted meanwhile knows only what follows."""
        self._live = None
        try:
            self._replay(channel)
        except pika.exceptions.ChannelClosedByBroker as e:
            log.warning(
                "no status stream (%s): following live events only, and asking for it "
                "every %g s; meanwhile a restarted app would not know the jobs before it",
                e.reply_text,
                STREAM_RETRY_S,
            )
            channel = connection.channel()
            self._live = status.listen(channel, self.settings)
            self._live_tag = channel.basic_consume(self._live, self._on_live, auto_ack=True)
            self._stream_at = time.monotonic() + STREAM_RETRY_S
            self.caught_up.set()
        # The broker may end our consumer and keep the channel open: its stream deleted, or
        # its member lost with a node. Silent, the app would hear nothing more, ever.
        self._cancels = Cancels(channel, CONSUMER)
        return channel

    def _replay(self, channel: BlockingChannel) -> None:
        """Declare the stream and read it from where we are (its first offset at the start)."""
        status.declare(channel, self.settings)
        offset: str | datetime = "first"
        if self._newest is not None:  # never past now: a publisher's clock may run ahead
            since = min(self._newest, time.time()) - RESUME_MARGIN_S
            offset = datetime.fromtimestamp(since, tz=timezone.utc)
        status.replay(channel, self.settings, self._on_event, offset, self._on_other)

    def _stream_again(
        self, connection: BlockingConnection, reading: BlockingChannel
    ) -> BlockingChannel:
        """Following live events only: ask for the stream again (a node with a replica may be
        back, the queue in its way gone). Granted, read it from its first offset (it may be a
        new one, numbered from 0), then take in everything our own queue brought before
        dropping it: what pika holds undelivered and what the queue still has. The stream may
        lack some of it (a new one lacks all of it), and the board keeps each event once."""
        channel = connection.channel()
        try:
            self._newest = None
            self._replay(channel)
        except pika.exceptions.ChannelClosedByBroker:
            self._stream_at = time.monotonic() + STREAM_RETRY_S
            return reading
        assert self._live is not None
        # Unbound, the queue takes no more (the stream has what follows), so it drains. An
        # auto-ack consumer's cancel hands back what arrived and was not dispatched yet.
        reading.queue_unbind(self._live, status_exchange(self.settings))
        for _method, properties, body in reading.basic_cancel(self._live_tag):
            self._on_live(reading, None, properties, body)
        while True:
            _get, properties, body = reading.basic_get(self._live, auto_ack=True)
            if properties is None:
                break
            self._on_live(reading, None, properties, body)
        reading.queue_delete(self._live)
        reading.close()
        self._live = None
        self._cancels = Cancels(channel, CONSUMER)
        log.info("status stream back: following it again")
        return channel

    def _mark(self) -> None:
        """A bookmark at the end of the stream: once the replay reaches it, it is done."""
        self._send_own(self._bookmark.decode(), BOOKMARK)

    def _probe(self) -> None:
        """A message of no use but to come back: the reading is alive if it does."""
        self._send_own(uuid.uuid4().hex, PROBE)

    def _send_own(self, key: str, kind: str) -> None:
        """`key` as a message of `kind` (not a state: readers skip it), awaited back."""
        if self._events.channel is not None:
            self._events.channel.basic_publish(
                self._events.exchange, "", key.encode(), BasicProperties(type=kind)
            )
            self._sent(key)

    def _sent(self, key: str, batch: list[Event] | None = None) -> None:
        """`key` went out (with `batch`, the states it holds): awaited back."""
        now = time.monotonic()
        self._unheard[key] = (now, batch)
        if len(self._unheard) > MAX_PENDING:
            self._unheard.popitem(last=False)
        if self._echo is None:
            self._echo = (key, now)

    def _heard(self, key: str, state: bool = False) -> None:
        """A message was read: a job's `state` (`key`: the event's id), or else another kind
        (`key`: its body; ours if it is the bookmark or probe we await)."""
        self._heard_at = time.monotonic()
        if key in self._unheard:  # ours
            # Read in order, what we sent before it and did not read back was dropped. A probe
            # was sent on this connection (a fresh id, never a copy): it proves the order too.
            probe = self._unheard[key][1] is None and key != self._bookmark.decode()
            if self._in_order or probe:
                earlier = list(itertools.takewhile(lambda k: k != key, self._unheard))
                if self._echo is not None and self._echo[0] in earlier:
                    self._echo = (key, self._echo[1])  # it answers for the one awaited
                self._again(len(earlier))
            del self._unheard[key]
        ours = self._echo is not None and self._echo[0] == key
        if state:
            self._probe_every = PROBE_S
        elif ours:
            self._probe_every = min(2 * self._probe_every, PROBE_IDLE_S)
        if ours:
            # The first of ours on this connection is back: what follows is read in the
            # order it went out (before it, the stream may hold copies sent on an older one).
            self._in_order = True
            self._echo = None
            self.outage.back()  # a line only if it was lost
        elif self._echo is not None:  # a stuck reading reads nothing: any message is progress
            self._echo = (self._echo[0], self._heard_at)

    def _check_echo(self) -> None:
        """Unheard if we await something of ours and read nothing for ECHO_S; else a probe,
        if one is due: after a message of ours not back within AGAIN_S (a later one of ours
        read back tells that it was lost), or after a quiet spell."""
        now = time.monotonic()
        if self._echo is not None and now - self._echo[1] > ECHO_S:
            raise Unheard(f"nothing it sent came back from the stream within {ECHO_S:g} s")
        if self._unheard and self.caught_up.is_set() and self._events.channel is not None:
            oldest = next(iter(self._unheard.values()))[0]
            if now - max(oldest, self._asked_at) > AGAIN_S:  # a probe after it: is it lost?
                self._asked_at = now
                self._probe()
        if self._echo is not None or self._events.channel is None or not self.caught_up.is_set():
            return
        quiet = now - self._heard_at
        if quiet > (self._probe_every if self.board.unfinished else PROBE_IDLE_S):
            self._probe()

    def _again(self, count: int, say: bool = True) -> None:
        """The oldest `count` of what the app sent and did not read back, taken as lost: its
        states first in line again (a copy that did arrive is kept once by every reader)."""
        batches: list[list[Event]] = []
        for _ in range(count):
            _key, (_sent, batch) = self._unheard.popitem(last=False)
            if batch is not None:
                batches.append(batch)
        if batches and say:
            states = sum(len(batch) for batch in batches)
            log.warning("%d of the app's job states did not come back: sent again", states)
        for batch in reversed(batches):  # a full _pending drops its newest for these
            self._pending.extendleft(reversed(batch))

    def _on_event(self, event: Event, offset: int) -> None:
        self._heard(event.id, state=True)
        self._newest = max(self._newest or event.at, event.at)
        self.board.add(event)
        if not self.caught_up.is_set():
            self.replayed += 1

    def _on_other(self, properties: BasicProperties, body: bytes) -> None:
        self._heard(body.decode("ascii", "replace"))
        if properties.type == BOOKMARK and body == self._bookmark and not self.caught_up.is_set():
            self.caught_up.set()
            log.info(
                "status log read: %d events, %d jobs, in %.1f s",
                self.replayed,
                len(self.board),
                time.monotonic() - self._started,
            )

    def _on_live(
        self, _ch: BlockingChannel, _m: object, properties: BasicProperties, body: bytes
    ) -> None:
        status.read(properties, body, self._on_live_event, self._on_other)

    def _on_live_event(self, event: Event) -> None:
        self._heard(event.id, state=True)
        self.board.add(event)

    def _flush(self) -> None:
        """The app's own events, as many to a message as are waiting (up to MAX_BATCH). A
        message the broker could not take stays first in line for the next connection (a
        copy that did reach it is kept once by every reader)."""
        while self._pending and self._events.channel is not None:
            batch = list(itertools.islice(self._pending, MAX_BATCH))
            status.send(self._events.channel, self._events.exchange, batch)
            self._sent(batch[-1].id, batch)
            for _ in batch:
                self._pending.popleft()
