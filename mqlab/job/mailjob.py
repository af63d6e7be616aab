"""The slow job itself: scan the attachment, then send the welcome mail.

Every mode runs this same function; the modes differ only in *where* it runs
(in the HTTP handler, in a thread pool, in a worker process) and in what a
crash does to it. That difference is the lesson, in `scenarios/`.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum

from mqlab import failpoint
from mqlab.job import mail
from mqlab.job.mail import SmtpTarget
from mqlab.job.scan import Scanner
from mqlab.job.signup import Job


class Outcome(str, Enum):
    SENT = "sent"
    QUARANTINED = "quarantined"


class MailJob:
    def __init__(self, scanner: Scanner, smtp: SmtpTarget) -> None:
        self.scanner = scanner
        self.smtp = smtp

    def run(self, job: Job, on_sent: Callable[[], None] | None = None) -> Outcome:
        """Scan, then mail. Raises mail.MailError when the SMTP server does not take the mail.

        `on_sent` runs the moment the SMTP server accepted the welcome mail (an idempotent
        worker records the job id there)."""
        if self.scanner.is_infected(job.attachment):
            # Never mail an infected attachment; tell security instead.
            mail.send(mail.quarantine_message(job), self.smtp)
            return Outcome.QUARANTINED
        mail.send(mail.welcome_message(job), self.smtp)
        if on_sent is not None:
            on_sent()
        failpoint.hit("after-send")  # crash tests only: die before anyone could ack
        return Outcome.SENT
