"""The chart of each lesson's slide, drawn from the lesson's result document into the
slide's chart region: one idea per chart, in the colours and number formats of
`mqlab chart` (whose full charts of the same result files stay one command away).

Each function takes (figure, lesson document, language), fits its axes into the region
(`frame.fit_axes`), then labels the values where no line runs through them and no label
touches another (`labels.label`), and returns the axes it drew.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from matplotlib.axes import Axes
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from mqlab.report import i18n
from mqlab.report.chart.style import (
    FIGSIZE,
    GRID,
    INK,
    LABEL_PT,
    MODES,
    MUTED,
    VALUE_PT,
    colour_ticklabels,
    fmt,
    log_scale_if_spread,
    mode_colour,
    num,
    rank,
    tick_label,
)
from mqlab.report.slides.frame import CHART, Region, fit_axes
from mqlab.report.slides.labels import ABOVE, Offset, label

Doc = Mapping[str, Any]
Panel = Callable[[Figure, Doc, str], list[Axes]]
BROKER_GREY = "#4D4D4D"  # RabbitMQ's part of the price


def _axes(fig: Figure, region: Region = CHART) -> Axes:
    # generous first margins for the labels; `frame.fit_axes` corrects them
    return fig.add_axes(
        (
            region.x0 + 0.07,
            region.y0 + 0.09,
            region.x1 - region.x0 - 0.09,
            region.y1 - region.y0 - 0.13,
        )
    )


def _style(ax: Axes) -> None:
    ax.grid(axis="y", color=GRID)
    ax.set_axisbelow(True)


def _runs(doc: Doc) -> list[Doc]:
    return sorted(doc["result"]["runs"], key=lambda r: rank(r["mode"], MODES))


def _mode_ticks(ax: Axes, modes: Sequence[str], lang: str) -> None:
    """Mode names under their bars, in their colours, wrapped to their slot."""
    slot = (CHART.x1 - CHART.x0) * 0.8 * FIGSIZE[0] * 72 / max(len(modes), 1)
    ax.set_xticks(range(len(modes)), labels=[tick_label(m, lang, slot) for m in modes])
    ax.tick_params(axis="x", length=0, labelsize=LABEL_PT)
    colour_ticklabels(ax, modes)


# --- 1. the answer ---------------------------------------------------------------------------


def immediate(fig: Figure, doc: Doc, lang: str) -> list[Axes]:
    """The median answer of each mode; the scan's time dashed across."""
    ax = _axes(fig)
    runs = _runs(doc)
    modes = [r["mode"] for r in runs]
    values = [num(r["summary"]["response_ms"]["p50"]) for r in runs]
    ax.bar(range(len(runs)), values, 0.6, color=[mode_colour(m) for m in modes])
    log_scale_if_spread(ax, values, 1.3)
    scan = doc["config"]["scan_ms"]
    ax.axhline(scan, color=MUTED, linestyle="--", linewidth=1.5)
    _mode_ticks(ax, modes, lang)
    ax.set_xlim(-0.6, len(runs) - 0.4)
    ax.set_ylabel(i18n.text("col.response_p50", lang))
    _style(ax)
    fit_axes(fig, [ax], CHART)
    for x, value in enumerate(values):
        label(ax, (x, value), f"{fmt(value, lang)} ms", mode_colour(modes[x]), ABOVE, LABEL_PT)
    scan_label = i18n.text("sub.scan", lang).format(ms=fmt(scan, lang))
    right: tuple[Offset, ...] = ((-4, 4, "right", "bottom"), (-4, -4, "right", "top"))
    label(ax, (len(runs) - 0.4, scan), scan_label, MUTED, right)
    return [ax]


# --- 2. the spike ----------------------------------------------------------------------------


