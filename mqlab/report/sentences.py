"""The plain sentences under the tables and on the slides: what each mode's numbers mean.

One place makes them, from the result documents alone, so the terminal and the slide say
the same thing in the same words: `render` prints them under the tables, `chart` lays them
out under its axes. Every clause is computed from the numbers it speaks of (a loss is named
only when there was one, a throughput explained only where it needs it), never prose about
what usually happens. Neither rich nor matplotlib is imported here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mqlab.measure.metrics import untrusted
from mqlab.report.i18n import (
    TEXTS,
    broker_label,
    mode_label,
    queue_label,
    safety_label,
    scan_kind_label,
    text,
)

Doc = Mapping[str, Any]

# A row that lost jobs and whose own throughput is this many times the one over the slowest
# trial's window stopped its clock early (no lost mail was waited for): its sentence says so.
EARLY_CLOCK = 1.5
# A sweep line that grew less than this while its workers at least doubled barely scaled.
FLAT = 1.2


def fmt_ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def fmt_rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _say(key: str, n: int, lang: str, **fields: Any) -> str:
    """`text(key)` with `{n}` (and `fields`) filled, in the singular form when n == 1."""
    one = f"{key}.one"
    return text(one if n == 1 and one in TEXTS[lang] else key, lang).format(n=n, **fields)


def _count(value: Any) -> int:
    """A count of a result (fields added later read as 0)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


# ---------------------------------------------------------------- run and compare


def meanings(runs: Sequence[Doc], lang: str = "en") -> list[str]:
    """One plain sentence per mode (per queue type too, when the broker ran on several):
    what its numbers mean, from the numbers themselves."""
    return [run_meaning(r, lang, run_label(r, runs, lang)) for r in runs]


def queue_type_of(run: Doc) -> str:
    """The type of a run's queues ("classic" in a file from before quorum queues)."""
    return str(run.get("config", {}).get("queue_type") or "classic")


def queue_types(runs: Sequence[Doc]) -> list[str]:
    """The queue types of the broker runs, in their order, each once."""
    return list(dict.fromkeys(queue_type_of(r) for r in runs if r["mode"] == "broker"))


def broker_of(run: Doc) -> str:
    """The broker a run's broker mode used ("rabbitmq" in a file from before the others)."""
    return str(run.get("config", {}).get("broker") or "rabbitmq")


def brokers_of(runs: Sequence[Doc]) -> list[str]:
    """The brokers of the broker runs, in their order, each once."""
    return list(dict.fromkeys(broker_of(r) for r in runs if r["mode"] == "broker"))


def run_label(run: Doc, runs: Sequence[Doc], lang: str = "en") -> str:
    """The mode's name; a broker run's broker or queue type beside it when the broker mode
    ran on several (`mqlab compare --brokers ...`, `--queue-types classic,quorum`)."""
    label = mode_label(run["mode"], lang)
    if run["mode"] == "broker" and len(brokers_of(runs)) > 1:
        label += " · " + broker_label(broker_of(run), lang)
    if run["mode"] == "broker" and len(queue_types(runs)) > 1:
        label += " · " + queue_label(queue_type_of(run), lang)
    return label


def run_meaning(run: Doc, lang: str = "en", label: str | None = None) -> str:
    s, config = run["summary"], run.get("config", {})
    senders = config.get("workers")
    parts = [
        text(f"meaning.{run['mode']}", lang).format(
            mode=label or mode_label(run["mode"], lang),
            p50=fmt_ms(s["response_ms"]["p50"]),
            e2e=fmt_ms(s["e2e_ms"]["p50"]),
            n=senders if isinstance(senders, int) else "?",
            tput=fmt_rate(s.get("throughput_per_s")),
            broker=broker_label(broker_of(run), lang),
        )
    ]
    doubtful = untrusted(s, config.get("rate"))
    if {"response_ms.p50", "e2e_ms.p50"} & set(doubtful):  # a median quoted above
        parts.append(text("meaning.late", lang))
    if _count(s.get("failed")):
        parts.append(_say("meaning.failed", s["failed"], lang))
    if _count(s.get("lost")):
        parts.append(_say("meaning.lost", s["lost"], lang))
    if _count(s.get("dead_lettered")):
        parts.append(_say("meaning.dead_lettered", s["dead_lettered"], lang))
    if _count(s.get("retried")):  # why a mode that retried is slower than one that did not
        key = f"meaning.retried.{run['mode']}"
        key = key if key in TEXTS[lang] else "meaning.retried"
        delay = config.get("retry_delay_ms")
        ms = f"{delay:g}" if isinstance(delay, (int, float)) else "?"
        parts.append(_say(key, s["retried"], lang, ms=ms))
    return " ".join(parts)


