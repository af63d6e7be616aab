"""The lesson's terminal tables and the lines under them: runs side by side, what each crash
cost, scaling out. Built from result documents (the JSON dicts), so a table can be shown
again from yesterday's file; nothing here prints (`render` does). The plain sentences under
them come from `sentences`, which the slides share.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rich import box
from rich.cells import cell_len
from rich.table import Table
from rich.text import Text

from mqlab.measure.metrics import untrusted
from mqlab.report.i18n import (
    TEXTS,
    fault_label,
    mode_label,
    note_key,
    note_text,
    progress_label,
    queue_label,
    safety_label,
    scan_kind_label,
    text,
    workload_line,
)
from mqlab.report.sentences import (  # the sentences under the tables; names kept importable
    TOLD,
    confirm_ms,
    crash_meanings,
    fmt_ms,
    fmt_rate,
    meanings,
    price_meanings,
    price_runs,
    queue_type_of,
    run_label,
    sweep_meanings,
    sweep_points,
)

__all__ = [
    "CRASH_COUNTS",
    "HIGHLIGHT",
    "crash_meanings",
    "crash_notes",
    "crash_tables",
    "fmt_ms",
    "fmt_rate",
    "meanings",
    "price_meanings",
    "price_table",
    "run_rows",
    "runs_table",
    "shown_warnings",
    "sweep_meanings",
    "sweep_table",
]


def run_rows(lang: str) -> list[tuple[str, Callable[[dict[str, Any]], str]]]:
    """(label, cell) for each row of the side-by-side table; one column per mode."""

    def s(key: str) -> Callable[[dict[str, Any]], str]:
        return lambda r: str(r["summary"].get(key, 0))  # fields added later read as 0

    def t(key: str) -> Callable[[dict[str, Any]], str]:
        return lambda r: _count(r["summary"].get(key))  # a file from before them: "-"

    def p(group: str, key: str) -> Callable[[dict[str, Any]], str]:
        def cell(r: dict[str, Any]) -> str:
            # A percentile carrying the load generator's own delay is not printed as a number.
            if f"{group}.{key}" in untrusted(r["summary"], r.get("config", {}).get("rate")):
                return f"[yellow]{text('late', lang)}[/]"
            return fmt_ms(r["summary"][group][key])

        return cell

    return [
        (text("col.requests", lang), s("requests")),
        (text("col.accepted", lang), s("accepted")),
        (text("col.failed", lang), s("failed")),
        (text("col.sent_anyway", lang), s("sent_anyway")),
        (text("col.delivered", lang), s("delivered")),
        (text("col.lost", lang), s("lost")),
        (text("col.duplicates", lang), s("duplicates")),
        (text("col.quarantined", lang), s("quarantined")),
        (text("col.dead_lettered", lang), s("dead_lettered")),
        (text("col.retried", lang), s("retried")),
        (text("col.told_truth", lang), t("told_truth")),
        (text("col.told_wrong", lang), t("told_wrong")),
        (text("col.told_queued", lang), t("told_queued")),
        (text("col.never_heard", lang), t("never_heard")),
        (text("col.throughput", lang), lambda r: fmt_rate(r["summary"]["throughput_per_s"])),
        (text("col.response_p50", lang), p("response_ms", "p50")),
        (text("col.response_p95", lang), p("response_ms", "p95")),
        (text("col.response_p99", lang), p("response_ms", "p99")),
        (text("col.response_max", lang), p("response_ms", "max")),
        (text("col.e2e_p50", lang), p("e2e_ms", "p50")),
        (text("col.e2e_p95", lang), p("e2e_ms", "p95")),
        (text("col.e2e_p99", lang), p("e2e_ms", "p99")),
    ]


def runs_table(runs: Sequence[dict[str, Any]], lang: str = "en") -> Table:
    first = runs[0]["config"]
    table = Table(
        caption=workload_line(first, [r["mode"] for r in runs], lang), caption_justify="left"
    )
    table.add_column("", style="bold")
    for r in runs:
        table.add_column(run_label(r, runs, lang), justify="right")
    for label, cell in run_rows(lang):
        table.add_row(label, *(_highlight(label, cell(r), lang) for r in runs))
    return table


PRICE_ROWS = ("col.response_p50", "col.response_p95", "col.e2e_p50", "col.throughput")


def price_table(runs: Sequence[dict[str, Any]], lang: str = "en") -> Table | None:
    """The broker runs of a comparison across queue types side by side: each type's
    confirmed publish alone (its floor, measured before its run), how many times the first
    type's that is, and what its users and mails saw. None when there is one type."""
    priced = price_runs(runs)
    if not priced:
        return None
    table = Table(title=text("price.title", lang), title_justify="left")
    table.add_column("", style="bold")
    for r in priced:
        table.add_column(queue_label(queue_type_of(r), lang), justify="right")
    floors = [confirm_ms(r) for r in priced]
    base = floors[0]
    for key in ("p50", "p95"):
        table.add_row(
            text(f"price.confirm_{key}", lang),
            *(fmt_ms(f[key]) if f is not None else "-" for f in floors),
        )
    ratio = text("price.ratio", lang).format(
        base=queue_label(queue_type_of(priced[0]), lang, short=True)
    )
    table.add_row(
        ratio,
        *(
            f"{f['p50'] / base['p50']:.1f}×" if f is not None and base and base["p50"] else "-"
            for f in floors
        ),
    )
    cells = dict(run_rows(lang))
    for key in PRICE_ROWS:
        label = text(key, lang)
        table.add_row(label, *(cells[label](dict(r)) for r in priced))
    return table


