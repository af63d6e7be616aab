"""A worker's hold on the jobs it took: kept fresh while it lives, taken over once it died.

Redis never takes a job back from a worker: an entry it read stays pending under its name
until it acks it, or until another worker claims it (XAUTOCLAIM, for entries idle longer
than `scenarios.worker_redis.TAKEOVER_S`). A live worker must therefore say, more often
than that, that it still works on what it holds: a long scan or a slow mail server must
not lose its job to another worker (a second mail). `Lease` does it from a thread of its
own, every HEARTBEAT_S, in one script: for each entry still pending under this worker's
name, XCLAIM ... JUSTID to itself (its idle time starts again from zero; JUSTID leaves the
delivery count alone). An entry pending under another name was taken over meanwhile (this
worker stalled: SIGSTOP, a starved CPU): it is not claimed back, and the lease is lost.

The same script writes the worker's name and the server's time into `<queue>.workers`: the
lab counts the workers seen in the last SEEN_S (`Watch.consumers`). Redis 7.0's own list of
a group's consumers (XINFO CONSUMERS) cannot: it lists a worker only once it got a job, and
keeps it after it died.

The lease is also what `mqlab.amqp.consumer.Shutdown` checks during a scan (`attach`): it
asks a pika connection `is_open` and calls `process_data_events`, so the lease answers to
those two names. A worker that was away longer than it should (its lease may have been
taken over meanwhile) checks with Redis before it sends.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time

import redis

from mqlab.amqp.settings import AmqpSettings
from mqlab.redis_streams.connection import GROUP, UNAVAILABLE, Lost, text
from mqlab.redis_streams.queues import workers_key

log = logging.getLogger(__name__)

HEARTBEAT_S = 0.5  # how often a worker refreshes what it holds, and says it is alive
STALE_S = 2 * HEARTBEAT_S  # no refresh for this long: ask Redis before going on
FORGET_MS = 60_000  # a worker not seen for this long leaves the `<queue>.workers` hash

# KEYS: <queue>, <queue>.workers. ARGV: group, this worker, FORGET_MS, the entry ids it holds.
# Returns the ids still pending under this worker's name (refreshed); the others were
# taken over.
BEAT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HSET', KEYS[2], ARGV[2], now)
local seen = redis.call('HGETALL', KEYS[2])
for i = 1, #seen, 2 do
  if now - tonumber(seen[i + 1]) > tonumber(ARGV[3]) then redis.call('HDEL', KEYS[2], seen[i]) end
end
local kept = {}
for i = 4, #ARGV do
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if p[1] and p[1][2] == ARGV[2] then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
    kept[#kept + 1] = ARGV[i]
  end
end
return kept
"""

# KEYS: <queue>, <queue>.workers. ARGV: group, this worker. A worker that stops cleanly
# leaves the group, unless jobs are still pending under its name (deleting it would delete
# them from the group's pending list: lost). Those are taken over; the name stays till then.
RETIRE = """
redis.call('HDEL', KEYS[2], ARGV[2])
if #redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2]) == 0 then
  redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
end
return 1
"""


class Lease:
    """The entries one worker (`consumer`, its name in the group) holds, kept fresh."""

    def __init__(self, r: redis.Redis, settings: AmqpSettings, consumer: str) -> None:
        self.r, self.consumer = r, consumer
        self.keys = (settings.queue, workers_key(settings.queue))
        self.why_lost = ""  # set once the lease is lost: the entries, or Redis
        self._held: set[str] = set()
        self._lock = threading.Lock()
        self._fresh_at = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lease", daemon=True)

    def start(self) -> Lease:
        """A first sign of life now (Redis unavailable: raises), then one every HEARTBEAT_S."""
        self.beat()
        self._thread.start()
        return self

    def hold(self, entry_ids: list[str]) -> None:
        with self._lock:
            self._held.update(entry_ids)

    def release(self, entry_id: str) -> None:
        """Settled (acked, or moved to .retry or .dead): nothing to keep fresh."""
        with self._lock:
            self._held.discard(entry_id)

    def beat(self) -> None:
        """Refresh what this worker holds and say it is alive; Lost if an entry it holds went
        to another worker, or if Redis did not answer."""
        with self._lock:
            held = sorted(self._held)
        try:
            reply = self.r.eval(BEAT, 2, *self.keys, GROUP, self.consumer, FORGET_MS, *held)
        except (redis.exceptions.RedisError, OSError) as e:
            self._lose(f"lost Redis: {e}")
            raise Lost(self.why_lost) from e
        kept = {text(entry_id) for entry_id in reply}
        with self._lock:
            gone = (set(held) - kept) & self._held  # settled meanwhile: not gone
        if gone:
            self._lose(f"{len(gone)} job(s) taken over by another worker while this one stalled")
            raise Lost(self.why_lost)
        self._fresh_at = time.monotonic()

    # -- what mqlab.amqp.consumer.Shutdown calls on "its connection"

    @property
    def is_open(self) -> bool:
        """False once the lease is lost: the job at hand must not be sent (HandedBack)."""
        return not self.why_lost

    def process_data_events(self, time_limit: float = 0) -> None:
        """Between two slices of a scan, and after a scan that ran late: if the heartbeat
        has not refreshed the lease for STALE_S (this process was stopped, or starved),
        ask Redis now; Lost (an OSError: HandedBack) if it went to another worker."""
        if self.why_lost:
            raise Lost(self.why_lost)
        if time.monotonic() - self._fresh_at > STALE_S:
            self.beat()

    # -- the end

    def stop(self) -> None:
        """No more heartbeats: what this worker still holds is taken over after TAKEOVER_S."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=2 * HEARTBEAT_S + self._answer_within())

    def retire(self) -> None:
        """A clean stop: leave the group (see RETIRE). Redis gone: it does not matter."""
        with contextlib.suppress(*UNAVAILABLE, redis.exceptions.ResponseError):
            self.r.eval(RETIRE, 2, *self.keys, GROUP, self.consumer)

    def _answer_within(self) -> float:
        """The longest a command of this client waits for Redis's answer."""
        timeout = self.r.connection_pool.connection_kwargs.get("socket_timeout")
        return float(timeout) if timeout else 5.0

    def _lose(self, why: str) -> None:
        if not self.why_lost:
            self.why_lost = why

    def _run(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            try:
                self.beat()
            except Lost:
                return  # the worker sees it (`is_open`) and starts again
