"""Helpers shared by the test files: handles on the real processes the fixtures start
(sink, app, workers), a queue of a test's own on a real RabbitMQ, and a bounded wait.

Plain classes and functions; the fixtures that start the processes are in conftest.py.
"""

from __future__ import annotations

import json
import sqlite3
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pika
import pytest
from pika.spec import BasicProperties

from mqlab.amqp.queues import delete_run_objects
from mqlab.amqp.settings import AmqpSettings, private_settings
from mqlab.cli.core import main
from mqlab.job.ledger import Arrival, read_arrivals
from mqlab.job.signup import Job
from mqlab.measure.results import load
from mqlab.processes.procs import Child, mqlab_argv

HOST = "127.0.0.1"

Result = dict[str, Any]


def wait_until(check: Callable[[], bool], timeout: float = 15.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what or check}")


def flags(**options: object) -> list[str]:
    """requests=12, scan_ms=20, no_floors=True -> --requests 12 --scan-ms 20 --no-floors"""
    out: list[str] = []
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        if value is True:
            out.append(flag)
        elif value is not False and value is not None:
            out += [flag, str(value)]
    return out


# -- the SMTP sink and the app --------------------------------------------------------------


class Sink:
    def __init__(self, child: Child, port: int, ledger: Path) -> None:
        self.child, self.port, self.ledger = child, port, ledger

    def arrivals(self) -> list[Arrival]:
        return read_arrivals(self.ledger)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Arrival]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.arrivals()
            if len(got) >= count:
                return got
            time.sleep(0.02)
        raise AssertionError(f"expected {count} mails in the sink, got {len(self.arrivals())}")


class App:
    def __init__(self, child: Child, port: int) -> None:
        self.child, self.port = child, port

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def post(
        self,
        body: bytes | dict[str, Any],
        path: str = "/signup",
        headers: dict[str, str] | None = None,
        method: str = "POST",
    ) -> tuple[int, dict[str, Any]]:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        req = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        try:
            with urllib.request.urlopen(req, timeout=15) as r:
                return int(r.status), json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            return int(e.code), json.loads(e.read() or b"{}")


# -- a queue of a test's own, and worker processes on it ------------------------------------


def connect(url: str) -> pika.BlockingConnection:
    params = pika.URLParameters(url)
    params.socket_timeout = params.stack_timeout = params.blocked_connection_timeout = 5
    params.connection_attempts = 1
    return pika.BlockingConnection(params)