def _count(value: int | None) -> str:
    return "-" if value is None else str(value)


# Counts that mean harm when they are not 0: a mail never sent, or one sent twice, or a
# user told something else than what happened, or nothing.
HIGHLIGHT = {
    "lost": "bold red",
    "duplicates": "bold yellow",
    "sent_anyway": "bold yellow",
    "told_wrong": "bold red",
    "told_queued": "bold yellow",
    "never_heard": "bold yellow",
}


def _highlight(label: str, value: str, lang: str) -> str:
    for key, style in HIGHLIGHT.items():
        if label == text(f"col.{key}", lang) and value not in ("0", "-"):
            return f"[{style}]{value}[/]"
    return value


def shown_warnings(warnings: Sequence[str], config: dict[str, Any], lang: str) -> list[str]:
    """A run's warnings in `lang`. A spike that was asked for (rate 0: every signup at
    once) is not "overload": its requests wait for a connection by design, so the
    generator's lateness warnings are left out."""
    spike = config.get("rate") == 0
    out = []
    for warning in warnings:
        found = note_key(warning)
        if spike and found is not None and found[0] in ("warn.overloaded", "warn.behind"):
            continue
        out.append(note_text(warning, lang))
    return out


CRASH_COUNTS = ("accepted", "failed", "sent_anyway", "delivered", "lost", "duplicates")


def crash_tables(data: dict[str, Any], lang: str = "en") -> list[Table]:
    """One table per fault, modes as rows: what each crash cost, in 80 columns.

    Ids (sync, app-kill, ...) and a light box keep it narrow; what the counts mean, and each
    row's throughput over one window shared by the whole fault, go to the sentences under
    each table (`crash_meanings`), which have the room.
    """
    faults = list(dict.fromkeys(r["fault"] for r in data["rows"]))
    several = any(r["trial"] > 1 for r in data["rows"])
    return [_crash_table(data, fault, several, lang) for fault in faults]


def _crash_table(data: dict[str, Any], fault: str, several: bool, lang: str) -> Table:
    keys = ["col.mode", "col.safety", *(["col.trial"] if several else [])]
    rows = []
    for r in (r for r in data["rows"] if r["fault"] == fault):
        cells = [
            text(f"mode.{r['mode']}.short", lang)
            if f"mode.{r['mode']}.short" in TEXTS[lang]
            else r["mode"],
            safety_label(r["safety"], lang),
            *([str(r["trial"])] if several else []),
        ]
        if r["skipped"]:
            skipped = f"[yellow]{text('col.skipped', lang)}[/]"
            rows.append([*cells, skipped, *["-"] * len(CRASH_COUNTS)])
        else:
            rows.append([*cells, *crash_counts(r), told_cell(r)])
    counts = [f"col.{k}" for k in (*CRASH_COUNTS, "told_truth")]
    return compact_table(fault_label(fault, lang), keys, counts, rows, lang)


COMPACT_WIDTH = 80  # the crash tables fit a terminal of this many columns


def compact_table(
    title: str, keys: Sequence[str], counts: Sequence[str], rows: list[list[str]], lang: str
) -> Table:
    """A crash test's table in COMPACT_WIDTH columns: `keys` (labels of the columns that
    name a row, left) and `counts` (right), one space apart. Each column is as wide as its
    widest cell or its header, but where they do not all fit, the headers with the most
    to spare wrap down to their longest word: no number is ever squeezed or cut."""
    table = Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        padding=(0, 0),  # the box's one space between columns
    )
    labels = [text(_short(key, lang), lang) for key in [*keys, *counts]]
    cells = [
        max([0, *(Text.from_markup(row[i]).cell_len for row in rows if i < len(row))])
        for i in range(len(labels))
    ]
    least = [max(c, *map(cell_len, label.split())) for c, label in zip(cells, labels, strict=True)]
    full = [max(c, cell_len(label)) for c, label in zip(cells, labels, strict=True)]
    widths = list(full)
    spare = sorted(range(len(widths)), key=lambda i: least[i] - full[i])  # most to spare first
    wrapped = []
    for i in spare:
        if sum(widths) + len(widths) - 1 <= COMPACT_WIDTH:
            break
        widths[i] = least[i]
        wrapped.append(i)
    for i in wrapped:  # what room is left goes back to the wrapped headers: fewer lines
        room = COMPACT_WIDTH - (sum(widths) + len(widths) - 1)
        widths[i] += max(0, min(room, full[i] - widths[i]))
    for i, (label, width) in enumerate(zip(labels, widths, strict=True)):
        table.add_column(
            _wrap(label, width), justify="left" if i < len(keys) else "right", min_width=width
        )
    for row in rows:
        table.add_row(*row)
    return table


