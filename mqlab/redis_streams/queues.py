"""The keys of one queue on Redis, and what moves jobs between them.

- `<queue>`: the stream of jobs, read by the consumer group `workers`. An entry is deleted
  (XDEL) when it is acked, so it holds only jobs not done yet: waiting, or held by a worker.
- `<queue>.retry`: a sorted set, each member a job waiting out its backoff, scored by the
  time (ms since the epoch, on the workers' clocks) it is due again. `MOVE_DUE` puts due ones
  back on the stream: a new entry, with the number of retries done in its `retries` field.
- `<queue>.dead`: a stream of jobs no retry can help, each with the `reason`, for a person.
- `<queue>.status`: the jobs' state changes (mqlab/redis_streams/status.py).
- `<queue>.workers`: a hash, worker name -> when it last gave a sign of life (lease.py).
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

import redis

from mqlab.amqp.settings import AmqpSettings, dead_letter_queue, retry_queue, status_stream
from mqlab.redis_streams.connection import UNAVAILABLE, connect, text

# Due jobs, at most ARGV[2] of them, from the sorted set KEYS[1] back to the stream KEYS[2],
# in one atomic step: a job is in one place or the other, never in both, never in neither.
# A member is "<retries> <entry id> <job id>\n<job bytes>" (`retry_member`); one that is not
# goes to the dead-letter stream KEYS[3] rather than being dropped or looping. Returns the
# number moved and the score of the next job due (nil: none waits).
MOVE_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, member in ipairs(due) do
  redis.call('ZREM', KEYS[1], member)
  local retries, _, id, body = string.match(member, '^(%d+) (%S+) (%S+)\\n(.*)$')
  if retries then
    redis.call('XADD', KEYS[2], '*', 'id', id, 'job', body, 'retries', retries)
  else
    redis.call('XADD', KEYS[3], '*', 'job', member, 'reason', 'unreadable entry in the retry set')
  end
end
local after = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {#due, after[2]}
"""

MOVE_AT_ONCE = 100  # due jobs one call moves; the next call moves the rest


def workers_key(queue: str) -> str:
    """The hash of the workers' signs of life (mqlab/redis_streams/lease.py)."""
    return f"{queue}.workers"


def retry_member(retries: int, entry_id: str, job_id: str, body: bytes) -> bytes:
    """A job in `<queue>.retry`: unique (its entry id), with its count and its bytes."""
    return f"{retries} {entry_id} {job_id}\n".encode() + body


def move_due(r: redis.Redis, settings: AmqpSettings) -> float | None:
    """Jobs whose backoff is over, back on the stream; returns when the next one is due (a
    time.time()), or None."""
    keys = (retry_queue(settings.queue), settings.queue, dead_letter_queue(settings.queue))
    reply = r.eval(MOVE_DUE, len(keys), *keys, int(time.time() * 1000), MOVE_AT_ONCE)
    after = reply[1] if isinstance(reply, list) and len(reply) > 1 else None
    return float(after) / 1000 if after is not None else None


def dead_job_ids(settings: AmqpSettings) -> list[str]:
    """The job ids in `<queue>.dead`, read without taking them out (none if unreachable)."""
    r = connect(settings)
    try:
        entries: Any = r.xrange(dead_letter_queue(settings.queue))
        return [text(fields.get(b"id", b"unreadable")) for _, fields in entries]
    except UNAVAILABLE:
        return []
    finally:
        r.close()


def delete_run_objects(settings: AmqpSettings) -> None:
    """Delete the keys of a run's own queue (`*.run-<tag>`); silent if Redis does not answer."""
    if ".run-" not in settings.queue:
        raise ValueError(f"refusing to delete {settings.queue!r}: not a run's own queue")
    r = connect(settings)
    try:
        with contextlib.suppress(*UNAVAILABLE):
            r.delete(
                settings.queue,
                retry_queue(settings.queue),
                dead_letter_queue(settings.queue),
                status_stream(settings),
                workers_key(settings.queue),
            )
    finally:
        r.close()
