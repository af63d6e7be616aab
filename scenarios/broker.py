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
"""

from __future__ import annotations

import logging
import threading

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel
from pika.spec import Basic, BasicProperties

from mqlab.amqp import AmqpSettings, parameters
from mqlab.answer import Answer
from mqlab.mail import MailError
from mqlab.mailjob import MailJob
from mqlab.signup import Job

log = logging.getLogger(__name__)


def declare(channel: BlockingChannel, settings: AmqpSettings) -> None:
    """The exchange and queue both sides expect. Durable: they survive a broker restart."""
    channel.exchange_declare(settings.exchange, "direct", durable=settings.durable)
    channel.queue_declare(settings.queue, durable=settings.durable)
    channel.queue_bind(settings.queue, settings.exchange, routing_key=settings.routing_key)


class BrokerSignup:
    mode = "broker"

    def __init__(self, settings: AmqpSettings) -> None:
        self.settings = settings
        # pika channels are not thread-safe: each HTTP handler thread gets its own.
        self._local = threading.local()

    def handle(self, job: Job) -> Answer:
        try:
            channel = self._channel()
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
            self._forget_channel()
            log.warning("publish of job %s failed: %r", job.id, e)
            return Answer(503, {"error": "the mail queue is unavailable; please try again"})
        return Answer(202, {"job_id": job.id, "status": "queued"})

    def _channel(self) -> BlockingChannel:
        channel: BlockingChannel | None = getattr(self._local, "channel", None)
        if channel is None or channel.is_closed:
            self._forget_channel()
            connection = pika.BlockingConnection(parameters(self.settings))
            channel = connection.channel()
            declare(channel, self.settings)
            if self.settings.confirm:
                channel.confirm_delivery()  # every publish now waits for the broker's ack
            self._local.connection, self._local.channel = connection, channel
        return channel

    def _forget_channel(self) -> None:
        connection = getattr(self._local, "connection", None)
        self._local.connection = self._local.channel = None
        if connection is not None and connection.is_open:
            try:
                connection.close()
            except (pika.exceptions.AMQPError, OSError):
                pass

    def backlog(self) -> int | None:
        return None  # the backlog lives in the broker: its queue depth

    def close(self) -> None:
        self._forget_channel()  # nothing in flight here: every 202 was confirmed


def consume(settings: AmqpSettings, mail_job: MailJob) -> None:
    """One worker: take jobs from the queue until the connection drops."""
    connection = pika.BlockingConnection(parameters(settings))
    channel = connection.channel()
    declare(channel, settings)
    channel.basic_qos(prefetch_count=settings.prefetch)  # fair dispatch: one job at a time

    def on_message(
        ch: BlockingChannel, method: Basic.Deliver, properties: BasicProperties, body: bytes
    ) -> None:
        job = Job.from_bytes(body)
        try:
            mail_job.run(job)  # scan + SMTP; the job is still the broker's until we ack
        except MailError as e:
            # Not sent: hand the job back so it is tried again (by us or another worker).
            log.warning("job %s not sent, requeued: %s", job.id, e)
            if not settings.auto_ack:
                ch.basic_nack(method.delivery_tag, requeue=True)
            return
        if not settings.auto_ack:
            # Only now may the broker forget the job. A crash before this line
            # means redelivery to another worker (and maybe a second mail).
            ch.basic_ack(method.delivery_tag)

    channel.basic_consume(settings.queue, on_message, auto_ack=settings.auto_ack)
    try:
        channel.start_consuming()
    finally:
        if connection.is_open:
            connection.close()
