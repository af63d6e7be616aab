"""`--broker redis|nats` through the whole lab: the CLI, the app and worker children
(`mqlab serve --broker ...`, `mqlab worker --broker ...`), the runner and the crash test,
each on a private server of mqlab's own (never the machine's Redis or NATS)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from mqlab.cli.core import main
from mqlab.measure.results import load
from mqlab.processes import proctable
from tests.helpers import WORKLOAD, command, crash_test, stop_with_sigterm

pytestmark = [pytest.mark.slow]


def _run(tmp: Path, capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    code = main(["run", "broker", *WORKLOAD, *args, "--no-floors", "--out", str(tmp), "--json"])
    assert code == 0, capsys.readouterr().err
    return load(Path(json.loads(capsys.readouterr().out)["file"]))


@pytest.mark.broker  # private Redis and NATS servers, started by the test
@pytest.mark.parametrize("broker", ["redis", "nats"])
def test_a_run_delivers_every_accepted_job_once_and_tells_every_user(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], broker: str
) -> None:
    data = _run(tmp_path, capsys, "--broker", broker)
    s = data["summary"]
    assert data["config"]["broker"] == broker
    assert s["accepted"] == s["requests"] > 0
    assert (s["delivered"], s["lost"], s["duplicates"]) == (s["accepted"], 0, 0)
    # every user's status, asked of the app, came back "sent" from the broker's status log
    assert s["told_truth"] == s["requests"]


@pytest.mark.broker  # private Redis and NATS servers, started by the test
@pytest.mark.parametrize(
    ("broker", "weak", "strong"), [("redis", "none", "always"), ("nats", "memory", "file")]
)
def test_a_killed_broker_loses_accepted_jobs_only_with_the_weak_disk_setting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], broker: str, weak: str, strong: str
) -> None:
    data = crash_test(
        tmp_path,
        capsys,
        *("--modes", "broker", "--faults", "broker-restart"),
        *("--broker", broker, "--durability", f"{weak},{strong}"),
        # 2 workers at 150 ms drain 13 jobs/s, the load comes at 30/s: a backlog at the kill.
        # Not the usual 100/s: that load lasts 0.3 s, and a machine that stalled for as long
        # (CI: the generator 244 ms late) had the kill land before any answer came (0 accepted).
        *("--scan-ms", "150", "--rate", "30"),
    )
    rows = {r["durability"]: r for r in data["rows"]}
    assert set(rows) == {weak, strong}
    assert not any(r["skipped"] for r in rows.values()), [r["note"] for r in rows.values()]
    kept, gone = rows[strong], rows[weak]
    assert kept["accepted"] > 0 and kept["lost"] == 0
    # The kill comes with jobs waiting: a server that kept them in memory only comes back
    # without them. (At 50 ms a scan, a busy machine once accepted them so slowly that none
    # waited: 0 lost.)
    assert gone["lost"] > 0
    assert gone["lost"] + gone["delivered"] == gone["accepted"]
    assert data["config"]["broker"] == broker


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["run", "broker", "--broker", "nats", "--broker-url", "redis://127.0.0.1:1/0"], "match"),
        (["run", "broker", "--broker", "redis", "--cluster"], "RabbitMQ's"),
        (["run", "broker", "--broker-url", "kafka://127.0.0.1:9092"], "cannot tell the broker"),
        (["crash-test", "--durability", "always"], "--broker redis or nats"),
        (["crash-test", "--broker", "redis", "--durability", "sometimes"], "--durability"),
        (["crash-test", "--broker", "nats", "--faults", "node-kill"], "RabbitMQ cluster"),
        (["compare", "--brokers", "redis,nats", "--broker", "redis"], "not both"),
        (["compare", "--brokers", "redis", "--modes", "sync"], "add broker to --modes"),
        (["compare", "--brokers", "redis,kafka"], "--brokers"),
    ],
)
def test_what_cannot_go_together_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], args: list[str], says: str
) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err


@pytest.mark.broker  # RabbitMQ is one of the three
def test_compare_across_brokers_runs_the_broker_mode_once_on_each(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["compare", *WORKLOAD, "--modes", "broker", "--brokers", "nats,redis,rabbitmq"]
    code = main([*argv, "--no-floors", "--out", str(tmp_path), "--json"])
    assert code == 0, capsys.readouterr().err
    printed = json.loads(capsys.readouterr().out)
    assert set(printed["summaries"]) == {"broker-rabbitmq", "broker-redis", "broker-nats"}
    data = load(Path(printed["file"]))
    assert [r["config"]["broker"] for r in data["runs"]] == ["rabbitmq", "redis", "nats"]
    assert data["config"]["brokers"] == ["rabbitmq", "redis", "nats"]
    for r in data["runs"]:
        s = r["summary"]
        assert (s["delivered"], s["lost"], s["duplicates"]) == (s["accepted"], 0, 0) != (0, 0, 0)

    from mqlab.report.sentences import meanings

    said = meanings(data["runs"], "ko")
    assert [("Redis Streams" in m, "NATS JetStream" in m) for m in said] == [
        (False, False),
        (True, False),
        (False, True),
    ]


def _descendants(pid: int) -> set[int]:
    """Every process below `pid` now."""
    return set(proctable.descendants([pid], proctable.table() or {})) - {pid}


def _alive(pids: set[int]) -> set[int]:
    """Those of `pids` still running (not yet reaped counts as gone)."""
    procs = proctable.table() or {}
    return {pid for pid in pids if pid in procs and procs[pid].live}


@pytest.mark.broker  # private Redis and NATS servers, started by the test
def test_a_run_stopped_with_sigterm_stops_its_private_server_and_children_first(
    tmp_path: Path,
) -> None:
    import os
    import signal

    from mqlab.processes.procs import wait_for

    argv = ("run", "broker", "--broker", "redis", "-n", "400", "--rate", "20", "--no-floors",
            "--out", str(tmp_path))  # fmt: skip
    below: set[int] = set()
    try:
        with command(*argv, cwd=tmp_path) as cli:
            # under way: the private redis-server, the app, the workers and the sink all run
            assert wait_for(lambda: len(_descendants(cli.pid)) >= 6, 30, 0.1)
            time.sleep(1.0)
            below = _descendants(cli.pid)
            stop_with_sigterm(cli, timeout=20)
            assert wait_for(lambda: not _alive(below), 10, 0.1), [
                Path(f"/proc/{p}/cmdline").read_bytes()[:60] for p in _alive(below)
            ]
    finally:
        for pid in _alive(below):  # what a failed test would leave behind
            os.kill(pid, signal.SIGKILL)
