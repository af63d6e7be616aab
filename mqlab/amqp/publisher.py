"""The app's publisher: a confirmed publish within a deadline, and a breaker that answers
"unavailable" at once while the broker is known to be down, hung or blocked."""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections.abc import Callable
from typing import Literal

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel
from pika.spec import BasicProperties

from mqlab.amqp.queues import declare
from mqlab.amqp.settings import (
    UNAVAILABLE,
    AmqpSettings,
    Blocked,
    close_quietly,
    deadline,
    describe,
    parameters,
    reconnect_delay,
)

log = logging.getLogger(__name__)


Outcome = Literal["not_taken", "unknown"]

EXPLAIN: dict[Outcome, str] = {
    "not_taken": "the mail queue is unavailable and did not take the job; please try again",
    "unknown": "the mail queue did not confirm the job in time: it may still be sent; "
    "retry with the same X-Job-Id header, so that it is sent once",
}


class Unavailable(Exception):
    """The broker did not confirm the job: never a 202.

    `outcome` "not_taken": the job never left this process (the broker was known to be
    unavailable, or the connection failed first) or the broker refused it (nack, unroutable).
    "unknown": it was written to the broker's socket, but no confirm came back in time; a
    hung or blocked broker may still take it once it resumes, and deliver it."""

    def __init__(self, outcome: Outcome, reason: str, retry_after_s: int = 1) -> None:
        super().__init__(reason)
        self.outcome: Outcome = outcome
        self.retry_after_s = retry_after_s

    def body(self, job_id: str) -> dict[str, str]:
        """What a 503 tells the user: whether the job surely was not taken, or nobody knows."""
        return {"error": EXPLAIN[self.outcome], "outcome": self.outcome, "job_id": job_id}


class Breaker:
    """Whether the broker is worth a try now. `trip()` once it is known unavailable (a
    timeout, a blocked connection, a failed connect): `up` is False at once, so callers
    answer without touching a socket, and one background thread calls `probe` with capped,
    jittered backoff until it succeeds. One log line when it trips, one when it is back.
    Whatever the probe raises is a failed probe: the thread never dies of it (a Redis client
    closed under it raised ValueError and ended the recovery for good)."""

    def __init__(self, probe: Callable[[], None], url: str, cap_s: float) -> None:
        self._probe, self._url, self._cap_s = probe, url, cap_s
        self._lock = threading.Lock()
        self._down_since: float | None = None
        self._next_try = 0.0
        self._closed = threading.Event()
        self.reason = ""

    @property
    def up(self) -> bool:
        return self._down_since is None

    def retry_after_s(self) -> int:
        """Whole seconds until the next probe (at least 1): a client's Retry-After."""
        return max(1, math.ceil(self._next_try - time.monotonic()))

    def trip(self, error: BaseException) -> None:
        with self._lock:
            if self._down_since is not None or self._closed.is_set():
                return
            self._down_since = time.monotonic()
            self.reason = describe(error, self._url)
        log.warning("lost the broker (%s); answering 503 until it is back", self.reason)
        threading.Thread(target=self._recover, name="broker-probe", daemon=True).start()

    def _recover(self) -> None:
        attempt = 0
        while True:
            wait = reconnect_delay(attempt, self._cap_s)
            self._next_try = time.monotonic() + wait
            if self._closed.wait(wait):
                return
            try:
                self._probe()
            except Exception as e:  # any failed probe keeps the breaker open
                if self._closed.is_set():
                    return  # closed meanwhile: the probe's client went from under it
                reason, self.reason = self.reason, describe(e, self._url)
                if not isinstance(e, UNAVAILABLE) and self.reason != reason:
                    # a client's own error, say: one line for it, and keep trying
                    log.warning("the broker probe failed (%s); trying again", self.reason)
                attempt += 1
                continue
            with self._lock:  # the line first: no answer that it is back comes before it
                since = self._down_since or time.monotonic()
                log.info("the broker is back after %.1f s", time.monotonic() - since)
                self._down_since = None
            return

    def close(self) -> None:
        self._closed.set()


