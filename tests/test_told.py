"""What the users were told, against the ledger, in a crash test: a thread pool's users whose
app server was killed never hear what became of their signup (the restarted app does not
know their jobs); a broker's users are all told the truth."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from .conftest import Result
from .helpers import row

pytestmark = [pytest.mark.broker, pytest.mark.slow]

WORKLOAD = {"requests": 40, "rate": 100, "scan_ms": 20, "workers": 2, "faults": "app-kill"}


@pytest.mark.parametrize("mode", ["thread", "broker"])
def test_a_killed_app_server_leaves_thread_users_never_hearing(
    mode: str, mqlab_result: Callable[..., Result]
) -> None:
    data = mqlab_result("crash-test", modes=mode, **WORKLOAD)
    r = row(data, mode, "app-kill")
    told = (r["told_truth"], r["told_wrong"], r["told_queued"], r["never_heard"])
    assert sum(told) == r["accepted"] + r["failed"]  # every user, once
    assert r["told_wrong"] == r["sent_anyway"]  # told it failed, mailed all the same
    if mode == "thread":
        # every lost job was accepted by the app that died: the new one has never heard of it
        assert r["lost"] > 0
        assert r["never_heard"] >= r["lost"]
        assert r["told_truth"] < r["accepted"] + r["failed"]
    else:
        # the restarted app reads every job's state back from the broker's status log
        assert r["lost"] == 0
        assert (r["told_queued"], r["never_heard"]) == (0, 0)
        assert r["told_truth"] == r["accepted"] + r["failed"] - r["sent_anyway"]
