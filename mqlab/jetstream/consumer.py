"""The worker's side of JetStream, for a worker that is a plain loop on one thread.

`Jobs` owns the connection and an asyncio loop on a thread of its own (`Loop`); the worker
calls it and waits, with a bound, as it would call pika. That second thread also keeps
the worker's claim on the jobs it holds while the scan runs on the first: every quarter
of AckWait it tells the server "still working" (`msg.in_progress()`, which restarts the
job's AckWait), so a scan longer than AckWait is not handed to another worker meanwhile. A
worker that dies stops telling it, and after AckWait the server hands its jobs to another
worker. The same thread says "here" on `<queue>.workers` every BEACON_S, which is how the
lab counts live workers (a pull consumer has no consumer count: see watch.py).

`Consumer` is the loop itself, as in mqlab/amqp/consumer.py: `work(delivery)` then
`settle(delivery, verdict)`; a job whose work raised is settled by `crashed` (never handed
back into a hot loop); one whose scan met SIGTERM or a lost connection (HandedBack) goes
back unsent: a negative ack without delay, so another worker takes it at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js.api import ConsumerConfig
from nats.js.client import JetStreamContext

from mqlab.amqp.consumer import HandedBack, Shutdown, crash_reason
from mqlab.amqp.settings import AmqpSettings
from mqlab.jetstream.connection import UNAVAILABLE, Lost, close_quietly, connect
from mqlab.jetstream.loop import Loop
from mqlab.jetstream.streams import (
    DEAD_DELIVERIES,
    DEAD_JOB_ID,
    DEAD_REASON,
    JOB_ID,
    dead_subject,
    declare,
    work_stream,
    workers_subject,
)

log = logging.getLogger(__name__)

POLL_S = 0.25  # a fetch waits this long for a job; then the stop flag is looked at
BEACON_S = 0.5  # how often a worker says "here" (the lab counts workers by it)
MARGIN_S = 1.0  # a call's bound on the loop, past the server's own timeout

V = TypeVar("V")


@dataclass(frozen=True)
class Delivery:
    msg: Msg

    @property
    def body(self) -> bytes:
        return self.msg.data

    @property
    def deliveries(self) -> int:
        """How many times the server delivered this message, this time included: the
        first try, every retry (a negative ack) and every takeover after a worker died."""
        return int(self.msg.metadata.num_delivered)

    @property
    def sequence(self) -> int:
        """Its place in the work stream: the same on every delivery."""
        return int(self.msg.metadata.sequence.stream)

    @property
    def job_id(self) -> str:
        """The job id for a log line: the publisher's Nats-Msg-Id, on one line whatever it
        is ("unreadable" without one)."""
        value = (self.msg.headers or {}).get(JOB_ID, "")
        if not value:
            return "unreadable"
        return str(value).encode("unicode_escape").decode("ascii")[:100]


class Jobs:
    """One worker's connection to the work stream, its durable pull consumer, and the
    dead-letter stream. Every call returns within the settings' timeouts or raises one of
    UNAVAILABLE. Call from one thread (the worker's)."""

    def __init__(self, settings: AmqpSettings) -> None:
        self.settings = settings
        self.name = uuid.uuid4().hex[:12]  # this worker, in its "here" beacon
        self._loop = Loop("jetstream-worker")
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._sub: JetStreamContext.PullSubscription | None = None
        self._held: dict[int, Msg] = {}  # fetched, not settled yet: kept "in progress"
        self._keeper: asyncio.Task[None] | None = None

    # -- what the worker calls

    def connect(self) -> None:
        """Connect, and declare the streams (the jobs, the dead letters, the states)."""
        wait = self.settings.timeout_s

        async def open_and_declare() -> None:
            self._nc = await connect(self.settings, wait, name=f"mqlab worker {self.name}")
            self._js = self._nc.jetstream(timeout=wait)
            await declare(self._js, self.settings)

        self._loop.run(open_and_declare(), 2 * wait + MARGIN_S)

    def pull(self, config: ConsumerConfig) -> None:
        """Create the durable pull consumer (or update it to `config`) and bind to it; from
        now on, jobs held are kept "in progress" and the worker says "here"."""

        async def bind() -> None:
            js = self._jetstream()
            await js.add_consumer(work_stream(self.settings), config)
            self._sub = await js.pull_subscribe_bind(
                durable=config.durable_name, stream=work_stream(self.settings)
            )
            self._keeper = asyncio.ensure_future(self._keep(config.ack_wait or 30.0))

        self._loop.run(bind(), self.settings.timeout_s + MARGIN_S)

    def fetch(self, batch: int) -> list[Delivery]:
        """Up to `batch` jobs, waiting up to POLL_S for the first one ([] if none came)."""

        async def fetch() -> list[Msg]:
            if self._sub is None:
                raise Lost("not bound to a consumer")
            try:
                msgs = await self._sub.fetch(batch, timeout=POLL_S)
            except nats.errors.TimeoutError:
                return []
            for msg in msgs:
                self._held[int(msg.metadata.sequence.stream)] = msg
            return msgs

        return [Delivery(m) for m in self._loop.run(fetch(), POLL_S + MARGIN_S)]

    def ack(self, delivery: Delivery) -> None:
        """Done: the server deletes the job from the work stream.

        A plain ack, written to the connection and not answered, as RabbitMQ's basic_ack:
        should the connection drop before the server reads it, the server hands the job
        out again after AckWait (a second mail). Waiting for its answer (`ack_sync`) could
        only report that second mail, not prevent it, and costs every job a round trip.
        The worker's next fetch goes out on the same connection, after the ack."""
        self._settle(delivery, delivery.msg.ack())

    def nak(self, delivery: Delivery, delay_s: float) -> None:
        """Not done: deliver it again after `delay_s` seconds (to any worker)."""
        self._settle(delivery, delivery.msg.nak(delay=delay_s if delay_s > 0 else None))

    def dead(self, delivery: Delivery, reason: str) -> None:
        """Put a copy in `<queue>.dead` with `reason` (acknowledged by that stream), then
        terminate the original: never delivered again, deleted from the work stream."""
        line = " ".join(reason.split())[:1000]  # a header holds one line
        headers = {
            DEAD_REASON: line or "no reason given",
            DEAD_DELIVERIES: str(delivery.deliveries),
            # A worker that dies between the copy and `term` gets the job again and makes
            # a second copy: the dead-letter stream drops it as a duplicate.
            JOB_ID: f"dead-{delivery.sequence}",
        }
        if delivery.job_id != "unreadable":
            headers[DEAD_JOB_ID] = delivery.job_id

        async def copy_then_term() -> None:
            js = self._jetstream()
            timeout = self.settings.timeout_s
            await js.publish(dead_subject(self.settings), delivery.body, timeout, headers=headers)
            await delivery.msg.term()

        self._loop.run(copy_then_term(), self.settings.timeout_s + MARGIN_S)
        self._held.pop(delivery.sequence, None)

    def hand_back(self, delivery: Delivery) -> None:
        """Unsent, back to the stream for another worker at once; with the connection gone,
        the server hands it out again after AckWait anyway. Never raises."""
        self._held.pop(delivery.sequence, None)
        if self.is_open:
            with contextlib.suppress(*UNAVAILABLE):
                self._loop.run(delivery.msg.nak(), self.settings.timeout_s)

    def send(self, subject: str, body: bytes) -> None:
        """Fire and forget (a status event): never waits, never raises."""
        nc = self._nc
        if nc is not None and nc.is_connected:
            self._loop.submit(nc.publish(subject, body))

    @property
    def is_open(self) -> bool:
        return self._nc is not None and self._nc.is_connected

    def process_data_events(self, time_limit: float = 0) -> None:
        """What `Shutdown.keep_alive` calls between two slices of a scan (named as pika's):
        the loop's thread keeps the connection alive; here we only say whether it is."""
        if not self.is_open:
            raise Lost("the connection to the NATS server closed")

    def close(self) -> None:
        """Close the connection (un-acked jobs go to another worker after AckWait) and say
        "gone", so that the lab stops counting this worker at once."""
        nc = self._nc
        if nc is not None:

            async def goodbye() -> None:
                if self._keeper is not None:
                    self._keeper.cancel()
                if nc.is_connected:
                    try:
                        await nc.publish(
                            workers_subject(self.settings), f"{self.name} gone".encode()
                        )
                        await nc.flush(timeout=1)
                    except UNAVAILABLE:
                        pass
                await close_quietly(nc)

            with contextlib.suppress(Lost):
                self._loop.run(goodbye(), 3.0)
        self._loop.close()

    # -- on the loop's thread

    def _jetstream(self) -> JetStreamContext:
        if self._js is None or self._nc is None or not self._nc.is_connected:
            raise Lost("not connected to the NATS server")
        return self._js

    def _settle(self, delivery: Delivery, call: Coroutine[Any, Any, object]) -> None:
        self._loop.run(call, self.settings.timeout_s + MARGIN_S)
        self._held.pop(delivery.sequence, None)

    async def _keep(self, ack_wait: float) -> None:
        """Every BEACON_S: "here" on `<queue>.workers`; every quarter of AckWait: "in
        progress" for each job held, which restarts its AckWait."""
        progress_s = max(ack_wait / 4, BEACON_S)
        last_progress = time.monotonic()
        here = self.name.encode()
        while self._nc is not None and self._nc.is_connected:
            try:
                await self._nc.publish(workers_subject(self.settings), here)
                if time.monotonic() - last_progress >= progress_s:
                    last_progress = time.monotonic()
                    for msg in list(self._held.values()):
                        await msg.in_progress()
            except UNAVAILABLE:
                return  # the connection is gone: the worker finds out at its next call
            await asyncio.sleep(BEACON_S)


class Consumer(Generic[V]):
    """`work(delivery) -> verdict`, then `settle(delivery, verdict)` (ack, retry, dead),
    on the worker's thread, for every job fetched. `work` raises HandedBack for a job it
    did not send. Any other exception it raises becomes `settle(delivery, crashed(reason))`:
    a poison message (or a bug it meets) is settled like any job, never handed back, where
    it would come straight back to the same failure in a hot loop."""

    def __init__(
        self,
        jobs: Jobs,
        work: Callable[[Delivery], V],
        settle: Callable[[Delivery, V], None],
        shutdown: Shutdown,
        crashed: Callable[[str], V],
    ) -> None:
        self.jobs = jobs
        self.work = work
        self.settle = settle
        self.shutdown = shutdown
        self.crashed = crashed
        self._handed_back = 0

    def run(self, prefetch: int) -> None:
        """Fetch at most `prefetch` jobs at a time until shutdown is requested (then stop
        cleanly) or the connection drops (then raise Lost, for the process to reconnect)."""
        # The scan's gate looks at the connection through `is_open` and
        # `process_data_events`, as it would at pika's (mqlab/amqp/consumer.py).
        self.shutdown.attach(cast(Any, self.jobs))
        try:
            while not self.shutdown.requested.is_set():
                if not self.jobs.is_open:  # lost during a job: the scan noticed first
                    raise Lost("connection to the NATS server lost")
                for delivery in self.jobs.fetch(max(prefetch, 1)):
                    self._one(delivery)
        finally:
            self.shutdown.attach(None)
            if self._handed_back:
                why = "stopping" if self.shutdown.requested.is_set() else "connection lost"
                log.info("%s: handed %d unsent job(s) back to the stream", why, self._handed_back)

    def _one(self, delivery: Delivery) -> None:
        try:
            self.shutdown.check()  # with prefetch > 1, jobs fetched before SIGTERM
            verdict = self.work(delivery)
        except (HandedBack, nats.errors.Error, Lost):  # stopping, or the server is gone
            self._handed_back += 1
            self.jobs.hand_back(delivery)
            return
        except Exception as e:  # RecursionError, MemoryError, a bug: the same next time
            verdict = self.crashed(crash_reason(e))
        try:
            self.settle(delivery, verdict)
        except UNAVAILABLE:
            # Not acked: the server hands the job out again after AckWait; if it was sent,
            # a second mail.
            log.warning("connection lost before job %s could be settled", delivery.job_id)
            raise
