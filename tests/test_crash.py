"""Crash tests against real processes: SIGKILL the app, a worker, a private broker node.

The course's claim, measured: in-process async work dies with its process; a durable
queue with confirms and manual acks loses nothing that was accepted. Every count is
checked against our own count of the SMTP sink's ledger.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from mqlab.cli.core import main
from mqlab.measure.results import load

pytestmark = [pytest.mark.broker, pytest.mark.slow]

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


@pytest.fixture(scope="module")
def default_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    import contextlib
    import io

    tmp = tmp_path_factory.mktemp("crash")
    keep = tmp / "kept"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["crash-test", *WORKLOAD, "--out", str(tmp), "--keep", str(keep), "--json"])
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
    ("mode", "fault"),
    [
        ("sync", "app-kill"),
        ("thread", "app-kill"),
        ("broker", "app-kill"),
        ("broker", "worker-kill"),
        ("broker", "broker-restart"),
    ],
)
def test_every_mailed_job_is_delivered_or_told_failed_and_sent_anyway(
    default_run: dict[str, Any], mode: str, fault: str
) -> None:
    # A request in flight when the app dies may have been mailed (sync: after the send,
    # before the answer): the user saw an error, the mail went out. Counted apart.
    r = row(default_run, mode, fault)
    assert r["quarantined"] == 0  # no infected signups in this workload
    assert r["accepted"] == r["delivered"] + r["lost"] + r["dead_lettered"]
    assert 0 <= r["sent_anyway"] <= r["failed"]
    distinct, _ = own_count(default_run, mode, fault)
    assert distinct == r["delivered"] + r["sent_anyway"]


@pytest.mark.parametrize("fault", ["app-kill", "worker-kill", "broker-restart"])
def test_the_broker_loses_nothing_it_accepted(default_run: dict[str, Any], fault: str) -> None:
    r = row(default_run, "broker", fault)
    assert r["lost"] == 0
    assert r["delivered"] == r["accepted"] > 0
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
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = crash_test(
        tmp_path, capsys, "--modes", "broker", "--faults", "broker-restart", "--transient"
    )
    assert row(data, "broker", "broker-restart", "transient")["lost"] > 0
    assert row(data, "broker", "broker-restart", "default")["lost"] == 0


def test_idempotent_workers_send_no_duplicate_after_a_worker_kill(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = crash_test(
        tmp_path, capsys, "--modes", "broker", "--faults", "worker-kill", "--idempotent"
    )
    assert row(data, "broker", "worker-kill", "default")["duplicates"] == 1
    idem = row(data, "broker", "worker-kill", "idempotent")
    assert (idem["duplicates"], idem["lost"]) == (0, 0)
    assert own_count(data, "broker", "worker-kill", "idempotent")[1] == 0
