"""The app's publisher on NATS JetStream: a publish acknowledged by the stream (PubAck)
within a deadline, and the RabbitMQ lesson's breaker, which answers "unavailable" at once
while the server is known to be down.

One connection serves every handler thread: nats-py multiplexes requests over it, on an
asyncio loop of its own (`Loop`). It does not reconnect by itself (connection.py): when it
closes, the breaker trips, and its probe opens a new one and declares the streams again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import nats.errors
import nats.js.errors
from nats.aio.client import Client

from mqlab.amqp.publisher import Breaker, Unavailable
from mqlab.amqp.settings import AmqpSettings, describe
from mqlab.jetstream.connection import UNAVAILABLE, Lost, close_quietly, connect
from mqlab.jetstream.loop import Loop
from mqlab.jetstream.streams import declare

log = logging.getLogger(__name__)

MARGIN_S = 0.25  # the loop's own bound on a publish, past the client's: it should never bite


class Publisher:
    """`publish` returns once the stream acknowledged the message, or raises Unavailable
    within `settings.publish_timeout_s` (connect included). Thread-safe."""

    def __init__(self, settings: AmqpSettings) -> None:
        self.settings = settings
        self.loop = Loop("jetstream-publisher")
        self.breaker = Breaker(self._probe, settings.url, settings.reconnect_max_s)
        self._nc: Client | None = None
        self._in_flight: set[asyncio.Task[object]] = set()
        try:
            self._open()
        except UNAVAILABLE as e:  # the app starts anyway: 503 until the server is back
            self.breaker.trip(e)

    def publish(self, subject: str, body: bytes, headers: dict[str, str]) -> None:
        """Returns once the stream holds the message (with `--no-confirm`: once it is written
        to the socket); else raises Unavailable, within the publish timeout."""
        if not self.breaker.up:
            reason = f"the broker is unavailable ({self.breaker.reason})"
            raise Unavailable("not_taken", reason, self.breaker.retry_after_s())
        nc = self._nc
        if nc is None or not nc.is_connected:
            error = Lost("no connection to the NATS server")
            self.breaker.trip(error)
            raise Unavailable("not_taken", str(error))
        wait = self.settings.publish_timeout_s
        try:
            self.loop.run(self._send(nc, subject, body, headers, wait), wait + MARGIN_S)
        except nats.errors.ConnectionClosedError as e:  # closed before the write: never sent
            self.breaker.trip(e)
            raise Unavailable("not_taken", describe(e, self.settings.url)) from e
        except nats.js.errors.NoStreamResponseError as e:
            # Nobody stores this subject: JetStream is still starting, or the stream is gone.
            # The probe declares it again.
            self.breaker.trip(e)
            raise Unavailable("not_taken", "no stream answered: JetStream not ready") from e
        except nats.js.errors.APIError as e:  # the stream refused it (full, no room): it said so
            raise Unavailable("not_taken", describe(e, self.settings.url)) from e
        except UNAVAILABLE as e:
            # Sent, and no PubAck in time, or the connection closed before it came: the
            # stream may hold the job. The same X-Job-Id again is dropped as a duplicate.
            self._drop(nc)
            self.breaker.trip(e)
            raise Unavailable("unknown", describe(e, self.settings.url)) from e

    def close(self) -> None:
        self.breaker.close()  # before the connection: closing it is no outage to report
        nc, self._nc = self._nc, None
        if nc is not None:
            with contextlib.suppress(Lost):
                self.loop.run(close_quietly(nc), 2.0)
        self.loop.close()

    # -- on the loop's thread

    async def _send(
        self, nc: Client, subject: str, body: bytes, headers: dict[str, str], wait: float
    ) -> None:
        if not self.settings.confirm:  # --no-confirm: written to the socket, never answered
            await nc.publish(subject, body, headers=headers)
            return
        task = asyncio.ensure_future(
            nc.jetstream().publish(subject, body, timeout=wait, headers=headers)
        )
        self._in_flight.add(task)  # cancelled at once if the connection closes meanwhile
        try:
            await task
        finally:
            self._in_flight.discard(task)

    def _lost(self, nc: Client) -> None:
        """The connection closed (the server went away): trip, and end the publishes still
        waiting for their PubAck now ("unknown"), not after their timeout."""
        if nc is not self._nc:
            return  # an old connection we dropped ourselves
        self._nc = None
        self.breaker.trip(Lost("the connection to the NATS server closed"))
        for task in list(self._in_flight):
            task.cancel()

    # -- on the caller's (or the breaker's) thread

    def _open(self) -> None:
        """A new connection, the streams declared on it, by the publish timeout."""
        end = time.monotonic() + self.settings.publish_timeout_s

        async def open_and_declare() -> Client:
            wait = max(end - time.monotonic(), 0.1)
            holder: list[Client] = []

            def closed() -> None:
                if holder:  # not while connecting: nothing was ours yet
                    self._lost(holder[0])

            nc = await connect(self.settings, wait, on_closed=closed, name="mqlab app")
            holder.append(nc)
            try:
                js = nc.jetstream(timeout=max(end - time.monotonic(), 0.1))
                await declare(js, self.settings)
            except BaseException:
                await close_quietly(nc)
                raise
            return nc

        nc = self.loop.run(open_and_declare(), end - time.monotonic() + MARGIN_S)
        old, self._nc = self._nc, nc
        if old is not None:
            self._drop(old)

    def _probe(self) -> None:
        """The breaker's test: a new connection on which the streams answer. An error is
        raised as Lost (an OSError), which the breaker knows as "still down"."""
        try:
            self._open()
        except Exception as e:  # whatever it was, the server is not usable yet
            raise Lost(describe(e, self.settings.url)) from e

    def _drop(self, nc: Client) -> None:
        """Close a connection we stop using (no waiting: its loop does it)."""
        if self._nc is nc:
            self._nc = None
        self.loop.submit(close_quietly(nc))
