"""The app's publisher on Redis: one command within a deadline, behind the same `Breaker` as
RabbitMQ's (mqlab.amqp.publisher), which answers "unavailable" at once while Redis is known
to be down or hung, and looks for it in the background.

What a failure means depends on where it happened, so the command is sent and its answer
read by hand on a connection of the pool: no connection, or the command not fully written
-> Redis surely did not run it ("not_taken"); written, but no answer within
`publish_timeout_s` -> nobody knows ("unknown": a hung Redis that resumes runs it)."""

from __future__ import annotations

import time
from typing import Any

import redis

from mqlab.amqp.publisher import Breaker, Unavailable
from mqlab.amqp.settings import AmqpSettings, describe
from mqlab.redis_streams.connection import UNAVAILABLE, RedisUnavailable, connect


class Publisher:
    """Commands for the app's handler threads (thread-safe: each borrows a connection of the
    pool), each answered or refused within `settings.publish_timeout_s`, connect included."""

    def __init__(self, settings: AmqpSettings) -> None:
        self.settings = settings
        self.r = connect(settings, timeout=settings.publish_timeout_s)
        self.breaker = Breaker(self._probe, settings.url, settings.reconnect_max_s)
        try:
            self._probe()  # Redis down now: the app starts anyway, 503 until it is back
        except RedisUnavailable as e:
            self.breaker.trip(e)

    def call(self, *command: Any, wait: bool = True) -> Any:
        """Redis's answer to `command`, or Unavailable. `wait=False` (--no-confirm): return
        once the command is written, and tell Redis not to answer it (CLIENT REPLY SKIP)."""
        if not self.breaker.up:
            reason = f"Redis is unavailable ({self.breaker.reason})"
            raise Unavailable("not_taken", reason, self.breaker.retry_after_s())
        end = time.monotonic() + self.settings.publish_timeout_s
        pool = self.r.connection_pool
        try:
            connection: Any = pool.get_connection()  # connects (or reconnects) if it must
        except UNAVAILABLE as e:
            self.breaker.trip(e)
            raise Unavailable("not_taken", describe(e, self.settings.url)) from e
        try:
            try:
                if wait:
                    connection.send_command(*command)
                else:
                    skip = ("CLIENT", "REPLY", "SKIP")  # no answer to the next command
                    connection.send_packed_command(connection.pack_commands([skip, command]))
            except UNAVAILABLE as e:  # not all of it reached Redis: it cannot have run it
                self.breaker.trip(e)
                raise Unavailable("not_taken", describe(e, self.settings.url)) from e
            if not wait:
                return None
            try:
                return connection.read_response(timeout=max(end - time.monotonic(), 0.001))
            except redis.exceptions.ResponseError as e:  # Redis answered, and refused it
                raise Unavailable("not_taken", describe(e, self.settings.url)) from e
            except UNAVAILABLE as e:  # sent, and no answer in time: it may still run it
                self.breaker.trip(e)
                raise Unavailable("unknown", describe(e, self.settings.url)) from e
        finally:
            pool.release(connection)  # a connection that failed was closed: it reconnects

    def close(self) -> None:
        self.breaker.close()
        self.r.close()

    def _probe(self) -> None:
        """The breaker's test: a command that needs the data (a Redis still loading its AOF
        refuses it with LOADING), answered in time."""
        try:
            self.r.exists(self.settings.queue)
        except UNAVAILABLE as e:
            raise RedisUnavailable(describe(e, self.settings.url)) from e
