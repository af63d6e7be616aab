"""The SMTP sink: a real aiosmtpd server that records every mail in the ledger.

It can also misbehave on purpose (`fail_rate`, `delay_ms`) so a class can see
what retries and dead-letter queues are for. A refused attempt is recorded too,
as kind "refused" with the job id, before the 451/554 answer.
"""

from __future__ import annotations

import asyncio
import logging
import random
import signal
import time
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import compat32
from pathlib import Path
from typing import Any, Literal

from aiosmtpd.controller import Controller

from mqlab.job.ledger import REFUSED, Arrival, Ledger
from mqlab.job.mail import JOB_HEADER, KIND_HEADER
from mqlab.stopflag import StopFlag

narrate = logging.getLogger("narrate")  # one line a mail; `mqlab sink --quiet` silences it

FailKind = Literal["transient", "permanent"]


@dataclass(frozen=True)
class SinkConfig:
    host: str = "127.0.0.1"
    port: int = 2525
    ledger: Path = Path("mqlab-sink.db")
    delay_ms: float = 0.0
    fail_rate: float = 0.0
    fail_kind: FailKind = "transient"
    seed: int = 0


class LedgerHandler:
    """aiosmtpd handler: commit the mail to the ledger, then answer 250."""

    def __init__(self, config: SinkConfig, ledger: Ledger) -> None:
        self.config = config
        self.ledger = ledger
        self._rng = random.Random(config.seed)
        self._seen: set[tuple[str, str]] = set()  # (kind, job id) mailed: names a duplicate

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.config.delay_ms > 0:
            await asyncio.sleep(self.config.delay_ms / 1000)  # a slow mail server
        # Only our two ASCII headers matter here: parse just the headers, and without the
        # header registry (compat32), which would cost every sender 0.15 ms a mail.
        msg = BytesHeaderParser(policy=compat32).parsebytes(envelope.content)
        job_id = str(msg.get(JOB_HEADER, "") or "")
        kind = str(msg.get(KIND_HEADER, "") or "unknown")
        # Every envelope recipient: a mail that somehow gained a Bcc shows it here.
        recipient = ", ".join(envelope.rcpt_tos)
        if self.config.fail_rate > 0 and self._rng.random() < self.config.fail_rate:
            # Refused on purpose; recorded too, so a run can count the retries it caused.
            self.ledger.record(Arrival(job_id, REFUSED, recipient, time.time()))
            if self.config.fail_kind == "transient":
                narrate.info("job %s: refused on purpose (451, try later)", job_id)
                return "451 4.3.0 Injected transient failure, try again later"
            narrate.info("job %s: refused on purpose (554, never)", job_id)
            return "554 5.0.0 Injected permanent failure"
        self.ledger.record(Arrival(job_id, kind, recipient, time.time()))
        if narrate.isEnabledFor(logging.INFO):
            self._tell(job_id, kind, recipient)
        return "250 OK: recorded"

    def _tell(self, job_id: str, kind: str, recipient: str) -> None:
        what = "welcome mail" if kind == "welcome" else f"{kind} mail"
        if (kind, job_id) in self._seen:
            narrate.warning("job %s: DUPLICATE %s to %s", job_id, what, recipient)
        else:
            self._seen.add((kind, job_id))
            narrate.info("job %s: %s arrived for %s", job_id, what, recipient)


def start(config: SinkConfig) -> Controller:
    """Start the sink in a background thread; returns the running controller."""
    # aiosmtpd logs every SMTP command at INFO, five lines a mail: at 600 mails/s that was
    # a good share of the sink's CPU, taken from the lab it measures. Problems still show.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    ledger = Ledger(config.ledger)
    controller = Controller(LedgerHandler(config, ledger), hostname=config.host, port=config.port)
    controller.start()
    return controller


def serve_forever(config: SinkConfig) -> None:
    """Run the sink until SIGINT or SIGTERM."""
    controller = start(config)
    # Not a threading.Event: a SIGTERM handler that sets one can wait forever for a lock
    # its own thread holds, in the `wait` below or in the handler of a SIGTERM just before
    # (mqlab/stopflag.py). This one takes no lock.
    stop = StopFlag()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()
