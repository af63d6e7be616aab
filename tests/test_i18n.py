"""Every label exists in English and Korean, and the module stays free of presentation."""

from __future__ import annotations

import ast
import io
import string
import time
from pathlib import Path
from typing import Any

import pytest

from mqlab.report import i18n, sentences


def fields(pattern: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(pattern) if name}


def test_every_key_is_in_both_languages() -> None:
    assert set(i18n.TEXTS) == set(i18n.LANGS) == {"en", "ko"}
    assert set(i18n.TEXTS["en"]) == set(i18n.TEXTS["ko"])


@pytest.mark.parametrize("key", sorted(i18n.TEXTS["en"]))
def test_translations_are_filled_and_take_the_same_fields(key: str) -> None:
    en, ko = i18n.text(key, "en"), i18n.text(key, "ko")
    assert en.strip() and ko.strip()
    assert fields(en) == fields(ko)


def test_modes_use_the_course_vocabulary() -> None:
    assert i18n.mode_label("sync", "ko") == "동기 처리"
    assert i18n.mode_label("thread", "ko") == "내부 비동기 (스레드)"
    assert i18n.mode_label("broker", "ko") == "메시지 브로커"
    assert i18n.mode_label("broker") == "message broker"


def test_fault_safety_and_event_labels() -> None:
    assert i18n.fault_label("worker-kill", "ko") == "워커 강제 종료"
    assert i18n.fault_label("broker-restart") == "broker restarted"
    assert i18n.safety_label("auto-ack", "ko") == "자동 ACK"
    assert i18n.event_label("kill", "app", "ko") == "앱 서버 강제 종료"
    assert i18n.event_label("restart", "broker") == "broker restarted"


def test_unknown_data_values_are_shown_as_they_are() -> None:
    assert i18n.mode_label("kafka", "ko") == "kafka"
    assert i18n.fault_label("disk-full") == "disk-full"


def test_table_columns_cover_the_result_fields() -> None:
    wanted = {
        "mode",
        "requests",
        "accepted",
        "failed",
        "sent_anyway",
        "delivered",
        "lost",
        "duplicates",
        "quarantined",
        "dead_lettered",
        "retried",
        "told_truth",
        "told_wrong",
        "told_queued",
        "never_heard",
        "throughput",
        "response_p50",
        "response_p95",
        "response_p99",
        "response_max",
        "e2e_p50",
        "e2e_p95",
        "e2e_p99",
        "fault",
        "trial",
        "safety",
        "skipped",
        "note",
    }
    assert {key.removeprefix("col.") for key in i18n.COLUMNS} == wanted
    assert i18n.text("col.lost", "ko") == "유실"
    assert i18n.text("col.sent_anyway", "ko") == "실패 응답 후 발송됨"
    assert i18n.text("col.throughput") == "throughput (mails/s)"


def test_counted_uses_the_singular_for_one() -> None:
    assert i18n.counted("sub.workers", 1) == "1 worker"
    assert i18n.counted("sub.workers", 4) == "4 workers"
    assert i18n.counted("sub.workers", 1, "ko") == "워커 1개"


@pytest.mark.parametrize(
    "call",
    [
        lambda: i18n.text("col.mode", "fr"),
        lambda: i18n.mode_label("sync", "EN"),
        lambda: i18n.text("no.such.key", "ko"),
    ],
)
def test_unknown_language_or_key_is_one_line_value_error(call: object) -> None:
    with pytest.raises(ValueError) as info:
        call()  # type: ignore[operator]
    assert "\n" not in str(info.value)


def test_no_presentation_library_is_imported() -> None:
    sources = [f.read_text(encoding="utf-8") for f in Path(i18n.__file__).parent.glob("*.py")]
    assert len(sources) > 1  # the package: its functions, and the tables beside them
    imported: set[str] = set()
    for node in (n for source in sources for n in ast.walk(ast.parse(source))):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & {"rich", "matplotlib", "typer"}


def crash_doc() -> dict[str, Any]:
    """The widest crash-test table: every fault, a safety flag, several trials, 3 digits."""
    row: dict[str, Any] = {
        "accepted": 200, "failed": 120, "sent_anyway": 15, "delivered": 188, "lost": 12,
        "duplicates": 10, "quarantined": 0, "skipped": False, "note": "n",
        "throughput_per_s": 18.6, "response_ms": {"p50": 1234.0}, "warnings": [],
    }  # fmt: skip
    rows = [
        {**row, "mode": mode, "fault": fault, "safety": safety, "trial": trial}
        for mode, fault in [("sync", "app-kill"), ("broker", "broker-restart")]
        for safety in ("default", "idempotent")
        for trial in (1, 10)
    ]
    config = {"requests": 200, "rate": 50, "scan_ms": 200, "workers": 4, "server_threads": 8}
    return {"config": config, "rows": rows}


