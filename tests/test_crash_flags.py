"""The --idempotent lesson flag on real processes: a worker killed before its ack leaves a
duplicate by default, and none with the flag, counted against the SMTP sink's own ledger.
(--transient rides on tests/test_crash.py's run, which has the costly broker-restart row
already; this run stays apart, so the two crash-test runs go to different test processes.)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import crash_test, own_count, row

pytestmark = [pytest.mark.broker, pytest.mark.slow]


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
