"""The crash test's lesson flags on real processes: each turns one safety off, and the loss
(or the duplicate) it guarded against appears, counted against the SMTP sink's own ledger.
(Apart from tests/test_crash.py so the two long module runs go to different test processes.)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import crash_test, own_count, row

pytestmark = [pytest.mark.broker, pytest.mark.slow]


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
