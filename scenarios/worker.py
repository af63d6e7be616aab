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

The queue is input like any request: a job that would not pass the app's own
validation, or that makes the worker raise, is a poison message and goes to
`<queue>.dead` too. Handed back, it would come straight back to the same
failure, forever, and hold up every good job behind it.
"""

from __future__ import annotations

import logging
from typing import Literal, NamedTuple

import pika

from mqlab.amqp.consumer import Consumer, Delivery, Shutdown
from mqlab.amqp.queues import (
    Later,
    crash_loop,
    declare,
    redeliveries,
    requeue_counted,
    retries,
)
from mqlab.amqp.settings import AmqpSettings, parameters
from mqlab.job.ledger import ProcessedJobs, Seen
from mqlab.job.mail import MailError
from mqlab.job.mailjob import MailJob, Outcome
from mqlab.job.signup import InvalidSignup, Job
from scenarios import status

log = logging.getLogger(__name__)
narrate = logging.getLogger("narrate")  # a line per step of a job; `mqlab worker --quiet` hides it


class Verdict(NamedTuple):
    """What becomes of a job once the worker is done with it."""

    action: Literal["ack", "retry", "dead", "requeue"]
    reason: str = ""


def consume(
    settings: AmqpSettings,
    mail_job: MailJob,
    shutdown: Shutdown,
    processed: ProcessedJobs | None = None,
    *,
    events: status.Events,
) -> None:
    """One worker: take jobs from the queue until shutdown or until the connection drops.
    `events` (status.worker_events): where it tells each job's states, for all its connections."""
    connection = pika.BlockingConnection(parameters(settings))
    # each job's states, for whoever listens (a few at a time when jobs are short), on a
    # connection of their own: nothing that happens to them can cost a job its ack, and
    # what they still hold when this connection is lost goes out from the next one
    status.attach(events, connection.call_later)
    try:
        channel = connection.channel()
        declare(channel, settings)
        channel.basic_qos(prefetch_count=settings.prefetch)  # fair dispatch: one job at a time
        later = Later(connection, settings)  # moves a job to <queue>.retry or <queue>.dead

        def work(delivery: Delivery) -> Verdict:
            """The slow part, run as each job arrives (the scan keeps heartbeats flowing)."""
            if delivery.redelivered and settings.queue_type == "classic":
                # A worker took this job before and never settled it: it crashed (maybe on
                # this very job) or lost the broker. A classic queue keeps no count, so a
                # copy at the back of the queue carries one; past the bound, it is poison.
                # (A quorum queue counts for itself and, past its x-delivery-limit, moves
                # the job to <queue>.dead: here it is simply worked on again.)
                poison = crash_loop(delivery.properties, settings.max_redeliveries)
                return Verdict("dead", poison) if poison else Verdict("requeue")
            try:
                job = Job.from_bytes(delivery.body)  # the app's own validation, and a size limit
            except InvalidSignup as e:
                return Verdict("dead", f"malformed job: {e}")  # no retry can fix it
            tries = 1 + redeliveries(delivery.properties) + retries(delivery.properties)
            narrate.info("job %s: received (try %d), scanning", job.id, tries)
            if processed is not None:  # --idempotent
                seen = processed.seen(job)
                if seen is Seen.SAME:  # sent already, but its worker died before the ack
                    return Verdict("ack", "already sent")
                if seen is Seen.OTHER:  # someone else's signup: it must not vanish silently
                    return Verdict("dead", "job id reused with a different payload")
            status.emit(events, job.id, "scanning", f"try {tries}")

            def sent() -> None:
                narrate.info("job %s: sent to %s", job.id, job.email)
                status.emit(events, job.id, "sent", "the mail server accepted the welcome mail")
                if processed is not None:  # --idempotent: remember it now, before the ack
                    processed.add(job)

            try:
                outcome = mail_job.run(job, on_sent=sent)  # scan + SMTP; still the broker's job
            except MailError as e:
                if not e.transient:
                    return Verdict("dead", f"permanent SMTP failure: {e}")  # e.g. 554
                if retries(delivery.properties) >= settings.max_retries:
                    return Verdict("dead", f"gave up after {settings.max_retries} retries: {e}")
                return Verdict("retry", str(e))  # e.g. 451, or no SMTP server: try again later
            if outcome is Outcome.QUARANTINED:  # security got a note, the user no mail
                status.emit(events, job.id, "quarantined", "the scan found a virus; not sent")
            # SIGTERM (or a lost connection) during the scan raises HandedBack: the job goes
            # back to the queue unsent. Anything else raised here is settled by `crashed`.
            return Verdict("ack")

        def settle(delivery: Delivery, verdict: Verdict) -> None:
            """Tell the broker what became of the job."""
            if verdict.action == "retry":
                wait_ms = later.retry(delivery.body, delivery.properties)
                log.warning(
                    "job %s not sent (%s): retry in %d ms", delivery.job_id, verdict.reason, wait_ms
                )
                status.emit(events, delivery.job_id, "retrying", f"in {wait_ms / 1000:g} s")
            elif verdict.action == "requeue":
                count = requeue_counted(later, delivery.body, delivery.properties)
                log.warning(
                    "job %s came back unsettled (%d time(s)): requeued", delivery.job_id, count
                )
                status.emit(events, delivery.job_id, "queued", "its worker left it unsettled")
            elif verdict.action == "dead":
                later.dead(delivery.body, delivery.properties, verdict.reason)
                log.error("job %s dead-lettered: %s", delivery.job_id, verdict.reason)
                status.emit(events, delivery.job_id, "dead", verdict.reason)
            elif verdict.reason:
                log.info("job %s acked unsent: %s", delivery.job_id, verdict.reason)
            if not settings.auto_ack:
                # Only now may the broker forget the job: a copy in .retry, .dead or back in
                # the queue was confirmed first. A crash before this line means the broker
                # hands the job to another worker (and maybe a second mail): never a lost job.
                channel.basic_ack(delivery.tag)
                if verdict.action == "ack" and not verdict.reason:
                    narrate.info("job %s: acked, the broker forgets it", delivery.job_id)

        # A job whose work raised (deep JSON, a bug): dead-lettered with the error, not
        # handed back, where the same failure would meet it again in a hot loop.
        Consumer(
            connection, channel, work, settle, shutdown, crashed=lambda e: Verdict("dead", e)
        ).run(settings.queue, settings.auto_ack)
    finally:
        status.detach(events)  # the states still held go now, or from the next connection
        if connection.is_open:
            connection.close()  # whatever we still hold un-acked goes back to the queue
