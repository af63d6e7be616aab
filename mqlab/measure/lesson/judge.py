"""What a lesson's measurement says about its claim: a verdict, the number the student's
prediction is compared with, and the numbers its takeaway sentence names.

Each judge reads the result document of its core (the same JSON `mqlab compare`,
`crash-test` and `sweep` write) and nothing else, so a takeaway is computed from that run's
numbers and stays true whatever they are: when the measurement contradicts the claim, or
cannot answer it (a skipped trial, a late load generator, one usable core), the verdict
says so instead of the claim ("holds", "partly", "contradicted", "unclear"), and `say`
picks the sentence (`lesson.<key>.<say>` in `mqlab.report.i18n`; `why` names the reason).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mqlab.measure.lesson.catalog import Lesson, Verdict
from mqlab.measure.metrics import untrusted

Doc = Mapping[str, Any]

FASTER = 1.4  # throughput grew at least this much for twice the senders: it scaled
FLAT = 1.2  # ... less than this: it did not (as `mqlab sweep`'s sentences say)
AT_ONCE = 5  # "answered at once": at least this many times sooner than sync
BUFFERED = 3  # a spike buffered: its slowest answers this many times sooner than sync's
IN_PROPORTION = 0.6  # scaling out "holds" at this share of the workers' ratio, or more


@dataclass(frozen=True)
class Outcome:
    value: float | str | None  # what the prediction is compared with (None: not measured)
    verdict: Verdict
    say: str  # the takeaway: lesson.<key>.<say>, or lesson.unclear with `why`
    numbers: dict[str, Any] = field(default_factory=dict)
    why: str | None = None  # lesson.why.<why>: why it is unclear or contradicted


def judge(lesson: Lesson, doc: Doc) -> Outcome:
    return JUDGES[lesson.key](doc)


def _unclear(why: str, value: float | str | None = None, **numbers: Any) -> Outcome:
    return Outcome(value, "unclear", "unclear", numbers, why)


def _runs(doc: Doc) -> dict[str, Doc]:
    return {r["mode"]: r for r in doc["runs"]}


def _p(summary: Doc, group: str, key: str) -> float | None:
    value = (summary.get(group) or {}).get(key)
    return float(value) if isinstance(value, (int, float)) else None


def _counts(row: Doc, mode: str, names: tuple[str, ...]) -> dict[str, Any]:
    """{"thread_accepted": 21, "thread_loss": 13, ...}: a row's counts, named by mode. "loss",
    not "lost": a sentence's field names are read as words by the glossary test."""
    return {f"{mode}_{'loss' if k == 'lost' else k}": row.get(k, 0) for k in names}


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


# --- 1. 즉시 응답: the user is answered at once ----------------------------------------------


def immediate(doc: Doc) -> Outcome:
    runs = _runs(doc)
    p50 = {m: _p(r["summary"], "response_ms", "p50") for m, r in runs.items()}
    numbers: dict[str, Any] = {f"{m}_p50": v for m, v in p50.items()}
    scan = float(doc["config"]["scan_ms"])
    numbers["scan_ms"] = scan
    sync, broker = p50.get("sync"), p50.get("broker")
    others = [v for m, v in p50.items() if m != "sync"]
    if sync is None or broker is None or None in others:
        return _unclear("missing", broker, **numbers)
    failed = sum(r["summary"]["failed"] for r in runs.values())
    if failed:
        return _unclear("failed", broker, failed=failed, **numbers)
    late = (untrusted(r["summary"], r["config"]["rate"]) for r in runs.values())
    if any("response_ms.p50" in doubts for doubts in late):
        return _unclear("late", broker, **numbers)
    numbers["times"] = _ratio(sync, broker)
    waited = sync >= 0.8 * scan  # the user waited for the scan, at least
    if waited and all(v is not None and v * AT_ONCE <= sync for v in others):
        return Outcome(broker, "holds", "holds", numbers)
    return Outcome(broker, "contradicted", "contradicted", numbers)


# --- 2. 부하 완충: a spike is buffered -------------------------------------------------------


