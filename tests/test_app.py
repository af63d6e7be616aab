"""The app over real HTTP (mqlab/processes/httpserver.py), sending real SMTP into the real sink."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable

import pytest

from mqlab.job.scan import EICAR

from .conftest import App, Sink

SIGNUP = {"email": "ana@example.test", "name": "Ana"}


@pytest.mark.parametrize(("mode", "status"), [("sync", 201), ("thread", 202)])
def test_a_signup_is_answered_and_mailed(
    start_app: Callable[..., App], sink: Sink, mode: str, status: int
) -> None:
    app = start_app(mode, sink, "--scan-ms", "10")
    code, body = app.post(SIGNUP, headers={"X-Job-Id": "job-1"})
    assert (code, body["job_id"]) == (status, "job-1")
    (arrival,) = sink.wait_for(1)
    assert (arrival.job_id, arrival.recipient, arrival.kind) == (
        "job-1",
        "ana@example.test",
        "welcome",
    )


def test_sync_answers_after_the_mail_is_in_the_inbox(
    start_app: Callable[..., App], sink: Sink
) -> None:
    app = start_app("sync", sink, "--scan-ms", "30")
    app.post(SIGNUP, headers={"X-Job-Id": "s1"})
    answered = time.time()
    # the 201 came only after the SMTP server accepted the mail
    assert [a.job_id for a in sink.arrivals()] == ["s1"]
    assert sink.arrivals()[0].arrived <= answered


def test_thread_answers_before_the_mail_is_sent(start_app: Callable[..., App], sink: Sink) -> None:
    app = start_app("thread", sink, "--scan-ms", "300")
    code, _ = app.post(SIGNUP, headers={"X-Job-Id": "t1"})
    assert code == 202
    assert sink.arrivals() == []  # still scanning: the user already has the answer
    sink.wait_for(1)


@pytest.mark.parametrize("mode", ["sync", "thread"])
def test_an_infected_attachment_is_never_mailed(
    start_app: Callable[..., App], sink: Sink, mode: str
) -> None:
    app = start_app(mode, sink, "--scan-ms", "0")
    infected = {**SIGNUP, "attachment": base64.b64encode(EICAR).decode()}
    code, _ = app.post(infected, headers={"X-Job-Id": "v1"})
    assert code == (422 if mode == "sync" else 202)
    (arrival,) = sink.wait_for(1)
    assert (arrival.job_id, arrival.kind) == ("v1", "quarantine")
    assert arrival.recipient != "ana@example.test"


def test_sync_reports_an_smtp_failure_to_the_user(
    start_app: Callable[..., App], start_sink: Callable[..., Sink]
) -> None:
    failing = start_sink("--smtp-fail-rate", "1", "--smtp-fail-kind", "permanent")
    app = start_app("sync", failing, "--scan-ms", "0")
    code, body = app.post(SIGNUP)
    assert code == 502
    assert "could not be sent" in body["error"]


@pytest.mark.parametrize(
    ("path", "method", "body", "status", "message"),
    [
        ("/signup", "POST", b"{oops", 400, "not valid JSON"),
        ("/signup", "POST", b'["a"]', 400, "JSON object"),
        (
            "/signup",
            "POST",
            b'{"email": "ana@example.test", "name": "Bob\\r\\nBcc: x@y.test"}',
            400,
            "control characters",
        ),
        ("/signup", "GET", None, 405, "use POST"),
        ("/nowhere", "GET", None, 404, "no such path"),
        (
            "/signup",
            "POST",
            b'{"email": "a@b.test", "name": "A", "attachment": "@@"}',
            400,
            "base64",
        ),
        # the app's limit, 1 MiB (the server's refusal itself: tests/test_httpserver.py)
        (
            "/signup",
            "POST",
            b'{"email": "a@b.test", "name": "' + b"x" * (1024 * 1024 + 10) + b'"}',
            413,
            "larger than",
        ),
    ],
)
def test_bad_requests_get_a_json_error_and_no_mail(
    start_app: Callable[..., App],
    sink: Sink,
    path: str,
    method: str,
    body: bytes | None,
    status: int,
    message: str,
) -> None:
    app = start_app("sync", sink, "--scan-ms", "0")
    code, answer = app.post(body or b"", path=path, method=method)
    assert code == status
    assert message in answer["error"]
    assert app.post(SIGNUP)[0] == 201  # the server is still up
    time.sleep(0.05)
    assert len(sink.arrivals()) == 1  # only the good signup was mailed


def test_a_busy_port_is_one_clear_line(
    start_app: Callable[..., App], sink: Sink, capfd: pytest.CaptureFixture[str]
) -> None:
    from mqlab.cli.core import main

    app = start_app("sync", sink)
    assert main(["serve", "sync", "--port", str(app.port)]) == 4
    err = capfd.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot listen" in err[0]
