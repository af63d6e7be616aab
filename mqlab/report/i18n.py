"""Every word a student reads, in English and Korean, in one place.

The course is taught in Korean, so charts and terminal tables must say the same
things in both languages with the course's own vocabulary (동기 처리, 내부 비동기,
메시지 브로커, 유실, 적체, 실패 응답 후 발송됨, ...). Keeping the words here, away from
rich and matplotlib, lets a translator fix a label without reading drawing code, and lets
a test prove that no key exists in one language only.

Strings may hold `str.format` fields (`{n}`, `{fault}`); the caller fills them.
Unknown languages and unknown keys raise `ValueError` with one readable line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

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

_EN: dict[str, str] = {
    # the three ways of sending the welcome mail
    "mode.sync": "synchronous",
    "mode.thread": "in-process async (threads)",
    "mode.broker": "message broker",
    "mode.sync.short": "sync",
    "mode.thread.short": "threads",
    "mode.broker.short": "broker",
    # faults of the crash test and what was switched off to show them
    "fault.app-kill": "app server killed",
    "fault.worker-kill": "worker killed",
    "fault.broker-restart": "broker restarted",
    "safety.default": "default",
    "safety.no-confirm": "no publisher confirms",
    "safety.transient": "transient queue",
    "safety.auto-ack": "auto-ack",
    "safety.idempotent": "idempotent worker",
    "target.app": "app server",
    "target.worker": "worker",
    "target.broker": "broker",
    "event.kill": "{target} killed",
    "event.restart": "{target} restarted",
    "scan_kind.sleep": "waiting",
    "scan_kind.cpu": "CPU-bound",
    # terminal table columns
    "col.mode": "mode",
    "col.requests": "requests",
    "col.accepted": "accepted",
    "col.failed": "failed",
    "col.sent_anyway": "told failed, sent anyway",
    "col.sent_anyway.short": "sent anyway",
    "col.delivered": "delivered",
    "col.lost": "lost",
    "col.duplicates": "duplicates",
    "col.quarantined": "quarantined",
    "col.dead_lettered": "dead-lettered",
    "col.retried": "delivered after retry",
    "col.throughput": "throughput (mails/s)",
    "col.response_p50": "response p50 (ms)",
    "col.response_p95": "response p95 (ms)",
    "col.response_p99": "response p99 (ms)",
    "col.response_max": "response max (ms)",
    "col.e2e_p50": "e2e p50 (ms)",
    "col.e2e_p95": "e2e p95 (ms)",
    "col.e2e_p99": "e2e p99 (ms)",
    "col.fault": "fault",
    "col.trial": "trial",
    "col.safety": "safety",
    "col.skipped": "skipped",
    "col.note": "note",
    "saved": "saved",
    "meaning.sync": (
        "{mode}: every user waited for the scan and the mail (median {p50} ms); "
        "{n} senders delivered {tput} mails/s."
    ),
    "meaning.thread": (
        "{mode}: answered in {p50} ms; the mail followed from a queue in the app server's "
        "memory ({e2e} ms later at the median), a queue that is gone if the app server is killed."
    ),
    "meaning.broker": (
        "{mode}: answered in {p50} ms, once RabbitMQ held the job; {n} worker processes "
        "delivered {tput} mails/s, and the queue outlives a killed app server, worker or broker."
    ),
    "meaning.lost": "{n} accepted jobs were lost.",
    "note.sent_anyway": (
        "told failed, sent anyway: the user saw an error or no answer, yet the welcome mail "
        "went out, so a user who tries again gets two mails."
    ),
    "late": "behind schedule",
    "note.late": (
        "behind schedule: the load generator sent these requests later than planned, "
        "so the time is not shown."
    ),
    "chart.late_note": (
        "behind schedule: the load generator sent these requests late, and the bar holds "
        "that delay too"
    ),
    "warn.drain_timeout": (
        "the mails were still not all delivered after {s} s: the rest count as lost"
    ),
    "warn.overloaded": (
        "the load generator fell behind its schedule (p99 {ms} ms): this machine is too busy "
        "for this rate"
    ),
    "warn.behind": "the load generator fell behind its schedule by up to {ms} ms",
    "crash.fault.app-kill": "app server killed: SIGKILL mid-load, then restarted.",
    "crash.fault.worker-kill": (
        "worker killed: SIGKILL after a mail was accepted, before its ACK; a new worker started."
    ),
    "crash.fault.broker-restart": "broker restarted: SIGKILL mid-load, then restarted.",
    "crash.never_fired": "the fault never happened",
    "crash.never_killed": "the worker was never killed (too few jobs reached it)",
    "crash.recovery_failed": "recovery failed: {detail}",
    "crash.no_replacement": "the new worker did not start: {detail}",
    "crash.broker_gone": "the broker did not come back: {detail}",
    "crash.could_not_run": "the trial could not run: {detail}",
    "crash.no_broker": "no broker",
    "crash.no_queue": "sync has no queue to lose: the user saw the error",
    "progress.start": "starting",
    "progress.load": "sending",
    "progress.drain": "delivering",
    "progress.unit.load": "signups",
    "progress.unit.drain": "mails",
    "progress.trial": "trial {n}",
    "floor.title": "Floors on this machine (the least each part takes)",
    "floor.part": "part",
    "floor.calls": "calls",
    "floor.max": "max (ms)",
    "floor.http": "HTTP round trip (app server, empty scenario)",
    "floor.publish": "persistent publish + confirm (pika)",
    "floor.smtp": "SMTP send to the test mail server",
    "floor.paced": "one call every {ms:g} ms",
    "floor.unpaced": "calls back to back",
    "floor.schedule": (
        "load generator at {rate:g}/s: behind schedule p50 {p50} ms, p99 {p99} ms, "
        "held {held}/s, {failed} failed: {verdict}"
    ),
    "floor.holds": "holds its schedule",
    "floor.late": "does NOT hold its schedule",
    "floor.line": "floors here ({pacing}): HTTP {http} · publish {publish} · SMTP {smtp}",
    "floor.no_broker": "publish: not measured (no broker asked for)",
    "floor.no_answer": "publish: not measured (no RabbitMQ answers at {url})",
    "floor.failed": "publish: not measured ({detail})",
    "sweep.workers": "workers",
    "sweep.ideal": "ideal (mails/s)",
    "sweep.ratio": "measured ÷ ideal",
    # workload subtitle: "200 requests · 50/s · scan 200 ms (sleep) · 4 workers"
    "sub.requests": "{n} requests",
    "sub.requests.one": "{n} request",
    "sub.rate": "{rate}/s",
    "sub.all_at_once": "all at once",
    "sub.scan": "scan {ms} ms",
    "sub.scan_jitter": "scan {ms} ± {jitter} ms",
    "sub.workers": "{n} workers",
    "sub.workers.one": "{n} worker",
    "sub.threads": "{n} server threads",
    "sub.threads.one": "{n} server thread",
    "sub.trials": "{n} trials each",
    "sub.trials.one": "{n} trial each",
    # charts
    "chart.na": "n/a",
    "chart.ideal": "ideal = W ÷ scan time (at most the rate sent)",
    "chart.ideal_value": "ideal {value}",
    "chart.latency.title": "Response time: does the user wait?",
    "chart.latency.ylabel": "response time (ms)",
    "chart.latency.waits": "user waits",
    "chart.latency.at_once": "answered at once",
    "chart.throughput.title": "Until the mail arrives, and mails per second",
    "chart.throughput.e2e": "sign-up → mail delivered (ms)",
    "chart.throughput.rate": "throughput (mails/s)",
    "chart.timeline.title": "Timeline: where the jobs wait",
    "chart.timeline.title.spike": "Timeline: how a spike of {n} signups is absorbed",
    "chart.timeline.title.steady": "Timeline: {n} signups at {rate}/s, and where they wait",
    "chart.timeline.accepted": "accepted per interval",
    "chart.timeline.delivered": "delivered per interval",
    "chart.timeline.backlog": "backlog (accepted, not yet delivered)",
    "chart.timeline.queue": "measured queue depth",
    "chart.timeline.peak": "peak backlog {value}",
    "chart.timeline.peak_waiting": "peak {value} users waiting",
    "chart.timeline.waiting": "users waiting for an answer (sync)",
    "chart.timeline.xlabel": "seconds since start",
    "chart.timeline.ylabel": "jobs",
    "chart.timeline.trial": "trial {n}",
    "chart.crash_timeline.title": "Timeline under fault: {fault}",
    "chart.crash.title": "Crash test: {fault}",
    "chart.crash.ylabel": "mails",
    "chart.crash.ylabel_sum": "mails (sum of {n} trials)",
    "chart.sweep.title": "Scaling out: throughput vs workers",
    "chart.sweep.xlabel": "workers (W)",
}

_KO: dict[str, str] = {
    "mode.sync": "동기 처리",
    "mode.thread": "내부 비동기 (스레드)",
    "mode.broker": "메시지 브로커",
    "mode.sync.short": "동기",
    "mode.thread.short": "스레드",
    "mode.broker.short": "브로커",
    "fault.app-kill": "앱 서버 강제 종료",
    "fault.worker-kill": "워커 강제 종료",
    "fault.broker-restart": "브로커 재시작",
    "safety.default": "기본 설정",
    "safety.no-confirm": "발행 확인 없음",
    "safety.transient": "비영속 큐",
    "safety.auto-ack": "자동 ACK",
    "safety.idempotent": "멱등 처리 워커",
    "target.app": "앱 서버",
    "target.worker": "워커",
    "target.broker": "브로커",
    "event.kill": "{target} 강제 종료",
    "event.restart": "{target} 재시작",
    "scan_kind.sleep": "대기형",
    "scan_kind.cpu": "CPU 연산",
    "col.mode": "방식",
    "col.requests": "요청",
    "col.accepted": "접수",
    "col.failed": "실패",
    "col.sent_anyway": "실패 응답 후 발송됨",
    "col.sent_anyway.short": "실패 응답 후 발송됨",
    "col.delivered": "발송 완료",
    "col.lost": "유실",
    "col.duplicates": "중복",
    "col.quarantined": "격리",
    "col.dead_lettered": "데드 레터 큐",
    "col.retried": "재시도 후 발송",
    "col.throughput": "처리량 (메일/초)",
    "col.response_p50": "응답 p50 (ms)",
    "col.response_p95": "응답 p95 (ms)",
    "col.response_p99": "응답 p99 (ms)",
    "col.response_max": "응답 최대 (ms)",
    "col.e2e_p50": "종단 간 p50 (ms)",
    "col.e2e_p95": "종단 간 p95 (ms)",
    "col.e2e_p99": "종단 간 p99 (ms)",
    "col.fault": "장애",
    "col.trial": "시행",
    "col.safety": "안전 설정",
    "col.skipped": "건너뜀",
    "col.note": "비고",
    "saved": "저장한 파일",
    "meaning.sync": (
        "{mode}: 모든 사용자가 검사와 메일 발송이 끝날 때까지 기다렸습니다(중앙값 {p50} ms). "
        "발송자 {n}개가 초당 {tput}통을 보냈습니다."
    ),
    "meaning.thread": (
        "{mode}: {p50} ms 만에 응답했고, 메일은 앱 서버 메모리 안의 큐에서 나갔습니다"
        "(중앙값 {e2e} ms 뒤). 앱 서버가 강제 종료되면 이 큐는 사라집니다."
    ),
    "meaning.broker": (
        "{mode}: RabbitMQ가 작업을 받은 뒤 {p50} ms 만에 응답했고, 워커 프로세스 {n}개가 "
        "초당 {tput}통을 보냈습니다. 앱 서버·워커·브로커가 강제 종료되어도 큐는 남습니다."
    ),
    "meaning.lost": "수락된 작업 {n}개가 유실되었습니다.",
    "note.sent_anyway": (
        "실패 응답 후 발송됨: 사용자는 오류 응답을 받았거나 응답을 받지 못했는데도 환영 메일은 "
        "발송된 경우로, 다시 시도한 사용자는 메일을 두 통 받게 됩니다."
    ),
    "late": "전송 시각 밀림",
    "note.late": (
        "전송 시각 밀림: 부하 생성기가 이 요청들을 예정보다 늦게 보내서 시간을 표시하지 않습니다."
    ),
    "chart.late_note": (
        "전송 시각 밀림: 부하 생성기가 이 요청들을 늦게 보내서, "
        "막대에 그만큼의 시간이 더해져 있습니다"
    ),
    "warn.drain_timeout": "{s}초가 지나도 메일이 다 발송되지 않아 나머지는 유실로 셉니다",
    "warn.overloaded": (
        "부하 생성기의 전송 시각이 예정보다 밀렸습니다 (p99 {ms} ms): "
        "이 컴퓨터는 이 속도를 감당하기에 너무 바쁩니다"
    ),
    "warn.behind": "부하 생성기의 전송 시각이 예정보다 최대 {ms} ms 밀렸습니다",
    "crash.fault.app-kill": "앱 서버 강제 종료: 부하 도중 SIGKILL로 끄고 재시작했습니다.",
    "crash.fault.worker-kill": (
        "워커 강제 종료: 메일이 접수된 뒤 ACK 전에 SIGKILL로 끄고 새 워커를 시작했습니다."
    ),
    "crash.fault.broker-restart": "브로커 재시작: 부하 도중 SIGKILL로 끄고 재시작했습니다.",
    "crash.never_fired": "장애가 일어나지 않았습니다",
    "crash.never_killed": "워커가 강제 종료되지 않았습니다 (워커에 도착한 작업이 너무 적음)",
    "crash.recovery_failed": "복구 실패: {detail}",
    "crash.no_replacement": "새 워커가 시작되지 않았습니다: {detail}",
    "crash.broker_gone": "브로커가 돌아오지 않았습니다: {detail}",
    "crash.could_not_run": "시행할 수 없었습니다: {detail}",
    "crash.no_broker": "브로커 없음",
    "crash.no_queue": "동기 처리에는 잃어버릴 큐가 없습니다: 사용자가 오류를 봤습니다",
    "progress.start": "시작하는 중",
    "progress.load": "전송 중",
    "progress.drain": "발송 중",
    "progress.unit.load": "가입 요청",
    "progress.unit.drain": "메일",
    "progress.trial": "{n}회차",
    "floor.title": "이 컴퓨터의 최소 소요 시간 (각 구간에 드는 최소 시간)",
    "floor.part": "구간",
    "floor.calls": "호출 수",
    "floor.max": "최대 (ms)",
    "floor.http": "HTTP 왕복 (앱 서버, 빈 시나리오)",
    "floor.publish": "영속 메시지 발행 + 발행 확인",
    "floor.smtp": "테스트 메일 서버로 SMTP 전송",
    "floor.paced": "{ms:g} ms마다 한 번 호출",
    "floor.unpaced": "쉬지 않고 연속 호출",
    "floor.schedule": (
        "부하 생성기 초당 {rate:g}건: 전송 시각 밀림 p50 {p50} ms, p99 {p99} ms, "
        "실제 초당 {held}건, 실패 {failed}건: {verdict}"
    ),
    "floor.holds": "일정을 지킴",
    "floor.late": "일정을 지키지 못함",
    "floor.line": "최소 소요 시간 ({pacing}): HTTP {http} · 발행 {publish} · SMTP {smtp}",
    "floor.no_broker": "발행: 측정하지 않음 (브로커를 지정하지 않음)",
    "floor.no_answer": "발행: 측정하지 않음 ({url}에서 RabbitMQ가 응답하지 않음)",
    "floor.failed": "발행: 측정하지 않음 ({detail})",
    "sweep.workers": "워커 수",
    "sweep.ideal": "이론치 (메일/초)",
    "sweep.ratio": "측정 ÷ 이론치",
    "sub.requests": "요청 {n}건",
    "sub.requests.one": "요청 {n}건",
    "sub.rate": "초당 {rate}건",
    "sub.all_at_once": "한꺼번에 전송",
    "sub.scan": "바이러스 검사 {ms} ms",
    "sub.scan_jitter": "바이러스 검사 {ms} ± {jitter} ms",
    "sub.workers": "워커 {n}개",
    "sub.workers.one": "워커 {n}개",
    "sub.threads": "서버 스레드 {n}개",
    "sub.threads.one": "서버 스레드 {n}개",
    "sub.trials": "조건마다 {n}회 시행",
    "sub.trials.one": "조건마다 {n}회 시행",
    "chart.na": "없음",
    "chart.ideal": "이론치 = W ÷ 검사 시간 (보낸 속도 이하)",
    "chart.ideal_value": "이론치 {value}",
    "chart.latency.title": "응답 시간: 사용자가 기다리는가?",
    "chart.latency.ylabel": "응답 시간 (ms)",
    "chart.latency.waits": "사용자 대기",
    "chart.latency.at_once": "즉시 응답",
    "chart.throughput.title": "메일 도착까지 걸린 시간과 처리량",
    "chart.throughput.e2e": "가입 → 메일 도착 (ms)",
    "chart.throughput.rate": "처리량 (메일/초)",
    "chart.timeline.title": "타임라인: 작업이 기다리는 곳",
    "chart.timeline.title.spike": "타임라인: 한꺼번에 몰린 가입 요청 {n}건을 흡수하는 과정",
    "chart.timeline.title.steady": "타임라인: 초당 {rate}건씩 가입 요청 {n}건, 어디서 기다리는가",
    "chart.timeline.accepted": "구간별 접수",
    "chart.timeline.delivered": "구간별 발송 완료",
    "chart.timeline.backlog": "적체 (접수됐지만 아직 미발송)",
    "chart.timeline.queue": "측정된 큐 길이",
    "chart.timeline.peak": "최대 적체 {value}건",
    "chart.timeline.peak_waiting": "기다리는 사용자 최대 {value}명",
    "chart.timeline.waiting": "응답을 기다리는 사용자 (동기 처리)",
    "chart.timeline.xlabel": "시작 후 경과 시간 (초)",
    "chart.timeline.ylabel": "작업 수",
    "chart.timeline.trial": "{n}회차",
    "chart.crash_timeline.title": "장애 중 타임라인: {fault}",
    "chart.crash.title": "장애 실험: {fault}",
    "chart.crash.ylabel": "메일 수",
    "chart.crash.ylabel_sum": "메일 수 ({n}회 시행 합계)",
    "chart.sweep.title": "수평 확장: 워커 수에 따른 처리량",
    "chart.sweep.xlabel": "워커 수 (W)",
}

TEXTS: dict[str, dict[str, str]] = {"en": _EN, "ko": _KO}


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
    if workers and shown - {"sync"} and isinstance(config.get("workers"), int):
        parts.append(counted("sub.workers", config["workers"], lang))
    if "sync" in shown and isinstance(config.get("server_threads"), int):
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


# One term per concept: (English, Korean, Korean words that must not stand for it). A key
# whose English text holds the English term holds the Korean term in Korean (tested).
GLOSSARY: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("synchronous", "동기 처리", ("싱크로",)),
    ("in-process async", "내부 비동기", ()),
    ("message broker", "메시지 브로커", ()),
    ("backlog", "적체", ()),
    ("lost", "유실", ()),
    ("duplicates", "중복", ()),
    ("app server", "앱 서버", ("앱 프로세스",)),
    ("killed", "강제 종료", ()),
    ("restarted", "재시작", ()),
    ("worker", "워커", ()),
    ("scan", "검사", ()),
    ("floors", "최소 소요 시간", ("바닥값",)),
    ("test mail server", "테스트 메일 서버", ("싱크",)),
    ("behind schedule", "전송 시각 밀림", ("sleep 대기",)),
    ("throughput", "처리량", ()),
    ("ideal", "이론치", ()),
    ("users waiting", "기다리는 사용자", ()),
    ("signups", "가입 요청", ()),
)

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
        else:
            words.append(fault_label(part, lang))
        i += 1
    return " · ".join(words)
