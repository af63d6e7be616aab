"""The broker's worker on Redis Streams: take a job from the stream, scan, send, and only then ack.

Workers are separate processes, all in one consumer group, `workers`, of the stream
`<queue>`. XREADGROUP hands each new entry to one of them (at most --prefetch at a time)
and notes it in the group's pending entries list under that worker's name. The worker acks
it (XACK) only after the SMTP server accepted the mail, and deletes it (XDEL) in the same
MULTI/EXEC: the stream keeps only jobs not done yet, and does not grow without bound.

Redis never redelivers by itself. A worker that dies leaves its jobs pending under its name
forever, unless another worker claims them: every worker, between two jobs, runs XAUTOCLAIM
for entries that gave no sign of life for TAKEOVER_S (2 s). A live worker gives one every
HEARTBEAT_S (0.5 s) for each job it holds, from a thread of its own (XCLAIM ... JUSTID to
itself: mqlab/redis_streams/lease.py), so a long scan or a slow mail server keeps its job.
So a dead worker's job waits TAKEOVER_S after the last heartbeat, and up to LOOK_S more
until a worker looks (with every worker busy: until one is done with its job); then
another worker sends it (RabbitMQ: at once, when the dead worker's connection closes).
Here 1.5 to 2.5 s after a SIGKILL (measured: 2.0-2.1 s). Nothing is lost, though a mail
sent just before the crash may be sent twice (at-least-once delivery). A worker stopped by
SIGTERM mid-scan leaves its job pending the same way: it is taken over TAKEOVER_S later.

A mail server that says "try later" (4xx) sends the job to `<queue>.retry`, a sorted set
scored by the time it is due: ZADD, XACK and XDEL in one MULTI/EXEC. Any worker moves due
jobs back to the stream (a Lua script: atomic), counting retries in a field of the entry. A
mail server that says "never" (5xx), or one that still fails after --max-retries, sends it
to the stream `<queue>.dead` with the reason, XACKed in the same MULTI/EXEC: a job is acked
only once it was sent or parked somewhere safe, never acked and dropped.

The stream is input like any request: a job that would not pass the app's own validation,
or that makes the worker raise, is a poison message and goes to `<queue>.dead` too; so does
one handed out more than --max-redeliveries times over (XPENDING counts them): its workers
keep dying on it. Handed out again, it would meet the same failure, forever.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, cast

import redis

from mqlab.amqp.consumer import HandedBack, Shutdown, crash_reason
from mqlab.amqp.queues import backoff_ms
from mqlab.amqp.settings import AmqpSettings, dead_letter_queue, retry_queue
from mqlab.job.ledger import ProcessedJobs, Seen
from mqlab.job.mail import MailError
from mqlab.job.mailjob import MailJob, Outcome
from mqlab.job.signup import InvalidSignup, Job, is_job_id
from mqlab.redis_streams import status
from mqlab.redis_streams.connection import GROUP, UNAVAILABLE, Lost, connect, group_gone, text
from mqlab.redis_streams.lease import Lease
from mqlab.redis_streams.queues import move_due, retry_member

if TYPE_CHECKING:
    from pika.adapters.blocking_connection import BlockingConnection

log = logging.getLogger(__name__)
narrate = logging.getLogger("narrate")  # a line per step of a job; `mqlab worker --quiet` hides it

TAKEOVER_S = 2.0  # XAUTOCLAIM's min-idle: no heartbeat for this long, and a job is taken over
BLOCK_MS = 500  # XREADGROUP's BLOCK: how often an idle worker looks at the stop flag
LOOK_S = 0.5  # how often a worker looks for due retries and for dead workers' jobs


class Verdict(NamedTuple):
    """What becomes of a job once the worker is done with it."""

    action: Literal["ack", "retry", "dead"]
    reason: str = ""


@dataclass(frozen=True)
class Entry:
    """A job as the stream handed it out."""

    id: str  # the entry's id in the stream
    body: bytes  # the `job` field
    job_id: str  # the `id` field, for a log line ("unreadable" if it is not a job id)
    retries: int  # retries done (the `retries` field, set when it came back from .retry)
    deliveries: int  # times the group handed it out (XPENDING's delivery count)


def consume(
    settings: AmqpSettings,
    mail_job: MailJob,
    shutdown: Shutdown,
    processed: ProcessedJobs | None = None,
) -> None:
    """One worker: take jobs from the stream until shutdown or until the connection drops."""
    r = connect(settings, health_check_s=settings.heartbeat_s)
    me = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"  # our name in the group
    events = status.Events(settings)  # each job's states, for whoever reads the log
    lease = Lease(r, settings, me)  # the heartbeat: keeps what we hold ours (lease.py)
    handed_back = 0
    try:
        try:
            # The group reads the stream from its first entry ("0"): jobs the app took before
            # any worker ran are delivered too ("$" would skip them). MKSTREAM: the stream
            # may not exist yet. BUSYGROUP: another worker created the group already.
            r.xgroup_create(settings.queue, GROUP, id="0", mkstream=True)
        except redis.ResponseError as e:
            if "BUSYGROUP" not in str(e):
                raise
        lease.start()  # says we are alive, now and every HEARTBEAT_S
        # A scan looks at the lease between two slices (as at a pika connection): a lease
        # lost to another worker means the job is handed back, not sent.
        shutdown.attach(cast("BlockingConnection", lease))
        cursor = "0-0"  # where XAUTOCLAIM goes on looking in the group's pending list
        look_at = 0.0  # when to look next for due retries and dead workers' jobs
        due_at: float | None = None  # when the next retry is due (None: none waits)

        def take() -> list[Entry]:
            """At most --prefetch jobs: first those whose worker died, else new ones."""
            nonlocal cursor, look_at, due_at
            now = time.time()
            # Every LOOK_S (not before every job: each look is two round trips to Redis, which
            # cost a busy worker 5% of its throughput), and as soon as a retry is due:
            if now >= look_at or (due_at is not None and now >= due_at):
                look_at = now + LOOK_S
                due_at = move_due(r, settings)  # jobs whose backoff is over: back on the stream
                # XAUTOCLAIM <queue> workers <me> <min-idle> <cursor> COUNT <prefetch>: entries
                # pending under any name with no sign of life for TAKEOVER_S are now ours, and
                # their delivery count goes up by one.
                next_cursor, claimed, *_ = r.xautoclaim(
                    settings.queue,
                    GROUP,
                    me,
                    int(TAKEOVER_S * 1000),
                    cursor,
                    count=settings.prefetch,
                )
                cursor = text(next_cursor)
                if claimed:
                    look_at = now  # there may be more: look again before reading new ones
                    pending = r.pipeline(transaction=False)
                    for entry_id, _fields in claimed:
                        pending.xpending_range(settings.queue, GROUP, entry_id, entry_id, 1)
                    counts = [
                        rows[0]["times_delivered"] if rows else 1 for rows in pending.execute()
                    ]
                    return entries(claimed, counts)
            wake = min(look_at, due_at) if due_at is not None else look_at
            block = (wake - time.time()) * 1000
            # XREADGROUP GROUP workers <me> COUNT <prefetch> BLOCK <ms> STREAMS <queue> >:
            # entries never handed out (">"), now pending under our name until we XACK them.
            # Nothing new: Redis answers empty after BLOCK ms (we look at the stop flag).
            reply: Any = r.xreadgroup(
                GROUP,
                me,
                {settings.queue: ">"},
                count=settings.prefetch,
                block=int(min(max(block, 1), BLOCK_MS)),  # 0 would wait for ever
                noack=settings.auto_ack,
            )
            new = [entry for _stream, stream_entries in reply or [] for entry in stream_entries]
            if settings.auto_ack and new:
                # --auto-ack, the weak setting: NOACK put nothing in the pending list, and the
                # entries go now. If this worker dies before it sent them, they are lost.
                r.xdel(settings.queue, *[entry_id for entry_id, _fields in new])
            return entries(new, [1] * len(new))

        def work(entry: Entry) -> Verdict:
            """The slow part, run as each job arrives (the lease is kept fresh meanwhile)."""
            if entry.deliveries - 1 > settings.max_redeliveries:
                # Handed out again and again, never settled: its workers died on it, or lost
                # Redis each time. Past the bound it is poison, not tried once more.
                return Verdict(
                    "dead",
                    f"poison: delivered {entry.deliveries} times, its workers never settled it",
                )
            try:
                job = Job.from_bytes(entry.body)  # the app's own validation, and a size limit
            except InvalidSignup as e:
                return Verdict("dead", f"malformed job: {e}")  # no retry can fix it
            tries = entry.deliveries + entry.retries
            narrate.info("job %s: received (try %d), scanning", job.id, tries)
            if processed is not None:  # --idempotent
                seen = processed.seen(job)
                if seen is Seen.SAME:  # sent already, but its worker died before the ack
                    status.hold(events, job.id, "sent", "the mail was sent already")
                    return Verdict("ack", "already sent")
                if seen is Seen.OTHER:  # someone else's signup: it must not vanish silently
                    return Verdict("dead", "job id reused with a different payload")
            status.emit(events, job.id, "scanning", f"try {tries}")

            def sent() -> None:
                narrate.info("job %s: sent to %s", job.id, job.email)
                # Told with the XACK, in its MULTI/EXEC (settle): both or neither.
                status.hold(events, job.id, "sent", "the mail server accepted the welcome mail")
                if processed is not None:  # --idempotent: remember it now, before the ack
                    processed.add(job)

            try:
                outcome = mail_job.run(job, on_sent=sent)  # scan + SMTP; still pending
            except MailError as e:
                if not e.transient:
                    return Verdict("dead", f"permanent SMTP failure: {e}")  # e.g. 554
                if entry.retries >= settings.max_retries:
                    return Verdict("dead", f"gave up after {settings.max_retries} retries: {e}")
                return Verdict("retry", str(e))  # e.g. 451, or no SMTP server: try again later
            if outcome is Outcome.QUARANTINED:  # security got a note, the user no mail
                status.emit(events, job.id, "quarantined", "the scan found a virus; not sent")
            # SIGTERM (or a lost lease) during the scan raises HandedBack: the job stays
            # pending, unsent. Anything else raised here is dead-lettered by the loop below.
            return Verdict("ack")

        def settle(entry: Entry, verdict: Verdict) -> None:
            """Tell Redis what became of the job: one MULTI/EXEC, all of it or none of it."""
            tx = r.pipeline(transaction=True)  # MULTI ... EXEC
            wait_ms = backoff_ms(settings, entry.retries)  # doubles with every retry
            if verdict.action == "retry":
                due_ms = time.time() * 1000 + wait_ms  # on this worker's clock
                member = retry_member(entry.retries + 1, entry.id, entry.job_id, entry.body)
                tx.zadd(retry_queue(settings.queue), {member: due_ms})
            elif verdict.action == "dead":
                reason = verdict.reason[:1000]
                fields = {"id": entry.job_id, "job": entry.body, "reason": reason}
                tx.xadd(dead_letter_queue(settings.queue), fields)  # type: ignore[arg-type]
            if not settings.auto_ack:
                # Only now may Redis forget the job: a copy in .retry or .dead is written in
                # the same transaction. A crash before EXEC leaves the job pending, and
                # another worker takes it over (maybe a second mail): never a lost job.
                tx.xack(settings.queue, GROUP, entry.id)
                tx.xdel(settings.queue, entry.id)
            status.add_held(tx, events)  # "sent", recorded with the XACK or not at all
            lease.release(entry.id)  # before EXEC: once acked, it is not "taken over"
            try:
                tx.execute()
            except redis.ResponseError as e:
                if group_gone(e):  # Redis restarted without its data: the group is gone
                    raise Lost(f"the consumer group is gone ({e})") from e
                raise
            except UNAVAILABLE:
                # Pending still: another worker takes it over. If it was sent, a second mail.
                log.warning("connection lost before job %s could be acked", entry.job_id)
                raise
            if verdict.action == "retry":
                log.warning(
                    "job %s not sent (%s): retry in %d ms", entry.job_id, verdict.reason, wait_ms
                )
                status.emit(events, entry.job_id, "retrying", f"in {wait_ms / 1000:g} s")
            elif verdict.action == "dead":
                log.error("job %s dead-lettered: %s", entry.job_id, verdict.reason)
                status.emit(events, entry.job_id, "dead", verdict.reason)
            elif verdict.reason:
                log.info("job %s acked unsent: %s", entry.job_id, verdict.reason)
            elif not settings.auto_ack:
                narrate.info("job %s: acked, Redis forgets it", entry.job_id)

        while not shutdown.requested.is_set():
            if not lease.is_open:  # the heartbeat lost Redis, or our jobs: start again
                raise Lost(lease.why_lost)
            try:
                batch = take()
            except redis.ResponseError as e:
                if group_gone(e):  # Redis restarted without its data: the group is gone
                    raise Lost(f"the consumer group is gone ({e})") from e
                raise
            if not settings.auto_ack:  # NOACK entries are nobody's: nothing to keep fresh
                lease.hold([entry.id for entry in batch])
            for entry in batch:
                try:
                    shutdown.check()  # with prefetch > 1, jobs held since before SIGTERM
                    verdict = work(entry)
                except HandedBack:  # stopping, or the lease is lost: unsent, still pending
                    handed_back += 1
                    continue
                except Exception as e:  # RecursionError, MemoryError, a bug: the same next time
                    # Dead-lettered with the error, not left pending, where the same failure
                    # would meet it again in a loop.
                    verdict = Verdict("dead", crash_reason(e))
                settle(entry, verdict)
        lease.stop()
        lease.retire()  # a clean stop: our name leaves the group, unless jobs are pending
    finally:
        lease.stop()  # no more heartbeats: what we still hold is taken over in TAKEOVER_S
        shutdown.attach(None)
        if handed_back:
            why = "stopping" if shutdown.requested.is_set() else "connection lost"
            log.info(
                "%s: handed %d unsent job(s) back: pending, another worker takes them over "
                "after %g s",
                why,
                handed_back,
                TAKEOVER_S,
            )
        events.close()
        r.close()


def entries(raw: list[Any], deliveries: list[int]) -> list[Entry]:
    """Stream entries (id, fields) as Entry, with their delivery counts."""
    out = []
    for (entry_id, fields_or_none), count in zip(raw, deliveries, strict=True):
        fields = fields_or_none or {}
        job_id = text(fields.get(b"id", b""))
        retries = text(fields.get(b"retries", b"0"))
        out.append(
            Entry(
                id=text(entry_id),
                body=fields.get(b"job", b""),
                job_id=job_id if is_job_id(job_id) else "unreadable",
                retries=int(retries) if retries.isdigit() else 0,
                deliveries=int(count),
            )
        )
    return out
