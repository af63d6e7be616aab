"""Mode 3 - broker, on Redis Streams: the handler appends the job to a stream and answers at once.

The user gets 202 as soon as Redis has the job: XADD appends it to the stream `<queue>` and
answers with the entry's id, and we wait for that answer. How safe the job is then is the
server's setting, not the message's (`mqlab.processes.redis_server.EXPLAIN`): with no AOF,
a restart of Redis forgets it; with `appendfsync always`, Redis wrote it to its AOF and
fsynced it before it answered. No answer (Redis down, hung, loading its data) within
--publish-timeout means 503: we never say "accepted" for a job Redis does not hold. A 503
says whether the job surely was not taken, or whether nobody knows (it was sent but not
answered: it may still be delivered).

The mail itself is sent by worker processes: `scenarios/worker_redis.py`. If the app dies,
the queue is in Redis, not in the app. If Redis restarts, the stream comes back from its
AOF, if it has one.

What became of the job is told as events (`mqlab/redis_streams/status.py`): this app says
"queued", the worker everything after.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from mqlab.amqp.publisher import Unavailable
from mqlab.amqp.settings import AmqpSettings
from mqlab.job.answer import Answer
from mqlab.job.signup import Job
from mqlab.job.status import Event
from mqlab.redis_streams.publisher import Publisher

log = logging.getLogger(__name__)


class RedisSignup:
    mode = "broker"

    def __init__(
        self,
        settings: AmqpSettings,
        handlers: int,
        status: Callable[[Event], None] = lambda event: None,
    ) -> None:
        self.settings = settings
        self.status = status  # publishes the job's first state (mqlab/redis_streams/status.py)
        # One pool of connections for the handler threads (a command borrows one). Nothing to
        # declare: XADD creates the stream, the workers its consumer group. With Redis down,
        # the app starts anyway: 503 until it is back (the publisher looks for it meanwhile).
        # `settings.durable` means nothing here: on Redis, durability is the server's setting
        # (appendonly, appendfsync), the same for every key, not a flag of the message.
        self.publisher = Publisher(settings)

    def handle(self, job: Job) -> Answer:
        handed_at = time.time()  # a worker may take the job before XADD's answer is back here
        try:
            self.publisher.call(
                "XADD",
                self.settings.queue,  # no MAXLEN: a queue must never trim away jobs
                "*",  # Redis picks the entry id: its clock in ms, and a sequence number
                "id",
                job.id,
                "job",
                job.to_bytes(),
                wait=self.settings.confirm,  # --no-confirm: 202 once written, not answered
            )  # returns only once Redis has the entry (and fsynced it, with appendfsync always)
        except Unavailable as e:
            # Down, hung, loading, refused, or no answer within --publish-timeout: never a
            # 202. "not_taken": Redis surely does not hold it. "unknown": it was sent, and a
            # Redis that resumes may still run it: retrying with the same X-Job-Id lets an
            # --idempotent worker send it once.
            if e.outcome == "unknown":
                log.warning("job %s: outcome unknown (%s)", job.id, e)
            retry_after = (("Retry-After", str(e.retry_after_s)),)
            return Answer(503, e.body(job.id), headers=retry_after)
        # Accepted, and in Redis: if this process dies now, a worker still sends it.
        self.status(Event(job.id, "queued", handed_at))  # never waited for: see status.py
        return Answer(202, {"job_id": job.id, "status": "queued"})

    def backlog(self) -> int | None:
        return None  # the backlog lives in Redis: the stream's length

    def close(self) -> None:
        self.publisher.close()  # nothing in flight here: every 202 was answered
