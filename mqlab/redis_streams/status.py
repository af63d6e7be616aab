"""Job states as events on Redis: a stream `<queue>.status` that keeps them, and the app's
`Follower`, which reads it from the start into a `Board` and then follows it.

The app says "queued" (once Redis took the job), the workers everything after: scanning ->
sent, or retrying in N s, dead-lettered with its reason, quarantined when the scan found a
virus. Each change is one entry, `XADD <queue>.status MAXLEN ~ 100000 * event <json>`.
A stream is an append-only log: reading it (XREAD) removes nothing, any number of apps read
all of it, each from where it is, and an app that (re)starts rebuilds every job's state by
reading it from the first entry. Its retention: about the last MAXLEN events (`~`: Redis
trims whole nodes of the stream, so a little more); older ones are gone, and so is what a
restarted app could know of those jobs. The log lives in Redis: it survives a Redis restart
as the jobs do, with the server's durability (none: it is gone with them).

What a status event is worth: less than the job. A worker's `emit` never raises and never
waits: a thread of the worker's own sends it (as a RabbitMQ worker's publish does not wait
either); the one state told with the job's XACK, "sent", goes in the same MULTI/EXEC
(`hold`, `add_held`): Redis records both or neither, and the worker waits for one answer,
not two. If Redis is gone, the event is lost: the user's page shows an older state, and
the job itself goes on; its XACK, not its status, tells Redis the work is done. The app's
own events wait in the follower (at most MAX_PENDING) until Redis is back.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import deque
from typing import Any

import redis

from mqlab.amqp.settings import AmqpSettings, status_outage, status_stream
from mqlab.job.status import MAX_BATCH, Board, Event, not_published
from mqlab.redis_streams.connection import UNAVAILABLE, connect, stream_id

log = logging.getLogger(__name__)

MAXLEN = 100_000  # events the log keeps (about: `MAXLEN ~`)
EMIT_TIMEOUT_S = 1.0  # the longest a worker's job waits for one status event
POLL_MS = 100  # the follower's XREAD BLOCK: how long the app's own events wait, at most
READ_AT_ONCE = 1000  # events one XREAD returns
MAX_PENDING = 10_000  # the app's own events waiting for Redis; the oldest go first


class Events:
    """Where a worker's states go. `emit`: to a thread of its own, with a client of its own
    and a short timeout, which sends what waits in one round trip. `hold`: kept in `held`
    for the job's settling transaction (`add_held`)."""

    def __init__(self, settings: AmqpSettings) -> None:
        self.key = status_stream(settings)
        self.r = connect(settings, timeout=min(EMIT_TIMEOUT_S, settings.timeout_s))
        self.held: list[Event] = []
        self._waiting: deque[Event] = deque(maxlen=MAX_PENDING)
        self._wake = threading.Event()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="status", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Send what still waits (each try bounded by EMIT_TIMEOUT_S), then close."""
        self._closed = True
        self._wake.set()
        self._thread.join(timeout=2 * EMIT_TIMEOUT_S + 1)
        self.r.close()

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            while self._waiting:
                count = min(len(self._waiting), MAX_BATCH)
                publish(self, [self._waiting.popleft() for _ in range(count)])
            if self._closed:
                return


def emit(events: Events, job_id: str, state: str, detail: str = "") -> None:
    """One state change, now, to the log. Fire and forget: see the module's docstring."""
    events._waiting.append(Event.now(job_id, state, detail))
    events._wake.set()


def hold(events: Events, job_id: str, state: str, detail: str = "") -> None:
    """One state change that goes to the log with the job's XACK (`add_held`)."""
    events.held.append(Event.now(job_id, state, detail))


def add_held(tx: redis.client.Pipeline, events: Events) -> None:
    """Put the held states into the job's MULTI/EXEC: recorded with its XACK, or not at all."""
    for event in events.held:
        tx.xadd(events.key, {"event": event.to_bytes()}, maxlen=MAXLEN, approximate=True)
    events.held.clear()


