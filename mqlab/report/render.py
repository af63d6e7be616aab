"""Everything the terminal shows: tables and progress bars. The only module that imports rich.

Formatting reads result documents (the JSON dicts), so a table can be printed
again from yesterday's file.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from mqlab.measure.metrics import untrusted
from mqlab.processes.rabbit import ENV_VAR, holds_a_secret, mask_url
from mqlab.report.i18n import (
    TEXTS,
    fault_label,
    mode_label,
    note_key,
    note_text,
    progress_label,
    safety_label,
    scan_kind_label,
    text,
    workload_line,
)

LOG_WIDTH = 120  # a pipe, a log file or CI: no terminal to fit, so tables keep their headers


def _console(stderr: bool = False) -> Console:
    c = Console(stderr=stderr)
    if not c.is_terminal and "COLUMNS" not in os.environ:
        c.width = max(c.width, LOG_WIDTH)  # rich's default there is 80: "ac…", "fa…"
    return c


console = _console()
err_console = _console(stderr=True)

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
    a bar of its own instead of reusing the last one. Yields the runner's callback."""
    if quiet or not err_console.is_terminal:  # no bar in a pipe, a log or CI
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


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def run_rows(lang: str) -> list[tuple[str, Callable[[dict[str, Any]], str]]]:
    """(label, cell) for each row of the side-by-side table; one column per mode."""

    def s(key: str) -> Callable[[dict[str, Any]], str]:
        return lambda r: str(r["summary"].get(key, 0))  # fields added later read as 0

    def p(group: str, key: str) -> Callable[[dict[str, Any]], str]:
        def cell(r: dict[str, Any]) -> str:
            # A percentile carrying the load generator's own delay is not printed as a number.
            if f"{group}.{key}" in untrusted(r["summary"], r.get("config", {}).get("rate")):
                return f"[yellow]{text('late', lang)}[/]"
            return _ms(r["summary"][group][key])

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
        (text("col.throughput", lang), lambda r: _rate(r["summary"]["throughput_per_s"])),
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
        table.add_column(text(f"mode.{r['mode']}", lang), justify="right")
    for label, cell in run_rows(lang):
        table.add_row(label, *(_highlight(label, cell(r), lang) for r in runs))
    return table


# Counts that mean harm when they are not 0: a mail never sent, or one sent twice.
HIGHLIGHT = {"lost": "bold red", "duplicates": "bold yellow", "sent_anyway": "bold yellow"}


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


def print_runs(runs: Sequence[dict[str, Any]], lang: str = "en") -> None:
    console.print(runs_table(runs, lang))
    for r in runs:
        name = mode_label(r["mode"], lang)
        for warning in shown_warnings(r.get("warnings", []), r.get("config", {}), lang):
            console.print(f"[yellow]{name}: {warning}[/]")
    if any(untrusted(r["summary"], r.get("config", {}).get("rate")) for r in runs):
        console.print(f"[dim]{text('note.late', lang)}[/]")
    _sent_anyway_note([r["summary"] for r in runs], lang)
    for line in meanings(runs, lang):
        console.print(line)


def meanings(runs: Sequence[dict[str, Any]], lang: str = "en") -> list[str]:
    """One plain sentence per mode: what its numbers mean, from the numbers themselves."""
    lines = []
    for r in runs:
        s, config = r["summary"], r.get("config", {})
        senders = config.get("workers")
        line = text(f"meaning.{r['mode']}", lang).format(
            mode=mode_label(r["mode"], lang),
            p50=_ms(s["response_ms"]["p50"]),
            e2e=_ms(s["e2e_ms"]["p50"]),
            n=senders if isinstance(senders, int) else "?",
            tput=_rate(s.get("throughput_per_s")),
        )
        if s.get("lost"):
            line += " " + text("meaning.lost", lang).format(n=s["lost"])
        lines.append(line)
    return lines


def print_saved(path: Path, lang: str = "en") -> None:
    console.print(f"{text('saved', lang)}: {path}")


def print_written(paths: Sequence[Path], lang: str = "en") -> None:
    for path in paths:
        console.print(f"{text('saved', lang)}: {path}")


def print_broker_up(url: str, version: str | None) -> None:
    """`url` as the node answers: a private node's guest URL is shown whole, ready to paste;
    a URL with any other password (or an already masked one) stays masked."""
    if holds_a_secret(url):
        console.print(f"RabbitMQ {version or '?'} is up at {mask_url(url)}")
        console.print("  use it with: --amqp-url and this URL with its password (not shown)")
        console.print("  stop it with: mqlab broker down")
        return
    console.print(f"RabbitMQ {version or '?'} is up at {url}")
    console.print(f"  use it with: export {ENV_VAR}={url}", soft_wrap=True)
    console.print("  (or --amqp-url); stop it with: mqlab broker down")


