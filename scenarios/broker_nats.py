"""Mode 3 - broker on NATS JetStream: the handler puts the job in a durable stream, answers at once.

The user gets 202 as soon as the stream has the job: the publish goes to a stream with
file storage (mqlab/jetstream/streams.py), and we wait for its acknowledgement (PubAck).
No PubAck (server down, hung, stream full) within --publish-timeout means 503: we never
say "accepted" for a job the stream does not hold. A 503 says whether the job surely was
not taken, or whether nobody knows (it was sent but not acknowledged: it may still be
delivered).

The job id travels as the message's `Nats-Msg-Id`: the stream drops a second message with
the same id within its duplicate window (2 minutes). A client that retries with the same
X-Job-Id after a 503 "unknown" gets its job queued once, whichever of the two arrived.

The mail itself is sent by worker processes: `scenarios/worker_nats.py`. If the app
dies, the jobs are in the stream, not in the app. If the server restarts, a file stream
comes back from disk.

What became of the job is told as events (mqlab/jetstream/status.py): this app
says "queued", the worker everything after.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from mqlab.amqp.publisher import Unavailable
from mqlab.amqp.settings import AmqpSettings
from mqlab.jetstream.publisher import Publisher
from mqlab.jetstream.streams import JOB_ID
from mqlab.job.answer import Answer
from mqlab.job.signup import Job
from mqlab.job.status import Event

log = logging.getLogger(__name__)


class NatsSignup:
    mode = "broker"

    def __init__(
        self,
        settings: AmqpSettings,
        handlers: int,
        status: Callable[[Event], None] = lambda event: None,
    ) -> None:
        self.settings = settings
        self.status = status  # publishes the job's first state (mqlab/jetstream/status.py)
        # One connection for all `handlers` threads (nats-py multiplexes requests on it),
        # with the three streams declared. With the server down, the app starts anyway:
        # 503 until it is back (the publisher looks for it in the background).
        self.publisher = Publisher(settings)

    def handle(self, job: Job) -> Answer:
        handed_at = time.time()  # a worker may take the job before its PubAck is back here
        try:
            self.publisher.publish(
                subject=self.settings.queue,  # the work stream's subject: the stream stores it
                body=job.to_bytes(),
                headers={JOB_ID: job.id},  # Nats-Msg-Id: a second copy within 2 min is dropped
            )  # returns only once the stream acknowledged it: with file storage, on its disk
        except Unavailable as e:
            # Down, hung, no stream, the stream refused it, or no PubAck within
            # --publish-timeout: never a 202. "not_taken": the stream surely does not hold
            # it. "unknown": it was sent, and the stream may hold it: retrying with the same
            # X-Job-Id is deduplicated by the stream, so it is queued once.
            if e.outcome == "unknown":
                log.warning("job %s: outcome unknown (%s)", job.id, e)
            retry_after = (("Retry-After", str(e.retry_after_s)),)
            return Answer(503, e.body(job.id), headers=retry_after)
        # Accepted, and in the stream: if this process dies now, a worker still sends it.
        self.status(Event(job.id, "queued", handed_at))  # never waited for: see status.py
        return Answer(202, {"job_id": job.id, "status": "queued"})

    def backlog(self) -> int | None:
        return None  # the backlog lives in the server: the stream's message count

    def close(self) -> None:
        self.publisher.close()  # nothing in flight here: every 202 was acknowledged