def buffer(fig: Figure, doc: Doc, lang: str) -> list[Axes]:
    """Where the spike waits: sync's users in line for an answer, the broker's queue."""
    ax = _axes(fig)
    runs = {r["mode"]: r for r in doc["result"]["runs"]}
    lines = {
        "sync": ("in_flight", i18n.text("chart.timeline.waiting", lang)),
        "broker": (
            "backlog",
            f"{i18n.mode_label('broker', lang)}: {i18n.text('chart.timeline.backlog', lang)}",
        ),
    }
    top = 1.0
    for mode, (field, name) in lines.items():
        if mode not in runs:
            continue
        rows = runs[mode]["timeline"]
        ts = [float(row["t"]) for row in rows]
        ys = [num(row.get(field)) for row in rows]
        ax.plot(ts, ys, color=mode_colour(mode), linewidth=3, drawstyle="steps-post", label=name)
        top = max([top, *ys])
    end = max([1.0, *(float(r["t"]) for run in runs.values() for r in run["timeline"])])
    ax.set_ylim(0, top * 1.6)
    ax.set_xlim(-0.03 * end, end * 1.02)  # the two axes' "0" labels apart at the corner
    ax.set_xlabel(i18n.text("chart.timeline.xlabel", lang))
    ax.set_ylabel(i18n.text("chart.timeline.ylabel", lang))
    ax.legend(loc="upper right", fontsize=VALUE_PT)
    _style(ax)
    fit_axes(fig, [ax], CHART)
    peak = doc["measured"]["numbers"].get("peak")
    rows = runs["broker"]["timeline"] if "broker" in runs else []
    at = next((float(r["t"]) for r in rows if num(r.get("backlog")) == peak), None)
    if isinstance(peak, int) and at is not None:
        higher: tuple[Offset, ...] = tuple((12, 12 + 24 * k, "left", "bottom") for k in range(5))
        text = i18n.text("chart.timeline.peak", lang).format(value=peak)
        label(ax, (at, peak), text, mode_colour("broker"), higher)
    return [ax]


# --- 3. the crash ----------------------------------------------------------------------------

CRASH_BARS = ("accepted", "delivered", "lost")


def crash(fig: Figure, doc: Doc, lang: str) -> list[Axes]:
    """Accepted, delivered and lost jobs of each mode after the app server was killed."""
    ax = _axes(fig)
    rows = sorted(doc["result"]["rows"], key=lambda r: rank(r["mode"], MODES))
    modes = [r["mode"] for r in rows]
    colours = [mode_colour(m) for m in modes]
    top = 1.0
    for k, metric in enumerate(CRASH_BARS):
        heights = [num(r.get(metric)) for r in rows]
        face: Any = {
            "accepted": [to_rgba(c, 0.35) for c in colours],
            "delivered": colours,
            "lost": "black",
        }[metric]
        edge: Any = colours if metric != "lost" else "black"
        xs = [i + (k - 1) * 0.26 for i in range(len(rows))]
        bars = ax.bar(xs, heights, 0.24, color=face, edgecolor=edge)
        texts = ax.bar_label(bars, labels=[fmt(h, lang) for h in heights], padding=3)
        for text in texts:
            text.set_fontsize(LABEL_PT)
            text.set_fontweight("bold" if metric == "lost" else "normal")
        top = max([top, *heights])
    _mode_ticks(ax, modes, lang)
    ax.set_xlim(-0.6, len(rows) - 0.4)
    ax.set_ylim(0, top * 1.45)
    ax.set_ylabel(i18n.text("chart.crash.ylabel", lang))
    handles = [
        Patch(facecolor=to_rgba(MUTED, 0.35), edgecolor=MUTED),
        Patch(facecolor=MUTED, edgecolor=MUTED),
        Patch(facecolor="black", edgecolor="black"),
    ]
    names = [i18n.text(f"col.{m}", lang) for m in CRASH_BARS]
    ax.legend(handles, names, loc="upper center", ncols=3, fontsize=VALUE_PT)
    _style(ax)
    return [ax]


# --- 4 and 6. scaling ------------------------------------------------------------------------


def _series(doc: Doc, mode: str) -> list[Doc]:
    points = (p for p in doc["result"]["points"] if p["mode"] == mode)
    return sorted(points, key=lambda p: p["workers"])


