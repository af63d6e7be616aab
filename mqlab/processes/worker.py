"""`mqlab worker`: one broker worker process that rides through broker outages.

The consuming itself (manual acks, prefetch, retries) is the lesson in
`scenarios/worker.py`; this file only keeps it running: reconnect when the
broker goes away, hangs or blocks (capped exponential backoff with jitter, one
log line when it is lost and one when it is back), stop cleanly on SIGTERM or
Ctrl-C (a job being sent is finished and acked, every other job the worker
holds goes back to the queue; see `mqlab/amqp/consumer.py`). A broker that refuses
the login, or a host name that does not resolve, is no outage: one line, exit 3; nor is a
queue that exists with other settings (classic, where --queue-type quorum asks for a
quorum queue): one line, exit 2.
"""

from __future__ import annotations

import logging
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path

import pika.exceptions

from mqlab.amqp.consumer import Shutdown, WorkerScanner
from mqlab.amqp.settings import STATUS_RECONNECT_MAX_S, Outage, quiet_pika_logs
from mqlab.errors import BadInput, NoBroker
from mqlab.job.ledger import ProcessedJobs
from mqlab.job.mailjob import MailJob
from mqlab.processes import brokers
from mqlab.processes.config import WorkerConfig
from mqlab.processes.rabbit import mask_url

log = logging.getLogger(__name__)


def refused(error: BaseException) -> str | None:
    """Why no retry can help (wrong credentials, an unknown host), or None: an outage."""
    if isinstance(
        error, (pika.exceptions.AuthenticationError, pika.exceptions.ProbableAuthenticationError)
    ):
        return "login refused (wrong user or password?)"
    if isinstance(error, pika.exceptions.ProbableAccessDeniedError):
        return "access refused (virtual host or permissions)"
    if isinstance(error, socket.gaierror):
        return "cannot resolve the host name"
    return None


def other_queue(error: BaseException) -> str | None:
    """The broker's words when the queue exists with other arguments than the worker declares
    (classic where it asks for quorum, another delivery limit), else None."""
    if isinstance(error, pika.exceptions.ChannelClosedByBroker) and error.reply_code == 406:
        text = str(error.reply_text)
        return text if "inequivalent arg" in text else None
    return None


def backoff(shutdown: Shutdown, seconds: float, between: Callable[[], None]) -> None:
    """The wait before the jobs' connection is tried again, in steps of at most
    STATUS_RECONNECT_MAX_S, `between` each two (a RabbitMQ worker sends the job states it
    holds: with its jobs' connection away up to --reconnect-max, nothing else did, and a
    state held at a broker restart reached the app only when the worker stopped)."""
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        if shutdown.requested.wait(min(left, STATUS_RECONNECT_MAX_S)):
            return
        between()


def run(config: WorkerConfig, processed_db: Path | None = None) -> None:
    """Consume until SIGTERM/SIGINT. With `processed_db` (--idempotent), skip jobs sent before."""
    parts = brokers.worker_parts(config.amqp, config.scan.ms)  # RabbitMQ, Redis or NATS
    quiet_pika_logs()
    outage = Outage(config.amqp.url, config.amqp.reconnect_max_s, log)
    shutdown = Shutdown(on_attach=outage.back)
    signal.signal(signal.SIGTERM, lambda *_: shutdown.request())
    signal.signal(signal.SIGINT, lambda *_: shutdown.request())
    mail_job = MailJob(WorkerScanner(config.scan, shutdown), config.smtp)
    processed = ProcessedJobs(processed_db) if processed_db is not None else None
    try:
        while not shutdown.requested.is_set():
            try:
                parts.consume(config.amqp, mail_job, shutdown, processed)
            except Exception as e:
                if (other := parts.misfit(e)) is not None:  # not an outage: no retry helps
                    raise BadInput(
                        f"queue {config.amqp.queue} exists on the broker with other settings "
                        f"({other}): delete it, or use another --queue"
                    ) from e
                if not isinstance(e, parts.unavailable):
                    raise
                why = parts.refused(e)
                if why is not None and not outage.connected_once:  # before: a broker restarting
                    name = brokers.NAMES[config.amqp.broker]
                    raise NoBroker(f"no {name} at {mask_url(config.amqp.url)} ({why})") from e
                backoff(shutdown, outage.lost(e), parts.between)
    finally:
        parts.close()
        if processed is not None:
            processed.close()
    log.info("worker stopped")
