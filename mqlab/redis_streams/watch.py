"""The lab's view of a queue on Redis: its backlog and the workers consuming it."""

from __future__ import annotations

import threading
import time

import redis

from mqlab.amqp.settings import AmqpSettings, retry_queue
from mqlab.redis_streams.connection import connect
from mqlab.redis_streams.queues import workers_key

SEEN_S = 2.0  # a worker counts as consuming if its lease was refreshed this recently

# KEYS: <queue>.workers. ARGV: SEEN_S in ms. The workers seen since then, on Redis's clock
# (the same clock their heartbeats wrote: no skew between machines).
COUNT_SEEN = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local seen = redis.call('HVALS', KEYS[1])
local n = 0
for _, at in ipairs(seen) do
  if now - tonumber(at) <= tonumber(ARGV[1]) then n = n + 1 end
end
return n
"""


class Watch:
    """Reads a run's queue over one long-lived connection (thread-safe); never raises.

    After a Redis restart the next call connects again; while Redis does not answer, a call
    says None (unknown) and the next RETRY_AFTER_S do not try, so that a lab polling ten
    times a second does not hammer a server that is starting."""

    RETRY_AFTER_S = 0.5

    def __init__(self, settings: AmqpSettings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._r = connect(settings, health_check_s=settings.heartbeat_s)
        self._retry_at = 0.0

    def backlog(self) -> int | None:
        """Jobs not acked yet: waiting in the stream, held by a worker (both: XLEN, since an
        acked entry is deleted) and waiting out a retry backoff (ZCARD), read in one MULTI."""
        with self._lock:
            if time.monotonic() < self._retry_at:
                return None
            try:
                pipe = self._r.pipeline(transaction=True)
                pipe.xlen(self.settings.queue)
                pipe.zcard(retry_queue(self.settings.queue))
                stream, waiting = pipe.execute()
                return int(stream) + int(waiting)
            except (redis.exceptions.RedisError, OSError):
                self._retry_at = time.monotonic() + self.RETRY_AFTER_S
                return None

    def consumers(self) -> int | None:
        """Workers consuming now: those whose lease was refreshed in the last SEEN_S (every
        HEARTBEAT_S while they live). A SIGKILLed worker drops out within SEEN_S."""
        with self._lock:
            if time.monotonic() < self._retry_at:
                return None
            try:
                return int(
                    self._r.eval(COUNT_SEEN, 1, workers_key(self.settings.queue), SEEN_S * 1000)
                )
            except (redis.exceptions.RedisError, OSError):
                self._retry_at = time.monotonic() + self.RETRY_AFTER_S
                return None

    def close(self) -> None:
        with self._lock:
            self._r.close()
