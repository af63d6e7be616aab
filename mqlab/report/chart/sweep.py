"""The slide of `mqlab sweep`: throughput against the number of workers, per mode and scan
kind, with the ideal W ÷ scan time dotted, so where a line leaves the ideal shows.
"""

from __future__ import annotations

from collections.abc import Iterable

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from mqlab.report import i18n
from mqlab.report.chart.runs import cores_of
from mqlab.report.chart.style import (
    GRID,
    MODES,
    MUTED,
    VALUE_PT,
    BadChart,
    Chart,
    Result,
    fmt,
    mode_colour,
    new_figure,
    num,
    rank,
)


def sweep_charts(result: Result, lang: str) -> list[Chart]:
    if not result["points"]:
        raise BadChart("the sweep result holds no points")
    return [("throughput", _sweep_chart(result, lang))]  # "<time>-sweep-throughput"


def _sweep_chart(result: Result, lang: str) -> Figure:
    """Throughput against workers, one line per mode and scan kind, ideal dotted. A
    CPU-bound ideal stops at the machine's cores (files from before did not cap it)."""
    cores, scan = cores_of(result), result["config"].get("scan_ms")
    points = [
        {**p, "ideal_per_s": min(p["ideal_per_s"], cores * 1000.0 / scan)}
        if p.get("scan_kind") == "cpu"
        and cores
        and isinstance(scan, (int, float))
        and scan > 0
        and isinstance(p.get("ideal_per_s"), (int, float))
        else p
        for p in result["points"]
    ]
    series: dict[tuple[str, str], list[Result]] = {}
    for point in points:
        series.setdefault((point["mode"], point.get("scan_kind") or ""), []).append(point)
    fig = new_figure(
        i18n.text("chart.sweep.title", lang),
        i18n.workload_line(result["config"], [m for m, _ in series], lang, workers=False),
    )
    ax = fig.subplots()
    for (mode, kind), pts in sorted(series.items(), key=lambda s: rank(s[0][0], MODES)):
        _plot_sweep_series(ax, mode, kind, sorted(pts, key=lambda p: p["workers"]), lang)
    _plot_sweep_ideal(ax, series.values(), lang)
    workers = sorted({int(p["workers"]) for p in points})
    ax.set_xticks(workers)
    ax.set_xlim(0, max(workers) * 1.1)
    ax.set_ylim(bottom=0)
    ax.set_xlabel(i18n.text("chart.sweep.xlabel", lang))
    ax.set_ylabel(i18n.text("col.throughput", lang))
    ax.grid(axis="y", color=GRID)
    ax.legend(loc="upper left")
    return fig


def _plot_sweep_series(ax: Axes, mode: str, kind: str, pts: list[Result], lang: str) -> None:
    cpu = kind == "cpu"
    label = i18n.mode_label(mode, lang) + (f" · {i18n.scan_kind_label(kind, lang)}" if kind else "")
    xs = [float(p["workers"]) for p in pts]
    ys = [num(p.get("throughput_per_s")) for p in pts]
    ax.plot(
        xs,
        ys,
        color=mode_colour(mode),
        linestyle="--" if cpu else "-",
        marker="s" if cpu else "o",
        markersize=11,
        linewidth=3.5,
        label=label,
    )
    ax.annotate(
        fmt(ys[-1], lang),
        (xs[-1], ys[-1]),
        xytext=(10, 0),
        textcoords="offset points",
        va="center",
        fontsize=VALUE_PT,
        color=mode_colour(mode),
        fontweight="bold",
    )


def _plot_sweep_ideal(ax: Axes, series: Iterable[list[Result]], lang: str) -> None:
    """One dotted line per distinct ideal curve, labelled once."""
    seen: set[tuple[tuple[float, float], ...]] = set()
    for pts in series:
        curve = tuple(
            sorted(
                (float(p["workers"]), float(p["ideal_per_s"]))
                for p in pts
                if isinstance(p.get("ideal_per_s"), (int, float))
            )
        )
        if not curve or curve in seen:
            continue
        ax.plot(
            [x for x, _ in curve],
            [y for _, y in curve],
            color=MUTED,
            linestyle=":",
            linewidth=2.5,
            zorder=1,
            label=None if seen else i18n.text("chart.ideal", lang),
        )
        seen.add(curve)
