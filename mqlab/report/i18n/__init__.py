"""Every word a student reads, in English and Korean, in one place.

The course is taught in Korean, so charts and terminal tables must say the same
things in both languages with the course's own vocabulary (동기 처리, 내부 비동기,
메시지 브로커, 유실, 적체, 실패 응답 후 발송됨, ...). Keeping the words here, away from
rich and matplotlib, lets a translator fix a label without reading drawing code, and lets
a test prove that no key exists in one language only.

The tables are `en.py` and `ko.py` (one dict each, the same keys), the vocabulary is
`glossary.py`; this module holds the functions that look the words up.

Strings may hold `str.format` fields (`{n}`, `{fault}`); the caller fills them.
Unknown languages and unknown keys raise `ValueError` with one readable line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from mqlab.report.i18n.en import EN
from mqlab.report.i18n.glossary import GLOSSARY as GLOSSARY
from mqlab.report.i18n.ko import KO

LANGS = ("en", "ko")

# Column labels of the terminal tables, in the order a table shows them.
COLUMNS = (
    "col.mode",
    "col.requests",
    "col.accepted",
    "col.failed",
    "col.sent_anyway",
    "col.delivered",
    "col.lost",
    "col.duplicates",
    "col.quarantined",
    "col.dead_lettered",
    "col.retried",
    "col.told_truth",
    "col.told_wrong",
    "col.told_queued",
    "col.never_heard",
    "col.throughput",
    "col.response_p50",
    "col.response_p95",
    "col.response_p99",
    "col.response_max",
    "col.e2e_p50",
    "col.e2e_p95",
    "col.e2e_p99",
    "col.fault",
    "col.trial",
    "col.safety",
    "col.skipped",
    "col.note",
)

TEXTS: dict[str, dict[str, str]] = {"en": EN, "ko": KO}


def check_lang(lang: str) -> str:
    """Return `lang` if we speak it; otherwise one readable ValueError line."""
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r} (expected one of {', '.join(LANGS)})")
    return lang


def text(key: str, lang: str = "en") -> str:
    """The label for `key` in `lang`, e.g. text("col.lost", "ko") == "유실"."""
    table = TEXTS[check_lang(lang)]
    if key not in table:
        raise ValueError(f"no {lang} text for key {key!r}")
    return table[key]


def _label(prefix: str, name: str, lang: str) -> str:
    """Label of a data value (mode, fault, ...); a name we do not know is shown as is."""
    table = TEXTS[check_lang(lang)]
    return table.get(f"{prefix}.{name}", name)


def mode_label(mode: str, lang: str = "en") -> str:
    """Mode label: "broker" -> "message broker" / "메시지 브로커"."""
    return _label("mode", mode, lang)


def fault_label(fault: str, lang: str = "en") -> str:
    """Fault label: "worker-kill" -> "worker killed" / "워커 강제 종료"."""
    return _label("fault", fault, lang)


def safety_label(safety: str, lang: str = "en") -> str:
    """Safety label: "auto-ack" -> "auto-ack" / "자동 ACK"."""
    return _label("safety", safety, lang)


def queue_label(queue_type: str | None, lang: str = "en", short: bool = False) -> str:
    """Queue-type label: "quorum" -> "quorum queue" / "쿼럼 큐" ("quorum" / "쿼럼" when
    `short`); a result without one had classic queues."""
    return _label("queue_type", (queue_type or "classic") + (".short" if short else ""), lang)


def broker_label(broker: str | None, lang: str = "en") -> str:
    """Broker label: "redis" -> "Redis Streams"; a result without one ran on RabbitMQ."""
    return _label("broker", broker or "rabbitmq", lang)


def target_label(target: str, lang: str = "en") -> str:
    """Target label: "broker" -> "broker" / "브로커" (the process a fault hit)."""
    return _label("target", target, lang)


def scan_kind_label(kind: str, lang: str = "en") -> str:
    """Scan-kind label: "cpu" -> "CPU-bound" / "CPU 연산"."""
    return _label("scan_kind", kind, lang)


def event_label(kind: str, target: str, lang: str = "en") -> str:
    """("kill", "worker") -> "worker killed" / "워커 강제 종료"."""
    table = TEXTS[check_lang(lang)]
    pattern = table.get(f"event.{kind}", "{target} " + kind)
    return pattern.format(target=target_label(target, lang))


def counted(key: str, n: int, lang: str = "en") -> str:
    """`text(key)` with `{n}` filled, in the singular form when n == 1."""
    singular = f"{key}.one"
    chosen = singular if n == 1 and singular in TEXTS[check_lang(lang)] else key
    return text(chosen, lang).format(n=n)


def workload_line(
    config: Mapping[str, Any], modes: Iterable[str], lang: str, *, workers: bool = True
) -> str:
    """ "200 requests · 50/s · scan 200 ms (sleep) · 4 workers": what was measured."""
    parts: list[str] = []
    if isinstance(config.get("requests"), int):
        parts.append(counted("sub.requests", config["requests"], lang))
    rate = config.get("rate")
    if isinstance(rate, (int, float)):
        parts.append(
            text("sub.rate", lang).format(rate=_number(rate))
            if rate > 0
            else text("sub.all_at_once", lang)
        )
    parts += _scan_part(config, lang)
    shown = set(modes)
    # Files that record `senders` gave every mode --workers mail senders, sync's handler
    # threads included; older ones served sync with --server-threads.
    fair = isinstance(config.get("senders"), int)
    if workers and (fair or shown - {"sync"}) and isinstance(config.get("workers"), int):
        parts.append(counted("sub.workers", config["workers"], lang))
    if "sync" in shown and not fair and isinstance(config.get("server_threads"), int):
        parts.append(counted("sub.threads", config["server_threads"], lang))
    return " · ".join(parts)


def _scan_part(config: Mapping[str, Any], lang: str) -> list[str]:
    scan, jitter = config.get("scan_ms"), config.get("scan_jitter_ms")
    kind = config.get("scan_kind")
    if not isinstance(scan, (int, float)):
        return []
    if isinstance(jitter, (int, float)) and jitter > 0:
        out = text("sub.scan_jitter", lang).format(ms=_number(scan), jitter=_number(jitter))
    else:
        out = text("sub.scan", lang).format(ms=_number(scan))
    if isinstance(kind, str):
        out += f" ({scan_kind_label(kind, lang)})"
    return [out]


def _number(value: float) -> str:
    """50 -> "50", 12.5 -> "12.5": workload numbers as a person writes them."""
    return f"{value:g}"


# The English notes and warnings mqlab writes into result files, and their keys: a table
# shows them in the chosen language, also from files written before this table existed.
_NOTES: tuple[tuple[str, str], ...] = (
    (r"app SIGKILLed mid-load, then restarted", "crash.fault.app-kill"),
    (r"worker SIGKILLed after its mail #\d+ was accepted, before its ack; a replacement started",
     "crash.fault.worker-kill"),
    (r"private RabbitMQ node SIGKILLed mid-load, then restarted", "crash.fault.broker-restart"),
    (r"the fault never fired", "crash.never_fired"),
    (r"the worker was never killed \(too few jobs reached it\)", "crash.never_killed"),
    (r"recovery failed: (?P<detail>.+)", "crash.recovery_failed"),
    (r"the replacement worker did not start: (?P<detail>.+)", "crash.no_replacement"),
    (r"the broker did not come back: (?P<detail>.+)", "crash.broker_gone"),
    (r"the trial could not run: (?P<detail>.+)", "crash.could_not_run"),
    (r"no broker", "crash.no_broker"),
    (r"sync has no queue to lose.*", "crash.no_queue"),
    (r"drain timed out after (?P<s>[\d.]+) s: .*", "warn.drain_timeout"),
    (r"the load generator ran late \(p99 (?P<ms>[\d.]+) ms\).*", "warn.overloaded"),
    (r"the load generator sent up to (?P<ms>[\d.]+) ms late.*", "warn.behind"),
    (r"publish: not measured \(no broker asked for\)", "floor.no_broker"),
    (r"publish: not measured \(no RabbitMQ answers at (?P<url>\S+)\)", "floor.no_answer"),
    (r"publish: not measured \((?P<detail>.+)\)", "floor.failed"),
)  # fmt: skip


def note_key(note: str) -> tuple[str, dict[str, str]] | None:
    """The key (and its fields) of a note or warning mqlab wrote, or None if unknown."""
    import re

    for pattern, key in _NOTES:
        m = re.fullmatch(pattern, note.strip())
        if m:
            return key, m.groupdict()
    return None


def note_text(note: str, lang: str = "en") -> str:
    """A stored English note in `lang`: "the fault never fired" -> "장애가 일어나지 않았습니다".
    A note we do not know is shown as written."""
    found = note_key(note)
    if found is None:
        return note
    key, values = found
    return text(key, lang).format(**values)


def progress_label(label: str, lang: str = "en") -> str:
    """A progress label of ids in words: "broker app-kill --no-confirm #2" ->
    "브로커 · 앱 서버 강제 종료 · 발행 확인 없음 · 2회차"; "broker × 4" -> "브로커 · 워커 4개"."""
    words: list[str] = []
    parts = label.split()
    i = 0
    while i < len(parts):
        part = parts[i]
        if part == "×" and i + 1 < len(parts) and parts[i + 1].isdigit():
            words.append(counted("sub.workers", int(parts[i + 1]), lang))
            i += 2
            continue
        if part.startswith("#") and part[1:].isdigit():
            words.append(text("progress.trial", lang).format(n=part[1:]))
        elif part.startswith("--"):
            words.append(safety_label(part[2:], lang))
        elif f"mode.{part}.short" in TEXTS[check_lang(lang)]:
            words.append(text(f"mode.{part}.short", lang))
        elif f"queue_type.{part}" in TEXTS[lang]:  # "broker quorum": a compare's second run
            words.append(queue_label(part, lang))
        else:
            words.append(fault_label(part, lang))
        i += 1
    return " · ".join(words)