def print_broker_down(stopped: bool) -> None:
    console.print(
        "stopped mqlab's private RabbitMQ node"
        if stopped
        else "no private node of mqlab's is running (nothing stopped)"
    )


def print_broker_status(status: dict[str, Any]) -> None:
    table = Table(title="RabbitMQ", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    reachable = "[green]yes[/]" if status.get("reachable") else "[red]no[/]"
    if not status.get("reachable") and status.get("error"):  # never holds the password
        reachable += f": {escape(str(status['error']))}"
    table.add_row("url", str(status.get("url")))
    table.add_row("reachable", reachable)
    table.add_row("version", str(status.get("version") or "-"))
    table.add_row("started by mqlab", "yes" if status.get("started_by_mqlab") else "no")
    for name, depth in (status.get("queues") or {}).items():
        count = "-" if depth is None else f"{depth} message" + ("" if depth == 1 else "s")
        table.add_row(f"queue {name}", count)
    console.print(table)


CRASH_COUNTS = ("accepted", "failed", "sent_anyway", "delivered", "lost", "duplicates")


def crash_tables(data: dict[str, Any], lang: str = "en") -> list[Table]:
    """One table per fault, modes as rows: what each crash cost, in 80 columns.

    Ids (sync, app-kill, ...) and a light box keep it narrow; throughput and the median
    response go to the notes under the tables (`print_crash`), which have the room.
    """
    faults = list(dict.fromkeys(r["fault"] for r in data["rows"]))
    several = any(r["trial"] > 1 for r in data["rows"])
    return [_crash_table(data, fault, several, lang) for fault in faults]


def _crash_table(data: dict[str, Any], fault: str, several: bool, lang: str) -> Table:
    rows = [r for r in data["rows"] if r["fault"] == fault]
    table = Table(
        title=fault_label(fault, lang),
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
    )
    keys = ["col.mode", "col.safety", *(["col.trial"] if several else [])]
    for key in keys:
        table.add_column(text(key, lang), no_wrap=True)
    for key in CRASH_COUNTS:
        label = text(_short(f"col.{key}", lang), lang)
        # as wide as the header's longest word: the header wraps, the numbers never squeeze
        table.add_column(label, justify="right", min_width=max(map(len, label.split())))
    for r in rows:
        cells = [
            text(f"mode.{r['mode']}.short", lang)
            if f"mode.{r['mode']}.short" in TEXTS[lang]
            else r["mode"],
            safety_label(r["safety"], lang),
            *([str(r["trial"])] if several else []),
        ]
        if r["skipped"]:
            skipped = f"[yellow]{text('col.skipped', lang)}[/]"
            table.add_row(*cells, skipped, *["-"] * (len(CRASH_COUNTS) - 1))
            continue
        counts = {k: str(r.get(k, 0)) for k in CRASH_COUNTS}  # fields added later read as 0
        for key in HIGHLIGHT:
            if r.get(key):
                counts[key] = f"[{HIGHLIGHT[key]}]{counts[key]}[/]"
        table.add_row(*cells, *counts.values())
    return table


def _short(key: str, lang: str) -> str:
    """The compact label of a column where one exists (narrow tables), else the label."""
    return f"{key}.short" if f"{key}.short" in TEXTS[lang] else key


def print_crash(data: dict[str, Any], lang: str = "en") -> None:
    for table in crash_tables(data, lang):
        console.print(table)
    modes = sorted({r["mode"] for r in data["rows"]})
    console.print(workload_line(data["config"], modes, lang))
    for line in crash_notes(data, lang):
        console.print(line)
    _sent_anyway_note(data["rows"], lang)


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


def _sent_anyway_note(summaries: Sequence[dict[str, Any]], lang: str) -> None:
    """One plain sentence under a table that shows jobs told failed and sent anyway."""
    if any(s.get("sent_anyway") for s in summaries):
        console.print(f"[dim]{text('note.sent_anyway', lang)}[/]")


def print_sweep(data: dict[str, Any], lang: str = "en") -> None:
    table = Table(
        caption=workload_line(data["config"], data["config"]["modes"], lang, workers=False),
        caption_justify="left",
    )
    for key in ("col.mode", "sweep.workers", "col.throughput", "sweep.ideal", "sweep.ratio"):
        table.add_column(text(key, lang), justify="left" if key == "col.mode" else "right")
    kinds = {p.get("scan_kind") for p in data["points"]}
    for p in data["points"]:
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
            _rate(p["throughput_per_s"]),
            _rate(p["ideal_per_s"]),
            "-" if ratio is None else f"{ratio:.2f}",
        )
    console.print(table)


# --- calibration and bench (mqlab calibrate, mqlab bench) ----------------------------------------


def _ft(key: str, lang: str) -> str:
    return text(f"floor.{key}", lang)


