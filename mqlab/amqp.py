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
import queue
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel, BlockingConnection
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
    max_retries: int = 5  # transient failures: retries after the first try, then <queue>.dead
    retry_delay_ms: float = 1000.0  # the first backoff; it doubles with every retry


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


class ChannelPool:
    """Channels for the app's handler threads. A pika channel (and its connection) is not
    thread-safe: a handler borrows one for its publish and gives it back afterwards.

    `size` channels are opened at once, so that the first signups do not wait for a broker
    handshake each (when each connection thread opened its own, eight to sixteen at the
    start of a run answered its first signups up to 107-156 ms late at 550/s, on the 2-core
    VM; opening eight here takes about 50 ms). A handler never waits for a channel: with none
    idle (the broker was down at start-up, or one failed), it opens a new one. A channel
    whose publish raised is closed, not given back: its state is unknown. One that sat idle
    is checked first: the broker may have restarted meanwhile, or dropped it for heartbeats
    it missed (nobody calls pika while it sits here).
    """

    def __init__(self, open_channel: Callable[[], BlockingChannel], size: int) -> None:
        self._open = open_channel
        self._idle: queue.SimpleQueue[BlockingChannel] = queue.SimpleQueue()
        for _ in range(size):
            try:
                self._idle.put(open_channel())
            except (pika.exceptions.AMQPError, OSError) as e:
                log.warning("no channel to the broker yet (opened on demand later): %r", e)
                return

    @contextlib.contextmanager
    def borrow(self) -> Iterator[BlockingChannel]:
        channel = self._take()
        try:
            yield channel
        except BaseException:
            close_quietly(channel.connection)
            raise
        self._idle.put(channel)

    def close(self) -> None:
        while True:
            try:
                close_quietly(self._idle.get_nowait().connection)
            except queue.Empty:
                return

    def _take(self) -> BlockingChannel:
        while True:
            try:
                channel = self._idle.get_nowait()
            except queue.Empty:
                return self._open()
            if _alive(channel):
                return channel
            close_quietly(channel.connection)


def _alive(channel: BlockingChannel) -> bool:
    """Still open after reading what the broker sent meanwhile (a close, a lost socket)?"""
    if not channel.is_open:
        return False
    try:
        channel.connection.process_data_events(time_limit=0)
    except (pika.exceptions.AMQPError, OSError):
        return False
    return bool(channel.is_open)


def close_quietly(connection: BlockingConnection) -> None:
    """Close a connection that may already be half gone; there is nobody to tell."""
    if connection.is_open:
        with contextlib.suppress(pika.exceptions.AMQPError, OSError):
            connection.close()


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
