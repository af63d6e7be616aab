"""The sentences under a crash test's tables and charts: what each mode's (or each queue
type's, under a cluster node fault) lost, duplicated and told its users, summed over its trials.

Split from `sentences` (whose names they stay importable from) to keep each module short;
like it, every clause is computed from the numbers it speaks of, and neither rich nor
matplotlib is imported here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mqlab.report.i18n import TEXTS, mode_label, queue_label, safety_label, text
from mqlab.report.wording import Doc, count_of, fmt_rate, say

# A row that lost jobs and whose own throughput is this many times the one over the slowest
# trial's window stopped its clock early (no lost mail was waited for): its sentence says so.
EARLY_CLOCK = 1.5


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
    tput, delivered = row.get("throughput_per_s"), count_of(row.get("delivered"))
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
        mine = [(count_of(r.get("delivered")), s) for r in rows if (s := _span(r)) is not None]
        rates[group] = Rates(
            own=sum(n for n, _ in mine) / sum(s for _, s in mine) if mine else None,
            own_s=sum(s for _, s in mine) / len(mine) if mine else None,
            common=sum(count_of(r.get("delivered")) for r in rows) / (seconds * len(rows)),
            lost=sum(count_of(r.get("lost")) for r in rows),
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
        k: sum(count_of(r.get(k)) for r in live)
        for k in ("accepted", "delivered", "lost", "duplicates", "failed", "sent_anyway")
    }
    accepted, delivered, lost = total["accepted"], total["delivered"], total["lost"]
    if accepted == 0:
        head = text("crash.meaning.none", lang)
    elif lost:
        head = say("crash.meaning.lost", lost, lang, of=accepted)
    elif delivered == accepted:
        head = say("crash.meaning.all", accepted, lang)
    else:  # not delivered, not lost: dead-lettered or quarantined, where a person can look
        head = say("crash.meaning.some", delivered, lang, of=accepted)
    parts = [f"{label}: {head}"]
    if total["duplicates"]:
        parts.append(say("crash.meaning.duplicates", total["duplicates"], lang))
    if total["sent_anyway"]:  # told it failed (users who will try again), yet mailed
        parts.append(
            say("crash.meaning.sent_anyway", total["failed"], lang, m=total["sent_anyway"])
        )
    elif total["failed"]:
        parts.append(say("crash.meaning.failed", total["failed"], lang))
    told = [tuple(r.get(k) for k in TOLD) for r in live]
    if told and all(None not in t for t in told):  # files from before them: not said
        sums = [sum(count_of(t[i]) for t in told) for i in range(len(TOLD))]
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