def _pacing(floors: dict[str, Any], lang: str) -> str:
    every = next((f.get("every_ms") for f in floors.values()), None)
    return _ft("paced", lang).format(ms=every) if every else _ft("unpaced", lang)


def floors_table(cal: dict[str, Any], lang: str = "en") -> Table:
    """The floors of a calibration document, one row per part."""
    floors = cal.get("floors") or {}
    table = Table(
        title=_ft("title", lang),
        title_justify="left",
        caption=_pacing(floors, lang),
        caption_justify="left",
    )
    table.add_column(_ft("part", lang), style="bold")
    for key in ("p50", "p95", "p99"):
        table.add_column(f"{key} (ms)", justify="right")
    table.add_column(_ft("max", lang), justify="right")
    table.add_column(_ft("calls", lang), justify="right")
    for name, f in floors.items():
        ms = f["ms"]
        table.add_row(
            _ft(name, lang) if name in ("http", "publish", "smtp") else name,
            *(_ms(ms[k]) for k in ("p50", "p95", "p99", "max")),
            str(f["samples"]),
        )
    return table


def schedule_line(cal: dict[str, Any], lang: str = "en") -> str | None:
    s = cal.get("schedule")
    if not s:
        return None
    held = "-" if s["sent_per_s"] is None else f"{s['sent_per_s']:.0f}"
    verdict = _ft("holds" if s["holds"] else "late", lang)
    line = _ft("schedule", lang).format(
        rate=s["rate"],
        p50=_ms(s["late_ms"]["p50"]),
        p99=_ms(s["late_ms"]["p99"]),
        held=held,
        failed=s["failed"],
        verdict=verdict,
    )
    return line if s["holds"] else f"[bold red]{line}[/]"


def floors_line(cal: dict[str, Any], lang: str = "en") -> str:
    """One line for beside a run or comparison: the p50 of each floor."""
    floors = cal.get("floors") or {}

    def p50(name: str) -> str:
        return f"{_ms(floors[name]['ms']['p50'])} ms" if name in floors else "-"

    return _ft("line", lang).format(
        pacing=_pacing(floors, lang), http=p50("http"), publish=p50("publish"), smtp=p50("smtp")
    )


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


def _ratio_cell(row: dict[str, Any], mark: int | None) -> str:
    if mark is not None:
        return f"[yellow]not judged ({mark})[/]"  # a doubtful number is not printed
    if row["value"] is None:
        return "-"
    value = f"{row['value']:.3f}"
    return f"[green]{value}[/]" if row["ok"] else f"[bold red]{value}[/]"


def bench_table(data: dict[str, Any]) -> Table:
    """One row per target: the ratio measured, the target, and the numbers behind it. A row
    the machine spoiled shows a numbered reason (see `bench_doubts`) instead of its ratio."""
    table = Table(title="mqlab bench: ratios against their targets", title_justify="left")
    table.add_column("target", style="bold")
    table.add_column("ratio", justify="right")
    table.add_column("goal", justify="right")
    table.add_column("measured")
    mark = 0
    for r in data["rows"]:
        goal = f"{r['op']} {r['target']:g}" if r["op"] != "±" else f"1±{r['target']:g}"
        if r["doubt"]:
            mark += 1
        table.add_row(r["label"], _ratio_cell(r, mark if r["doubt"] else None), goal, r["detail"])
    return table


def bench_doubts(data: dict[str, Any]) -> list[str]:
    """The reasons behind the "not judged (n)" cells, numbered like them."""
    doubtful = [r for r in data["rows"] if r["doubt"]]
    return [f"({i}) {r['label']}: {r['doubt']}" for i, r in enumerate(doubtful, 1)]


def kills_table(data: dict[str, Any]) -> Table:
    table = Table(
        title="one worker SIGKILLed mid-run (counted in the sink's ledger)", title_justify="left"
    )
    for col in ("system", "moment", "accepted", "delivered", "lost", "duplicates"):
        table.add_column(col, justify="left" if col in ("system", "moment") else "right")
    for k in data["kills"]:
        lost = f"[bold red]{k['lost']}[/]" if k["lost"] else "0"
        dup = f"[bold yellow]{k['duplicates']}[/]" if k["duplicates"] else "0"
        table.add_row(k["system"], k["moment"], str(k["accepted"]), str(k["delivered"]), lost, dup)
    return table


def phases_table(data: dict[str, Any]) -> Table:
    table = Table(title="where the default compare's time goes (s)", title_justify="left")
    cols = ("start", "load", "drain", "teardown", "total")
    table.add_column("mode", style="bold")
    for col in cols:
        table.add_column(col, justify="right")
    for mode, p in data["phases"].items():
        table.add_row(mode, *(f"{p[c]:.2f}" for c in cols))
    return table


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
