"""The machine's tables: the floors of `mqlab calibrate`, and `mqlab bench`'s ratios against
their targets. Built from result documents; nothing here prints (`render` does).
"""

from __future__ import annotations

from typing import Any

from rich.table import Table

from mqlab.report.i18n import text
from mqlab.report.tables import fmt_ms


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
            *(fmt_ms(ms[k]) for k in ("p50", "p95", "p99", "max")),
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
        p50=fmt_ms(s["late_ms"]["p50"]),
        p99=fmt_ms(s["late_ms"]["p99"]),
        held=held,
        failed=s["failed"],
        verdict=verdict,
    )
    return line if s["holds"] else f"[bold red]{line}[/]"


def floors_line(cal: dict[str, Any], lang: str = "en") -> str:
    """One line for beside a run or comparison: the p50 of each floor."""
    floors = cal.get("floors") or {}

    def p50(name: str) -> str:
        return f"{fmt_ms(floors[name]['ms']['p50'])} ms" if name in floors else "-"

    return _ft("line", lang).format(
        pacing=_pacing(floors, lang), http=p50("http"), publish=p50("publish"), smtp=p50("smtp")
    )


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