# ---------------------------------------------------------------- crash test


def crash_groups(data: Doc, fault: str) -> list[tuple[str, str]]:
    """(mode, safety) of each group of rows under `fault`, in the order of the rows."""
    return list(dict.fromkeys((r["mode"], _safety(r)) for r in data["rows"] if r["fault"] == fault))


def _safety(row: Doc) -> str:
    return str(row.get("safety") or "default")


def _live(data: Doc, fault: str, mode: str, safety: str) -> list[Doc]:
    mine = [r for r in data["rows"] if r["fault"] == fault and r["mode"] == mode]
    return [r for r in mine if _safety(r) == safety and not r.get("skipped")]


def _span(row: Doc) -> float | None:
    """A row's own window, delivered ÷ throughput (throughput counts delivered mails over
    the seconds from the first request to the last mail)."""
    tput, delivered = row.get("throughput_per_s"), _count(row.get("delivered"))
    if isinstance(tput, (int, float)) and tput > 0 and delivered > 0:
        return delivered / tput
    return None


@dataclass(frozen=True)
class Rates:
    """A group's throughput over its own trials' windows (what the result file holds), and
    over the window of the slowest trial of the fault (first request to last mail)."""

    own: float | None  # mails/s
    own_s: float | None  # its own window, seconds (the mean of its trials')
    common: float  # mails/s over the slowest trial's window
    lost: int

    @property
    def early(self) -> bool:
        """Did its clock stop early, leaving out jobs it lost? Its own figure flatters it."""
        return bool(self.lost) and self.own is not None and self.own >= EARLY_CLOCK * self.common


@dataclass(frozen=True)
class Window:
    """The slowest trial of a fault: its group and its window, which all rows share."""

    group: tuple[str, str]
    seconds: float
    rates: dict[tuple[str, str], Rates]


def crash_window(data: Doc, fault: str) -> Window | None:
    """Each group's throughput over one window, the slowest trial's, so that a row that lost
    jobs (and stopped its clock at an early last mail) can be set beside the others. None
    when fewer than two groups ran (nothing to compare) or no row delivered a mail."""
    groups = {g: _live(data, fault, *g) for g in crash_groups(data, fault)}
    groups = {g: rows for g, rows in groups.items() if rows}
    spans = [(s, g) for g, rows in groups.items() for s in map(_span, rows) if s is not None]
    if len(groups) < 2 or not spans:
        return None
    seconds, slowest = max(spans, key=lambda sg: sg[0])
    rates = {}
    for group, rows in groups.items():
        mine = [(_count(r.get("delivered")), s) for r in rows if (s := _span(r)) is not None]
        rates[group] = Rates(
            own=sum(n for n, _ in mine) / sum(s for _, s in mine) if mine else None,
            own_s=sum(s for _, s in mine) / len(mine) if mine else None,
            common=sum(_count(r.get("delivered")) for r in rows) / (seconds * len(rows)),
            lost=sum(_count(r.get("lost")) for r in rows),
        )
    return Window(slowest, seconds, rates)


def _group_label(data: Doc, fault: str, mode: str, safety: str, lang: str) -> str:
    """The mode, and its safety setting when the mode ran with more than one (short
    mode names then, as on the slide's panels)."""
    if sum(m == mode for m, _ in crash_groups(data, fault)) < 2:
        return mode_label(mode, lang)
    short = f"mode.{mode}.short"
    return (
        (text(short, lang) if short in TEXTS[lang] else mode) + " · " + safety_label(safety, lang)
    )


