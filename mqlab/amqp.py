"""AMQP settings shared by the broker-mode app and its workers."""

from __future__ import annotations

from dataclasses import dataclass

import pika
import pika.exceptions

ROUTING_KEY = "signup.welcome"  # as in the course notes
EXCHANGE = "mqlab"
QUEUE = "mqlab.signup.welcome"


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


def parameters(settings: AmqpSettings) -> pika.URLParameters:
    params = pika.URLParameters(settings.url)
    params.heartbeat = settings.heartbeat_s
    params.blocked_connection_timeout = settings.timeout_s
    params.socket_timeout = settings.timeout_s
    params.stack_timeout = settings.timeout_s
    params.connection_attempts = 1
    return params


def delete_queue(settings: AmqpSettings) -> None:
    """Delete a queue mqlab declared itself (a run's own queue); silent if it is gone."""
    try:
        connection = pika.BlockingConnection(parameters(settings))
    except (pika.exceptions.AMQPError, OSError):
        return
    try:
        connection.channel().queue_delete(settings.queue)
    except (pika.exceptions.AMQPError, OSError):
        pass
    finally:
        if connection.is_open:
            connection.close()
