"""What the users were told, against the ledger, in a crash test: a thread pool's users whose
app server was killed never hear what became of their signup (the restarted app does not
know their jobs); a broker's users are all told the truth. And how the crash table shows it:
a column of its own, in 80 columns."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from rich.console import Console

from mqlab.report import i18n, render

from . import chartdata
from .conftest import Result
from .helpers import row

WORKLOAD = {"requests": 40, "rate": 100, "scan_ms": 20, "workers": 2, "faults": "app-kill"}


@pytest.mark.broker
@pytest.mark.slow
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


@pytest.mark.parametrize("lang", i18n.LANGS)
def test_every_crash_row_shows_its_users_told_the_truth_in_80_columns(lang: str) -> None:
    """A column "told the truth", each row's users told the truth of all its users: the
    thread pool's 63 of 100 (37 never heard), "-" in a row from before they were asked."""
    data = chartdata.crash_test()
    out = io.StringIO()
    console = Console(file=out, width=80, force_terminal=False)
    tables = render.crash_tables(data, lang)
    for table in tables:
        console.print(table)
    lines = [line.split() for line in out.getvalue().splitlines()]
    told = [line[-1] for line in lines if line and "/" in line[-1]]
    assert told == ["102/103", "63/100", "90/100", "63/100", "101/102", "92/100"]
    assert lines[-1][-1] == "-"  # app-kill's broker row: a file from before the field
    assert max(console.measure(t).maximum for t in tables) <= 80
    assert "…" not in out.getvalue()