def buffer(doc: Doc) -> Outcome:
    runs = _runs(doc)
    broker, sync = runs["broker"], runs.get("sync")
    s = broker["summary"]
    peak = max((int(row.get("backlog") or 0) for row in broker["timeline"]), default=0)
    numbers = {
        "requests": s["requests"],
        "accepted": s["accepted"],
        "delivered": s["delivered"],
        "loss": s["lost"],
        "failed": s["failed"],
        "peak": peak,
        "drain_s": s["duration_s"],
        "broker_p99": _p(s, "response_ms", "p99"),
        "sync_p99": _p(sync["summary"], "response_ms", "p99") if sync else None,
    }
    if s["lost"] or s["failed"]:
        return Outcome(peak, "contradicted", "contradicted", numbers, "lost")
    everyone = s["delivered"] == s["accepted"] == s["requests"]
    b99, s99 = numbers["broker_p99"], numbers["sync_p99"]
    sooner = b99 is not None and s99 is not None and b99 * BUFFERED <= s99
    if everyone and sooner:
        return Outcome(peak, "holds", "holds", numbers)
    if everyone:
        return Outcome(peak, "partly", "partly", numbers)
    return Outcome(peak, "contradicted", "contradicted", numbers, "undelivered")


# --- 3. 장애 시 메시지 보존: a crash loses nothing the broker accepted ------------------------


def crash(doc: Doc) -> Outcome:
    rows = {r["mode"]: r for r in doc["rows"]}
    thread, broker = rows.get("thread"), rows.get("broker")
    if thread is None or broker is None:
        return _unclear("missing")
    numbers = {
        "requests": doc["config"]["requests"],
        **_counts(thread, "thread", ("accepted", "failed", "delivered", "lost")),
        **_counts(broker, "broker", ("accepted", "failed", "delivered", "lost")),
    }
    lost = thread["lost"]
    for row in (thread, broker):
        if row.get("skipped"):
            return _unclear("skipped", None, note=row.get("note", ""), **numbers)
        if row.get("note") == "the fault never fired":
            return _unclear("never_fired", lost, **numbers)
    if broker["lost"]:
        return Outcome(lost, "contradicted", "contradicted", numbers, "lost")
    if not lost:
        return _unclear("empty", lost, **numbers)
    return Outcome(lost, "holds", "holds", numbers)


# --- 4. 수평 확장: workers scale out ---------------------------------------------------------