@pytest.mark.parametrize("lang", i18n.LANGS)
def test_the_crash_table_fits_80_columns_with_sent_anyway(lang: str) -> None:
    from rich.console import Console

    from mqlab.report import render

    out = io.StringIO()
    console = Console(file=out, width=80, force_terminal=False)
    for table in render.crash_tables(crash_doc(), lang):
        console.print(table)
    shown = out.getvalue()
    assert "…" not in shown  # nothing cut: every header and number whole
    assert max(console.measure(t).maximum for t in render.crash_tables(crash_doc(), lang)) <= 80
    assert " 15" in shown and i18n.text("col.sent_anyway.short", lang).split()[-1] in shown


@pytest.mark.parametrize("lang", i18n.LANGS)
def test_run_tables_show_sent_anyway_and_explain_it(
    lang: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from mqlab.report import render

    def run(sent_anyway: int | None) -> dict[str, Any]:
        summary = {
            "requests": 10, "accepted": 8, "failed": 2, "delivered": 8, "lost": 0,
            "duplicates": 0, "quarantined": 0, "throughput_per_s": 5.0,
            "response_ms": {"p50": 1.0, "p95": 2.0, "p99": 3.0, "max": 4.0},
            "e2e_ms": {"p50": 1.0, "p95": 2.0, "p99": 3.0, "max": 4.0},
        }  # fmt: skip
        if sent_anyway is not None:
            summary["sent_anyway"] = sent_anyway
        return {"mode": "sync", "config": {"requests": 10}, "summary": summary}

    render.print_runs([run(2)], lang)
    shown = capsys.readouterr().out
    assert i18n.text("col.sent_anyway", lang) in shown
    assert i18n.text("note.sent_anyway", lang).split()[-1] in shown
    render.print_runs([run(None)], lang)  # a file from before the field: 0, no note
    shown = capsys.readouterr().out
    assert i18n.text("note.sent_anyway", lang).split()[-1] not in shown


# ---------------------------------------------------------------- one term per concept


def test_every_korean_label_uses_the_glossary_term() -> None:
    for key, en in i18n.TEXTS["en"].items():
        ko = i18n.TEXTS["ko"][key]
        for en_term, ko_term, banned in i18n.GLOSSARY:
            if en_term in en.lower():
                assert ko_term in ko, f"{key}: {en_term!r} is {ko_term!r} in Korean: {ko!r}"
            for word in banned:
                assert word not in ko, f"{key}: {word!r} is not the course's word: {ko!r}"


def test_the_lateness_mark_cannot_be_read_as_latency() -> None:
    assert i18n.text("late", "ko") == "전송 시각 밀림"
    assert i18n.text("late") == "behind schedule"
    assert "지연" not in i18n.text("late", "ko") and "latency" not in i18n.text("late")


# ---------------------------------------------------------------- Korean throughout

# What may stay in Latin letters in Korean output: units, acronyms, names of products
# and option values a student types.
LATIN_OK = {
    "ms", "s", "p50", "p95", "p99", "W", "HTTP", "SMTP", "ACK", "CPU", "RabbitMQ", "SIGKILL",
}  # fmt: skip


def _calibration() -> dict[str, Any]:
    def floor(p50: float) -> dict[str, Any]:
        ms = {"p50": p50, "p95": p50 * 2, "p99": p50 * 3, "max": p50 * 4}
        return {"ms": ms, "samples": 50, "every_ms": 10}

    return {
        "floors": {"http": floor(0.4), "smtp": floor(1.2)},
        "schedule": {
            "rate": 200, "sent_per_s": 199.0, "late_ms": {"p50": 0.1, "p99": 0.9},
            "failed": 0, "holds": True,
        },
        "notes": ["publish: not measured (no broker asked for)"],
    }  # fmt: skip


def _korean_output(capsys: pytest.CaptureFixture[str]) -> str:
    from mqlab.report import render

    try:
        from . import chartdata
    except ImportError:  # tests/ collected as a plain directory
        import chartdata  # type: ignore[no-redef]

    compare = chartdata.compare_late()
    compare["runs"][0]["warnings"] = [
        "drain timed out after 30 s: undelivered jobs count as lost",
        "the load generator sent up to 12.3 ms late: response p99 carries that delay and "
        "prints as `late`",
    ]
    crash = chartdata.crash_test()
    crash["rows"][0]["note"] = "app SIGKILLed mid-load, then restarted"
    crash["rows"][1]["note"] = "the fault never fired"
    crash["rows"][2]["warnings"] = ["drain timed out after 30 s: undelivered jobs count as lost"]
    sweep = chartdata.sweep()
    sweep["config"]["modes"] = ["thread", "broker"]
    render.print_runs(compare["runs"], "ko")
    render.print_crash(crash, "ko")
    render.print_sweep(sweep, "ko")
    render.print_calibration(_calibration(), "ko")
    render.print_floors(_calibration(), "ko")
    return capsys.readouterr().out


def test_korean_tables_hold_no_english_word(capsys: pytest.CaptureFixture[str]) -> None:
    import re

    shown = _korean_output(capsys)
    assert "유실" in shown and "전송 시각 밀림" in shown  # the tables were printed
    english = set(re.findall(r"[A-Za-z][A-Za-z0-9-]*", shown)) - LATIN_OK
    assert not english, sorted(english)


def test_stored_english_notes_are_shown_in_korean() -> None:
    assert i18n.note_text("the fault never fired", "ko") == "장애가 일어나지 않았습니다"
    assert i18n.note_text("drain timed out after 30 s: x", "ko").startswith("30초")
    assert i18n.note_text("something new", "ko") == "something new"  # unknown: as written


def test_a_requested_spike_is_not_called_overload(capsys: pytest.CaptureFixture[str]) -> None:
    from mqlab.report import render

    warning = "the load generator ran late (p99 812 ms): this machine is overloaded"
    assert render.shown_warnings([warning], {"rate": 0}, "en") == []
    assert "too busy" in render.shown_warnings([warning], {"rate": 50}, "en")[0]


# ---------------------------------------------------------------- progress


def test_progress_labels_say_what_is_counted_in_both_languages() -> None:
    from mqlab.report import render

    assert render.phase_text("broker", "load") == "broker: sending"
    assert render.phase_unit("load") == "signups" and render.phase_unit("drain") == "mails"
    assert render.phase_text("broker", "drain", "ko") == "브로커: 발송 중"
    assert render.phase_unit("load", "ko") == "가입 요청"
    label = i18n.progress_label("broker app-kill --no-confirm #2", "ko")
    assert label == "브로커 · 앱 서버 강제 종료 · 발행 확인 없음 · 2회차"
    assert i18n.progress_label("thread × 4", "ko") == "스레드 · 워커 4개"


def test_each_phase_has_its_own_bar_that_never_goes_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from rich.console import Console

    from mqlab.report import render

    out = io.StringIO()
    monkeypatch.setattr(render, "err_console", Console(file=out, force_terminal=True, width=100))
    steps = [("load", 7, 10), ("load", 5, 10), ("load", 10, 10), ("drain", 3, 9)]
    with render.progress("broker", 10) as report:
        for phase, done, total in steps:  # 5 after 7: a late report must not pull it back
            report(phase, done, total)
            time.sleep(0.15)  # rich redraws ten times a second
    shown = out.getvalue()  # with the last frame, drawn as the bar stops (a busy machine
    # drew none after the last step: "3/9" was missing)
    assert "sending" in shown and "signups" in shown
    assert "delivering" in shown and "3/9" in shown and "mails" in shown
    assert "5/10" not in shown
    assert "10/10" in shown  # the sending bar stays, full, beside the delivering one


def test_each_mode_gets_one_sentence_from_its_own_numbers() -> None:
    from mqlab.report import render

    from . import chartdata

    runs = chartdata.compare()["runs"]
    for lang in ("en", "ko"):
        lines = render.meanings(runs, lang)
        assert len(lines) == len(runs)
        for line, r in zip(lines, runs, strict=True):
            assert line.startswith(i18n.mode_label(r["mode"], lang))
            assert f"{r['summary']['throughput_per_s']:.1f}" in line or r["mode"] == "thread"
    lossy = [{**runs[1], "summary": {**runs[1]["summary"], "lost": 7}}]
    assert "7 accepted jobs were lost" in render.meanings(lossy)[0]
    assert "7건이 유실" in render.meanings(lossy, "ko")[0]
    one = [{**runs[1], "summary": {**runs[1]["summary"], "lost": 1}}]
    assert "1 accepted job was lost." in render.meanings(one)[0]  # not "1 ... jobs were"


def test_a_mode_that_retried_says_its_throughput_holds_the_waits() -> None:
    """--smtp-fail-rate: the broker's throughput falls below thread's; the sentence says
    why, from the summary's own counts (delivered after retry, dead-lettered, failed)."""
    from . import chartdata

    doc = chartdata.compare()
    broker = next(r for r in doc["runs"] if r["mode"] == "broker")
    broker["config"]["retry_delay_ms"] = 500
    broker["summary"].update(retried=18, dead_lettered=2, failed=3)
    line = sentences.run_meaning(broker)
    assert "18 mails were refused at first" in line and "retry queue (500 ms" in line
    assert "throughput includes those waits" in line
    assert "2 jobs went to the dead-letter queue" in line and "3 users were told" in line
    ko = sentences.run_meaning(broker, "ko")
    assert "메일 18통" in ko and "재시도 큐" in ko and "처리량" in ko and "데드 레터 큐" in ko
    plain = next(r for r in doc["runs"] if r["mode"] == "thread")
    assert "refused" not in sentences.run_meaning(plain)  # no retry, no word of one


def _crash_rows() -> dict[str, Any]:
    """A broker restart as measured: the safe row waited 20.5 s for the node; the rows that
    lost their jobs stopped their clocks at 1.1 s and so read ~10x its throughput."""

    def row(safety: str, accepted: int, delivered: int, lost: int, tput: float) -> dict[str, Any]:
        return {
            "mode": "broker", "fault": "broker-restart", "safety": safety, "trial": 1,
            "accepted": accepted, "failed": 60 - accepted, "sent_anyway": 0,
            "delivered": delivered, "lost": lost, "duplicates": 0, "skipped": False,
            "throughput_per_s": tput,
        }  # fmt: skip

    return {
        "config": {"requests": 60},
        "rows": [
            row("default", 32, 32, 0, 32 / 20.5),
            row("no-confirm", 35, 17, 18, 17 / 1.1),
            row("transient", 31, 31, 0, 31 / 5.0),
        ],
    }


def test_a_crash_row_that_lost_jobs_is_not_called_faster() -> None:
    data = _crash_rows()
    window = sentences.crash_window(data, "broker-restart")
    assert window is not None and window.group == ("broker", "default")
    assert round(window.seconds, 1) == 20.5
    lines = sentences.crash_meanings(data, "broker-restart")
    assert (
        lines[0]
        == "broker · default: all 32 accepted jobs were delivered. 28 users were told it failed."
    )
    lossy = lines[1]
    assert lossy.startswith("broker · no publisher confirms: 18 of 35 accepted jobs were lost.")
    # its own figure, and the figure over the same window as the safe row
    assert "Its own throughput, 15.5 mails/s, stops the clock at its last mail (1.1 s)" in lossy
    assert "over the 20.5 s of broker · default (1.6 mails/s) it is 0.8 mails/s" in lossy
    assert "own throughput" not in lines[2]  # lost nothing: its own clock is fair
    ko = sentences.crash_meanings(data, "broker-restart", "ko")[1]
    assert "35건 중 18건이 유실" in ko and "초당 15.5통" in ko and "20.5초(초당 1.6통)" in ko
    alone = {**data, "rows": data["rows"][1:2]}  # nothing to compare with: no throughput
    assert "throughput" not in sentences.crash_meanings(alone, "broker-restart")[0]


def test_sweep_sentences_say_how_each_line_scaled() -> None:
    from . import chartdata

    lines = sentences.sweep_meanings(chartdata.sweep())
    assert lines[0].startswith("in-process async (threads) · waiting: from 1 to 8 workers")
    assert "4.8 to 38.0 mails/s: 8.0× for 8× the workers" in lines[0]
    assert "95% of the ideal (40.0 mails/s)" in lines[0]
    assert "barely moved: 4.8 to 4.8 mails/s" in lines[1] and "12% of the ideal" in lines[1]
    ko = sentences.sweep_meanings(chartdata.sweep(), "ko")
    assert "거의 늘지 않았습니다" in ko[1] and "이론치(초당 40.0통)의 12%" in ko[1]


def test_a_fair_run_names_its_senders_not_the_thread_and_broker_apps_handler_threads() -> None:
    old = {"requests": 200, "rate": 50, "scan_ms": 200, "workers": 4, "server_threads": 8}
    assert "8 server threads" in i18n.workload_line(old, ["sync"], "en")
    fair = {**old, "senders": 4}
    line = i18n.workload_line(fair, ["sync", "thread", "broker"], "en")
    assert "4 workers" in line and "server threads" not in line
    assert "4 workers" in i18n.workload_line(fair, ["sync"], "en")


def test_in_a_pipe_each_run_says_one_line_as_it_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    """No bar where nobody watches a terminal (a log, CI), but which run is under way."""
    from rich.console import Console

    from mqlab.report import render

    out = io.StringIO()
    monkeypatch.setattr(render, "err_console", Console(file=out, force_terminal=False, width=100))
    with render.progress("broker node-kill quorum #3", 10) as report:
        report("load", 5, 10)
    with render.progress("broker", 10, quiet=True) as report:  # --json: nothing
        report("load", 5, 10)
    assert out.getvalue().splitlines() == [
        "… broker · cluster node killed · quorum queue · trial 3: starting"
    ]