def _wrap(label: str, width: int) -> str:
    """`label` broken at spaces into lines of at most `width` cells (a word may be wider)."""
    lines: list[str] = []
    for word in label.split():
        if lines and cell_len(f"{lines[-1]} {word}") <= width:
            lines[-1] += f" {word}"
        else:
            lines.append(word)
    return "\n".join(lines)


def crash_counts(row: dict[str, Any]) -> list[str]:
    """A crash row's CRASH_COUNTS as cells, the harms highlighted (fields added later: 0)."""
    counts = {k: str(row.get(k, 0)) for k in CRASH_COUNTS}
    for key in HIGHLIGHT:
        if key in counts and row.get(key):
            counts[key] = f"[{HIGHLIGHT[key]}]{counts[key]}[/]"
    return list(counts.values())


def told_cell(row: dict[str, Any]) -> str:
    """ "58/60": the users of a crash row told the truth, of all its users (one per signup);
    highlighted when some were not. "-" in a file from before the field."""
    told = [row.get(k) for k in TOLD]
    if not all(isinstance(n, int) for n in told):
        return "-"
    users = sum(n for n in told if isinstance(n, int))
    cell = f"{row['told_truth']}/{users}"
    return cell if row["told_truth"] == users else f"[{HIGHLIGHT['never_heard']}]{cell}[/]"


def _short(key: str, lang: str) -> str:
    """The compact label of a column where one exists (narrow tables), else the label."""
    return f"{key}.short" if f"{key}.short" in TEXTS[lang] else key


def crash_notes(data: dict[str, Any], lang: str = "en") -> list[str]:
    """The lines under the crash tables: what each fault did, once, then only what went
    otherwise (a skipped row, a fault that never fired, a warning). Nothing about columns
    the tables do not show (throughput, response times)."""
    out: list[str] = []
    for fault in dict.fromkeys(r["fault"] for r in data["rows"]):
        key = f"crash.fault.{fault}"
        if key in TEXTS[lang]:
            out.append(f"[dim]{text(key, lang)}[/]")
    for r in data["rows"]:
        where = " · ".join(
            [progress_label(r["mode"], lang), fault_label(r["fault"], lang)]
            + ([safety_label(r["safety"], lang)] if r["safety"] != "default" else [])
            + [text("progress.trial", lang).format(n=r["trial"])]
        )
        found = note_key(r.get("note") or "")
        usual = found is not None and found[0] == f"crash.fault.{r['fault']}"
        if r.get("note") and not usual:
            out.append(f"[yellow]{where}: {note_text(r['note'], lang)}[/]")
        for warning in shown_warnings(r.get("warnings", []), data.get("config", {}), lang):
            out.append(f"[yellow]{where}: {warning}[/]")
    return out


def sweep_table(data: dict[str, Any], lang: str = "en") -> Table:
    """One row per (mode, workers): throughput measured beside the ideal, and their ratio;
    the sentences under it are `sweep_meanings`."""
    table = Table(
        caption=workload_line(data["config"], data["config"]["modes"], lang, workers=False),
        caption_justify="left",
    )
    for key in ("col.mode", "sweep.workers", "col.throughput", "sweep.ideal", "sweep.ratio"):
        table.add_column(text(key, lang), justify="left" if key == "col.mode" else "right")
    kinds = {p.get("scan_kind") for p in data["points"]}
    for p in sweep_points(data):  # a CPU-bound ideal stops at the cores, as on the slide
        mode = mode_label(p["mode"], lang)
        if len(kinds) > 1 and p.get("scan_kind"):  # sleep and CPU scans side by side
            mode += f" · {scan_kind_label(p['scan_kind'], lang)}"
        ratio = (
            p["throughput_per_s"] / p["ideal_per_s"]
            if p["throughput_per_s"] and p["ideal_per_s"]
            else None
        )
        table.add_row(
            mode,
            str(p["workers"]),
            fmt_rate(p["throughput_per_s"]),
            fmt_rate(p["ideal_per_s"]),
            "-" if ratio is None else f"{ratio:.2f}",
        )
    return table
