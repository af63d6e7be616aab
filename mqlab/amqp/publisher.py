"""The app's publisher: a confirmed publish within a deadline, awaited on the app's event
loop, and a breaker that answers "unavailable" at once while the broker is known to be down,
hung or blocked."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Literal

import aiormq
import aiormq.abc
import aiormq.exceptions
import pika
from pika.adapters.blocking_connection import BlockingChannel
from yarl import URL

from mqlab.amqp.queues import declare
from mqlab.amqp.settings import (
    UNAVAILABLE,
    AmqpSettings,
    DeadlinePassed,
    close_quietly,
    deadline,
    describe,
    in_turn,
    parameters,
    reconnect_delay,
)

log = logging.getLogger(__name__)

CONNECTION_NAME = "mqlab app: jobs"
Properties = aiormq.spec.Basic.Properties

# What a broker that is down, hung or unreachable raises through aiormq (a wait that ran out
# is a TimeoutError, an OSError on Python 3.11+)
LOST: tuple[type[BaseException], ...] = (
    aiormq.exceptions.AMQPConnectionError,
    aiormq.exceptions.ChannelInvalidStateError,
    asyncio.TimeoutError,
    *UNAVAILABLE,
)


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
    """Confirmed publishes on the app's event loop, each answered within
    `settings.publish_timeout_s` (connect included), behind a `Breaker`.

    One connection and one channel (aiormq) serve every signup: a publish is written at once
    and waits for its own confirm, which the broker may send for several together. A signup
    waiting for the broker holds no thread, and no signup waits for another's confirm.

    `start()` opens it on the loop before the first request, so that no signup waits for a
    handshake. A connection that failed a publish is dropped (its state is unknown); one that
    closed while idle (a broker restart, missed heartbeats) is replaced by the next publish.
    Each time one is opened, `prepare` (pika, on a thread of the loop's executor) declares
    the queues first: by default `declare`.
    """

    def __init__(
        self,
        settings: AmqpSettings,
        prepare: Callable[[BlockingChannel], None] | None = None,
    ) -> None:
        self.settings = settings
        self._prepare = prepare or (lambda channel: declare(channel, settings))
        self.breaker = Breaker(self._probe, settings.url, settings.reconnect_max_s)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._channel: aiormq.abc.AbstractChannel | None = None
        self._opening: asyncio.Lock | None = None

    async def start(self) -> None:
        """On the app's loop, before its first request: the connection, or a tripped breaker
        (the app starts anyway: 503 until the broker is back)."""
        self._loop = asyncio.get_running_loop()
        self._opening = asyncio.Lock()
        try:
            await self._take(time.monotonic() + self.settings.publish_timeout_s)
        except LOST as e:
            self.breaker.trip(e)

    async def publish(
        self,
        exchange: str,
        routing_key: str,
        body: bytes,
        properties: Properties,
        mandatory: bool = True,
    ) -> None:
        """Returns once the broker confirmed the message (with `--no-confirm`: once it is
        written); else raises Unavailable, within the publish timeout."""
        if not self.breaker.up:
            reason = f"the broker is unavailable ({self.breaker.reason})"
            raise Unavailable("not_taken", reason, self.breaker.retry_after_s())
        end = time.monotonic() + self.settings.publish_timeout_s
        try:
            channel = await self._take(end)
        except LOST as e:
            self.breaker.trip(e)
            raise Unavailable("not_taken", describe(e, self.settings.url)) from e
        try:
            await channel.basic_publish(
                body,
                exchange=exchange,
                routing_key=routing_key,
                properties=properties,
                mandatory=mandatory,
                timeout=max(end - time.monotonic(), 0.001),
            )
        except aiormq.exceptions.PublishError as e:  # returned: no queue took it, and it said so
            raise Unavailable("not_taken", "unroutable: no queue is bound for it") from e
        except aiormq.exceptions.DeliveryError as e:  # nacked: the broker refused it
            raise Unavailable("not_taken", "the broker refused the job (nack)") from e
        except aiormq.exceptions.ChannelClosed as e:
            # Refused with its channel (say, its exchange is gone); a lost connection closes
            # the channel too, and then nobody knows whether the broker took it.
            self._drop(channel)
            if channel.connection.is_closed:
                raise Unavailable("unknown", describe(e, self.settings.url)) from e
            raise Unavailable("not_taken", describe(e, self.settings.url)) from e
        except asyncio.CancelledError as e:
            if _cancelled_itself() or not channel.is_closed:
                raise  # this signup was cancelled (the server's forced stop)
            # its confirm was awaited on a connection dropped meanwhile (another's timed out)
            raise Unavailable("unknown", "the connection closed before the confirm came") from e
        except LOST as e:
            # Sent, and no confirm in time (a hung or blocked broker may still take it once it
            # resumes), or the connection went meanwhile. Only the first trips the breaker: a
            # lost node's connection is replaced by the next publish, on another node.
            self._drop(channel)
            if isinstance(e, asyncio.TimeoutError):
                e = DeadlinePassed(f"no confirm within {self.settings.publish_timeout_s:g} s")
                self.breaker.trip(e)
            raise Unavailable("unknown", describe(e, self.settings.url)) from e

    async def close(self) -> None:
        """On the loop, after the last answer: nothing is in flight (every 202 was confirmed)."""
        self.breaker.close()
        channel, self._channel = self._channel, None
        if channel is not None:
            await _close_quietly(channel.connection)

    async def _take(self, end: float) -> aiormq.abc.AbstractChannel:
        """The open channel, or a new one (and its connection) by `end`: one at a time."""
        channel = self._channel
        if channel is not None and not channel.is_closed:
            return channel
        return await asyncio.wait_for(self._reopen(end), max(end - time.monotonic(), 0.001))

    async def _reopen(self, end: float) -> aiormq.abc.AbstractChannel:
        assert self._opening is not None, "start() first"
        async with self._opening:
            channel = self._channel  # opened meanwhile by the publish that held the lock
            if channel is None or channel.is_closed:
                channel = self._channel = await self._open(end)
            return channel

    async def _open(self, end: float) -> aiormq.abc.AbstractChannel:
        """The queues declared (pika, off the loop), then a connection to the first node that
        answers, and a channel with confirms on; LOST after `end`."""
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(None, self._declare, end)
        except pika.exceptions.AMQPChannelError as e:
            # Refused, not unreachable: a quorum queue whose leader just died, say. It was
            # declared before; a publish that no queue takes comes back as unroutable.
            log.debug("declaring the queues failed (%s); publishing anyway", e)
        error: BaseException = DeadlinePassed("no node to try")
        for url in in_turn(self.settings):  # several URLs (a cluster): the first that answers
            left = end - time.monotonic()
            if left <= 0:
                break
            try:
                connection = await asyncio.wait_for(aiormq.connect(self._url(url)), left)
            except LOST as e:
                error = e
                continue
            try:
                return await asyncio.wait_for(
                    connection.channel(publisher_confirms=self.settings.confirm),
                    max(end - time.monotonic(), 0.001),
                )
            except BaseException:
                await _close_quietly(connection)
                raise
        raise error

    def _declare(self, end: float) -> None:
        params = parameters(self.settings, timeout=max(end - time.monotonic(), 0.1))
        connection = pika.BlockingConnection(params)
        try:
            with deadline(connection, end - time.monotonic()):
                self._prepare(connection.channel())
        finally:
            close_quietly(connection)

    def _url(self, url: str) -> str:
        return str(URL(url).update_query(heartbeat=self.settings.heartbeat_s, name=CONNECTION_NAME))

    def _drop(self, channel: aiormq.abc.AbstractChannel) -> None:
        """Stop using a channel whose state is unknown; its connection closes in the background."""
        if self._channel is channel:
            self._channel = None
        task = asyncio.ensure_future(_close_quietly(channel.connection))
        _CLOSING.add(task)
        task.add_done_callback(_CLOSING.discard)

    def _probe(self) -> None:
        """The breaker's test, from its thread: a new connection, and two confirmed publishes
        that no queue takes (the default exchange drops them, and still confirms them, unless
        publishers are blocked). Two, because under an alarm the broker may still confirm the
        publish that makes it block the connection; the second then gets no confirm."""
        loop = self._loop
        if loop is None or loop.is_closed():
            raise DeadlinePassed("the app's loop has stopped")
        wait = self.settings.publish_timeout_s
        future = asyncio.run_coroutine_threadsafe(self._try(time.monotonic() + wait), loop)
        try:
            future.result(wait + 1.0)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise DeadlinePassed(f"no answer within {wait:g} s") from None

    async def _try(self, end: float) -> None:
        assert self._opening is not None, "start() first"
        async with self._opening:  # not beside a publish's reopening: one would be left open
            channel = await self._open(end)
            try:
                for _ in range(2):  # a nack raises DeliveryError: still down
                    await channel.basic_publish(
                        b"",
                        routing_key=f"{self.settings.queue}.probe",
                        timeout=max(end - time.monotonic(), 0.001),
                    )
            except BaseException:
                await _close_quietly(channel.connection)
                raise
            old, self._channel = self._channel, channel
        if old is not None:
            self._drop(old)


def _cancelled_itself() -> bool:
    """Whether the running task is being cancelled, rather than a future it awaited (Python
    3.11+ tells; before, a cancelled future is taken for the task's own cancellation)."""
    task = asyncio.current_task()
    cancelling = getattr(task, "cancelling", None)
    return cancelling is None or cancelling() > 0


_CLOSING: set[asyncio.Future[None]] = set()  # closes under way: a task needs a reference


_CLOSE_ERRORS = (*LOST, aiormq.exceptions.AMQPError)


async def _close_quietly(connection: aiormq.abc.AbstractConnection, timeout: float = 1.0) -> None:
    """Close a connection that may already be half gone, or whose broker hangs: at most
    `timeout` seconds, and there is nobody to tell."""
    with contextlib.suppress(*_CLOSE_ERRORS):
        await asyncio.wait_for(connection.close(), timeout)
