"""The plain sentences under the tables and on the slides: what each mode's numbers mean.

One place makes them, from the result documents alone, so the terminal and the slide say
the same thing in the same words: `render` prints them under the tables, `chart` lays them
out under its axes. Every clause is computed from the numbers it speaks of (a loss is named
only when there was one, a throughput explained only where it needs it), never prose about
what usually happens. Neither rich nor matplotlib is imported here. A crash test's
sentences are in `crashsentences`, the pieces both use in `wording`; their names stay
importable from here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mqlab.measure.metrics import untrusted
from mqlab.report.crashsentences import (
    EARLY_CLOCK,
    NODE_FAULTS,
    QUEUE_TYPES,
    TOLD,
    Rates,
    Window,
    crash_groups,
    crash_meaning,
    crash_meanings,
    crash_window,
    median,
    node_groups,
    node_label,
    node_meaning,
    node_meanings,
    node_rows,
    queue_type_of_row,
    recovery,
)
from mqlab.report.i18n import (
    TEXTS,
    broker_label,
    mode_label,
    queue_label,
    scan_kind_label,
    text,
)
from mqlab.report.wording import Doc, count_of, fmt_ms, fmt_rate, say

__all__ = [  # crashsentences' and wording's names too: callers import them from here
    "EARLY_CLOCK",
    "FLAT",
    "NODE_FAULTS",
    "QUEUE_TYPES",
    "TOLD",
    "Doc",
    "Rates",
    "Window",
    "broker_of",
    "brokers_of",
    "confirm_ms",
    "cores_of",
    "crash_groups",
    "crash_meaning",
    "crash_meanings",
    "crash_window",
    "fmt_ms",
    "fmt_rate",
    "meanings",
    "median",
    "node_groups",
    "node_label",
    "node_meaning",
    "node_meanings",
    "node_rows",
    "price_meanings",
    "price_runs",
    "queue_type_of",
    "queue_type_of_row",
    "queue_types",
    "recovery",
    "run_label",
    "run_meaning",
    "sweep_meaning",
    "sweep_meanings",
    "sweep_points",
    "sweep_series",
]

# A sweep line that grew less than this while its workers at least doubled barely scaled.
FLAT = 1.2


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
    if count_of(s.get("failed")):
        parts.append(say("meaning.failed", s["failed"], lang))
    if count_of(s.get("lost")):
        parts.append(say("meaning.lost", s["lost"], lang))
    if count_of(s.get("dead_lettered")):
        parts.append(say("meaning.dead_lettered", s["dead_lettered"], lang))
    if count_of(s.get("retried")):  # why a mode that retried is slower than one that did not
        key = f"meaning.retried.{run['mode']}"
        key = key if key in TEXTS[lang] else "meaning.retried"
        delay = config.get("retry_delay_ms")
        ms = f"{delay:g}" if isinstance(delay, (int, float)) else "?"
        parts.append(say(key, s["retried"], lang, ms=ms))
    return " ".join(parts)


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
        parts.append(say("sweep.meaning.one", int(last["workers"]), lang, t=fmt_rate(t1)))
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
