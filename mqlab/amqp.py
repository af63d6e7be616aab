"""AMQP settings shared by the broker-mode app and its workers, and the retry plumbing.

Besides the work queue `<queue>` there are two queues derived from its name:

- `<queue>.retry`: a waiting room for transient failures. Each message carries its own TTL
  (the backoff: `retry_delay_ms`, doubling with every retry); when it expires, RabbitMQ
  dead-letters it back to `<queue>` through the default exchange. Per-message TTLs expire
  only at the head of the queue, so a long wait can hold back a shorter one behind it: a job
  may wait longer than its backoff, never shorter.
- `<queue>.dead`: jobs no retry can help (a permanent SMTP failure, retries exhausted, a
  malformed message), kept with an `x-mqlab-dead-reason` header for a human to look at.

Both are declared durable when the work queue is, so a broker restart keeps them.
"""

from __future__ import annotations

import contextlib
import logging
import math
import queue
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel, BlockingConnection
from pika.adapters.utils.connection_workflow import AMQPConnectorException
from pika.spec import BasicProperties

ROUTING_KEY = "signup.welcome"  # as in the course notes
EXCHANGE = "mqlab"
QUEUE = "mqlab.signup.welcome"

RETRIES_HEADER = "x-mqlab-retries"  # how many times the job went through <queue>.retry
REASON_HEADER = "x-mqlab-dead-reason"  # why the job is in <queue>.dead
MAX_BACKOFF_MS = 300_000

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AmqpSettings:
    url: str = "amqp://guest:guest@localhost:5672/%2F"
    exchange: str = EXCHANGE
    queue: str = QUEUE
    routing_key: str = ROUTING_KEY
    prefetch: int = 1
    confirm: bool = True  # publisher confirms: answer 202 only once the broker has the job
    durable: bool = True  # durable queue + persistent messages: they survive a broker restart
    auto_ack: bool = False  # manual acks: a job is forgotten only after the mail was sent
    heartbeat_s: int = 30
    timeout_s: float = 5.0
    publish_timeout_s: float = 3.0  # the app: confirmed (202) or 503 within this, connect included
    reconnect_max_s: float = 10.0  # the longest wait between two reconnection attempts
    max_retries: int = 5  # transient failures: retries after the first try, then <queue>.dead
    retry_delay_ms: float = 1000.0  # the first backoff; it doubles with every retry
    max_redeliveries: int = 5  # a job its workers never settled (crashed): then <queue>.dead


def retry_queue(queue: str) -> str:
    """Where a job waits out its backoff before it returns to `queue`."""
    return f"{queue}.retry"


def dead_letter_queue(queue: str) -> str:
    """Where jobs that no retry can help end up (read it to count dead-lettered jobs)."""
    return f"{queue}.dead"


def parameters(settings: AmqpSettings) -> pika.URLParameters:
    params = pika.URLParameters(settings.url)
    params.heartbeat = settings.heartbeat_s
    params.blocked_connection_timeout = settings.timeout_s
    params.socket_timeout = settings.timeout_s
    params.stack_timeout = settings.timeout_s
    params.connection_attempts = 1
    return params


# -- a broker that is down, hung or blocked: every wait bounded ---------------------------------


class DeadlinePassed(Exception):
    """The broker did not answer in time, and the connection was dropped (see `deadline`)."""


class Blocked(Exception):
    """The broker blocks publishers: a memory or disk alarm."""


# What a broker that is down, hung, blocked or unreachable raises. pika's connection workflow
# raises exceptions of its own (a handshake that timed out is AMQPConnectorStackTimeout),
# which are not AMQPErrors.
UNAVAILABLE: tuple[type[Exception], ...] = (
    pika.exceptions.AMQPError,
    AMQPConnectorException,
    DeadlinePassed,
    OSError,
)

Outcome = Literal["not_taken", "unknown"]


@contextlib.contextmanager
def deadline(connection: BlockingConnection, seconds: float) -> Iterator[None]:
    """Every blocking call on `connection` inside the block ends within `seconds`: then the
    connection is dropped, without the closing handshake a hung broker would never answer,
    and the call raises DeadlinePassed.

    pika bounds a handshake (stack_timeout) and a blocked connection, but not an RPC or a
    publisher confirm: a frozen broker held them until it resumed. This is a timer on pika's
    own I/O loop (BlockingConnection keeps its asynchronous connection in `_impl`), which
    ends the stream the way pika's heartbeat checker does."""
    core: Any = connection._impl
    late = DeadlinePassed(f"no answer from the broker within {seconds:.1f} s")
    timer = core.ioloop.call_later(max(seconds, 0.0), lambda: core._terminate_stream(late))
    try:
        yield
    finally:
        core.ioloop.remove_timeout(timer)


def close_quietly(connection: BlockingConnection, timeout: float = 1.0) -> None:
    """Close a connection that may already be half gone, or whose broker hangs: at most
    `timeout` seconds, and there is nobody to tell."""
    if connection.is_open:
        with contextlib.suppress(*UNAVAILABLE), deadline(connection, timeout):
            connection.close()