def _throughput(fig: Figure, doc: Doc, lang: str, names: Mapping[str, str], ideal: bool) -> Axes:
    """Throughput against workers, one line per mode in `names` (the ideal dashed), each
    point labelled with its value."""
    ax = _axes(fig)
    top = 1.0
    drawn: list[tuple[str, list[float], list[float]]] = []
    for mode in [m for m in MODES if m in names]:
        points = _series(doc, mode)
        xs = [float(p["workers"]) for p in points]
        ys = [num(p["throughput_per_s"]) for p in points]
        ax.plot(
            xs,
            ys,
            color=mode_colour(mode),
            linewidth=3,
            marker="o",
            markersize=10,
            label=names[mode],
        )
        drawn.append((mode, xs, ys))
        top = max([top, *ys])
        if ideal:
            best = [num(p.get("ideal_per_s")) for p in points]
            ax.plot(
                xs,
                best,
                color=MUTED,
                linestyle="--",
                linewidth=2,
                label=i18n.text("chart.ideal", lang),
            )
            top = max([top, *best])
    workers = sorted({p["workers"] for p in doc["result"]["points"]})
    ax.set_xticks(workers)
    ax.set_xlim(min(workers) - 0.6, max(workers) + 0.6)
    ax.set_ylim(0, top * 1.45)
    ax.set_ylabel(i18n.text("col.throughput", lang))
    ax.legend(loc="upper left", fontsize=VALUE_PT)
    _style(ax)
    fit_axes(fig, [ax], CHART)
    for mode, xs, ys in drawn:
        for x, y in zip(xs, ys, strict=True):
            label(ax, (x, y), fmt(y, lang), mode_colour(mode))
    return ax


def scale(fig: Figure, doc: Doc, lang: str) -> list[Axes]:
    """Throughput against workers, the ideal W ÷ scan time dashed."""
    names = {"broker": i18n.mode_label("broker", lang)}
    ax = _throughput(fig, doc, lang, names, ideal=True)
    ax.set_xlabel(i18n.text("chart.sweep.xlabel", lang))
    return [ax]


def gil(fig: Figure, doc: Doc, lang: str) -> list[Axes]:
    """Threads in one process against worker processes, CPU-bound scan."""
    names = {
        "thread": i18n.text("slides.threads", lang),
        "broker": i18n.text("slides.worker_processes", lang),
    }
    ax = _throughput(fig, doc, lang, names, ideal=False)
    ax.set_xlabel(i18n.text("slides.senders", lang))
    return [ax]


# --- 5. retries ------------------------------------------------------------------------------


def retry(fig: Figure, doc: Doc, lang: str) -> list[Axes]:
    """Each mode's accepted jobs: delivered at once, after a retry, dead-lettered, lost."""
    ax = _axes(fig)
    runs = _runs(doc)
    modes = [r["mode"] for r in runs]
    colours = [mode_colour(m) for m in modes]
    tint = [to_rgba(c, 0.35) for c in colours]
    parts: list[tuple[str, Callable[[Doc], Any], dict[str, Any]]] = [
        (
            "slides.first_try",
            lambda s: s["delivered"] - s.get("retried", 0),
            {"color": colours, "edgecolor": colours},
        ),
        (
            "col.retried",
            lambda s: s.get("retried", 0),
            {"color": tint, "edgecolor": colours, "hatch": "//"},
        ),
        (
            "col.dead_lettered",
            lambda s: s.get("dead_lettered", 0),
            {"color": "white", "edgecolor": MUTED, "hatch": ".."},
        ),
        ("col.lost", lambda s: s["lost"], {"color": "black", "edgecolor": "black"}),
    ]
    bottom = [0.0] * len(runs)
    for _, height, style in parts:
        heights = [num(height(r["summary"])) for r in runs]
        ax.bar(range(len(runs)), heights, 0.55, bottom=bottom, linewidth=1.5, **style)
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    _mode_ticks(ax, modes, lang)
    ax.set_xlim(-0.7, len(runs) - 0.3)
    ax.set_ylim(0, max([1.0, *bottom]) * 1.5)
    ax.set_ylabel(i18n.text("chart.crash.ylabel", lang))
    handles = [
        Patch(facecolor=MUTED, edgecolor=MUTED),
        Patch(facecolor=to_rgba(MUTED, 0.35), edgecolor=MUTED, hatch="//"),
        Patch(facecolor="white", edgecolor=MUTED, hatch=".."),
        Patch(facecolor="black", edgecolor="black"),
    ]
    names = [i18n.text(key, lang) for key, _, _ in parts]
    ax.legend(handles, names, loc="upper center", ncols=2, fontsize=VALUE_PT)
    _style(ax)
    fit_axes(fig, [ax], CHART)
    for x, r in enumerate(runs):
        s = r["summary"]
        shown = f"{fmt(num(s['delivered']), lang)} / {fmt(num(s['accepted']), lang)}"
        label(ax, (x, bottom[x]), shown, INK, ABOVE, LABEL_PT)
    return [ax]


