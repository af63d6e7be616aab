"""Mode 3 - broker: the handler puts the job on a durable RabbitMQ queue and answers at once.

The user gets 202 as soon as the broker has the job: the publish is persistent
(delivery_mode=2) on a durable queue, and we wait for the publisher confirm.
No confirm (broker down, a timeout) means 503: we never say "accepted" for a
job the broker does not hold.

The mail itself is sent by worker processes: `scenarios/worker.py`. If the app
dies, the queue is in the broker, not in the app. If the broker restarts,
durable queues and persistent messages come back from disk.
"""

from __future__ import annotations

import logging

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel
from pika.spec import BasicProperties

from mqlab.amqp import AmqpSettings, ChannelPool, declare_retry_queues, parameters
from mqlab.answer import Answer
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