def describe(error: BaseException, url: str) -> str:
    """One line for a log: the error's type and text, the URL's password masked."""
    text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    password = urlsplit(url).password
    for secret in {password, unquote(password or "")} - {None, ""}:
        text = text.replace(str(secret), "****")
    return " ".join(text.split())[:300]


def reconnect_delay(attempt: int, cap_s: float, base_s: float = 0.1) -> float:
    """Capped exponential backoff with full jitter: a random wait up to base * 2^attempt, at
    most `cap_s`, so that many clients that lost the same broker do not return in step."""
    return random.uniform(0.0, min(cap_s, base_s * 2 ** min(attempt, 30)))


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


class Breaker:
    """Whether the broker is worth a try now. `trip()` once it is known unavailable (a
    timeout, a blocked connection, a failed connect): `up` is False at once, so callers
    answer without touching a socket, and one background thread calls `probe` with capped,
    jittered backoff until it succeeds. One log line when it trips, one when it is back."""

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
            except UNAVAILABLE as e:
                self.reason = describe(e, self._url)
                attempt += 1
                continue
            with self._lock:
                since, self._down_since = self._down_since or time.monotonic(), None
            log.info("the broker is back after %.1f s", time.monotonic() - since)
            return

    def close(self) -> None:
        self._closed.set()


class Publisher:
    """Confirmed publishes for the app's handler threads, each answered within
    `settings.publish_timeout_s` (connect included), behind a `Breaker`.

    A pika channel (and its connection) is not thread-safe: a publish borrows an idle one and
    gives it back afterwards. `size` are opened at once, so that the first signups do not
    wait for a broker handshake each (when each connection thread opened its own, eight to
    sixteen at the start of a run answered their first signups up to 107-156 ms late at
    550/s on the 2-core VM; opening eight here takes about 50 ms). With none idle, a publish
    opens a new one. A channel whose publish failed is closed, not given back: its state is
    unknown. One that sat idle is checked first: the broker may have restarted meanwhile, or
    dropped it for heartbeats it missed (nobody calls pika while it sits here).

    `prepare(channel)` declares what the publishes need and turns confirms on.
    """

    def __init__(
        self, settings: AmqpSettings, prepare: Callable[[BlockingChannel], None], size: int
    ) -> None:
        self.settings = settings
        self._prepare = prepare
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
        params = parameters(self.settings)
        params.socket_timeout = params.stack_timeout = max(end - time.monotonic(), 0.1)
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
        """The breaker's test: a new channel, and one confirmed publish that no queue takes
        (the default exchange drops it, and still confirms it, unless publishers are
        blocked). It then joins the idle channels."""
        end = time.monotonic() + self.settings.publish_timeout_s
        channel = self._open(end)
        try:
            with deadline(channel.connection, end - time.monotonic()):
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


def quiet_pika_logs() -> None:
    """For the app and worker processes: pika logs every failed connection attempt several
    times over, with tracebacks. Our own one-line warnings say what failed (password masked)."""
    logging.getLogger("pika").setLevel(logging.CRITICAL)


def declare_retry_queues(channel: BlockingChannel, settings: AmqpSettings) -> None:
    """`<queue>.retry` (expired messages go back to `<queue>`) and `<queue>.dead`."""
    channel.queue_declare(
        retry_queue(settings.queue),
        durable=settings.durable,
        arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": settings.queue},
    )
    channel.queue_declare(dead_letter_queue(settings.queue), durable=settings.durable)


def retries(properties: BasicProperties) -> int:
    """How many times this job has been retried already (0 on its first delivery)."""
    value = (properties.headers or {}).get(RETRIES_HEADER, 0)
    return value if isinstance(value, int) and value >= 0 else 0


def backoff_ms(settings: AmqpSettings, retries_done: int) -> int:
    """The wait before retry number `retries_done + 1`: exponential, capped."""
    return int(min(settings.retry_delay_ms * 2 ** min(retries_done, 30), MAX_BACKOFF_MS))


