"""Consume on the connection's thread, run the slow job on a job thread.

Why: pika's BlockingConnection answers the broker's heartbeats only while its own thread is
inside pika. A job that blocks that thread for more than two heartbeat intervals (a long virus
scan) gets the connection closed by the broker; the ack then fails and the job is delivered
again: a second mail. So, as in pika's `basic_consumer_threaded` example, the connection's
thread only receives deliveries and keeps calling `process_data_events` (which sends and
checks heartbeats); one job thread does the slow part, one job at a time; its verdict travels
back to the connection's thread, because a pika channel may only be used from the thread that
owns it. The example sends it with `add_callback_threadsafe`, which wakes pika's poller
through a socket pair and an extra pass of its loop; here a verdict is a queue entry and a
`threading.Event`, and the connection's thread waits on that Event while a job is under way,
looking at the broker's frames (heartbeats) every POLL_S meanwhile. On the 2-core VM that cut
the worker's CPU per job at scan 0, paced, by about 4% (1.34 to 1.28 times the SMTP sink's
CPU per mail, five runs each; issue 6).

Shutdown (SIGTERM): no new deliveries (basic_cancel); a job that is already being sent over
SMTP is finished and acked; every other job this worker holds, scanned or waiting, is handed
back to the broker (nack, requeue) before the connection closes. `Shutdown.gate` is the line
between the two: a job passes it between its scan and its send (see `GatedScanner`).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Generic, TypeVar

from pika.adapters.blocking_connection import BlockingChannel, BlockingConnection
from pika.spec import Basic, BasicProperties

from mqlab.scan import Scanner, ScanSettings

log = logging.getLogger(__name__)

POLL_S = 0.1  # how often the connection's thread looks at the stop flag
SEND_TIMEOUT_S = 30.0  # at shutdown: the longest wait for a mail that is being sent
JOB_TIMEOUT_S = 120.0  # after a lost connection: the longest wait for the job under way

V = TypeVar("V")


class HandedBack(Exception):
    """The worker is stopping and this job has not been sent: it goes back to the queue."""


class Shutdown:
    """The stop flag of a worker process, and the gate between a job's scan and its send."""

    def __init__(self) -> None:
        self.requested = threading.Event()
        self._lock = threading.Lock()
        self._closed = False
        self._sending = False

    def request(self) -> None:
        """Safe to call from a signal handler: it only sets a flag."""
        self.requested.set()

    def pass_gate(self) -> None:
        """Job thread, right before the SMTP send: go on, or raise HandedBack after SIGTERM."""
        with self._lock:
            if self._closed:
                raise HandedBack
            self._sending = True

    def job_done(self) -> None:
        with self._lock:
            self._sending = False

    def close_gate(self) -> bool:
        """Connection's thread, at shutdown: no job passes any more. True if one is sending."""
        with self._lock:
            self._closed = True
            return self._sending


class GatedScanner(Scanner):
    """A Scanner that, once the scan is done, asks the shutdown gate whether to send."""

    def __init__(self, settings: ScanSettings, shutdown: Shutdown) -> None:
        super().__init__(settings)
        self.shutdown = shutdown

    def is_infected(self, attachment: bytes) -> bool:
        infected = super().is_infected(attachment)
        self.shutdown.pass_gate()  # after SIGTERM: HandedBack, the mail is not sent
        return infected


@dataclass(frozen=True)
class Delivery:
    tag: int
    body: bytes
    properties: BasicProperties


