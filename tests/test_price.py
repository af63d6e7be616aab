"""The price of replication (issue 24): `mqlab compare --queue-types classic,quorum` as the
tables and sentences show it, the refusals before anything starts, and the bench row's
arithmetic. None of these needs a broker; the runs themselves are in test_cluster.py,
on its cluster, and the slides in test_chart.py.
"""

from __future__ import annotations

import copy
import io
from typing import Any

import pytest
from rich.console import Console

from mqlab.cli.core import main
from mqlab.measure import bench, calibrate
from mqlab.measure.bench import replication
from mqlab.processes import rabbit
from mqlab.report import i18n, render, sentences

from . import chartdata


def shown(runs: list[dict[str, Any]], lang: str, capsys: pytest.CaptureFixture[str]) -> str:
    render.print_runs(runs, lang)
    return " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--modes", "sync,thread", "--queue-types", "classic,quorum"], "add broker to --modes"),
        (
            ["--queue-type", "quorum", "--queue-types", "classic,quorum"],
            "give --queue-type or --queue-types, not both",
        ),
        (["--queue-types", "classic,mirrored"], "--queue-types takes a comma-separated list"),
    ],
)
def test_compare_refuses_what_cannot_go_together_before_anything_starts(
    argv: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["compare", *argv]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert said in err


@pytest.mark.parametrize("lang", i18n.LANGS)
def test_each_queue_type_gets_its_column_its_confirm_and_a_sentence(
    lang: str, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = chartdata.compare_price()["runs"]
    out = shown(runs, lang, capsys)
    classic, quorum = (i18n.queue_label(k, lang) for k in ("classic", "quorum"))
    assert f"{i18n.mode_label('broker', lang)} · {quorum}" in out  # the run's own column
    assert i18n.text("price.title", lang) in out
    assert "1.9×" in out  # 2.53 ÷ 1.32 ms, the confirm alone
    said = sentences.price_meanings(runs, lang)
    assert [line.split(":")[0] for line in said] == [classic, quorum]
    assert " ".join(said[1].split()) in out
    if lang == "en":
        assert "a confirmed publish alone took 2.5 ms at the median, 1.9× the classic" in said[1]
        assert "majority of its replicas" in said[1] and "one node" in said[0]
    else:
        assert "1.9배" in said[1] and "과반" in said[1]


def test_a_comparison_on_one_queue_type_prints_no_price(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Every compare file from before --queue-types (no queue_type at all: classic) reads as
    it did: no price table, no queue type in the mode's name."""
    runs = chartdata.compare()["runs"]
    assert sentences.price_runs(runs) == [] and render.price_table(runs) is None
    out = shown(runs, "en", capsys)
    assert i18n.text("price.title") not in out and "classic queue" not in out
    assert sentences.run_label(runs[0], runs) == i18n.mode_label(runs[0]["mode"])


def test_a_queue_type_whose_confirm_was_not_timed_says_so() -> None:
    runs = copy.deepcopy(chartdata.compare_price()["runs"])
    runs[1]["calibration"] = None  # --no-floors
    said = sentences.price_meanings(runs)
    assert "its confirmed publish was not measured alone" in said[1]
    table = io.StringIO()
    Console(file=table, width=100).print(render.price_table(runs))
    assert "-" in table.getvalue().split("p50 (ms)")[1].split("\n")[0]  # no ratio, no floor


def test_the_progress_label_names_the_queue_type() -> None:
    assert i18n.progress_label("broker quorum") == "broker · quorum queue"
    assert i18n.progress_label("broker classic", "ko") == "브로커 · 클래식 큐"


def test_the_json_summary_keys_each_broker_run_by_its_queue_type() -> None:
    from mqlab.cli.measure import _summaries

    runs = chartdata.compare_price()["runs"]
    assert set(_summaries(runs)) == {"broker-classic", "broker-quorum"}
    assert set(_summaries(chartdata.compare()["runs"])) == {"sync", "thread", "broker"}


# ---------------------------------------------------------------- the bench row


def test_the_price_of_replication_is_judged_at_most_two_and_a_half() -> None:
    target = bench.TARGETS["replication.confirm"]
    assert (target.op, target.target) == ("<=", 2.5)
    assert bench.Row("replication.confirm", 1.9, "2.53 vs 1.32 ms").ok is True
    assert bench.Row("replication.confirm", 2.6, "3.4 vs 1.3 ms").ok is False


def test_a_quorum_confirm_faster_than_a_classic_one_is_not_judged() -> None:
    quiet = calibrate.CpuMeter()
    quiet.foreign_cores = 0.1
    assert replication._doubt(1.6, quiet) is None
    assert "not replication's price" in (replication._doubt(0.8, quiet) or "")
    busy = calibrate.CpuMeter()
    busy.foreign_cores = 0.9
    assert "other processes took 0.90 cores" in (replication._doubt(1.6, busy) or "")


def test_without_rabbitmq_server_the_row_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rabbit, "find_rabbitmq_server", lambda: None)
    notes: list[str] = []
    row = replication.replication_row(notes)
    assert (row.value, row.ok) == (None, None) and row.doubt == "rabbitmq-server is not installed"
    assert notes == ["price of replication not measured: rabbitmq-server is not installed"]