class Queues:
    """A queue of this test's own (and its .retry and .dead), on the given broker."""

    def __init__(self, url: str) -> None:
        self.url = url
        settings = private_settings(url)  # an exchange of its own too: no copies of others' jobs
        self.name, self.exchange = settings.queue, settings.exchange

    def args(self) -> list[str]:
        return ["--amqp-url", self.url, "--queue", self.name, "--exchange", self.exchange]

    def publish(self, job: Job | bytes, message_id: str | None = None) -> None:
        """Put a job (or raw bytes) on the work queue, as the app would."""
        body = job.to_bytes() if isinstance(job, Job) else job
        if message_id is None:
            message_id = job.id if isinstance(job, Job) else "raw"
        conn = connect(self.url)
        try:
            ch = conn.channel()
            ch.confirm_delivery()
            ch.queue_declare(self.name, durable=True)
            ch.basic_publish(
                "",
                self.name,
                body,
                BasicProperties(delivery_mode=2, message_id=message_id),
                mandatory=True,
            )
        finally:
            conn.close()

    def depth(self, queue: str | None = None) -> tuple[int, int]:
        """(ready messages, consumers) of the work queue or another queue; (-1, -1) if absent."""
        conn = connect(self.url)
        try:
            ok = conn.channel().queue_declare(queue or self.name, passive=True)
            return int(ok.method.message_count), int(ok.method.consumer_count)
        except pika.exceptions.ChannelClosedByBroker:
            return -1, -1
        finally:
            if conn.is_open:
                conn.close()

    def take(self, queue: str) -> list[tuple[dict[str, Any], bytes]]:
        """Every message in `queue` (headers, body), taken off it."""
        out: list[tuple[dict[str, Any], bytes]] = []
        conn = connect(self.url)
        try:
            ch = conn.channel()
            while True:
                method, props, body = ch.basic_get(queue, auto_ack=True)
                if method is None:
                    return out
                out.append((dict(props.headers or {}), body))
        finally:
            conn.close()

    def wait_take(self, queue: str, timeout: float = 15.0) -> list[tuple[dict[str, Any], bytes]]:
        """`take`, once something is there."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.take(queue)
            if got:
                return got
            time.sleep(0.02)
        raise AssertionError(f"nothing arrived in {queue} within {timeout:g} s")

    def delete(self) -> None:
        delete_run_objects(AmqpSettings(url=self.url, queue=self.name, exchange=self.exchange))


def signup_job(tag: str, attachment: bytes = b"") -> Job:
    return Job(f"{tag}-{uuid.uuid4().hex[:8]}", f"{tag}@example.test", tag.title(), attachment)


def into_a_job(
    workers: Workers, queues: Queues, smtp_port: int, *args: str, tag: str, after_s: float
) -> tuple[Child, Job]:
    """A worker started with `args`, given one job, and `after_s` seconds into it."""
    worker = workers.start(smtp_port, *args)
    job = signup_job(tag)
    queues.publish(job)
    wait_until(lambda: queues.depth() == (0, 1), what="the worker to take the job")
    time.sleep(after_s)
    return worker, job


class Workers:
    def __init__(self, tmp_path: Path, queues: Queues) -> None:
        self.tmp_path, self.queues = tmp_path, queues
        self.children: list[Child] = []

    def start(self, smtp_port: int, *extra: str, ready: bool = True) -> Child:
        n = len(self.children) + 1
        argv = mqlab_argv("worker", "--smtp-port", str(smtp_port), *self.queues.args(), *extra)
        child = Child(f"worker {n}", argv, self.tmp_path / f"worker-{n}.log").start()
        self.children.append(child)
        if ready:  # consuming: the broker lists it as a consumer of the queue
            child.wait_ready(lambda: self.queues.depth()[1] >= 1, timeout=20)
        return child

    def log(self, child: Child) -> str:
        return child.log_path.read_text(errors="replace")

    def stop_all(self) -> None:
        for child in self.children:
            child.stop()


# -- crash tests (tests/test_crash*.py) --------------------------------------------------

# The pool (2 workers x 50 ms) drains 40 jobs/s; 100 requests/s builds a backlog to lose.
WORKLOAD = [
    "--requests",
    "30",
    "--rate",
    "100",
    "--scan-ms",
    "50",
    "--workers",
    "2",
    "--drain-timeout",
    "30",
]


def crash_test(tmp: Path, capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    keep = tmp / "kept"
    assert (
        main(["crash-test", *WORKLOAD, *args, "--out", str(tmp), "--keep", str(keep), "--json"])
        == 0
    )
    data = load(Path(json.loads(capsys.readouterr().out)["file"]))
    data["kept"] = keep
    return data


def row(data: dict[str, Any], mode: str, fault: str, safety: str = "default") -> dict[str, Any]:
    found: dict[str, Any]
    (found,) = [
        r for r in data["rows"] if (r["mode"], r["fault"], r["safety"]) == (mode, fault, safety)
    ]
    assert not found["skipped"], found["note"]
    return found


def own_count(
    data: dict[str, Any], mode: str, fault: str, safety: str = "default"
) -> tuple[int, int]:
    """(distinct jobs mailed, extra copies) straight from the kept SQLite ledger."""
    (folder,) = data["kept"].glob(f"*-{mode}-{fault}-{safety}-1-*")
    db = sqlite3.connect(folder / "ledger.db")
    try:
        distinct, total = db.execute(
            "SELECT COUNT(DISTINCT job_id), COUNT(*) FROM mails WHERE kind = 'welcome'"
        ).fetchone()
    finally:
        db.close()
    return int(distinct), int(total - distinct)
