"""Building and sending the welcome mail over real SMTP.

The job id travels in the `X-Mqlab-Job` header so the sink can follow each job
from the HTTP answer to the inbox.
"""

from __future__ import annotations

import contextlib
import smtplib
import threading
from dataclasses import dataclass
from email.charset import QP, Charset
from email.mime.text import MIMEText
from typing import Literal

from mqlab.job.signup import Job

JOB_HEADER = "X-Mqlab-Job"
KIND_HEADER = "X-Mqlab-Kind"
SENDER = "welcome@mqlab.test"
SECURITY = "security@mqlab.test"
UTF8 = Charset("utf-8")
UTF8.body_encoding = QP  # quoted-printable: an ASCII body stays readable in a mail dump

MailKind = Literal["welcome", "quarantine"]


@dataclass(frozen=True)
class SmtpTarget:
    host: str = "127.0.0.1"
    port: int = 2525
    timeout_s: float = 10.0


class MailError(Exception):
    """The SMTP server did not take the mail.

    `transient` (a 4xx answer, no server, a dropped connection): trying again later may work.
    Otherwise (5xx, or a message the server cannot take): it never will.
    """

    def __init__(self, message: str, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


def welcome_message(job: Job) -> MIMEText:
    return _message(
        job, job.email, f"Welcome, {job.name}!", f"Hello {job.name},\n\nthanks for signing up.\n"
    )


def quarantine_message(job: Job) -> MIMEText:
    """The notice a scan hit sends instead of the welcome mail: the user's mail is never sent."""
    return _message(
        job,
        SECURITY,
        "Quarantined signup attachment",
        "The signup attachment matched a virus signature; no welcome mail was sent.\n",
        kind="quarantine",
    )


def _message(job: Job, to: str, subject: str, text: str, kind: MailKind = "welcome") -> MIMEText:
    # MIMEText (the compat32 API), not EmailMessage: EmailMessage parses every header through
    # its header registry, about 1 ms a mail on a laptop, and that showed in the throughput
    # the lab measures. Korean names are encoded all the same (RFC 2047 headers,
    # quoted-printable body). EmailMessage also refused CR and LF in a header; compat32 does
    # not always, so we do, as it did: signup.py rejects them first, this is the second line.
    if any(c in value for value in (to, subject, job.id) for c in "\r\n"):
        raise ValueError("a mail header must not contain CR or LF")
    msg = MIMEText(text, "plain", UTF8)  # type: ignore[arg-type]  # a Charset: documented
    msg["From"] = SENDER
    msg["To"] = to
    msg["Subject"] = subject
    msg[JOB_HEADER] = job.id
    msg[KIND_HEADER] = kind
    return msg


def send(msg: MIMEText, target: SmtpTarget) -> None:
    """Hand the mail to the SMTP server; returns only once the server accepted it (250).

    Like any mailer, each thread keeps its connection to the server open between mails:
    connecting, EHLO and QUIT cost as much as the mail itself. A connection the server
    has closed meanwhile fails at its first command, before any mail data: we then
    connect again, once. After any error the connection is dropped.
    """
    try:
        _send_reusing(msg, target)
    except smtplib.SMTPResponseException as e:
        raise MailError(f"SMTP {e.smtp_code}: {_text(e.smtp_error)}", e.smtp_code < 500) from e
    except smtplib.SMTPRecipientsRefused as e:
        codes = [code for code, _ in e.recipients.values()]
        raise MailError(f"SMTP refused recipients: {codes}", all(c < 500 for c in codes)) from e
    except (smtplib.SMTPException, OSError) as e:
        raise MailError(f"SMTP unavailable: {e}", transient=True) from e


_open = threading.local()  # this thread's connections: {(host, port): smtplib.SMTP}


def _send_reusing(msg: MIMEText, target: SmtpTarget) -> None:
    try:
        try:
            _connection(target).send_message(msg)
        except smtplib.SMTPServerDisconnected:  # closed while idle: once more, on a new one
            _drop(target)
            _connection(target).send_message(msg)
    except BaseException:
        _drop(target)
        raise


def _connection(target: SmtpTarget) -> smtplib.SMTP:
    connections: dict[tuple[str, int], smtplib.SMTP] = _open.__dict__.setdefault("smtp", {})
    key = (target.host, target.port)
    if key not in connections:
        connections[key] = smtplib.SMTP(target.host, target.port, timeout=target.timeout_s)
    return connections[key]


def _drop(target: SmtpTarget) -> None:
    smtp = _open.__dict__.get("smtp", {}).pop((target.host, target.port), None)
    if smtp is not None:
        with contextlib.suppress(smtplib.SMTPException, OSError):
            smtp.close()


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
