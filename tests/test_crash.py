"""Crash tests against real processes: SIGKILL the app, a worker, a private broker node.

The course's claim, measured: in-process async work dies with its process; a durable
queue with confirms and manual acks loses nothing that was accepted. Every count is
checked against our own count of the SMTP sink's ledger.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from mqlab.amqp import queues
from mqlab.amqp.settings import private_settings
from mqlab.cli.core import main
from mqlab.job.status import FINAL, STATES
from mqlab.measure import faults
from mqlab.measure.results import load
from scenarios import status

from .helpers import WORKLOAD, connect, own_count, row

pytestmark = [pytest.mark.broker, pytest.mark.slow]


@pytest.fixture(scope="module")
def default_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every mode and fault with the default safeties, and beside each broker row its
    --transient twin: one crash test (one private node to restart) for every test here."""
    import contextlib
    import io

    tmp = tmp_path_factory.mktemp("crash")
    keep = tmp / "kept"
    out = io.StringIO()
    # 40 signups (0.4 s of load), struck at the 32nd: on a busy machine an app that had just
    # started answered 1 of its first 15 by the kill at half of 30, so a transient queue held
    # nothing to lose. Later, the queue holds the backlog that the lesson shows lost.
    later = [*WORKLOAD, "--requests", "40", "--kill-at", "0.8"]  # the last of a flag counts
    argv = ["crash-test", *later, "--transient", "--out", str(tmp), "--keep", str(keep)]
    with contextlib.redirect_stdout(out):
        code = main([*argv, "--json"])
    assert code == 0
    data = load(Path(json.loads(out.getvalue())["file"]))
    data["kept"] = keep
    return data


def test_every_fault_runs_for_every_mode_it_applies_to(default_run: dict[str, Any]) -> None:
    combos = {(r["mode"], r["fault"]) for r in default_run["rows"]}
    assert combos == {
        ("sync", "app-kill"),
        ("thread", "app-kill"),
        ("broker", "app-kill"),
        ("broker", "worker-kill"),
        ("broker", "broker-restart"),
    }
    kinds = {(e["mode"], e["fault"], e["kind"], e["target"]) for e in default_run["events"]}
    assert ("broker", "broker-restart", "kill", "broker") in kinds
    assert ("broker", "broker-restart", "restart", "broker") in kinds
    assert ("thread", "app-kill", "kill", "app") in kinds
    # --keep keeps the restarted node's log beside the trials' (what it did on its restart)
    (node_log,) = default_run["kept"].glob("broker-*.log")
    assert "Starting RabbitMQ" in node_log.read_text(errors="replace")
    # and, for each trial, what each user heard when asked: a told_queued count names its jobs
    (trial,) = default_run["kept"].glob("*-broker-broker-restart-default-*")
    heard = json.loads((trial / "heard.json").read_text())
    assert heard and set(heard.values()) <= {*STATES, "unknown"}
    waiting = sum(state in STATES and state not in FINAL for state in heard.values())
    assert row(default_run, "broker", "broker-restart")["told_queued"] <= waiting


def test_a_thread_pool_loses_accepted_jobs_when_its_process_dies(
    default_run: dict[str, Any],
) -> None:
    r = row(default_run, "thread", "app-kill")
    assert r["lost"] > 0
    assert r["delivered"] + r["lost"] == r["accepted"]
    distinct, extra = own_count(default_run, "thread", "app-kill")
    assert distinct == r["delivered"] and extra == r["duplicates"] == 0


def test_sync_fails_visibly_and_loses_nothing(default_run: dict[str, Any]) -> None:
    r = row(default_run, "sync", "app-kill")
    assert r["lost"] == 0
    assert r["failed"] > 0  # the users whose requests died with the app saw an error
    assert r["delivered"] == r["accepted"]


@pytest.mark.parametrize(
    ("mode", "fault", "safety"),
    [
        ("sync", "app-kill", "default"),
        ("thread", "app-kill", "default"),
        ("broker", "app-kill", "default"),
        ("broker", "worker-kill", "default"),
        ("broker", "broker-restart", "default"),
        ("broker", "app-kill", "transient"),
        ("broker", "worker-kill", "transient"),
        ("broker", "broker-restart", "transient"),
    ],
)
def test_every_mailed_job_is_delivered_or_told_failed_and_sent_anyway(
    default_run: dict[str, Any], mode: str, fault: str, safety: str
) -> None:
    # A request in flight when the app dies may have been mailed (sync: after the send,
    # before the answer): the user saw an error, the mail went out. Counted apart.
    r = row(default_run, mode, fault, safety)
    assert r["quarantined"] == 0  # no infected signups in this workload
    assert r["accepted"] == r["delivered"] + r["lost"] + r["dead_lettered"]
    assert 0 <= r["sent_anyway"] <= r["failed"]
    distinct, _ = own_count(default_run, mode, fault, safety)
    assert distinct == r["delivered"] + r["sent_anyway"]


@pytest.mark.parametrize("fault", ["app-kill", "worker-kill", "broker-restart"])
def test_the_broker_loses_nothing_it_accepted(default_run: dict[str, Any], fault: str) -> None:
    r = row(default_run, "broker", fault)
    assert r["lost"] == 0
    assert r["delivered"] == r["accepted"] > 0
    # and every user hears what became of the job: no "queued" for good (after a restart, a
    # stream of RabbitMQ 3.10 killed within 0.5 s of its declare never came back, and the
    # states told while it was coming back went nowhere)
    assert r["told_queued"] == 0
    distinct, extra = own_count(default_run, "broker", fault)
    assert distinct >= r["delivered"]
    assert extra == r["duplicates"]


def test_a_worker_killed_before_its_ack_causes_a_counted_duplicate(
    default_run: dict[str, Any],
) -> None:
    r = row(default_run, "broker", "worker-kill")
    assert r["duplicates"] == 1  # the mail it sent is redelivered and sent again
    assert own_count(default_run, "broker", "worker-kill")[1] == 1


def test_a_transient_queue_loses_jobs_when_the_broker_restarts(
    default_run: dict[str, Any],
) -> None:
    assert row(default_run, "broker", "broker-restart", "transient")["lost"] > 0
    assert row(default_run, "broker", "broker-restart", "default")["lost"] == 0


def test_a_broker_fault_waits_until_the_runs_queues_are_declared_and_saved(
    broker_url: str,
) -> None:
    """RabbitMQ 3.10 saves its registry of quorum queues and streams every 0.5 s: a kill
    sooner after a declare lost them. The fault fires on a broker in service: it waits until
    every queue of the run exists, then RA_SAVED_S more."""
    settings = private_settings(broker_url)
    cancel = threading.Event()

    def declare() -> None:
        conn = connect(broker_url)
        try:
            channel = conn.channel()
            queues.declare(channel, settings)  # the queue, .retry and .dead
            status.declare(channel, settings)
        finally:
            conn.close()

    timer = threading.Timer(0.3, declare)
    started = time.monotonic()
    timer.start()
    try:
        assert faults.wait_saved(settings, cancel) == ""
        assert time.monotonic() - started >= 0.3 + faults.RA_SAVED_S
        cancel.set()  # and a run whose queues never come says so, at once
        assert "never fired" in faults.wait_saved(private_settings(broker_url), cancel)
    finally:
        timer.join(10)
        queues.delete_run_objects(settings)
