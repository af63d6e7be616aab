"""Calibration and the bench's arithmetic: structure, not speed.

The floors are measured on real processes (an empty app, the SMTP sink, RabbitMQ);
these tests check that they come back positive and well formed, that the JSON has
its keys, and that the bench turns given numbers into the right ratios and
verdicts. No test here has a timing threshold: how fast things are is `mqlab
bench`'s business, not the test suite's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from mqlab.cli.core import main
from mqlab.job import mail
from mqlab.job.signup import Job
from mqlab.measure import bench, calibrate, metrics, results
from mqlab.measure.bench import doubt
from mqlab.processes import proctable
from mqlab.processes.procs import Child, mqlab_argv
from mqlab.report import render

from .conftest import HOST, Sink


def positive(cal: calibrate.Calibration, name: str) -> calibrate.Floor:
    floor = cal.floor(name)
    assert floor is not None, cal.notes
    ms = floor.ms
    assert ms.p50 is not None and ms.p95 is not None and ms.p99 is not None
    assert ms.max is not None
    assert 0 < ms.p50 <= ms.p95 <= ms.p99 <= ms.max
    return floor


@pytest.mark.broker
def test_quick_returns_positive_floors_for_every_part(broker_url: str) -> None:
    cal = calibrate.quick(broker_url, samples=8)
    for name in calibrate.FLOORS:
        assert positive(cal, name).samples == 8
    assert cal.schedule is None and cal.notes == []


def test_without_a_broker_the_publish_floor_is_missing_and_says_why() -> None:
    cal = calibrate.quick(None, rate=200.0, samples=5)
    assert cal.floor("publish") is None
    assert positive(cal, "http").every_ms == 5.0  # paced like a run at 200/s
    assert positive(cal, "smtp").every_ms == 5.0
    assert any("publish" in note for note in cal.notes)


def test_the_schedule_check_reports_lateness_and_the_rate_held() -> None:
    cal = calibrate.measure(None, samples=5, rate=200.0, requests=40)
    s = cal.schedule
    assert s is not None
    assert (s.rate, s.requests, s.failed) == (200.0, 40, 0)
    assert s.sent_per_s is not None and s.sent_per_s > 0
    assert s.late_ms.p50 is not None and s.late_ms.p50 >= 0
    assert s.response_ms.p50 is not None and s.response_ms.p50 > 0


def test_the_calibration_json_has_its_keys_and_loads_back(tmp_path: Path) -> None:
    cal = calibrate.measure(None, samples=5, rate=100.0, requests=20)
    data = cal.to_dict()
    assert data["format_version"] == 1 and data["kind"] == "calibration"
    assert {"created", "environment", "floors", "schedule", "notes"} <= set(data)
    assert set(data["floors"]) == {"http", "smtp"}
    assert set(data["floors"]["http"]) == {"samples", "every_ms", "ms"}
    assert set(data["floors"]["http"]["ms"]) == {"p50", "p95", "p99", "max"}
    assert {
        "rate",
        "requests",
        "failed",
        "sent_per_s",
        "late_ms",
        "response_ms",
        "foreign_cores",
        "late_ok_ms",
        "holds",
    } <= set(data["schedule"])
    path = results.write(data, tmp_path, "calibration")
    assert results.load(path) == json.loads(json.dumps(data))


def test_calibrate_command_writes_a_calibration_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(
            [
                "calibrate",
                "--samples",
                "5",
                "--rate",
                "100",
                "--requests",
                "20",
                "--no-broker",
                "--json",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    data = results.load(Path(out["file"]))
    assert data["kind"] == "calibration" and data["floors"]["smtp"]["ms"]["p50"] > 0


@pytest.mark.parametrize("command", ["calibrate", "bench"])
def test_the_new_commands_explain_themselves(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([command, "--help"]) == 0
    assert "--json" in capsys.readouterr().out


# --- what a run's numbers can be trusted for -------------------------------------------------


def summary(late: float, response: float) -> dict[str, Any]:
    def p(v: float) -> dict[str, float]:
        return {"p50": v, "p95": v, "p99": v, "max": v}

    return {"generator_late_ms": p(late), "response_ms": p(response), "e2e_ms": p(200.0)}


def test_a_late_generator_spoils_short_response_times_only() -> None:
    assert metrics.untrusted(summary(late=0.3, response=1.5)) == {}  # under 2 ms: fine
    assert metrics.untrusted(summary(late=5.0, response=300.0)) == {}  # under 10%: fine
    doubtful = metrics.untrusted(summary(late=5.0, response=20.0))
    assert set(doubtful) == {
        "response_ms.p50",
        "response_ms.p95",
        "response_ms.p99",
        "response_ms.max",
    }
    warning = calibrate.lateness_warning(summary(late=5.0, response=20.0))
    assert warning is not None and "response p50" in warning and "5.0 ms late" in warning
    assert calibrate.lateness_warning(summary(late=0.3, response=1.5)) is None


# A child that listens on a high file descriptor while it opens and closes 200 lower ones.
_CHURN = """
import os, socket, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen()
listener = socket.socket(fileno=os.dup2(s.fileno(), 900))
os.close(s.detach())
print(listener.getsockname()[1], flush=True)
while True:
    fds = [os.open(os.devnull, os.O_RDONLY) for _ in range(200)]
    for fd in fds:
        os.close(fd)
    time.sleep(0.0003)
