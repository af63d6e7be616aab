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

With `--queue-type quorum` all three are quorum queues, replicated over a cluster, and the
broker does two things the worker does itself for classic queues: it counts deliveries
(`x-delivery-count`) and dead-letters a job to `<queue>.dead` once it came back unsettled
more than `max_redeliveries` times (`x-delivery-limit`: a crash loop ends there). Its
dead-lettering is at-least-once (`x-dead-letter-strategy`; it needs `x-overflow:
reject-publish`): a job is removed only once `<queue>.dead` confirmed it. The per-message
TTL of `<queue>.retry` and its dead-lettering back to `<queue>` work on quorum queues since
RabbitMQ 3.10 (checked on 3.10.8: a 300 ms backoff came back after 0.35 s).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel, BlockingConnection
from pika.spec import BasicProperties

from mqlab.amqp.settings import (
    AmqpSettings,
    close_quietly,
    dead_letter_queue,
    parameters,
    retry_queue,
    status_exchange,
    status_stream,
)

RETRIES_HEADER = "x-mqlab-retries"  # how many times the job went through <queue>.retry


REASON_HEADER = "x-mqlab-dead-reason"  # why the job is in <queue>.dead


MAX_BACKOFF_MS = 300_000


log = logging.getLogger(__name__)


def declare(channel: BlockingChannel, settings: AmqpSettings) -> None:
    """The exchange and queues both sides expect. Durable: they survive a broker restart.

    `--transient` makes only the queues (and their messages) non-durable; the exchange, which
    holds no messages, stays durable. A quorum queue is always durable (`--transient` with it
    is refused before this)."""
    channel.exchange_declare(settings.exchange, "direct", durable=True)
    work = quorum_arguments(settings, dead_letter_queue(settings.queue))
    if work is not None:  # the broker counts deliveries and ends a crash loop in .dead
        work["x-delivery-limit"] = settings.max_redeliveries
    channel.queue_declare(settings.queue, durable=settings.durable, arguments=work)
    channel.queue_bind(settings.queue, settings.exchange, routing_key=settings.routing_key)
    declare_retry_queues(channel, settings)


def declare_retry_queues(channel: BlockingChannel, settings: AmqpSettings) -> None:
    """`<queue>.retry` (expired messages go back to `<queue>`) and `<queue>.dead`."""
    back = {"x-dead-letter-exchange": "", "x-dead-letter-routing-key": settings.queue}
    channel.queue_declare(
        retry_queue(settings.queue),
        durable=settings.durable,
        arguments=quorum_arguments(settings, settings.queue) or back,
    )
    dead = {"x-queue-type": "quorum"} if settings.queue_type == "quorum" else None
    channel.queue_declare(
        dead_letter_queue(settings.queue), durable=settings.durable, arguments=dead
    )


def quorum_arguments(settings: AmqpSettings, dead_letters_to: str) -> dict[str, Any] | None:
    """A quorum queue's arguments, its dead letters going to the queue `dead_letters_to`
    (at least once: kept until that queue confirmed them); None for a classic queue."""
    if settings.queue_type != "quorum":
        return None
    return {
        "x-queue-type": "quorum",
        "x-dead-letter-exchange": "",  # the default exchange: routed by queue name
        "x-dead-letter-routing-key": dead_letters_to,
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",  # what at-least-once needs
    }


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
    """The message's headers without those RabbitMQ adds when it dead-letters (x-death...)
    or delivers from a quorum queue (x-delivery-count: a copy is a new message)."""
    return {
        k: v
        for k, v in (properties.headers or {}).items()
        if not k.startswith(("x-death", "x-first-death", "x-last-death", DELIVERY_COUNT_HEADER))
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


def delete_queue(settings: AmqpSettings) -> None:
    """Delete the queues mqlab declared itself (`<queue>`, `.retry`, `.dead`, `.status`).

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


def own_queues(settings: AmqpSettings) -> tuple[str, ...]:
    """The queues mqlab declares for `settings.queue`: it, its retry and dead-letter queues,
    and the stream of the jobs' states (scenarios/status.py)."""
    q = settings.queue
    return (q, retry_queue(q), dead_letter_queue(q), status_stream(settings))


@contextmanager
def declared_check(settings: AmqpSettings) -> Iterator[Callable[[tuple[str, ...]], bool]]:
    """`declared(names)`: whether every queue of `names` exists on the broker (False if it
    does not answer). One connection for every look, opened again only after it failed: a
    passive declare of a missing queue closes only its channel."""
    connection: BlockingConnection | None = None

    def declared(names: tuple[str, ...]) -> bool:
        nonlocal connection
        try:
            if connection is None or not connection.is_open:
                connection = pika.BlockingConnection(parameters(settings))
            for name in names:
                channel = connection.channel()
                channel.queue_declare(name, passive=True)  # a 404 closes the channel: raises
                channel.close()
            return True
        except (pika.exceptions.AMQPError, OSError):
            return False

    try:
        yield declared
    finally:
        if connection is not None:
            close_quietly(connection)


def _delete(settings: AmqpSettings, exchange: bool) -> None:
    """Each object on a channel of its own: one the broker will not delete (a stream lost
    with its node, a queue another connection holds exclusively) closes only its channel, and
    the others are still deleted."""
    try:
        connection = pika.BlockingConnection(parameters(settings))
    except (pika.exceptions.AMQPError, OSError):
        return
    queues = own_queues(settings)
    exchanges = (settings.exchange, status_exchange(settings)) if exchange else ()
    deletes = [(BlockingChannel.queue_delete, q) for q in queues]
    deletes += [(BlockingChannel.exchange_delete, x) for x in exchanges]
    try:
        for delete, name in deletes:
            if not connection.is_open:
                return
            try:
                channel = connection.channel()
                delete(channel, name)
                channel.close()
            except pika.exceptions.ChannelClosedByBroker:
                continue  # that one stays; the next channel deletes the next one
    except (pika.exceptions.AMQPError, OSError):
        pass
    finally:
        if connection.is_open:
            connection.close()


REDELIVERIES_HEADER = "x-mqlab-redeliveries"  # times the job came back unsettled
DELIVERY_COUNT_HEADER = "x-delivery-count"  # the same, counted by a quorum queue itself


def redeliveries(properties: BasicProperties) -> int:
    """How many times this job came back to the queue unsettled (a worker crashed or lost the
    broker while holding it); 0 on a job that never did. A classic queue's count is the
    worker's own header; a quorum queue's, the broker's."""
    headers = properties.headers or {}
    counts = (headers.get(REDELIVERIES_HEADER, 0), headers.get(DELIVERY_COUNT_HEADER, 0))
    return max((n for n in counts if isinstance(n, int) and n >= 0), default=0)


def crash_loop(properties: BasicProperties, max_redeliveries: int) -> str | None:
    """Why a job that came back unsettled is poison (its workers keep crashing on it), or
    None while it is under `max_redeliveries` and may go back to the queue."""
    n = redeliveries(properties)
    return f"redelivered {n + 1} times: its workers crash on it" if n >= max_redeliveries else None


def requeue_counted(later: Later, body: bytes, properties: BasicProperties) -> int:
    """A copy of a redelivered job at the back of the work queue, with one more redelivery in
    its header; returns that count. Confirmed before it returns: the caller acks the original
    only then (a crash in between leaves two copies, never none)."""
    count = redeliveries(properties) + 1
    later._publish(later.settings.queue, body, properties, {REDELIVERIES_HEADER: count})
    return count
