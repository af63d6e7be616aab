"""The broker's worker on NATS JetStream: take a job from the stream, scan, send, and only then ack.

Workers are separate processes, all on one durable pull consumer of the work stream, so
each job goes to one of them. Each fetches at most --prefetch jobs at a time and acks a job
only after the SMTP server accepted the mail; the ack deletes it from the stream (work-queue
retention). If a worker dies before the ack, the server hands the job to another worker,
though not at once: RabbitMQ sees a worker die with its connection, JetStream only sees a
job's AckWait run out. A live worker with a long scan says "still working" every quarter of
AckWait (`in_progress`, which restarts it: mqlab/jetstream/consumer.py); a dead worker's job
waits until TAKEOVER_S (the AckWait, 5 s) after the last time its worker said so, then goes
to another worker. A mail sent just before a crash may be sent twice (at-least-once).

A mail server that says "try later" (4xx) gets the job back later: a negative ack with a
delay (`nak(delay)`), after which the server delivers it again; the delay doubles with
every retry. One that says "never" (5xx), or still fails after --max-retries, sends it to
`<queue>.dead`: a copy with the reason in a header, acknowledged by that stream, then the
job is terminated (`term`: never delivered again, deleted from the work stream). A job is
settled only once it was sent or parked somewhere safe, never acked and dropped.

JetStream counts deliveries, not why: a message's `num_delivered` counts the first try,
every retry and every takeover after a worker died. So here a takeover counts as a try, and
a job is poison once it was delivered more than 1 + --max-retries + --max-redeliveries times:
at most --max-retries of those deliveries ended in our own retry, so more than
--max-redeliveries workers took it and never settled it (they crashed on it). The worker
dead-letters it itself, with the reason; no advisory listener is needed. The consumer has no
MaxDeliver: in a work-queue stream a job past MaxDeliver is never delivered again, yet stays
there, in nobody's sight. And the server's count can run ahead of what workers saw: before
nats-server 2.10.14 (nats-io/nats-server#5305; Debian 12 ships 2.9.10), a redelivery that
finds only an expired pull request, or one of a worker that just died, comes back counted
as a first delivery while the server's own count goes on. With MaxDeliver the server could
then stop on a job no worker ever saw as poison: lost. Without it, the next delivery is
counted right again and the worker dead-letters the job, one delivery late.

The stream is input like any request: a job that would not pass the app's own validation,
or that makes the worker raise, is a poison message and goes to `<queue>.dead` too. Handed
back, it would come straight back to the same failure, forever, and hold up the good jobs.
"""

from __future__ import annotations

import logging
from typing import Literal, NamedTuple

from nats.js.api import AckPolicy, ConsumerConfig

from mqlab.amqp.consumer import Shutdown
from mqlab.amqp.queues import backoff_ms
from mqlab.amqp.settings import AmqpSettings
from mqlab.jetstream import status
from mqlab.jetstream.consumer import Consumer, Delivery, Jobs
from mqlab.jetstream.streams import CONSUMER  # "workers": the durable consumer all share
from mqlab.job.ledger import ProcessedJobs, Seen
from mqlab.job.mail import MailError
from mqlab.job.mailjob import MailJob, Outcome
from mqlab.job.signup import InvalidSignup, Job

log = logging.getLogger(__name__)
narrate = logging.getLogger("narrate")  # a line per step of a job; `mqlab worker --quiet` hides it

