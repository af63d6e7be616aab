"""Job states on NATS JetStream: the app's and the workers' events, kept in a stream, and the
app's table of every job's state rebuilt from it (`Follower`), as scenarios/status.py and
mqlab/processes/status_follow.py do on RabbitMQ.

The app and the workers publish each state change (queued; scanning, retrying, sent,
dead, quarantined) on the subject `<queue>.status`. A stream on that subject keeps them
(streams.py: limits retention, a day, at most 100 MB): any number of readers each read all
of them, and the publishers know none of them.

What a status event is worth: less than the job. `emit` is a plain NATS publish, never
acknowledged and never waited for (the stream stores it if the server is there), and never
raises. If the server is gone, the event is lost: the user's page shows an older state, and
the job itself goes on; its ack, not its status, tells the server the work is done.

A (re)started app reads the stream from its first message to rebuild every job's state,
then follows it live, with an ordered consumer: an ephemeral push consumer, kept by the
server in memory, that delivers the messages in order and starts over from the next one
when the client sees a gap. `caught_up` is set once the replay reached the last message
that was in the stream when the follower connected; until then, a job it has not seen yet
may still come, and the app answers 503 for an unknown job rather than a false 404.

A lost connection: capped backoff with jitter, one line when lost and one when back; the
reading resumes at the next sequence. The app's own events (up to MAX_PENDING) wait here
and are published then.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import ConsumerConfig, DeliverPolicy

from mqlab.amqp.settings import AmqpSettings, status_outage
from mqlab.jetstream.connection import (
    UNAVAILABLE,
    Lost,
    close_all,
    close_quietly,
    connect,
    quiet_lost_connections,
)
from mqlab.jetstream.consumer import Jobs
from mqlab.jetstream.streams import declare, status_stream_name, status_subject
from mqlab.job.status import Board, Event

log = logging.getLogger(__name__)

POLL_S = 0.2  # how often the follower looks at the stop flag
MAX_PENDING = 10_000  # the app's own events waiting for the server; the oldest go first


@dataclass(frozen=True)
class Events:
    """Where `emit` publishes: a fire-and-forget send and the status subject (no send:
    events are dropped)."""

    send: Callable[[str, bytes], None] | None
    subject: str


def events(jobs: Jobs, settings: AmqpSettings) -> Events:
    """A worker's events, on its own connection to the server."""
    return Events(jobs.send, status_subject(settings))


def emit(events: Events, job_id: str, state: str, detail: str = "") -> None:
    """One state change, now, to every reader. Fire and forget."""
    publish(events, Event.now(job_id, state, detail))


def publish(events: Events, event: Event) -> None:
    if events.send is None:
        return
    try:
        events.send(events.subject, event.to_bytes())
    except UNAVAILABLE as e:
        log.warning("status of job %s (%s) not published: %r", event.job, event.state, e)


class Follower:
    """`board`: every job's state, as the stream tells it. `tell(event)`: the app's own."""

    def __init__(self, settings: AmqpSettings, board: Board | None = None) -> None:
        self.settings = settings
        self.board = board if board is not None else Board()
        self.caught_up = threading.Event()
        self.replayed = 0  # events read before the replay reached its end
        self._pending: deque[Event] = deque(maxlen=MAX_PENDING)
        self._closed = threading.Event()
        self._next: int | None = None  # the stream sequence to read from after a reconnection
        self._end = 0  # the stream's last sequence when we first connected: the replay's end
        self._started = time.monotonic()
        self.outage = status_outage(settings, log)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="status", daemon=True)

    def start(self) -> Follower:
        self._thread.start()
        return self

    def tell(self, event: Event) -> None:
        """From a handler thread: known here at once, published by the follower's thread."""
        self.board.add(event)
        self._pending.append(event)
        self._poke()

    def close(self) -> None:
        self._closed.set()
        self._poke()
        self._thread.join(timeout=2 * POLL_S + self.settings.timeout_s)

    def _poke(self) -> None:
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # its loop closed meanwhile
                loop.call_soon_threadsafe(wake.set)

    # -- on the follower's thread

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        quiet_lost_connections(self._loop)
        try:
            while not self._closed.is_set():
                try:
                    await self._follow()
                except UNAVAILABLE as e:
                    await self._pause(self.outage.lost(e))
        finally:
            await close_all()  # one a timeout dropped as it came (see `Loop.close`)

    async def _pause(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while not self._closed.is_set() and time.monotonic() < end:
            await asyncio.sleep(min(POLL_S, max(end - time.monotonic(), 0.0)))

    async def _follow(self) -> None:
        lost = asyncio.Event()
        nc = await connect(self.settings, on_closed=lost.set, name="mqlab app status")
        try:
            js = nc.jetstream(timeout=self.settings.timeout_s)
            await declare(js, self.settings)
            state = (await js.stream_info(status_stream_name(self.settings))).state
            if self._next is None:  # the first time: the whole stream, up to its last message
                self._end = state.last_seq
                config = ConsumerConfig(deliver_policy=DeliverPolicy.ALL)
            else:  # back after an outage: from where we were
                config = ConsumerConfig(
                    deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=self._next
                )
            await js.subscribe(
                status_subject(self.settings), ordered_consumer=True, config=config, cb=self._read
            )
            if state.messages == 0 or self._end < max(self._next or 0, state.first_seq):
                self._caught_up()  # nothing (left) to replay
            self.outage.back()
            assert self._wake is not None
            while not self._closed.is_set():
                await self._flush(nc)
                if lost.is_set() or not nc.is_connected:
                    raise Lost("the connection to the NATS server closed")
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), POLL_S)
                self._wake.clear()
        finally:
            await close_quietly(nc)

    async def _read(self, msg: Msg) -> None:
        meta = msg.metadata
        sequence = int(meta.sequence.stream)
        self._next = sequence + 1
        try:
            event = Event.from_bytes(msg.data)
        except ValueError as e:  # not an event: skip it, do not stop reading
            log.warning("skipped a malformed status event: %s", e)
        else:
            self.board.add(event)
            if not self.caught_up.is_set():
                self.replayed += 1
        if not self.caught_up.is_set() and (sequence >= self._end or meta.num_pending == 0):
            self._caught_up()

    def _caught_up(self) -> None:
        if self.caught_up.is_set():
            return
        self.caught_up.set()
        log.info(
            "status log read: %d events, %d jobs, in %.1f s",
            self.replayed,
            len(self.board),
            time.monotonic() - self._started,
        )

    async def _flush(self, nc: Client) -> None:
        subject = status_subject(self.settings)
        while self._pending and nc.is_connected:
            event = self._pending.popleft()
            try:
                await nc.publish(subject, event.to_bytes())
            except UNAVAILABLE:
                self._pending.appendleft(event)  # published after the reconnection
                return
