"""The broker's worker: take a job from the queue, scan, send, and only then ack.

Workers are separate processes. Each takes one job at a time (prefetch=1) and
acks it only after the SMTP server accepted the mail. If a worker dies before
the ack, the broker hands the job to another worker: nothing is lost, though a
mail sent just before the crash may be sent twice (at-least-once delivery).
More workers, on any machine, drain the same queue faster.

A mail server that says "try later" (4xx) sends the job to `<queue>.retry`,
where it waits out a growing backoff and then returns to the queue. A mail
server that says "never" (5xx), or one that still fails after --max-retries,
sends it to `<queue>.dead` with the reason: a job is acked only once it was
sent or parked somewhere safe, never acked and dropped.
"""

from __future__ import annotations

import logging
from typing import Literal, NamedTuple

import pika

from mqlab.amqp import AmqpSettings, Later, parameters, retries
from mqlab.consumer import Consumer, Delivery, HandedBack, Shutdown
from mqlab.ledger import ProcessedJobs
from mqlab.mail import MailError
from mqlab.mailjob import MailJob
from mqlab.signup import Job
from scenarios.broker import declare

log = logging.getLogger(__name__)


class Verdict(NamedTuple):
    """What becomes of a job once the worker is done with it."""

    action: Literal["ack", "retry", "dead"]
    reason: str = ""


def consume(
    settings: AmqpSettings,
    mail_job: MailJob,
    shutdown: Shutdown,
    processed: ProcessedJobs | None = None,
) -> None:
    """One worker: take jobs from the queue until shutdown or until the connection drops."""
    connection = pika.BlockingConnection(parameters(settings))
    try:
        channel = connection.channel()
        declare(channel, settings)
        channel.basic_qos(prefetch_count=settings.prefetch)  # fair dispatch: one job at a time
        later = Later(connection, settings)  # moves a job to <queue>.retry or <queue>.dead

        def work(delivery: Delivery) -> Verdict:
            """The slow part, run as each job arrives (the scan keeps heartbeats flowing)."""
            try:
                job = Job.from_bytes(delivery.body)
            except (ValueError, KeyError, TypeError) as e:
                return Verdict("dead", f"malformed job: {e!r}")  # no retry can fix it
            if processed is not None and processed.seen(job.id):
                # --idempotent: sent already, but its worker died before the ack. Do not resend.
                return Verdict("ack", "already sent")
            # --idempotent: remember the job the moment its mail was accepted, before the ack.
            remember = (lambda: processed.add(job.id)) if processed is not None else None
            try:
                mail_job.run(job, on_sent=remember)  # scan + SMTP; still the broker's job
            except MailError as e:
                if not e.transient:
                    return Verdict("dead", f"permanent SMTP failure: {e}")  # e.g. 554
                if retries(delivery.properties) >= settings.max_retries:
                    return Verdict("dead", f"gave up after {settings.max_retries} retries: {e}")
                return Verdict("retry", str(e))  # e.g. 451, or no SMTP server: try again later
            except HandedBack:
                raise  # SIGTERM (or a lost connection) during the scan: back to the queue unsent
            except Exception as e:  # a bug, or input validation missed: retrying will not help
                log.exception("job %s failed", job.id)
                return Verdict("dead", f"error: {e!r}")
            return Verdict("ack")

        def settle(delivery: Delivery, verdict: Verdict) -> None:
            """Tell the broker what became of the job."""
            if verdict.action == "retry":
                wait_ms = later.retry(delivery.body, delivery.properties)
                log.warning(
                    "job %s not sent (%s): retry in %d ms",
                    delivery.properties.message_id,
                    verdict.reason,
                    wait_ms,
                )
            elif verdict.action == "dead":
                later.dead(delivery.body, delivery.properties, verdict.reason)
                log.error(
                    "job %s dead-lettered: %s", delivery.properties.message_id, verdict.reason
                )
            elif verdict.reason:
                log.info("job %s acked unsent: %s", delivery.properties.message_id, verdict.reason)
            if not settings.auto_ack:
                # Only now may the broker forget the job: a copy in .retry or .dead was
                # confirmed first. A crash before this line means the broker hands the job
                # to another worker (and maybe a second mail): never a lost job.
                channel.basic_ack(delivery.tag)

        Consumer(connection, channel, work, settle, shutdown).run(settings.queue, settings.auto_ack)
    finally:
        if connection.is_open:
            connection.close()  # whatever we still hold un-acked goes back to the queue
