"""The slide of `mqlab sweep`: throughput against the number of workers, per mode and scan
kind, with the ideal W ÷ scan time dotted, so where a line leaves the ideal shows.
"""

from __future__ import annotations

from collections.abc import Iterable

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.text import Annotation

from mqlab.report import i18n
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
from mqlab.report.sentences import sweep_meaning, sweep_points


def sweep_charts(result: Result, lang: str) -> list[Chart]:
    if not result["points"]:
        raise BadChart("the sweep result holds no points")
    return [("throughput", _sweep_chart(result, lang))]  # "<time>-sweep-throughput"


def _sweep_chart(result: Result, lang: str) -> Figure:
    """Throughput against workers, one line per mode and scan kind, ideal dotted. A
    CPU-bound ideal stops at the machine's cores (files from before did not cap it)."""
    points = sweep_points(result)
    series: dict[tuple[str, str], list[Result]] = {}
    for point in points:
        series.setdefault((point["mode"], point.get("scan_kind") or ""), []).append(point)
    order = sorted(series, key=lambda s: rank(s[0], MODES))
    fig = new_figure(
        i18n.text("chart.sweep.title", lang),
        i18n.workload_line(result["config"], [m for m, _ in series], lang, workers=False),
        [(mode_colour(m), sweep_meaning(result, m, k, lang)) for m, k in order],
    )
    ax = fig.subplots()
    for mode, kind in order:
        pts = series[(mode, kind)]
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
    _dodge([t for t in ax.texts if isinstance(t, Annotation)], ax, fig)
    return fig


def _dodge(labels: list[Annotation], ax: Axes, fig: Figure) -> None:
    """Push the lines' end values apart where two would touch (38 over 36 at 8 workers):
    each keeps its line's colour and height order, at least a line of text apart."""
    engine = fig.get_layout_engine()
    if engine is not None:
        engine.execute(fig)  # the axes' final size, which turns values into points
    step = VALUE_PT * 1.5  # points between two values' centres
    to_pt = 72 / fig.dpi
    below: float | None = None
    for label in sorted(labels, key=lambda a: float(ax.transData.transform(a.xy)[1])):
        at = float(ax.transData.transform(label.xy)[1]) * to_pt
        dx, dy = label.xyann
        if below is not None and at + dy < below + step:
            dy = below + step - at
            label.xyann = (dx, dy)
        below = at + dy


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
