"""Every label exists in English and Korean, and the module stays free of presentation."""

from __future__ import annotations

import ast
import string
from pathlib import Path

import pytest

from mqlab import i18n


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
        "delivered",
        "lost",
        "duplicates",
        "quarantined",
        "dead_lettered",
        "retried",
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
    source = Path(i18n.__file__).read_text(encoding="utf-8")
    imported: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert not imported & {"rich", "matplotlib", "typer"}
