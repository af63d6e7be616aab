"""Everything the terminal shows: the consoles, progress bars, and the printing of tables.

The tables are built in `tables` (runs, crashes, sweeps) and `floors` (calibration, bench)
from result documents (the JSON dicts), so a table can be printed again from yesterday's
file; their names stay importable from here, as do those of `consoles` (the stdout and
stderr consoles) and `brokerstatus` (what `mqlab broker` and `mqlab cluster` print). Only
these modules import rich.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from mqlab.measure.metrics import untrusted
from mqlab.report.brokerstatus import (
    print_broker_down,
    print_broker_status,
    print_broker_up,
    print_cluster_down,
    print_cluster_start,
    print_cluster_status,
    print_cluster_up,
)
from mqlab.report.consoles import LOG_WIDTH, console, err_console
from mqlab.report.floors import (
    bench_doubts,
    bench_table,
    floors_line,
    floors_table,
    kills_table,
    phases_table,
    schedule_line,
)
from mqlab.report.i18n import (
    TEXTS,
    note_text,
    progress_label,
    queue_label,
    safety_label,
    text,
    workload_line,
)
from mqlab.report.sentences import node_meanings, price_meanings, run_label
from mqlab.report.tables import (
    CRASH_COUNTS,
    HIGHLIGHT,
    compact_table,
    crash_counts,
    crash_meanings,
    crash_notes,
    crash_tables,
    meanings,
    price_table,
    run_rows,
    runs_table,
    shown_warnings,
    sweep_meanings,
    sweep_table,
    told_cell,
)

__all__ = [  # the tables' names too: callers import them from here
    "CRASH_COUNTS",
    "HIGHLIGHT",
    "LOG_WIDTH",
    "Report",
    "bench_doubts",
    "bench_table",
    "console",
    "crash_meanings",
    "crash_notes",
    "crash_tables",
    "err_console",
    "floors_line",
    "floors_table",
    "kills_table",
    "meanings",
    "phase_text",
    "phase_unit",
    "phases_table",
    "price_table",
    "print_bench",
    "print_broker_down",
    "print_broker_status",
    "print_broker_up",
    "print_calibration",
    "print_cluster_down",
    "print_cluster_start",
    "print_cluster_status",
    "print_cluster_up",
    "print_crash",
    "print_floors",
    "print_runs",
    "print_saved",
    "print_step",
    "print_sweep",
    "print_written",
    "progress",
    "run_rows",
    "runs_table",
    "schedule_line",
    "shown_warnings",
    "sweep_meanings",
    "sweep_table",
]

Report = Callable[[str, int, int], None]


def phase_text(label: str, phase: str, lang: str = "en") -> str:
    """ "message broker · sending" / "브로커 · 발송 중": what a progress bar is doing."""
    key = f"progress.{phase}"
    return f"{progress_label(label, lang)}: " + (text(key, lang) if key in TEXTS[lang] else phase)


def phase_unit(phase: str, lang: str = "en") -> str:
    """What a phase counts: signups while sending, mails while delivering."""
    key = f"progress.unit.{phase}"
    return text(key, lang) if key in TEXTS[lang] else ""


@contextlib.contextmanager
def progress(label: str, total: int, quiet: bool = False, lang: str = "en") -> Iterator[Report]:
    """Progress of a long run, one bar per phase ("sending 1493/2000 signups", then
    "delivering 1348/2000 mails"): a phase's count never goes back, and a new phase starts
    a bar of its own instead of reusing the last one. In a pipe or a log, one line as the
    run starts instead. Yields the runner's callback."""
    if quiet or not err_console.is_terminal:  # no bar in a pipe, a log or CI
        if not quiet:  # but a line as each run starts: a long crash test is not silent
            print_step(phase_text(label, "start", lang))
        yield lambda phase, done, total: None
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[unit]}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err_console, transient=True) as bar:
        tasks: dict[str, Any] = {}
        best: dict[str, int] = {}

        def report(phase: str, done: int, of: int) -> None:
            if phase not in tasks:
                for name, earlier in list(tasks.items()):  # the phase before is over
                    total = next(t.total for t in bar.tasks if t.id == earlier)
                    if total is None:  # "starting": nothing counted, nothing to keep
                        bar.remove_task(earlier)
                        del tasks[name]
                    else:  # shown full: it is done, and stays beside the next phase
                        bar.update(earlier, completed=total)
                tasks[phase] = bar.add_task(
                    phase_text(label, phase, lang), total=of or None, unit=phase_unit(phase, lang)
                )
                best[phase] = 0
            best[phase] = max(best[phase], done)
            bar.update(tasks[phase], completed=best[phase], total=of or None)

        report("start", 0, 0)
        yield report


def print_runs(runs: Sequence[dict[str, Any]], lang: str = "en") -> None:
    console.print(runs_table(runs, lang))
    for r in runs:
        name = run_label(r, runs, lang)
        for warning in shown_warnings(r.get("warnings", []), r.get("config", {}), lang):
            console.print(f"[yellow]{name}: {warning}[/]")
    if any(untrusted(r["summary"], r.get("config", {}).get("rate")) for r in runs):
        console.print(f"[dim]{text('note.late', lang)}[/]")
    _sent_anyway_note([r["summary"] for r in runs], lang)
    for line in meanings(runs, lang):
        console.print(line)
    price = price_table(runs, lang)  # the broker on several queue types: what each costs
    if price is not None:
        console.print(price)
        for line in price_meanings(runs, lang):
            console.print(line)


def print_saved(path: Path, lang: str = "en") -> None:
    console.print(f"{text('saved', lang)}: {path}")