def publish(events: Events, batch: list[Event]) -> None:
    """Several events in one round trip (a pipeline, not a transaction)."""
    pipe = events.r.pipeline(transaction=False)
    for event in batch:
        pipe.xadd(events.key, {"event": event.to_bytes()}, maxlen=MAXLEN, approximate=True)
    try:
        pipe.execute()
    except (redis.exceptions.RedisError, OSError) as e:  # whatever it is
        # Lost: nobody hears of these changes, and the jobs go on. A Redis that is gone fails
        # the job's XACK next, and another worker takes the job over.
        not_published(log, batch, e)


class Follower:
    """`board`: every job's state, as the log tells it. `tell(event)`: the app's own.

    One thread, one connection: it reads the log with XREAD from the first entry (`caught_up`
    is set once it reached the entry that was the last when it connected: until then a job
    it has not seen may still come, and the app answers 503 rather than a false 404), then
    follows it, blocking POLL_MS at a time; between two reads it publishes the app's own
    events. A lost connection: capped backoff with jitter, one line when lost and one when
    back; the reading resumes after the last entry read."""

    def __init__(self, settings: AmqpSettings, board: Board | None = None) -> None:
        self.settings = settings
        self.key = status_stream(settings)
        self.board = board if board is not None else Board()
        self.caught_up = threading.Event()
        self.replayed = 0  # events read before caught_up
        self._pending: deque[Event] = deque(maxlen=MAX_PENDING)
        self._next = "0-0"  # read after this entry id
        self._closed = threading.Event()
        self._started = time.monotonic()
        self.outage = status_outage(settings, log, "Redis")
        self._thread = threading.Thread(target=self._run, name="status", daemon=True)

    def start(self) -> Follower:
        self._thread.start()
        return self

    def tell(self, event: Event) -> None:
        """From a handler thread: known here at once, published by the follower's thread."""
        self.board.add(event)
        self._pending.append(event)

    def close(self) -> None:
        self._closed.set()
        self._thread.join(timeout=POLL_MS / 1000 + self.settings.timeout_s + 1)

    # -- on the follower's thread

    def _run(self) -> None:
        while not self._closed.is_set():
            r = connect(self.settings, health_check_s=self.settings.heartbeat_s)
            try:
                self._follow(r)
            except UNAVAILABLE as e:
                self._closed.wait(self.outage.lost(e))
            finally:
                r.close()
        with contextlib.suppress(*UNAVAILABLE):  # the last of the app's own, if Redis is there
            r = connect(self.settings, timeout=EMIT_TIMEOUT_S)
            try:
                self._flush(r)
            finally:
                r.close()

    def _follow(self, r: redis.Redis) -> None:
        last: Any = r.xrevrange(self.key, count=1)  # where the log ends now: the replay's goal
        goal = stream_id(last[0][0]) if last else (0, 0)
        self.outage.back()
        while not self._closed.is_set():
            self._flush(r)
            reply: Any = r.xread({self.key: self._next}, count=READ_AT_ONCE, block=POLL_MS)
            for _stream, entries in reply or []:
                for entry_id, fields in entries:
                    self._read(entry_id, fields)
            if not self.caught_up.is_set() and (not reply or stream_id(self._next) >= goal):
                self.caught_up.set()
                log.info(
                    "status log read: %d events, %d jobs, in %.1f s",
                    self.replayed,
                    len(self.board),
                    time.monotonic() - self._started,
                )

    def _read(self, entry_id: bytes, fields: dict[bytes, Any]) -> None:
        self._next = entry_id.decode("ascii")
        try:
            event = Event.from_bytes(fields.get(b"event", b""))
        except ValueError as e:  # not an event: skip it, do not stop reading
            log.warning("skipped a malformed status event: %s", e)
            return
        self.board.add(event)
        if not self.caught_up.is_set():
            self.replayed += 1

    def _flush(self, r: redis.Redis) -> None:
        """The app's own events, in one round trip. Not sent (Redis gone): they wait."""
        if not self._pending:
            return
        batch = [self._pending.popleft() for _ in range(len(self._pending))]
        pipe = r.pipeline(transaction=False)
        for event in batch:
            pipe.xadd(self.key, {"event": event.to_bytes()}, maxlen=MAXLEN, approximate=True)
        try:
            pipe.execute()
        except BaseException:
            self._pending.extendleft(reversed(batch))  # some may be there: the Board dedups
            raise