"""


def test_a_listener_is_found_while_its_process_closes_other_files() -> None:
    """A descriptor closed between listing and reading must not hide the whole process
    (before the fix: 124 of 300 looks missed it; a broker recovering after a restart). 30
    looks: the bug would miss in all of them once in 10^6 runs; each look costs a /proc scan
    beside a child that churns a core."""
    with subprocess.Popen(
        [sys.executable, "-c", _CHURN], stdout=subprocess.PIPE, text=True
    ) as child:  # on leaving: its pipe closed, the child waited for
        try:
            assert child.stdout is not None
            port = int(child.stdout.readline())
            missed = sum(child.pid not in proctable.listening_pids(port) for _ in range(30))
            assert missed == 0
        finally:
            child.kill()


def test_the_cpu_meter_reports_shares_of_the_machine() -> None:
    with calibrate.CpuMeter() as cpu:
        end = time.monotonic() + 0.2
        while time.monotonic() < end:
            pass
    assert cpu.busy is not None and 0 < cpu.busy <= 1
    assert cpu.foreign_cores is not None and cpu.foreign_cores >= 0
    assert cpu.steal_cores is not None and 0 <= cpu.steal_cores <= (os.cpu_count() or 1)


def test_a_doubt_names_the_hypervisor_when_its_steal_was_part_of_what_others_took() -> None:
    cpu = calibrate.CpuMeter()
    cpu.foreign_cores, cpu.steal_cores = 0.30, 0.02
    assert doubt.foreign(cpu, 0.25) == "other processes took 0.30 cores meanwhile"
    cpu.steal_cores = 0.20
    assert doubt.foreign(cpu, 0.25) == (
        "others took 0.30 cores meanwhile, 0.20 of them the hypervisor's "
        "(steal: CPU given to other virtual machines)"
    )
    assert doubt.foreign(cpu, 0.50) is None  # under the row's limit: judged


# --- the bench's arithmetic ------------------------------------------------------------------


def test_the_ceiling_is_workers_over_scan_time() -> None:
    assert bench.ceiling(4, 200.0) == 20.0
    assert bench.ceiling(1, 50.0) == 20.0
    with pytest.raises(ValueError):
        bench.ceiling(4, 0.0)


@pytest.mark.parametrize(
    ("measured", "reference", "expected"),
    [
        (19.4, 20.0, 0.97),
        (2.9, 1.0 + 0.45, 2.0),
        (None, 20.0, None),
        (19.4, 0.0, None),
        (19.4, None, None),
    ],
)
def test_ratio(measured: float | None, reference: float | None, expected: float | None) -> None:
    got = bench.ratio(measured, reference)
    assert got == pytest.approx(expected) if expected is not None else got is None


@pytest.mark.parametrize(
    ("value", "op", "target", "ok"),
    [
        (0.97, ">=", 0.97, True),
        (0.969, ">=", 0.97, False),
        (1.5, "<=", 1.5, True),
        (1.51, "<=", 1.5, False),
        (1.029, "±", 0.03, True),
        (0.971, "±", 0.03, True),
        (1.031, "±", 0.03, False),
        (0.969, "±", 0.03, False),
        (None, ">=", 1.0, None),
    ],
)
def test_verdict(value: float | None, op: bench.Op, target: float, ok: bool | None) -> None:
    assert bench.verdict(value, op, target) is ok


@pytest.mark.parametrize(
    ("steps", "expected"),
    [
        ([(750, 700), (625, 620), (687.5, 680), (718.75, 700)], 700.0),  # 700 < .97 * 750
        ([(750, 740), (875, 800)], 740.0),  # 800 < .97 * 875: behind, not counted
        ([(750, 560), (625, 560)], None),  # behind every time
        ([(750, 727.5)], 727.5),  # exactly .97 of the offer: kept up
        ([], None),
    ],
)
def test_sustained_is_the_most_delivered_by_a_run_that_kept_up(
    steps: list[tuple[float, float]], expected: float | None
) -> None:
    assert bench.sustained(steps) == expected


def test_a_pair_bisects_towards_what_keeps_up_and_divides_by_the_mean_ceiling() -> None:
    ceilings = iter([1000.0, 800.0])  # the machine slowed down over the pair
    offered: list[float] = []

    def delivers(rate: float) -> float:  # keeps up with anything up to 700/s, then caps
        offered.append(rate)
        return min(rate, 700.0)

    pair = bench.sustained_pair(lambda: next(ceilings), delivers)
    # 750 (behind: 700 < .97 * 750), 625, 687.5, 718.75 (700 >= .97 * 718.75), 734.375 (behind)
    assert offered == [750.0, 625.0, 687.5, 718.75, 734.375]
    assert (pair.mails, pair.top) == (700.0, 900.0)
    assert pair.ratio == pytest.approx(700 / 900)
    assert pair.bounds == "kept up at 0.719, fell behind at 0.734"
    assert pair.story() == (
        "ratio 0.78: raw ceiling 1000 then 800 mails/s; mqlab offered→delivered "
        "750→700, 625→625, 688→688, 719→700, 734→700"
    )


def test_a_pair_that_never_keeps_up_says_so() -> None:
    ceilings = iter([1000.0, 1000.0])
    pair = bench.sustained_pair(lambda: next(ceilings), lambda rate: 100.0)
    assert (pair.ratio, pair.mails) == (0.0, 0.0)
    assert pair.bounds == "fell behind even at 0.516"


def test_rows_are_judged_against_their_target_unless_in_doubt() -> None:
    good = bench.Row("fidelity.broker", bench.ratio(19.5, bench.ceiling(4, 200)), "19.5 of 20")
    bad = bench.Row("capacity.broker", bench.ratio(210.0, 330.0), "210 of 330")
    doubtful = bench.Row("fidelity.thread", 0.5, "10 of 20", doubt="generator late")
    assert (good.ok, bad.ok, doubtful.ok) == (True, False, None)
    d = good.to_dict()
    assert (d["op"], d["target"], d["value"]) == (">=", 0.97, 0.975)


def test_every_target_has_a_known_comparison() -> None:
    for key, target in bench.TARGETS.items():
        assert target.op in (">=", "<=", "±"), key
        assert target.target > 0


def bench_document() -> dict[str, Any]:
    rows = [
        bench.Row("fidelity.broker", 0.975, "19.50 of 20.0 mails/s"),
        bench.Row("capacity.late", 123.456, "p99 246.9 ms", doubt="other processes busy"),
    ]
    result = bench.BenchResult(
        rows=rows,
        kills=[bench.KillRow("celery", "mid-scan", 100, 99, 1, 0, "pool process")],
        phases={
            "broker": {"start": 1.0, "load": 4.0, "drain": 6.0, "teardown": 0.5, "total": 11.5}
        },
        calibration=calibrate.Calibration([]).to_dict(),
        notes=[],
        environment={},
    )
    return result.to_dict()


def test_the_bench_json_has_its_keys() -> None:
    data = bench_document()
    results.check(data)
    assert data["kind"] == "bench"
    assert {"rows", "kills", "phases", "calibration", "notes", "environment"} <= set(data)
    assert set(data["rows"][0]) == {
        "key",
        "label",
        "op",
        "target",
        "value",
        "ok",
        "detail",
        "doubt",
    }


def test_the_bench_table_says_why_instead_of_printing_a_doubtful_ratio() -> None:
    data = bench_document()
    console = Console(record=True, width=200)
    console.print(render.bench_table(data))
    for line in render.bench_doubts(data):
        console.print(line)
    text = console.export_text()
    assert "0.975" in text
    assert "123.456" not in text and "not judged (1)" in text
    assert "(1) generator late p99 ÷ 2 ms: other processes busy" in text


# --- the SMTP path the floors (and every worker) use -------------------------------------------


def test_a_kept_smtp_connection_survives_a_restart_of_the_sink(
    start_sink: Callable[..., Sink], tmp_path: Path
) -> None:
    sink = start_sink()
    target = mail.SmtpTarget(HOST, sink.port)
    mail.send(mail.welcome_message(Job("before", "a@example.test", "A")), target)
    sink.child.stop()  # the server closes the connection this thread keeps open
    argv = mqlab_argv("sink", "--port", str(sink.port), "--ledger", str(sink.ledger))
    again = Child("sink again", argv, tmp_path / "sink-again.log").start()
    try:
        again.wait_listening(sink.port, timeout=15)
        mail.send(mail.welcome_message(Job("after", "a@example.test", "A")), target)
        assert [a.job_id for a in sink.wait_for(2)] == ["before", "after"]
    finally:
        again.stop()