def _line(doc: Doc, mode: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    points = sorted((p for p in doc["points"] if p["mode"] == mode), key=lambda p: p["workers"])
    return (points[0], points[-1]) if len(points) > 1 else None


def scale(doc: Doc) -> Outcome:
    line = _line(doc, "broker")
    if line is None:
        return _unclear("missing")
    first, last = line
    t1, tk = first["throughput_per_s"], last["throughput_per_s"]
    k = last["workers"] / first["workers"]
    x = _ratio(tk, t1)
    numbers = {"w1": first["workers"], "wk": last["workers"], "t1": t1, "tk": tk, "k": k, "x": x}
    numbers["pct"] = round(100 * tk / last["ideal_per_s"]) if tk and last["ideal_per_s"] else None
    if x is None:
        return _unclear("missing", None, **numbers)
    if x >= IN_PROPORTION * k:
        return Outcome(x, "holds", "holds", numbers)
    if x >= FLAT:
        return Outcome(x, "partly", "partly", numbers)
    return Outcome(x, "contradicted", "contradicted", numbers, "flat")


# --- 5. 재시도 용이: retries are easy --------------------------------------------------------


def _who(thread: bool, broker: bool) -> str:
    return {(True, True): "both", (False, True): "broker", (True, False): "thread"}.get(
        (thread, broker), "neither"
    )


def retry(doc: Doc) -> Outcome:
    runs = _runs(doc)
    t, b = runs["thread"]["summary"], runs["broker"]["summary"]
    config = runs["broker"]["config"]
    numbers = {
        **_counts(t, "thread", ("accepted", "delivered", "lost", "retried")),
        **_counts(b, "broker", ("accepted", "delivered", "lost", "retried")),
        "broker_dead": b.get("dead_lettered", 0),
        "retries": config["max_retries"],
        "fail_pct": round(100 * config["smtp_fail_rate"]),
    }
    all_t = t["delivered"] == t["accepted"]
    all_b = b["delivered"] == b["accepted"]
    who = _who(all_t, all_b)
    if b["lost"] or b["delivered"] < t["delivered"]:
        return Outcome(who, "contradicted", "contradicted", numbers, "lost")
    if all_b and not all_t:
        return Outcome(who, "holds", "holds", numbers)
    if all_b:
        return Outcome(who, "partly", "both", numbers)
    return Outcome(who, "partly", "kept", numbers)  # the rest waits in <queue>.dead


# --- 6. the GIL: an in-process pool does not scale CPU-bound work -----------------------------


def gil(doc: Doc) -> Outcome:
    cores = doc["environment"].get("cpu_usable") or doc["environment"].get("cpu_count")
    lines = {m: _line(doc, m) for m in ("thread", "broker")}
    numbers: dict[str, Any] = {"cores": cores}
    for mode, line in lines.items():
        if line is None:
            return _unclear("missing", None, **numbers)
        first, last = line
        numbers[f"{mode}_t1"], numbers[f"{mode}_tk"] = (
            first["throughput_per_s"],
            last["throughput_per_s"],
        )
        numbers[f"{mode}_x"] = _ratio(last["throughput_per_s"], first["throughput_per_s"])
        numbers["w1"], numbers["wk"] = first["workers"], last["workers"]
    xt, xb = numbers["thread_x"], numbers["broker_x"]
    if xt is None or xb is None:
        return _unclear("missing", None, **numbers)
    who = _who(xt >= FASTER, xb >= FASTER)
    if not isinstance(cores, int) or cores < 2:
        return _unclear("one_core", who, **numbers)
    if xb >= FASTER and xt < FLAT:
        return Outcome(who, "holds", "holds", numbers)
    if xt >= FASTER:
        return Outcome(who, "contradicted", "threads_scaled", numbers, "threads_scaled")
    if xb < FLAT:
        return Outcome(who, "contradicted", "broker_flat", numbers, "broker_flat")
    return Outcome(who, "partly", "partly", numbers)


# --- 7. 운영 복잡도: the price ---------------------------------------------------------------


def _total(parts: list[Doc], key: str) -> float | None:
    values = [p.get(key) for p in parts]
    if not values or any(not isinstance(v, (int, float)) for v in values):
        return None
    return float(sum(v for v in values if isinstance(v, (int, float))))


def price(doc: Doc) -> Outcome:
    modes = {m["mode"]: m for m in doc["modes"]}
    numbers: dict[str, Any] = {}
    for mode, m in modes.items():
        numbers[f"{mode}_procs"] = _total(m["parts"], "processes")
        numbers[f"{mode}_mb"] = _total(m["parts"], "rss_mb")
        numbers[f"{mode}_p50"] = _p(m["summary"], "response_ms", "p50")
        numbers[f"{mode}_start_s"] = m.get("ready_s")
    node: Doc = next((p for p in modes["broker"]["parts"] if p["part"] == "broker"), {})
    numbers["node_start_s"] = node.get("startup_s")
    floors = (doc.get("calibration") or {}).get("floors") or {}
    numbers["confirm_ms"] = ((floors.get("publish") or {}).get("ms") or {}).get("p50")
    numbers["http_ms"] = ((floors.get("http") or {}).get("ms") or {}).get("p50")
    b_mb, t_mb = numbers.get("broker_mb"), numbers.get("thread_mb")
    if b_mb is None or t_mb is None or numbers.get("broker_procs") is None:
        return _unclear("not_ours", b_mb, **numbers)
    if numbers["broker_procs"] > (numbers.get("thread_procs") or 0) and b_mb > t_mb:
        return Outcome(b_mb, "holds", "holds", numbers)
    return Outcome(b_mb, "contradicted", "contradicted", numbers, "cheap")


JUDGES: dict[str, Callable[[Doc], Outcome]] = {
    "immediate": immediate,
    "buffer": buffer,
    "crash": crash,
    "scale": scale,
    "retry": retry,
    "gil": gil,
    "price": price,
}
