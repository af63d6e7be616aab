"""The lab's view of a run on NATS JetStream: jobs not done yet, and workers alive now.

`backlog()`: what the workers' durable consumer has not settled: not delivered yet
(`num_pending`) plus delivered and not acked (`num_ack_pending`: being worked on, or
waiting out a retry's delay after a nak). Before the first worker made the consumer, every
message of the stream waits. Not the stream's own message count: after a SIGKILL the server
may come back with a message its consumer had acked before the kill (the ack was kept, the
deletion was not), which nobody will ever be given again; counted, it kept a run waiting
for its whole drain timeout.

`consumers()`: a pull consumer has no consumer count (its workers only ask for jobs, now
and then), so each worker says "here" on `<queue>.workers` every half second (consumer.py)
and this counts the workers heard within the last SEEN_S: a SIGKILLed worker drops out of
the count within SEEN_S, one that stops cleanly at once (it says "gone").

One long-lived connection, on an asyncio loop of its own; thread-safe; after a server
restart the next call connects again; an outage is None, never an exception.
"""

from __future__ import annotations

import contextlib
import threading
import time

import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg

from mqlab.amqp.settings import AmqpSettings
from mqlab.jetstream.connection import UNAVAILABLE, Lost, close_quietly, connect
from mqlab.jetstream.loop import Loop
from mqlab.jetstream.streams import CONSUMER, work_stream, workers_subject

SEEN_S = 2.0  # a worker not heard from for this long is not counted
RETRY_AFTER_S = 0.5  # while the server is down, do not try to connect ten times a second
MARGIN_S = 0.5


class Watch:
    def __init__(self, settings: AmqpSettings) -> None:
        self.settings = settings
        self._loop = Loop("jetstream-watch")
        self._lock = threading.Lock()
        self._nc: Client | None = None
        self._heard: dict[str, float] = {}  # worker name -> when it last said "here"
        self._retry_at = 0.0

    def backlog(self) -> int | None:
        """Jobs not acked yet; None before the stream exists, or while the server is away."""
        with self._lock:
            nc = self._connected()
            if nc is None:
                return None

            async def count() -> int | None:
                js = nc.jetstream(timeout=self.settings.timeout_s)
                stream = work_stream(self.settings)
                try:
                    mine = await js.consumer_info(stream, CONSUMER)
                    return int(mine.num_pending) + int(mine.num_ack_pending)
                except nats.js.errors.NotFoundError:
                    pass  # no worker made the consumer yet: everything in the stream waits
                try:
                    info = await js.stream_info(stream)
                except nats.js.errors.NotFoundError:
                    return None  # not declared yet
                return int(info.state.messages)

            try:
                return self._loop.run(count(), self.settings.timeout_s + MARGIN_S)
            except UNAVAILABLE:
                self._drop()
                return None

    def consumers(self) -> int | None:
        """Workers heard from within SEEN_S; None while the server is away."""
        with self._lock:
            if self._connected() is None:
                return None
            now = time.monotonic()
            return sum(1 for at in list(self._heard.values()) if now - at <= SEEN_S)

    def close(self) -> None:
        with self._lock:
            nc, self._nc = self._nc, None
        if nc is not None:
            with contextlib.suppress(Lost):
                self._loop.run(close_quietly(nc), 2.0)
        self._loop.close()

    # -- under the lock

    def _connected(self) -> Client | None:
        if self._nc is not None and self._nc.is_connected:
            return self._nc
        self._drop()
        if time.monotonic() < self._retry_at:
            return None  # unknown: the server did not answer a moment ago

        async def listen() -> Client:
            nc = await connect(self.settings, name="mqlab watch")
            try:
                await nc.subscribe(workers_subject(self.settings), cb=self._on_beacon)
            except BaseException:
                await close_quietly(nc)
                raise
            return nc

        try:
            self._nc = self._loop.run(listen(), self.settings.timeout_s + MARGIN_S)
        except UNAVAILABLE:  # Lost included (an OSError)
            self._retry_at = time.monotonic() + RETRY_AFTER_S
            return None
        self._heard.clear()
        return self._nc

    def _drop(self) -> None:
        nc, self._nc = self._nc, None
        if nc is not None:
            self._loop.submit(close_quietly(nc))

    # -- on the loop's thread

    async def _on_beacon(self, msg: Msg) -> None:
        name, _, what = msg.data.decode("utf-8", "replace").partition(" ")
        if what == "gone":
            self._heard.pop(name, None)
        elif name:
            now = self._heard[name] = time.monotonic()
            if len(self._heard) > 1000:  # names of workers long gone: forget them
                for old in [n for n, at in self._heard.items() if now - at > SEEN_S]:
                    del self._heard[old]