class Later:
    """Moves a job to `<queue>.retry` or `<queue>.dead`, on a channel of its own with confirms.

    Each method returns only once the broker has the copy; the caller acks the original
    after that. A crash in between leaves two copies (a possible second mail), never none.
    Call from the connection's thread only.
    """

    def __init__(self, connection: BlockingConnection, settings: AmqpSettings) -> None:
        self.settings = settings
        self.channel = connection.channel()
        self.channel.confirm_delivery()

    def retry(self, body: bytes, properties: BasicProperties) -> int:
        """Park the job in `<queue>.retry` for its backoff; returns the wait in ms."""
        done = retries(properties)
        delay = backoff_ms(self.settings, done)
        self._publish(
            retry_queue(self.settings.queue),
            body,
            properties,
            {RETRIES_HEADER: done + 1},
            expiration=str(delay),
        )
        return delay

    def dead(self, body: bytes, properties: BasicProperties, reason: str) -> None:
        """Put the job in `<queue>.dead`, with the reason in a header."""
        self._publish(
            dead_letter_queue(self.settings.queue), body, properties, {REASON_HEADER: reason[:1000]}
        )

    def _publish(
        self,
        queue: str,
        body: bytes,
        original: BasicProperties,
        headers: dict[str, Any],
        expiration: str | None = None,
    ) -> None:
        self.channel.basic_publish(
            exchange="",  # the default exchange routes by queue name
            routing_key=queue,
            body=body,
            properties=BasicProperties(
                delivery_mode=2 if self.settings.durable else 1,
                message_id=original.message_id,
                content_type=original.content_type,
                headers={**_own_headers(original), **headers},
                expiration=expiration,
            ),
            mandatory=True,  # no such queue: an error, and the original is not acked
        )


def _own_headers(properties: BasicProperties) -> dict[str, Any]:
    """The message's headers without those RabbitMQ adds when it dead-letters (x-death...)."""
    return {
        k: v
        for k, v in (properties.headers or {}).items()
        if not k.startswith(("x-death", "x-first-death", "x-last-death"))
    }


def dead_job_ids(settings: AmqpSettings) -> list[str]:
    """The job ids parked in `<queue>.dead`, read without taking them out (none if unreachable).

    Each message is fetched and then handed back (nack with requeue), so the dead-letter
    queue keeps what it holds for a person to look at.
    """
    try:
        connection = pika.BlockingConnection(parameters(settings))
    except (pika.exceptions.AMQPError, OSError):
        return []
    ids: list[str] = []
    try:
        channel = connection.channel()
        while True:
            method, properties, _ = channel.basic_get(dead_letter_queue(settings.queue))
            if method is None:
                break
            ids.append(str(properties.message_id))
        channel.close()  # closing without acks hands every fetched message back
    except (pika.exceptions.AMQPError, OSError):
        pass
    finally:
        if connection.is_open:
            connection.close()
    return ids


def private_settings(url: str, durable: bool = True) -> AmqpSettings:
    """An exchange and a queue of their own (`*.run-<tag>`) for one run, test or measurement.

    Nothing else publishes to them or consumes from them: on the shared `mqlab` exchange,
    every queue bound with `signup.welcome` would get a copy of every job, so a run would
    leak jobs into a person's demo queue (and the other way round).
    `delete_run_objects` removes them afterwards.
    """
    tag = uuid.uuid4().hex[:8]
    return AmqpSettings(
        url=url, exchange=f"{EXCHANGE}.run-{tag}", queue=f"{QUEUE}.run-{tag}", durable=durable
    )


def delete_queue(settings: AmqpSettings) -> None:
    """Delete the queues mqlab declared itself (`<queue>`, `.retry`, `.dead`).

    Silent if they are gone or the broker does not answer.
    """
    _delete(settings, exchange=False)


def delete_run_objects(settings: AmqpSettings) -> None:
    """Delete what a run declared for itself: its queues and its exchange.

    Only for a run's own names (`*.run-<tag>`), never the shared defaults that a person's
    `serve` and `worker` use.
    """
    if ".run-" not in settings.queue or ".run-" not in settings.exchange:
        raise ValueError(f"refusing to delete {settings.queue!r}: not a run's own queue")
    _delete(settings, exchange=True)


def _delete(settings: AmqpSettings, exchange: bool) -> None:
    try:
        connection = pika.BlockingConnection(parameters(settings))
    except (pika.exceptions.AMQPError, OSError):
        return
    try:
        for name in (
            settings.queue,
            retry_queue(settings.queue),
            dead_letter_queue(settings.queue),
        ):
            channel = connection.channel()
            channel.queue_delete(name)
            channel.close()
        if exchange:
            channel = connection.channel()
            channel.exchange_delete(settings.exchange)
            channel.close()
    except (pika.exceptions.AMQPError, OSError):
        pass
    finally:
        if connection.is_open:
            connection.close()


# -- redeliveries: a job its workers crash on, counted on a copy of it ---------------------------

REDELIVERIES_HEADER = "x-mqlab-redeliveries"  # times the job came back unsettled


def redeliveries(properties: BasicProperties) -> int:
    """How many times this job came back to the queue unsettled (a worker crashed or lost the
    broker while holding it); 0 on a job that never did."""
    value = (properties.headers or {}).get(REDELIVERIES_HEADER, 0)
    return value if isinstance(value, int) and value >= 0 else 0


def requeue_counted(later: Later, body: bytes, properties: BasicProperties) -> int:
    """A copy of a redelivered job at the back of the work queue, with one more redelivery in
    its header; returns that count. Confirmed before it returns: the caller acks the original
    only then (a crash in between leaves two copies, never none)."""
    count = redeliveries(properties) + 1
    later._publish(later.settings.queue, body, properties, {REDELIVERIES_HEADER: count})
    return count