def print_written(paths: Sequence[Path], lang: str = "en") -> None:
    for path in paths:  # soft_wrap: a path is never broken across lines, so it can be copied
        console.print(f"{text('saved', lang)}: {path}", soft_wrap=True)


_NODE_FAULTS = ("node-kill", "node-loss")  # measure.crash.NODE_FAULTS: a row per queue type


def print_crash(data: dict[str, Any], lang: str = "en") -> None:
    other = {**data, "rows": [r for r in data["rows"] if r["fault"] not in _NODE_FAULTS]}
    faults = list(dict.fromkeys(r["fault"] for r in other["rows"]))
    for fault, table in zip(faults, crash_tables(other, lang), strict=True):
        console.print(table)
        for line in crash_meanings(other, fault, lang):  # what this table's rows mean
            console.print(line)
    for fault in dict.fromkeys(r["fault"] for r in data["rows"] if r["fault"] in _NODE_FAULTS):
        console.print(node_fault_table(data, fault, lang))
        for line in node_meanings(data, fault, lang):  # per queue type, over its trials
            console.print(line)
    modes = sorted({r["mode"] for r in data["rows"]})
    console.print(workload_line(data["config"], modes, lang))
    for line in [*crash_notes(other, lang), *_node_notes(data, lang)]:
        console.print(line)
    if any(told_cell(r) != "-" for r in data["rows"] if not r["skipped"]):
        console.print(f"[dim]{text('crash.told.note', lang)}[/]")  # the column's "58/60"
    _sent_anyway_note(data["rows"], lang)


def node_fault_table(data: dict[str, Any], fault: str, lang: str = "en") -> Table:
    """A node fault's rows: classic and quorum side by side, when each accepted again, and
    how many users were told the truth."""
    rows = [r for r in data["rows"] if r["fault"] == fault]
    several = any(r["trial"] > 1 for r in rows)
    safeties = any(r["safety"] != "default" for r in rows)
    keys = ["col.queue_type", *(["col.safety"] if safeties else [])]
    keys += ["col.trial"] if several else []
    cells = []
    for r in rows:
        row = [queue_label(r.get("queue_type"), lang, short=True)]
        row += [safety_label(r["safety"], lang)] if safeties else []
        row += [str(r["trial"])] if several else []
        if r["skipped"]:
            cells.append([*row, f"[yellow]{text('col.skipped', lang)}[/]"])
            continue
        back = r.get("recovery_s")
        shown = text("col.recovery_s.never", lang) if back is None else f"{back:.1f}"
        cells.append([*row, *crash_counts(r), shown, told_cell(r)])
    counts = [*(f"col.{k}" for k in CRASH_COUNTS), "col.recovery_s", "col.told_truth"]
    return compact_table(text(f"fault.{fault}", lang), keys, counts, cells, lang)


def _node_notes(data: dict[str, Any], lang: str) -> list[str]:
    """Under the node tables: what each fault did, what the last column means, and the
    rows that went otherwise (skipped, the fault never fired, a warning)."""
    rows = [r for r in data["rows"] if r["fault"] in _NODE_FAULTS]
    out = [
        f"[dim]{text(f'crash.fault.{f}', lang)}[/]" for f in dict.fromkeys(r["fault"] for r in rows)
    ]
    out += [f"[dim]{text('node.recovery', lang)}[/]"] if rows else []
    for r in rows:
        where = f"{r['fault']} {r.get('queue_type') or 'classic'} #{r['trial']}"
        if r.get("note") and (r["skipped"] or not r["note"].startswith("node ")):
            out.append(f"[yellow]{where}: {escape(note_text(r['note'], lang))}[/]")
        for warning in shown_warnings(r.get("warnings", []), data.get("config", {}), lang):
            out.append(f"[yellow]{where}: {warning}[/]")
    return out


def _sent_anyway_note(summaries: Sequence[dict[str, Any]], lang: str) -> None:
    """One plain sentence under a table that shows jobs told failed and sent anyway."""
    if any(s.get("sent_anyway") for s in summaries):
        console.print(f"[dim]{text('note.sent_anyway', lang)}[/]")


def print_sweep(data: dict[str, Any], lang: str = "en") -> None:
    console.print(sweep_table(data, lang))
    for line in sweep_meanings(data, lang):
        console.print(line)


# --- calibration and bench (mqlab calibrate, mqlab bench) ----------------------------------------


def print_floors(cal: dict[str, Any], lang: str = "en") -> None:
    console.print(f"[dim]{floors_line(cal, lang)}[/]")
    for note in cal.get("notes", []):
        console.print(f"[dim]{note_text(note, lang)}[/]")


def print_calibration(cal: dict[str, Any], lang: str = "en") -> None:
    console.print(floors_table(cal, lang))
    line = schedule_line(cal, lang)
    if line:
        console.print(line)
    for note in cal.get("notes", []):
        console.print(f"[yellow]{note_text(note, lang)}[/]")


def print_bench(data: dict[str, Any]) -> None:
    console.print(bench_table(data))
    for line in bench_doubts(data):
        console.print(f"[yellow]{line}[/]")
    if data["kills"]:
        console.print(kills_table(data))
        for k in data["kills"]:
            console.print(f"[dim]{k['system']} {k['moment']}: {k['note']}[/]")
    if data["phases"]:
        console.print(phases_table(data))
    console.print(floors_table(data["calibration"]))
    schedule = schedule_line(data["calibration"])
    if schedule:
        console.print(schedule)
    for note in data["notes"]:
        console.print(f"[yellow]{note}[/]")


def print_step(step: str) -> None:
    """A long command's current step, on stderr (so --json output stays clean)."""
    err_console.print(f"[dim]… {step}[/]")