def crash_meaning(data: Doc, fault: str, mode: str, safety: str, lang: str = "en") -> str:
    """What the bars of one mode and safety setting under `fault` mean, summed over its
    trials. A row that lost jobs and so stopped its clock early (its throughput in the
    result file then looks several times the safe row's) has that figure set beside its
    throughput over the slowest trial's window, the one both rows ran through."""
    live = _live(data, fault, mode, safety)
    label = _group_label(data, fault, mode, safety, lang)
    if len(live) > 1:  # the counts below are their sums
        label += " · " + text("crash.meaning.sum", lang).format(n=len(live))
    if not live:
        return f"{label}: " + text("col.skipped", lang)
    parts = _outcome(live, label, lang)
    window = crash_window(data, fault)
    mine = window.rates.get((mode, safety)) if window else None
    if window and mine and mine.early and mine.own_s is not None:
        parts.append(
            text("crash.meaning.early", lang).format(
                own=fmt_rate(mine.own),
                own_s=f"{mine.own_s:.1f}",
                s=f"{window.seconds:.1f}",
                slowest=_group_label(data, fault, *window.group, lang),
                slow_rate=fmt_rate(window.rates[window.group].common),
                rate=fmt_rate(mine.common),
            )
        )
    return " ".join(parts)


def _outcome(live: Sequence[Doc], label: str, lang: str) -> list[str]:
    """What a group's rows (summed over their trials) cost: lost or delivered, duplicates,
    users told it failed, and what the users heard; the first clause after `label`."""
    total = {
        k: sum(_count(r.get(k)) for r in live)
        for k in ("accepted", "delivered", "lost", "duplicates", "failed", "sent_anyway")
    }
    accepted, delivered, lost = total["accepted"], total["delivered"], total["lost"]
    if accepted == 0:
        head = text("crash.meaning.none", lang)
    elif lost:
        head = _say("crash.meaning.lost", lost, lang, of=accepted)
    elif delivered == accepted:
        head = _say("crash.meaning.all", accepted, lang)
    else:  # not delivered, not lost: dead-lettered or quarantined, where a person can look
        head = _say("crash.meaning.some", delivered, lang, of=accepted)
    parts = [f"{label}: {head}"]
    if total["duplicates"]:
        parts.append(_say("crash.meaning.duplicates", total["duplicates"], lang))
    if total["sent_anyway"]:  # told it failed (users who will try again), yet mailed
        parts.append(
            _say("crash.meaning.sent_anyway", total["failed"], lang, m=total["sent_anyway"])
        )
    elif total["failed"]:
        parts.append(_say("crash.meaning.failed", total["failed"], lang))
    told = [tuple(r.get(k) for k in TOLD) for r in live]
    if told and all(None not in t for t in told):  # files from before them: not said
        sums = [sum(_count(t[i]) for t in told) for i in range(len(TOLD))]
        parts.append(text("crash.meaning.told", lang).format(**dict(zip(TOLD, sums, strict=True))))
    return parts


TOLD = ("told_truth", "told_wrong", "told_queued", "never_heard")  # Summary's fields


def crash_meanings(data: Doc, fault: str, lang: str = "en") -> list[str]:
    """One sentence per mode and safety setting under `fault`, in the order of the rows."""
    return [crash_meaning(data, fault, m, s, lang) for m, s in crash_groups(data, fault)]


# ---------------------------------------------------------------- a cluster node killed

NODE_FAULTS = ("node-kill", "node-loss")  # measure.crash.NODE_FAULTS: a row per queue type
QUEUE_TYPES = ("classic", "quorum")  # the order of their rows, bars and sentences


def node_groups(data: Doc, fault: str) -> list[tuple[str, str]]:
    """(queue type, safety) of each group of a node fault's rows: classic before quorum,
    safety settings in the order of the rows."""
    seen = dict.fromkeys(
        (queue_type_of_row(r), _safety(r)) for r in data["rows"] if r["fault"] == fault
    )
    rank = {q: i for i, q in enumerate(QUEUE_TYPES)}
    return sorted(seen, key=lambda g: rank.get(g[0], len(rank)))  # stable: rows' order kept


def queue_type_of_row(row: Doc) -> str:
    return str(row.get("queue_type") or "classic")


