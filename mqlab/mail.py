"""Building and sending the welcome mail over real SMTP.

The job id travels in the `X-Mqlab-Job` header so the sink can follow each job
from the HTTP answer to the inbox.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Literal

from mqlab.signup import Job

JOB_HEADER = "X-Mqlab-Job"
KIND_HEADER = "X-Mqlab-Kind"
SENDER = "welcome@mqlab.test"
SECURITY = "security@mqlab.test"

MailKind = Literal["welcome", "quarantine"]


@dataclass(frozen=True)
class SmtpTarget:
    host: str = "127.0.0.1"
    port: int = 2525
    timeout_s: float = 10.0


class MailError(Exception):
    """The SMTP server did not take the mail. `transient` (4xx, a dropped connection) may be retried."""

    def __init__(self, message: str, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


def welcome_message(job: Job) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = SENDER
    msg["To"] = job.email
    msg["Subject"] = f"Welcome, {job.name}!"
    msg[JOB_HEADER] = job.id
    msg[KIND_HEADER] = "welcome"
    msg.set_content(f"Hello {job.name},\n\nthanks for signing up.\n")
    return msg


def quarantine_message(job: Job) -> EmailMessage:
    """The notice a scan hit sends instead of the welcome mail: the user's mail is never sent."""
    msg = EmailMessage()
    msg["From"] = SENDER
    msg["To"] = SECURITY
    msg["Subject"] = "Quarantined signup attachment"
    msg[JOB_HEADER] = job.id
    msg[KIND_HEADER] = "quarantine"
    msg.set_content("The signup attachment matched a virus signature; no welcome mail was sent.\n")
    return msg


def send(msg: EmailMessage, target: SmtpTarget) -> None:
    """Hand the mail to the SMTP server; returns only once the server accepted it (250)."""
    try:
        with smtplib.SMTP(target.host, target.port, timeout=target.timeout_s) as smtp:
            smtp.send_message(msg)
    except smtplib.SMTPResponseException as e:
        raise MailError(f"SMTP {e.smtp_code}: {_text(e.smtp_error)}", e.smtp_code < 500) from e
    except smtplib.SMTPRecipientsRefused as e:
        codes = [code for code, _ in e.recipients.values()]
        raise MailError(f"SMTP refused recipients: {codes}", all(c < 500 for c in codes)) from e
    except (smtplib.SMTPException, OSError) as e:
        raise MailError(f"SMTP unavailable: {e}", transient=True) from e


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
