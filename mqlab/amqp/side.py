"""A connection of its own for what must never disturb the jobs: a worker's job states.

Why apart from the jobs' connection: a broker that lost the status stream (its node died
with its disk) answers a publish into it by closing the whole connection (506 "Stream not
found"). On the jobs' connection that took the ack of the job in hand with it: the job came
back, was mailed again, its "sent" closed the connection again, and so on: 790 mails for
200 jobs in one node-loss trial. Here only the states wait, with one line, and the
connection is opened again after a capped backoff; one line says it is back once what is
sent on it goes through on a connection that lived STEADY_S (a broker that closes each new
connection at its first message would otherwise be "back" five times a second). What could
not be sent meanwhile is held by its user (scenarios/status.py) and sent once it is back.
"""

from __future__ import annotations

import logging
import time

import pika
from pika.adapters.blocking_connection import BlockingChannel, BlockingConnection

from mqlab.amqp.settings import UNAVAILABLE, AmqpSettings, Outage, close_quietly, parameters

STEADY_S = 0.5


class SideConnection:
    """`channel()`: a channel on this connection, (re)opened when needed, or None while the
    broker is away or refused the last attempt (then asked again after a capped backoff).
    `sent()`: something went out on it; `lost(error)`: it failed. Named `name` in the
    broker's connection list.
    Without heartbeats: it only writes, and between jobs nothing reads it, so pika would find
    the broker's heartbeats unread and call it dead."""

    def __init__(self, settings: AmqpSettings, name: str, log: logging.Logger) -> None:
        self.settings, self.name = settings, name
        self.connection: BlockingConnection | None = None
        self._channel: BlockingChannel | None = None
        self._retry_at = 0.0
        self._opened_at = 0.0
        self._outage = Outage(
            settings.url,
            settings.reconnect_max_s,
            log,
            lost_line=f"{name}: lost the broker (%s); held until it is back",
            back_line=f"{name}: back after %.1f s",
        )

    def channel(self) -> BlockingChannel | None:
        if self._channel is not None and self._channel.is_open:
            return self._channel
        if time.monotonic() < self._retry_at:
            return None
        self.close()
        every = parameters(self.settings)
        for params in every:
            params.heartbeat = 0
            params.client_properties = {"connection_name": self.name}
        try:
            self.connection = pika.BlockingConnection(every)
            self._channel = self.connection.channel()
        except UNAVAILABLE as e:
            self.lost(e)
            return None
        self._opened_at = time.monotonic()
        return self._channel

    def wait_s(self) -> float:
        """Seconds until `channel()` may try to connect again (0: now)."""
        return max(0.0, self._retry_at - time.monotonic())

    def sent(self) -> None:
        if time.monotonic() - self._opened_at >= STEADY_S:
            self._outage.back()  # a line only if it was lost

    def lost(self, error: BaseException) -> None:
        self._channel = None
        self._retry_at = time.monotonic() + self._outage.lost(error)

    def close(self) -> None:
        if self.connection is not None:
            close_quietly(self.connection)
        self.connection = self._channel = None