def node_rows(data: Doc, fault: str, queue_type: str, safety: str = "default") -> list[Doc]:
    """The rows of one queue type (and safety setting) under a node fault, every trial."""
    return [
        r
        for r in data["rows"]
        if r["fault"] == fault and queue_type_of_row(r) == queue_type and _safety(r) == safety
    ]


def node_label(data: Doc, fault: str, queue_type: str, safety: str, lang: str) -> str:
    """ "quorum queue", and its safety setting when the fault ran with more than one."""
    label = queue_label(queue_type, lang)
    if len({s for _, s in node_groups(data, fault)}) > 1:
        label += " · " + safety_label(safety, lang)
    return label


def recovery(live: Sequence[Doc]) -> tuple[list[float], int] | None:
    """The seconds each trial took to accept again (those that did), and how many never
    did; None for rows from before the field."""
    if not any("recovery_s" in r for r in live):
        return None
    back = [float(r["recovery_s"]) for r in live if isinstance(r.get("recovery_s"), (int, float))]
    return back, len(live) - len(back)


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def node_meaning(
    data: Doc, fault: str, queue_type: str, safety: str = "default", lang: str = "en"
) -> str:
    """What one queue type's rows under a node fault mean, summed over their trials: what
    was lost and told, and how soon the cluster accepted signups again."""
    live = [r for r in node_rows(data, fault, queue_type, safety) if not r.get("skipped")]
    label = node_label(data, fault, queue_type, safety, lang)
    if len(live) > 1:
        label += " · " + text("crash.meaning.sum", lang).format(n=len(live))
    if not live:
        return f"{label}: " + text("col.skipped", lang)
    parts = _outcome(live, label, lang)
    timed = recovery(live)
    if timed is not None:
        back, never = timed
        if not back:
            parts.append(text("node.meaning.never", lang))
        elif never == 0 and max(back) == 0:
            parts.append(text("node.meaning.kept", lang))
        else:
            key = "node.meaning.back.median" if len(back) > 1 else "node.meaning.back"
            parts.append(text(key, lang).format(s=f"{median(back):.1f}", n=len(back)))
            if never:
                parts.append(text("node.meaning.never_some", lang).format(k=never, n=len(live)))
    return " ".join(parts)


def node_meanings(data: Doc, fault: str, lang: str = "en") -> list[str]:
    """One sentence per queue type (and safety setting) under a node fault."""
    return [node_meaning(data, fault, q, s, lang) for q, s in node_groups(data, fault)]


# ---------------------------------------------------------------- the price of replication


def price_runs(runs: Sequence[Doc]) -> list[Doc]:
    """The broker runs of a comparison across queue types (classic first), or [] when the
    broker ran on one type only (every comparison before `--queue-types`)."""
    if len(queue_types(runs)) < 2:
        return []
    rank = {q: i for i, q in enumerate(QUEUE_TYPES)}
    broker = [r for r in runs if r["mode"] == "broker"]
    return sorted(broker, key=lambda r: rank.get(queue_type_of(r), len(rank)))


def confirm_ms(run: Doc) -> Doc | None:
    """The percentiles (ms) of a confirmed publish alone, measured on the run's own queue
    type just before it (`calibrate.quick`); None if it was not measured."""
    floors = (run.get("calibration") or {}).get("floors") or {}
    ms = (floors.get("publish") or {}).get("ms")
    return ms if isinstance(ms, Mapping) and isinstance(ms.get("p50"), (int, float)) else None