class Publisher:
    """Confirmed publishes for the app's handler threads, each answered within
    `settings.publish_timeout_s` (connect included), behind a `Breaker`.

    A pika channel (and its connection) is not thread-safe: a publish borrows an idle one and
    gives it back afterwards. `size` are opened at once, so that the first signups do not
    wait for a broker handshake each. With none idle, a publish opens a new one. A channel
    whose publish failed is closed, not given back: its state is unknown. One that sat idle
    is checked first: the broker may have restarted meanwhile, or dropped it for heartbeats
    it missed (nobody calls pika while it sits here).

    Each channel is prepared by `prepare(channel)`: by default, `declare` the queues and turn
    publisher confirms on (unless `--no-confirm`).
    """

    def __init__(
        self,
        settings: AmqpSettings,
        size: int,
        prepare: Callable[[BlockingChannel], None] | None = None,
    ) -> None:
        self.settings = settings
        self._prepare = prepare or self._declare_and_confirm
        self._idle: queue.SimpleQueue[BlockingChannel] = queue.SimpleQueue()
        self.breaker = Breaker(self._probe, settings.url, settings.reconnect_max_s)
        try:
            for _ in range(size):
                self._idle.put(self._open(time.monotonic() + settings.publish_timeout_s))
        except UNAVAILABLE as e:  # the app starts anyway: 503 until the broker is back
            self.breaker.trip(e)

    def publish(
        self,
        exchange: str,
        routing_key: str,
        body: bytes,
        properties: BasicProperties,
        mandatory: bool = True,
    ) -> None:
        """Returns once the broker confirmed the message; else raises Unavailable, within
        the publish timeout."""
        if not self.breaker.up:
            reason = f"the broker is unavailable ({self.breaker.reason})"
            raise Unavailable("not_taken", reason, self.breaker.retry_after_s())
        end = time.monotonic() + self.settings.publish_timeout_s
        try:
            channel = self._take(end)
        except UNAVAILABLE as e:
            self.breaker.trip(e)
            raise Unavailable("not_taken", describe(e, self.settings.url)) from e
        try:
            with deadline(channel.connection, end - time.monotonic()):
                channel.basic_publish(exchange, routing_key, body, properties, mandatory)
        except pika.exceptions.AMQPChannelError as e:
            # Nacked, unroutable, refused with its channel, or a channel closed before the
            # write: the broker does not hold it, and said so.
            close_quietly(channel.connection)
            raise Unavailable("not_taken", describe(e, self.settings.url)) from e
        except UNAVAILABLE as e:
            close_quietly(channel.connection)
            self.breaker.trip(e)
            if isinstance(e, pika.exceptions.ConnectionWrongStateError):  # closed before it
                raise Unavailable("not_taken", describe(e, self.settings.url)) from e
            raise Unavailable("unknown", describe(e, self.settings.url)) from e
        self._idle.put(channel)

    def close(self) -> None:
        self.breaker.close()
        while True:
            try:
                close_quietly(self._idle.get_nowait().connection)
            except queue.Empty:
                return

    def _declare_and_confirm(self, channel: BlockingChannel) -> None:
        declare(channel, self.settings)
        if self.settings.confirm:
            channel.confirm_delivery()  # every publish now waits for the broker's ack

    def _take(self, end: float) -> BlockingChannel:
        while True:
            try:
                channel = self._idle.get_nowait()
            except queue.Empty:
                return self._open(end)
            if _alive(channel):
                return channel
            close_quietly(channel.connection)

    def _open(self, end: float) -> BlockingChannel:
        """A new connection and a prepared channel on it, by `end` (a monotonic time)."""
        # Several URLs (a cluster): the first node that answers; after a lost one, another.
        params = parameters(self.settings, timeout=max(end - time.monotonic(), 0.1))
        connection = pika.BlockingConnection(params)
        try:
            with deadline(connection, end - time.monotonic()):
                channel = connection.channel()
                self._prepare(channel)
        except BaseException:
            close_quietly(connection)
            raise
        # A memory or disk alarm: the broker stops reading from publishers and says so.
        # Called on pika's loop, during the publish that met it: the others answer at once.
        connection._impl.add_on_connection_blocked_callback(
            lambda *_: self.breaker.trip(Blocked("a memory or disk alarm"))
        )
        return channel

    def _probe(self) -> None:
        """The breaker's test: a new channel, and two confirmed publishes that no queue takes
        (the default exchange drops them, and still confirms them, unless publishers are
        blocked). Two, because under an alarm the broker may still confirm the publish that
        makes it block the connection; the second then gets no confirm. The channel then
        joins the idle ones."""
        end = time.monotonic() + self.settings.publish_timeout_s
        channel = self._open(end)
        try:
            with deadline(channel.connection, end - time.monotonic()):
                for _ in range(2):
                    channel.basic_publish("", f"{self.settings.queue}.probe", b"")
        except BaseException:
            close_quietly(channel.connection)
            raise
        self._idle.put(channel)


def _alive(channel: BlockingChannel) -> bool:
    """Still open after reading what the broker sent meanwhile (a close, a lost socket)?"""
    if not channel.is_open:
        return False
    try:
        channel.connection.process_data_events(time_limit=0)
    except UNAVAILABLE:
        return False
    return bool(channel.is_open)
