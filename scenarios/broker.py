"""Mode 3 - broker: the handler puts the job on a durable RabbitMQ queue; workers send it.

The user gets 202 as soon as the broker has the job: the publish is persistent
(delivery_mode=2) on a durable queue, and we wait for the publisher confirm.
No confirm (broker down, a timeout) means 503: we never say "accepted" for a
job the broker does not hold.

Workers are separate processes. Each takes one job at a time (prefetch=1) and
acks it only after the SMTP server accepted the mail. If a worker dies before
the ack, the broker hands the job to another worker: nothing is lost, though a
mail sent just before the crash may be sent twice (at-least-once delivery).
If the app dies, the queue is in the broker, not in the app. If the broker
restarts, durable queues and persistent messages come back from disk. More
workers, on any machine, drain the same queue faster.

A mail server that says "try later" (4xx) sends the job to `<queue>.retry`,
where it waits out a growing backoff and then returns to the queue. A mail
server that says "never" (5xx), or one that still fails after --max-retries,
sends it to `<queue>.dead` with the reason: a job is acked only once it was
sent or parked somewhere safe, never acked and dropped.
"""

from __future__ import annotations

import logging
from typing import Literal, NamedTuple

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel
from pika.spec import BasicProperties

from mqlab.amqp import (
    AmqpSettings,
    ChannelPool,
    Later,
    declare_retry_queues,
    parameters,
    retries,
)
from mqlab.answer import Answer
from mqlab.consumer import Consumer, Delivery, HandedBack, Shutdown
from mqlab.ledger import ProcessedJobs
from mqlab.mail import MailError
from mqlab.mailjob import MailJob
from mqlab.signup import Job

log = logging.getLogger(__name__)


def declare(channel: BlockingChannel, settings: AmqpSettings) -> None:
    """The exchange and queue both sides expect. Durable: they survive a broker restart.

    `--transient` makes only the queue (and its messages) non-durable; the exchange, which
    holds no messages, stays durable."""
    channel.exchange_declare(settings.exchange, "direct", durable=True)
    channel.queue_declare(settings.queue, durable=settings.durable)
    channel.queue_bind(settings.queue, settings.exchange, routing_key=settings.routing_key)
    declare_retry_queues(channel, settings)  # <queue>.retry and <queue>.dead (mqlab/amqp.py)


class BrokerSignup:
    mode = "broker"

    def __init__(self, settings: AmqpSettings, handlers: int) -> None:
        self.settings = settings
        # pika channels are not thread-safe: a handler borrows one of these for its publish.
        # They are opened now, so that the first users do not wait for a broker handshake.
        self._channels = ChannelPool(self._open_channel, size=handlers)

    def handle(self, job: Job) -> Answer:
        try:
            with self._channels.borrow() as channel:  # one that fails is not given back
                channel.basic_publish(
                    exchange=self.settings.exchange,
                    routing_key=self.settings.routing_key,
                    body=job.to_bytes(),
                    properties=BasicProperties(
                        delivery_mode=2 if self.settings.durable else 1,  # 2 = persistent: on disk
                        message_id=job.id,
                        content_type="application/json",
                    ),
                    mandatory=True,  # no queue bound? an error, not a silent drop
                )  # with confirms on, this returns only once the broker has the message
        except (pika.exceptions.AMQPError, OSError) as e:
            # Broker down, unreachable, nacked or unroutable: the user must know it was NOT taken.
            log.warning("publish of job %s failed: %r", job.id, e)
            return Answer(503, {"error": "the mail queue is unavailable; please try again"})
        return Answer(202, {"job_id": job.id, "status": "queued"})

    def _open_channel(self) -> BlockingChannel:
        connection = pika.BlockingConnection(parameters(self.settings))
        channel = connection.channel()
        declare(channel, self.settings)
        if self.settings.confirm:
            channel.confirm_delivery()  # every publish now waits for the broker's ack
        return channel

    def backlog(self) -> int | None:
        return None  # the backlog lives in the broker: its queue depth

    def close(self) -> None:
        self._channels.close()  # nothing in flight here: every 202 was confirmed


class Verdict(NamedTuple):
    """What becomes of a job once the worker is done with it."""

    action: Literal["ack", "retry", "dead"]
    reason: str = ""


def consume(
    settings: AmqpSettings,
    mail_job: MailJob,
    shutdown: Shutdown,
    processed: ProcessedJobs | None = None,
) -> None:
    """One worker: take jobs from the queue until shutdown or until the connection drops."""
    connection = pika.BlockingConnection(parameters(settings))
    try:
        channel = connection.channel()
        declare(channel, settings)
        channel.basic_qos(prefetch_count=settings.prefetch)  # fair dispatch: one job at a time
        later = Later(connection, settings)  # moves a job to <queue>.retry or <queue>.dead

        def work(delivery: Delivery) -> Verdict:
            """The slow part, run as each job arrives (the scan keeps heartbeats flowing)."""
            try:
                job = Job.from_bytes(delivery.body)
            except (ValueError, KeyError, TypeError) as e:
                return Verdict("dead", f"malformed job: {e!r}")  # no retry can fix it
            if processed is not None and processed.seen(job.id):
                # --idempotent: sent already, but its worker died before the ack. Do not resend.
                return Verdict("ack", "already sent")
            # --idempotent: remember the job the moment its mail was accepted, before the ack.
            remember = (lambda: processed.add(job.id)) if processed is not None else None
            try:
                mail_job.run(job, on_sent=remember)  # scan + SMTP; still the broker's job
            except MailError as e:
                if not e.transient:
                    return Verdict("dead", f"permanent SMTP failure: {e}")  # e.g. 554
                if retries(delivery.properties) >= settings.max_retries:
                    return Verdict("dead", f"gave up after {settings.max_retries} retries: {e}")
                return Verdict("retry", str(e))  # e.g. 451, or no SMTP server: try again later
            except HandedBack:
                raise  # SIGTERM (or a lost connection) during the scan: back to the queue unsent
            except Exception as e:  # a bug, or input validation missed: retrying will not help
                log.exception("job %s failed", job.id)
                return Verdict("dead", f"error: {e!r}")
            return Verdict("ack")

        def settle(delivery: Delivery, verdict: Verdict) -> None:
            """Tell the broker what became of the job."""
            if verdict.action == "retry":
                wait_ms = later.retry(delivery.body, delivery.properties)
                log.warning(
                    "job %s not sent (%s): retry in %d ms",
                    delivery.properties.message_id,
                    verdict.reason,
                    wait_ms,
                )
            elif verdict.action == "dead":
                later.dead(delivery.body, delivery.properties, verdict.reason)
                log.error(
                    "job %s dead-lettered: %s", delivery.properties.message_id, verdict.reason
                )
            elif verdict.reason:
                log.info("job %s acked unsent: %s", delivery.properties.message_id, verdict.reason)
            if not settings.auto_ack:
                # Only now may the broker forget the job: a copy in .retry or .dead was
                # confirmed first. A crash before this line means the broker hands the job
                # to another worker (and maybe a second mail): never a lost job.
                channel.basic_ack(delivery.tag)

        Consumer(connection, channel, work, settle, shutdown).run(settings.queue, settings.auto_ack)
    finally:
        if connection.is_open:
            connection.close()  # whatever we still hold un-acked goes back to the queue
