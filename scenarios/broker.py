"""Mode 3 - broker: the handler puts the job on a durable RabbitMQ queue and answers at once.

The user gets 202 as soon as the broker has the job: the publish is persistent
(delivery_mode=2) on a durable queue, and we wait for the publisher confirm.
The handler awaits it on the HTTP server's event loop (`async def`): a signup
waiting for the broker holds no thread, and many wait at once on one connection.
No confirm (broker down, hung, blocked by an alarm) within --publish-timeout
means 503: we never say "accepted" for a job the broker does not hold. A 503
says whether the job surely was not taken, or whether nobody knows (it was sent
but not confirmed: it may still be delivered).

The mail itself is sent by worker processes: `scenarios/worker.py`. If the app
dies, the queue is in the broker, not in the app. If the broker restarts,
durable queues and persistent messages come back from disk.

What became of the job is told as events (`scenarios/status.py`): this app
says "queued", the worker everything after.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from mqlab.amqp.publisher import Properties, Publisher, Unavailable
from mqlab.amqp.settings import AmqpSettings
from mqlab.job.answer import Answer
from mqlab.job.signup import Job
from mqlab.job.status import Event

log = logging.getLogger(__name__)


class BrokerSignup:
    mode = "broker"

    def __init__(
        self,
        settings: AmqpSettings,
        status: Callable[[Event], None] = lambda event: None,
    ) -> None:
        self.settings = settings
        self.status = status  # publishes the job's first state (mqlab/processes/status_follow.py)
        # One connection for every signup, with the durable queue declared and publisher
        # confirms on.
        self.publisher = Publisher(settings)

    async def start(self) -> None:
        # Opened before the first signup. With the broker down, the app starts anyway: 503
        # until it is back (the publisher looks for it in the background).
        await self.publisher.start()

    async def handle(self, job: Job) -> Answer:
        handed_at = time.time()  # a worker may take the job before its confirm is back here
        try:
            await self.publisher.publish(
                exchange=self.settings.exchange,
                routing_key=self.settings.routing_key,
                body=job.to_bytes(),
                properties=Properties(
                    delivery_mode=2 if self.settings.durable else 1,  # 2 = persistent: on disk
                    message_id=job.id,
                    content_type="application/json",
                ),
                mandatory=True,  # no queue bound? an error, not a silent drop
            )  # with confirms on, this returns only once the broker has the message
        except Unavailable as e:
            # Down, hung, blocked, nacked, unroutable, or no confirm within --publish-timeout:
            # never a 202. "not_taken": the broker surely does not hold it. "unknown": it was
            # sent, and a broker that resumes may still deliver it: retrying with the same
            # X-Job-Id lets an --idempotent worker send it once.
            if e.outcome == "unknown":
                log.warning("job %s: outcome unknown (%s)", job.id, e)
            retry_after = (("Retry-After", str(e.retry_after_s)),)
            return Answer(503, e.body(job.id), headers=retry_after)
        # Accepted, and on the broker's disk: if this process dies now, a worker still sends it.
        self.status(Event(job.id, "queued", handed_at))  # never waited for: see status.py
        return Answer(202, {"job_id": job.id, "status": "queued"})

    def backlog(self) -> int | None:
        return None  # the backlog lives in the broker: its queue depth

    async def close(self) -> None:
        await self.publisher.close()  # nothing in flight here: every 202 was confirmed
