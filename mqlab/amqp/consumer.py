"""Consume on the connection's thread, the job included, as in RabbitMQ's work-queue tutorial.

Heartbeats: pika answers the broker's heartbeats only while its thread is inside pika, and
a long scan would keep it out long enough for the broker to drop the connection (the ack
would then fail and the job come back: a second mail). So the scan runs in slices of
SLICE_S with a call into pika between two (`WorkerScanner`); the SMTP send blocks for at
most the mail server's timeout, inside the heartbeat. Why not a job thread, as in pika's
threaded example: two more thread wake-ups a job, and a job whose connection died mid-scan
was still sent (bench/README.md has the figures).

Shutdown (SIGTERM) and a lost connection are looked at between two slices and right after
the scan (`Shutdown.check`): a job that has not started its send is handed back, never
sent; one being sent is finished and acked. A job that ran late reads from the broker
before it sends, so a worker resumed after its delivery went elsewhere hands it back.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel, BlockingConnection
from pika.spec import Basic, BasicProperties

from mqlab.amqp.settings import Cancels
from mqlab.job.scan import Scanner, ScanSettings
from mqlab.stopflag import StopFlag

log = logging.getLogger(__name__)

POLL_S = 0.1  # how often an idle worker looks at the stop flag
SLICE_S = 0.25  # the longest a scan goes without answering the broker (heartbeats: 1 s or more)
LATE_S = 2 * SLICE_S  # away from pika longer than this: the broker may have given the job away

V = TypeVar("V")


class HandedBack(Exception):
    """This job was not sent and goes back to the queue: the worker is stopping, or lost its
    connection to the broker (which then hands the job to another worker)."""


class Shutdown:
    """The stop flag of a worker process, and what a scan waits with: the connection."""

    def __init__(self, on_attach: Callable[[], None] | None = None) -> None:
        # Not a threading.Event: a SIGTERM handler that sets one can wait forever for a
        # lock its own thread holds (mqlab/stopflag.py).
        self.requested = StopFlag()
        self._connection: BlockingConnection | None = None
        self._on_attach = on_attach  # the worker's "back on the broker" line

    def request(self) -> None:
        """Safe to call from a signal handler, any number of times, even while the
        handler of the signal before still runs: it only sets a flag, and takes no lock."""
        self.requested.set()

    def attach(self, connection: BlockingConnection | None) -> None:
        """The connection jobs run on now (None: none)."""
        self._connection = connection
        if connection is not None and self._on_attach is not None:
            self._on_attach()

    def check(self) -> None:
        """Raise HandedBack once SIGTERM came or the connection is gone: do not send."""
        if self.requested.is_set():
            raise HandedBack("stopping")
        if self._connection is not None and not self._connection.is_open:
            raise HandedBack("connection lost")

    def keep_alive(self) -> None:
        """Answer the broker: send a heartbeat if one is due, and find out whether the
        connection is still there (HandedBack if not)."""
        if self._connection is None:
            return
        try:
            self._connection.process_data_events(time_limit=0)
        except (pika.exceptions.AMQPError, OSError) as e:
            raise HandedBack(f"connection lost: {e!r}") from e


class WorkerScanner(Scanner):
    """A Scanner whose scan keeps the broker connection alive and stops short after SIGTERM.

    Its end is the gate before the send. A worker that was away from pika for longer than
    LATE_S (SIGSTOPped, or starved of CPU) reads what the broker sent first: a broker that
    missed its heartbeats meanwhile closed the connection and gave the job to another
    worker, which sends it; this one hands it back unsent. A worker that was not away makes
    no such call: the broker cannot have dropped it (heartbeats are 1 s or more), and a call
    into pika costs every job time (see the module's docstring)."""

    def __init__(self, settings: ScanSettings, shutdown: Shutdown) -> None:
        super().__init__(settings)
        self.shutdown = shutdown
        self._contact = 0.0  # when this worker last heard from the broker

    def is_infected(self, attachment: bytes) -> bool:
        self._contact = time.monotonic()  # pika handed us the job just now
        infected = super().is_infected(attachment)
        self.shutdown.check()  # the gate: after SIGTERM (or without a connection), no send
        if time.monotonic() - self._contact > LATE_S:
            self.shutdown.keep_alive()  # HandedBack if the broker closed on us meanwhile
        return infected

    def _take(self, seconds: float) -> None:
        """The scan's time in slices; between two, the stop flag and the broker are looked
        at. After the last one, only if it ran late (`is_infected`)."""
        while seconds > SLICE_S:
            self.shutdown.check()
            super()._take(SLICE_S)  # a sleep or CPU, as the scan's kind says
            seconds -= SLICE_S
            self.shutdown.keep_alive()
            self._contact = time.monotonic()
        self.shutdown.check()
        super()._take(seconds)


@dataclass(frozen=True)
class Delivery:
    tag: int
    body: bytes
    properties: BasicProperties
    redelivered: bool = False  # the broker handed it out before, and it was never settled

    @property
    def job_id(self) -> str:
        """The job id for a log line: the message id, on one line whatever the publisher put
        there ("unreadable" without one)."""
        message_id = self.properties.message_id
        if not message_id:
            return "unreadable"
        return str(message_id).encode("unicode_escape").decode("ascii")[:100]


def crash_reason(e: BaseException) -> str:
    """One line for the log and the dead-letter header: the error, and where it was raised."""
    frames = traceback.extract_tb(e.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    return f"error: {e!r}"[:300] + where


class Consumer(Generic[V]):
    """`work(delivery) -> verdict`, then `settle(delivery, verdict)` (ack, retry,
    dead-letter), both in pika's delivery callback. `work` raises HandedBack for a job it
    did not send. Any other exception it raises becomes `settle(delivery, crashed(reason))`:
    a poison message (or a bug it meets) is settled like any job, never handed back, where
    it would come straight back to the same failure in a hot loop."""

    def __init__(
        self,
        connection: BlockingConnection,
        channel: BlockingChannel,
        work: Callable[[Delivery], V],
        settle: Callable[[Delivery, V], None],
        shutdown: Shutdown,
        crashed: Callable[[str], V],
    ) -> None:
        self.connection = connection
        self.channel = channel
        self.work = work
        self.settle = settle
        self.shutdown = shutdown
        self.crashed = crashed
        self._auto_ack = False
        self._handed_back = 0

    def run(self, queue_name: str, auto_ack: bool) -> None:
        """Consume until shutdown is requested (then stop cleanly) or the connection drops,
        or until the broker cancels the consumer and keeps the connection: the queue deleted,
        or its node gone (a classic queue in a cluster). Then the worker connects again, and
        declares and consumes the queue anew, as after a lost connection; left as it was, it
        would wait for jobs that never come."""
        self._auto_ack = auto_ack
        self.shutdown.attach(self.connection)
        cancels = Cancels(self.channel, f"the consumer of {queue_name}")
        try:
            tag = self.channel.basic_consume(queue_name, self._on_message, auto_ack=auto_ack)
            while not self.shutdown.requested.is_set():
                if not self.connection.is_open:  # lost during a job: the scan noticed first
                    raise pika.exceptions.StreamLostError("connection to the broker lost")
                cancels.check()
                self.connection.process_data_events(time_limit=POLL_S)
            # The broker sends nothing new; pika nacks (requeue) what it held, undelivered.
            self.channel.basic_cancel(tag)
        finally:
            self.shutdown.attach(None)
            if self._handed_back:
                why = "stopping" if self.shutdown.requested.is_set() else "connection lost"
                log.info("%s: handed %d unsent job(s) back to the queue", why, self._handed_back)

    def _on_message(
        self, _ch: BlockingChannel, method: Basic.Deliver, properties: BasicProperties, body: bytes
    ) -> None:
        delivery = Delivery(int(method.delivery_tag), body, properties, bool(method.redelivered))
        try:
            self.shutdown.check()  # with prefetch > 1, jobs held since before SIGTERM
            verdict = self.work(delivery)
        except (HandedBack, pika.exceptions.AMQPError):  # stopping, or the broker is gone
            self._handed_back += 1
            self._hand_back(delivery)
            return
        except Exception as e:  # RecursionError, MemoryError, a bug: the same next time
            verdict = self.crashed(crash_reason(e))
        try:
            self.settle(delivery, verdict)
        except (pika.exceptions.AMQPError, OSError):
            # The broker hands the job out again: if it was sent, a second mail.
            log.warning(
                "connection lost before job %s could be acked", delivery.properties.message_id
            )
            raise

    def _hand_back(self, delivery: Delivery) -> None:
        """Back to the queue, unsent, never dropped (unless auto-ack dropped it already)."""
        if not self._auto_ack and self.channel.is_open:
            self.channel.basic_nack(delivery.tag, requeue=True)
