"""`mqlab worker`: one broker worker process that rides through broker outages.

The consuming itself (manual acks, prefetch, retries) is the lesson in
`scenarios/worker.py`; this file only keeps it running: reconnect when the
broker goes away, stop cleanly on SIGTERM or Ctrl-C (a job being sent is
finished and acked, every other job the worker holds goes back to the queue;
see `mqlab/consumer.py`).
"""

from __future__ import annotations

import logging
import signal
from pathlib import Path

import pika.exceptions

from mqlab.amqp import quiet_pika_logs
from mqlab.config import WorkerConfig
from mqlab.consumer import Shutdown, WorkerScanner
from mqlab.ledger import ProcessedJobs
from mqlab.mailjob import MailJob

log = logging.getLogger(__name__)

RECONNECT_DELAY_S = 0.5


def run(config: WorkerConfig, processed_db: Path | None = None) -> None:
    """Consume until SIGTERM/SIGINT. With `processed_db` (--idempotent), skip jobs sent before."""
    from scenarios.worker import consume

    quiet_pika_logs()
    shutdown = Shutdown()
    signal.signal(signal.SIGTERM, lambda *_: shutdown.request())
    signal.signal(signal.SIGINT, lambda *_: shutdown.request())
    mail_job = MailJob(WorkerScanner(config.scan, shutdown), config.smtp)
    processed = ProcessedJobs(processed_db) if processed_db is not None else None
    try:
        while not shutdown.requested.is_set():
            try:
                consume(config.amqp, mail_job, shutdown, processed)
            except (pika.exceptions.AMQPError, OSError) as e:
                reason = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
                log.warning(
                    "lost the broker (%s); reconnecting in %.1f s", reason, RECONNECT_DELAY_S
                )
                shutdown.requested.wait(RECONNECT_DELAY_S)
    finally:
        if processed is not None:
            processed.close()
    log.info("worker stopped")