# --- 7. the price ----------------------------------------------------------------------------

PARTS = ("app", "workers", "broker")


def _part_colour(mode: str, part: str) -> Any:
    if part == "broker":
        return BROKER_GREY
    return mode_colour(mode) if part == "app" else to_rgba(mode_colour(mode), 0.45)


def price(fig: Figure, doc: Doc, lang: str) -> list[Axes]:
    """Memory (RSS) and start-up of each mode, stacked by part: app server, workers,
    RabbitMQ. Start-up: RabbitMQ first, then the app server and the workers side by side."""
    height = (CHART.y1 - CHART.y0) / 2
    memory = _axes(fig, Region(CHART.x0, CHART.y0 + height, CHART.x1, CHART.y1))
    start = _axes(fig, Region(CHART.x0, CHART.y0, CHART.x1, CHART.y0 + height))
    modes = sorted(doc["result"]["modes"], key=lambda m: rank(m["mode"], MODES))
    names = [m["mode"] for m in modes]
    ys = list(range(len(modes)))[::-1]  # sync on top
    ends: list[tuple[Axes, float, float, str]] = []
    for y, m in zip(ys, modes, strict=True):
        parts = {p["part"]: p for p in m["parts"]}
        left = 0.0
        for part in PARTS:
            mb = num(parts.get(part, {}).get("rss_mb"))
            memory.barh(y, mb, 0.6, left=left, color=_part_colour(m["mode"], part))
            left += mb
        procs = sum(int(p["processes"] or 0) for p in m["parts"])
        key = "slides.processes.one" if procs == 1 else "slides.processes"
        ends.append(
            (memory, left, y, f"{fmt(left, lang)} MB · {i18n.text(key, lang).format(n=procs)}")
        )
        # start-up: RabbitMQ first, then the slower of the app server and the workers
        node = num(parts.get("broker", {}).get("startup_s"))
        rest = max(
            num(parts.get("app", {}).get("startup_s")),
            num(parts.get("workers", {}).get("startup_s")),
        )
        start.barh(y, node, 0.6, color=BROKER_GREY)
        start.barh(y, rest, 0.6, left=node, color=mode_colour(m["mode"]))
        ends.append((start, node + rest, y, f"{fmt(node + rest, lang)} s"))
    for ax, key in ((memory, "slides.memory"), (start, "slides.startup")):
        ax.set_yticks(ys, labels=[i18n.text(f"mode.{m}.short", lang) for m in names])
        for tick, mode in zip(ax.get_yticklabels(), names, strict=True):
            tick.set_color(mode_colour(mode))
            tick.set_fontweight("bold")
        ax.set_xlabel(i18n.text(key, lang))
        ax.grid(axis="x", color=GRID)
        ax.set_axisbelow(True)
        ax.set_xlim(0, ax.get_xlim()[1] * 1.5)
        ax.set_ylim(-0.6, len(modes) - 0.4)
    handles = [Patch(facecolor=_part_colour("broker", p)) for p in PARTS]
    parts_names = [i18n.text(f"slides.part.{p}", lang) for p in PARTS]
    start.legend(handles, parts_names, loc="upper right", fontsize=VALUE_PT)
    fit_axes(fig, [memory, start], CHART)
    right: tuple[Offset, ...] = ((8, 0, "left", "center"),)
    for ax, end, row, text in ends:
        label(ax, (end, row), text, INK, right)
    return [memory, start]


PANELS: dict[str, Panel] = {
    "immediate": immediate,
    "buffer": buffer,
    "crash": crash,
    "scale": scale,
    "retry": retry,
    "gil": gil,
    "price": price,
}
