"""The SMTP sink: a real aiosmtpd server over TCP, recording into the ledger."""

from __future__ import annotations

import smtplib

import pytest

from mqlab import mail
from mqlab.mail import MailError, SmtpTarget
from mqlab.signup import Job

from .conftest import HOST, Sink


def test_a_mail_sent_over_smtp_lands_in_the_ledger(sink: Sink) -> None:
    job = Job("job-42", "ana@example.test", "Ana")
    mail.send(mail.welcome_message(job), SmtpTarget(HOST, sink.port))
    (arrival,) = sink.wait_for(1)
    assert (arrival.job_id, arrival.kind, arrival.recipient) == (
        "job-42",
        "welcome",
        "ana@example.test",
    )


def test_the_sink_can_refuse_mail_transiently(start_sink) -> None:  # type: ignore[no-untyped-def]
    sink = start_sink("--smtp-fail-rate", "1")
    with pytest.raises(MailError) as e:
        mail.send(mail.welcome_message(Job("j", "a@b.test", "A")), SmtpTarget(HOST, sink.port))
    assert e.value.transient
    assert sink.arrivals() == []


def test_the_sink_can_refuse_mail_permanently(start_sink) -> None:  # type: ignore[no-untyped-def]
    sink = start_sink("--smtp-fail-rate", "1", "--smtp-fail-kind", "permanent")
    with pytest.raises(MailError) as e:
        mail.send(mail.welcome_message(Job("j", "a@b.test", "A")), SmtpTarget(HOST, sink.port))
    assert not e.value.transient


def test_no_sink_is_a_transient_mail_error() -> None:
    from mqlab.procs import free_port

    with pytest.raises(MailError) as e:
        mail.send(
            mail.welcome_message(Job("j", "a@b.test", "A")),
            SmtpTarget(HOST, free_port(), timeout_s=2),
        )
    assert e.value.transient


@pytest.mark.parametrize(
    "job",
    [
        Job("j", "ana@example.test", "Bob\r\nBcc: eve@example.test"),
        Job("j", "ana@example.test", "Bob\n\nan injected body"),
        Job("j\r\nBcc: eve@example.test", "ana@example.test", "Bob"),
        Job("j", "ana@example.test\r\nBcc: eve@example.test", "Bob"),
    ],
)
def test_header_injection_cannot_add_a_recipient(sink: Sink, job: Job) -> None:
    """Even if validation missed it, building the mail refuses a header with CR/LF."""
    with pytest.raises((ValueError, smtplib.SMTPException)):
        mail.send(mail.welcome_message(job), SmtpTarget(HOST, sink.port))
    assert sink.arrivals() == []


def test_a_port_answering_smtp_is_not_a_ready_http_app(sink: Sink) -> None:
    """The readiness check of the app: a port where the sink answers (two ports picked
    separately once came back the same) is "not ready", not a BadStatusLine crash."""
    from mqlab.procs import http_ok

    assert http_ok(f"http://{HOST}:{sink.port}/health", timeout=2.0) is False