def price_meanings(runs: Sequence[Doc], lang: str = "en") -> list[str]:
    """One sentence per queue type of a comparison across queue types: its confirm alone
    (× the first type's), its users' median answer and its throughput; then why."""
    priced = price_runs(runs)
    if not priced:
        return []
    base = priced[0]
    base_ms = confirm_ms(base)
    out = []
    for run in priced:
        summary, mine = run["summary"], confirm_ms(run)
        fields = {
            "queue": queue_label(queue_type_of(run), lang),
            "p50": fmt_ms(summary["response_ms"]["p50"]),
            "tput": fmt_rate(summary.get("throughput_per_s")),
        }
        if mine is None:
            line = text("price.meaning.no_floor", lang).format(**fields)
        elif run is base or base_ms is None:
            line = text("price.meaning.base", lang).format(confirm=fmt_ms(mine["p50"]), **fields)
        else:
            line = text("price.meaning", lang).format(
                confirm=fmt_ms(mine["p50"]),
                x=f"{mine['p50'] / base_ms['p50']:.1f}" if base_ms["p50"] else "-",
                base=queue_label(queue_type_of(base), lang),
                base_ms=fmt_ms(base_ms["p50"]),
                **fields,
            )
        why = f"price.why.{queue_type_of(run)}"
        out.append(line + (" " + text(why, lang) if why in TEXTS[lang] else ""))
    return out


# ---------------------------------------------------------------- sweep


def cores_of(result: Doc) -> int | None:
    """The cores the result's environment block recorded: those the run could use, or
    (files from before that field) the machine's CPU count; None if neither."""
    env = result.get("environment") or {}
    for key in ("cpu_usable", "cpu_count"):
        cores = env.get(key)
        if isinstance(cores, int) and cores > 0:
            return cores
    return None


def sweep_points(result: Doc) -> list[dict[str, Any]]:
    """The sweep's points, a CPU-bound ideal stopped at the recorded cores (files from
    before the `cores` field did not cap it): what the table, the slide and the sentences
    compare the throughput with."""
    cores, scan = cores_of(result), result["config"].get("scan_ms")
    return [
        {**p, "ideal_per_s": min(p["ideal_per_s"], cores * 1000.0 / scan)}
        if p.get("scan_kind") == "cpu"
        and cores
        and isinstance(scan, (int, float))
        and scan > 0
        and isinstance(p.get("ideal_per_s"), (int, float))
        else dict(p)
        for p in result["points"]
    ]


def sweep_series(result: Doc) -> list[tuple[str, str]]:
    """(mode, scan kind or "") of each line of the sweep, in the order of the points."""
    return list(dict.fromkeys((p["mode"], p.get("scan_kind") or "") for p in result["points"]))


def sweep_meaning(result: Doc, mode: str, kind: str, lang: str = "en") -> str:
    """How one line of the sweep grew with its workers, and how near the ideal it ended."""
    pts = sorted(
        (p for p in sweep_points(result) if (p["mode"], p.get("scan_kind") or "") == (mode, kind)),
        key=lambda p: p["workers"],
    )
    label = mode_label(mode, lang)
    if kind and len({k for _, k in sweep_series(result)}) > 1:
        label += " · " + scan_kind_label(kind, lang)
    first, last = pts[0], pts[-1]
    t0, t1 = first.get("throughput_per_s"), last.get("throughput_per_s")
    if not isinstance(t1, (int, float)):
        return f"{label}: " + text("sweep.meaning.none", lang)
    parts = []
    if len(pts) > 1 and isinstance(t0, (int, float)) and t0 > 0:
        gain, more = t1 / t0, last["workers"] / first["workers"]
        flat = more >= 2 and gain < FLAT  # more workers, about the same mails per second
        parts.append(
            text("sweep.meaning.flat" if flat else "sweep.meaning.grew", lang).format(
                w0=first["workers"],
                w1=last["workers"],
                t0=fmt_rate(t0),
                t1=fmt_rate(t1),
                x=f"{gain:.1f}",
                k=f"{more:g}",
            )
        )
    else:
        parts.append(_say("sweep.meaning.one", int(last["workers"]), lang, t=fmt_rate(t1)))
    ideal = last.get("ideal_per_s")
    if isinstance(ideal, (int, float)) and ideal > 0:
        parts.append(
            text("sweep.meaning.ideal", lang).format(
                w=last["workers"], pct=f"{100 * t1 / ideal:.0f}", ideal=fmt_rate(ideal)
            )
        )
    return f"{label}: " + " ".join(parts)


def sweep_meanings(result: Doc, lang: str = "en") -> list[str]:
    """One sentence per line of the sweep (mode, and scan kind when there are two)."""
    return [sweep_meaning(result, m, k, lang) for m, k in sweep_series(result)]