class ThreadedConsumer(Generic[V]):
    """`work(delivery) -> verdict` runs on the job thread; `settle(delivery, verdict)` on the
    connection's thread (ack, retry, dead-letter)."""

    def __init__(
        self,
        connection: BlockingConnection,
        channel: BlockingChannel,
        work: Callable[[Delivery], V],
        settle: Callable[[Delivery, V], None],
        shutdown: Shutdown,
    ) -> None:
        self.connection = connection
        self.channel = channel
        self.work = work
        self.settle = settle
        self.shutdown = shutdown
        self._todo: queue.SimpleQueue[Delivery | None] = queue.SimpleQueue()
        # The job thread's answers, each (delivery, what to do on the connection's thread);
        # `_answered` is set with every one of them and wakes the connection's thread.
        self._answers: queue.SimpleQueue[tuple[Delivery, Callable[[], None]]]
        self._answers = queue.SimpleQueue()
        self._answered = threading.Event()
        # Connection's thread only: deliveries not settled yet. Not empty: a job is under way.
        self._unsettled: dict[int, Delivery] = {}
        self._active: int | None = None  # the delivery tag the job thread is working on
        self._gone = threading.Event()  # the connection is closed or closing: stop working
        self._thread = threading.Thread(target=self._job_loop, name="job", daemon=True)

    def run(self, queue_name: str, auto_ack: bool) -> None:
        """Consume until shutdown is requested (then stop cleanly) or the connection drops."""
        tag = self.channel.basic_consume(queue_name, self._on_message, auto_ack=auto_ack)
        self._thread.start()
        try:
            while not self.shutdown.requested.is_set():
                self._step(POLL_S)
            self._stop(tag, auto_ack)
        finally:
            self._gone.set()
            self._todo.put(None)
            self._wait_idle(JOB_TIMEOUT_S)
            self._unanswerable()

    def _wait_idle(self, timeout: float) -> None:
        """After a lost connection: let the job thread end its job before the worker consumes
        again on a new connection (one job at a time), unless the worker is stopping."""
        deadline = time.monotonic() + timeout
        while self._thread.is_alive() and time.monotonic() < deadline:
            if self.shutdown.requested.is_set():
                return
            self._thread.join(POLL_S)

    def _unanswerable(self) -> None:
        """After the connection is gone: answers it can no longer carry (the broker hands
        those jobs out again, maybe as a second mail)."""
        for delivery, _ in self._waiting_answers():
            self.shutdown.job_done()
            log.warning(
                "connection lost before job %s could be acked", delivery.properties.message_id
            )

    def _waiting_answers(self) -> Iterator[tuple[Delivery, Callable[[], None]]]:
        """The job thread's answers that are here now, oldest first, each taken once."""
        while True:
            try:
                yield self._answers.get_nowait()
            except queue.Empty:
                return

    # -- the connection's thread

    def _step(self, timeout: float) -> None:
        """Wait at most `timeout` for something to do, and do it: the job thread's answers
        (ack, retry, dead-letter, hand back), the broker's frames (deliveries, heartbeats)."""
        if not self._unsettled:
            self.connection.process_data_events(time_limit=timeout)  # wait for a delivery
            return
        if self._answered.wait(timeout):  # a job under way: its answer wakes us
            self._answered.clear()
            for _, answer in self._waiting_answers():
                answer()
        if self._unsettled:  # still working (a long scan, or prefetch > 1): read what came in
            self.connection.process_data_events(time_limit=0)

    def _on_message(
        self, _ch: BlockingChannel, method: Basic.Deliver, properties: BasicProperties, body: bytes
    ) -> None:
        delivery = Delivery(int(method.delivery_tag), body, properties)
        self._unsettled[delivery.tag] = delivery
        self._todo.put(delivery)

    def _settle(self, delivery: Delivery, verdict: V) -> None:
        try:
            if self._unsettled.pop(delivery.tag, None) is not None:  # else: handed back already
                self.settle(delivery, verdict)
        finally:
            self._active = None
            self.shutdown.job_done()  # only now, after the ack: see _stop

    def _hand_back(self, delivery: Delivery) -> None:
        """A job whose work failed unexpectedly: back to the queue, never dropped."""
        if self._unsettled.pop(delivery.tag, None) is not None:
            self.channel.basic_nack(delivery.tag, requeue=True)

    def _stop(self, consumer_tag: str, auto_ack: bool) -> None:
        self.channel.basic_cancel(consumer_tag)  # the broker sends us nothing new
        # From now on a scan that ends is handed back. `sending` stays True from the moment a
        # job passed the gate until its ack (job_done in _settle, on this thread): a mail that
        # was sent is never nacked here.
        sending = self.shutdown.close_gate()
        active = self._active
        deadline = time.monotonic() + SEND_TIMEOUT_S
        while sending and active in self._unsettled and time.monotonic() < deadline:
            self._step(POLL_S)  # the mail under way: let it finish and ack it
        left = sorted(self._unsettled)
        if not auto_ack:
            for tag in left:
                self.channel.basic_nack(tag, requeue=True)  # not sent: back to the queue
        self._unsettled.clear()
        if left:
            log.info("stopping: handed %d unsent job(s) back to the queue", len(left))

    # -- the job thread

    def _job_loop(self) -> None:
        while True:
            delivery = self._todo.get()
            if delivery is None or self._gone.is_set() or self.shutdown.requested.is_set():
                return  # what is left is nacked (or, with the connection gone, redelivered)
            self._active = delivery.tag
            callback: Callable[[], None]
            try:
                verdict = self.work(delivery)
                callback = partial(self._settle, delivery, verdict)
            except HandedBack:
                self._active = None
                continue  # stopping: the connection's thread nacks it
            except Exception:
                log.exception(
                    "job %s failed unexpectedly; handing it back", delivery.properties.message_id
                )
                self._active = None
                self.shutdown.job_done()
                callback = partial(self._hand_back, delivery)
            self._answers.put((delivery, callback))
            self._answered.set()
