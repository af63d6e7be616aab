"""`mqlab worker`: one broker worker process that rides through broker outages.

The consuming itself (manual acks, prefetch) is the lesson in
`scenarios/broker.py`; this file only keeps it running: reconnect when the
broker goes away, stop cleanly on SIGTERM.
"""

from __future__ import annotations

import logging
import signal
import time

import pika.exceptions

from mqlab.config import WorkerConfig
from mqlab.mailjob import MailJob
from mqlab.scan import Scanner

log = logging.getLogger(__name__)

RECONNECT_DELAY_S = 0.5


class Stop(Exception):
    pass


def run(config: WorkerConfig) -> None:
    from scenarios.broker import consume

    def on_term(*_: object) -> None:
        raise Stop  # un-acked jobs go back to the queue when the connection closes

    signal.signal(signal.SIGTERM, on_term)
    mail_job = MailJob(Scanner(config.scan), config.smtp)
    while True:
        try:
            consume(config.amqp, mail_job)
        except (Stop, KeyboardInterrupt):
            return
        except (pika.exceptions.AMQPError, OSError) as e:
            log.warning("lost the broker (%s); reconnecting in %.1f s", e or type(e).__name__,
                        RECONNECT_DELAY_S)
        try:
            time.sleep(RECONNECT_DELAY_S)
        except (Stop, KeyboardInterrupt):
            return
