"""The SMTP sink: a real aiosmtpd server over TCP, recording into the ledger; and the
lab's two SQLite files (the ledger, the idempotent workers' record) given bad paths."""

from __future__ import annotations

import contextlib
import signal
import smtplib
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from mqlab.errors import BadInput
from mqlab.job import mail
from mqlab.job.ledger import Ledger, ProcessedJobs, Seen
from mqlab.job.mail import MailError, SmtpTarget
from mqlab.job.signup import Job
from mqlab.processes.procs import Child, free_port, free_ports, mqlab_argv

from .conftest import HOST, Sink
from .helpers import sigterm_storm

pytestmark = pytest.mark.one_sink  # the file's tests share one sink (conftest.py)


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
    from mqlab.processes.procs import free_port

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
    from mqlab.processes.procs import http_ok

    assert http_ok(f"http://{HOST}:{sink.port}/health", timeout=2.0) is False


# -- the lab's two SQLite files: a bad path is one line and exit 2 (issue 22) ----------------


def sqlite_of_another_program(path: Path) -> Path:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE notes (body TEXT)")
    db.commit()
    db.close()
    return path


BAD_PATHS: dict[str, Callable[[Path], Path]] = {
    "a missing folder": lambda tmp: tmp / "no-such-folder" / "x.db",
    "an unwritable place": lambda tmp: Path("/proc/mqlab-test.db"),  # even root cannot write
    "not SQLite": lambda tmp: _written(tmp / "notes.txt", b"hello, not a database\n" * 100),
    "another program's SQLite": lambda tmp: sqlite_of_another_program(tmp / "other.db"),
}


def _written(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_a_bad_ledger_or_processed_db_path_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """The real CLI as a person runs it, every case at once (child processes, each with a
    timeout): before, a traceback and rc 1, or a sink serving into someone else's file."""
    runs: dict[str, tuple[Path, bytes | None, subprocess.Popen[str]]] = {}
    for case, make in BAD_PATHS.items():
        for command in ("sink", "worker"):
            folder = tmp_path / str(len(runs))
            folder.mkdir()
            path = make(folder)
            before = path.read_bytes() if path.is_file() else None
            if command == "sink":
                args = ["sink", "--port", str(free_port()), "--ledger", str(path)]
            else:  # no broker needed: the file is checked before the worker connects
                args = ["worker", "--amqp-url", "amqp://guest:guest@127.0.0.1:1/%2F"]
                args += ["--idempotent", "--processed-db", str(path)]
            child = subprocess.Popen(
                mqlab_argv(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            runs[f"{command}, {case}"] = (path, before, child)
    wrong = {}
    for name, (path, before, child) in runs.items():
        try:
            out, err = child.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            out, err = child.communicate()
        lines = err.splitlines()
        ok = (child.returncode, out, len(lines)) == (2, "", 1)
        ok = ok and lines[0].startswith("mqlab: error: ") and str(path) in lines[0]
        ok = ok and (before is None or path.read_bytes() == before)  # their file, untouched
        if not ok:
            wrong[name] = (child.returncode, err[-300:])
    assert wrong == {}


def test_a_ledger_is_not_a_processed_jobs_database_nor_the_other_way_round(
    tmp_path: Path,
) -> None:
    Ledger(tmp_path / "ledger.db").close()
    ProcessedJobs(tmp_path / "processed.db").close()
    with pytest.raises(BadInput, match="is not the processed-jobs database"):
        ProcessedJobs(tmp_path / "ledger.db")
    with pytest.raises(BadInput, match="is not the sink's ledger"):
        Ledger(tmp_path / "processed.db")


def test_a_processed_jobs_file_of_the_earlier_format_gains_digests(tmp_path: Path) -> None:
    """Ids only, from an earlier mqlab: those jobs count as sent with any payload."""
    path = tmp_path / "processed.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE processed (job_id TEXT PRIMARY KEY, at REAL NOT NULL)")
    db.execute("INSERT INTO processed VALUES ('old', 1.0)")
    db.commit()
    db.close()
    done = ProcessedJobs(path)
    ana = Job("new", "ana@example.test", "Ana")
    assert done.seen(Job("old", "x@example.test", "X")) is Seen.SAME
    assert done.seen(ana) is Seen.NEW
    done.add(ana)
    assert done.seen(ana) is Seen.SAME
    assert done.seen(Job("new", "bob@example.test", "Bob")) is Seen.OTHER
    done.close()


# Says "ready", waits (5 s at most) for the file GO, then opens PATH as the processed-jobs
# database.
OPEN_AT_GO = """
import sys, time
from pathlib import Path
from mqlab.errors import BadInput
from mqlab.job.ledger import ProcessedJobs
go, path = Path(sys.argv[1]), Path(sys.argv[2])
print("ready", flush=True)
end = time.monotonic() + 5
while not go.exists() and time.monotonic() < end:
    time.sleep(0.001)
try:
    ProcessedJobs(path)
except BadInput as e:
    sys.exit(str(e))
"""


def test_workers_opening_a_new_processed_jobs_file_at_once_all_open_it(tmp_path: Path) -> None:
    """A run's idempotent workers start side by side on one new file: SQLite refused the ones
    that lost the race to switch it to WAL ("database is locked"), 15 of 240 in 60 races."""
    failed: list[str] = []
    for race in range(15):
        go, path = tmp_path / f"go-{race}", tmp_path / f"processed-{race}.db"
        argv = [sys.executable, "-c", OPEN_AT_GO, str(go), str(path)]
        openers = [
            subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(4)
        ]
        for opener in openers:
            assert opener.stdout is not None and opener.stdout.readline() == "ready\n"
        go.touch()  # all four wait for it: they open the file at once
        for opener in openers:
            _, err = opener.communicate(timeout=30)
            if opener.returncode != 0:
                failed.append(err.strip())
    assert failed == []


def test_a_storm_of_sigterms_stops_every_sink_promptly(tmp_path: Path) -> None:
    """SIGTERMs that land in the handler of the one before, or while the main thread waits
    on its stop flag: the handler takes no lock, so no sink waits on a lock its own thread
    holds (a threading.Event did, for about one sink in three: SIGKILLed after Child.stop's
    10 s). Six sinks, for more chances. Exit code 0, or -SIGTERM: a SIGTERM of the storm
    that found Python finalizing (its handler reset) ends it so; not a hang."""
    ports = free_ports(6)
    sinks = [
        Child(
            "sink",
            mqlab_argv("sink", "--port", str(port), "--ledger", str(tmp_path / f"{port}.db")),
            tmp_path / f"sink-{port}.log",
        ).start()
        for port in ports
    ]
    try:
        for child, port in zip(sinks, ports, strict=True):
            child.wait_listening(port, timeout=15)
        for child in sinks:  # one at a time, as fast as they go, until it is gone
            assert child.proc is not None
            started = time.monotonic()
            sigterm_storm(child, 0.5, every_s=0)
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.proc.wait(timeout=max(started + 5.0 - time.monotonic(), 0.01))  # not 10 s
        codes = [c.proc.returncode if c.proc is not None else None for c in sinks]
        assert all(code in (0, -signal.SIGTERM) for code in codes), codes  # None: hung
    finally:
        for child in sinks:
            child.kill()  # a hung one; nothing for those gone
