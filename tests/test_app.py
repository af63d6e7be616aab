"""The app over real HTTP (mqlab/processes/httpserver.py), sending real SMTP into the real sink.

One sink, one sync app and one thread app serve the whole file (each start costs ~0.2 s of
CPU): each test sees only the mails that arrive during it (`Sink.fresh`)."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable

import pytest

from mqlab.job.scan import EICAR

from .conftest import App, Sink

pytestmark = pytest.mark.one_sink  # the file's tests share one sink (conftest.py)

SIGNUP = {"email": "ana@example.test", "name": "Ana"}
SCAN_MS = {"sync": "30", "thread": "300"}  # thread: still scanning when the 202 is read


@pytest.fixture(scope="module")
def apps(
    module_processes: tuple[Callable[..., Sink], Callable[..., App]], shared_sink: Sink
) -> dict[str, App]:
    """A sync and a thread app for the file, on its shared sink."""
    start_app = module_processes[1]
    return {mode: start_app(mode, shared_sink, "--scan-ms", ms) for mode, ms in SCAN_MS.items()}


@pytest.mark.parametrize(("mode", "status"), [("sync", 201), ("thread", 202)])
def test_a_signup_is_answered_and_mailed(
    apps: dict[str, App], sink: Sink, mode: str, status: int
) -> None:
    code, body = apps[mode].post(SIGNUP, headers={"X-Job-Id": "job-1"})
    assert (code, body["job_id"]) == (status, "job-1")
    (arrival,) = sink.wait_for(1)
    assert (arrival.job_id, arrival.recipient, arrival.kind) == (
        "job-1",
        "ana@example.test",
        "welcome",
    )


def test_sync_answers_after_the_mail_is_in_the_inbox(apps: dict[str, App], sink: Sink) -> None:
    apps["sync"].post(SIGNUP, headers={"X-Job-Id": "s1"})
    answered = time.time()
    # the 201 came only after the SMTP server accepted the mail
    assert [a.job_id for a in sink.arrivals()] == ["s1"]
    assert sink.arrivals()[0].arrived <= answered


def test_thread_answers_before_the_mail_is_sent(apps: dict[str, App], sink: Sink) -> None:
    code, _ = apps["thread"].post(SIGNUP, headers={"X-Job-Id": "t1"})
    assert code == 202
    assert sink.arrivals() == []  # still scanning: the user already has the answer
    sink.wait_for(1)


@pytest.mark.parametrize("mode", ["sync", "thread"])
def test_an_infected_attachment_is_never_mailed(
    apps: dict[str, App], sink: Sink, mode: str
) -> None:
    infected = {**SIGNUP, "attachment": base64.b64encode(EICAR).decode()}
    code, _ = apps[mode].post(infected, headers={"X-Job-Id": "v1"})
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
    apps: dict[str, App],
    sink: Sink,
    path: str,
    method: str,
    body: bytes | None,
    status: int,
    message: str,
) -> None:
    app = apps["sync"]
    code, answer = app.post(body or b"", path=path, method=method)
    assert code == status
    assert message in answer["error"]
    assert app.post(SIGNUP)[0] == 201  # the server is still up
    time.sleep(0.05)
    assert len(sink.arrivals()) == 1  # only the good signup was mailed


def test_a_busy_port_is_one_clear_line(
    apps: dict[str, App], capfd: pytest.CaptureFixture[str]
) -> None:
    from mqlab.cli.core import main

    assert main(["serve", "sync", "--port", str(apps["sync"].port)]) == 4
    err = capfd.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot listen" in err[0]