TAKEOVER_S = 5.0  # AckWait: a job whose worker died waits this long for another worker


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
    """One worker: take jobs from the stream until shutdown or until the connection drops."""
    jobs = Jobs(settings)  # a connection, on an asyncio loop of its own
    try:
        jobs.connect()  # and the streams declared: the jobs, <queue>.dead, <queue>.status
        poison_after = 1 + settings.max_retries + settings.max_redeliveries  # deliveries
        jobs.pull(
            ConsumerConfig(
                durable_name=CONSUMER,  # shared by every worker: each job goes to one of them
                ack_policy=AckPolicy.EXPLICIT,  # a job is done only when a worker acks it
                ack_wait=TAKEOVER_S,  # no ack, nor "in progress", for this long: next worker
                max_deliver=-1,  # never given up by the server: the worker decides (docstring)
                filter_subject=settings.queue,
            )
        )
        events = status.events(jobs, settings)  # each job's states, for whoever listens

        def work(delivery: Delivery) -> Verdict:
            """The slow part, run as each job arrives (the loop's thread keeps the claim)."""
            if delivery.deliveries > poison_after:
                # Delivered again and again, and never settled: its workers die on it.
                why = f"delivered {delivery.deliveries} times: its workers crash on it"
                return Verdict("dead", why)
            if settings.auto_ack:
                # --auto-ack, the weak setting. A work-queue stream takes only explicit
                # acks, so the worker acks on receipt, before the work: from now on the
                # server forgets the job, and a worker that dies takes it along.
                jobs.ack(delivery)
            try:
                job = Job.from_bytes(delivery.body)  # the app's own validation, and a size limit
            except InvalidSignup as e:
                return Verdict("dead", f"malformed job: {e}")  # no retry can fix it
            tries = delivery.deliveries  # retries and takeovers alike (see the docstring)
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
                outcome = mail_job.run(job, on_sent=sent)  # scan + SMTP; still the stream's job
            except MailError as e:
                if not e.transient:
                    return Verdict("dead", f"permanent SMTP failure: {e}")  # e.g. 554
                if settings.auto_ack:  # acked on receipt: there is nothing to deliver again
                    return Verdict("dead", f"not sent, and --auto-ack let go of it: {e}")
                if tries - 1 >= settings.max_retries:
                    return Verdict("dead", f"gave up after {settings.max_retries} retries: {e}")
                return Verdict("retry", str(e))  # e.g. 451, or no SMTP server: try again later
            if outcome is Outcome.QUARANTINED:  # security got a note, the user no mail
                status.emit(events, job.id, "quarantined", "the scan found a virus; not sent")
            # SIGTERM (or a lost connection) during the scan raises HandedBack: the job goes
            # back to the stream unsent. Anything else raised here is settled by `crashed`.
            return Verdict("ack")

        def settle(delivery: Delivery, verdict: Verdict) -> None:
            """Tell the server what became of the job."""
            if verdict.action == "retry":
                wait_ms = backoff_ms(settings, delivery.deliveries - 1)
                # A negative ack with a delay: the server keeps the job and delivers it
                # again (to any worker) once the delay is over. A crash before this line:
                # delivered again after AckWait instead.
                jobs.nak(delivery, wait_ms / 1000)
                log.warning(
                    "job %s not sent (%s): retry in %d ms", delivery.job_id, verdict.reason, wait_ms
                )
                status.emit(events, delivery.job_id, "retrying", f"in {wait_ms / 1000:g} s")
            elif verdict.action == "dead":
                # A copy in <queue>.dead first (its PubAck awaited), then `term`: the job is
                # never delivered again. A crash in between: two copies, never none.
                jobs.dead(delivery, verdict.reason)
                log.error("job %s dead-lettered: %s", delivery.job_id, verdict.reason)
                status.emit(events, delivery.job_id, "dead", verdict.reason)
            else:
                if verdict.reason:
                    log.info("job %s acked unsent: %s", delivery.job_id, verdict.reason)
                if not settings.auto_ack:
                    # Only now may the server forget the job. A crash before this line means
                    # the server hands it to another worker after AckWait (and maybe a second
                    # mail): never a lost job.
                    jobs.ack(delivery)
                    if not verdict.reason:
                        narrate.info("job %s: acked, the stream forgets it", delivery.job_id)

        # A job whose work raised (deep JSON, a bug): dead-lettered with the error, not
        # handed back, where the same failure would meet it again in a hot loop.
        Consumer(jobs, work, settle, shutdown, crashed=lambda e: Verdict("dead", e)).run(
            settings.prefetch  # at most this many un-acked jobs held at a time
        )
    finally:
        jobs.close()  # whatever we still hold un-acked goes to another worker after AckWait
