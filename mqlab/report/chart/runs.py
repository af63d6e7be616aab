"""The three slides of `mqlab run` and `mqlab compare`: latency, throughput and timeline.

Latency shows p50, p95 and p99 of the user's wait per mode ("the user waits" against
"answered at once"); throughput sets the end-to-end percentiles beside mails per second
and the ideal W ÷ scan time; the timeline shows each mode's backlog as the load arrives.
A percentile spoiled by the load generator's own lateness is marked, and said so below.
"""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.axes import Axes
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.transforms import blended_transform_factory

from mqlab.measure import metrics
from mqlab.report import i18n
from mqlab.report.chart.price import price_chart
from mqlab.report.chart.style import (
    GRID,
    INK,
    LABEL_PT,
    MODES,
    MUTED,
    SLIDE_PT,
    TICK_PT,
    VALUE_PT,
    BadChart,
    Chart,
    Result,
    centre_groups,
    colour_ticklabels,
    fitting,
    fmt,
    log_scale_if_spread,
    mode_colour,
    new_figure,
    num,
    rank,
    slide_legend,
    tick_label,
    wrap,
)
from mqlab.report.chart.timeline import Panel, timeline_chart
from mqlab.report.sentences import (
    broker_of,
    brokers_of,
    cores_of,
    price_runs,
    queue_type_of,
    queue_types,
    run_label,
    run_meaning,
)

PERCENTILES = ("p50", "p95", "p99")
Captions = Sequence[tuple[str, str]]  # (colour, sentence) per mode: see style.new_figure
LATE_MARK = "*"  # a value spoiled by the load generator's own lateness: explained below it


def run_ideal(mode: str, config: Result, cores: int | None = None) -> float | None:
    """`metrics.ideal_per_s` of a saved run: its mode's parallel scanners (sync: the server's
    threads, else the workers), scan time, rate, and `cores` if the scan is CPU-bound."""
    scan_ms = config.get("scan_ms")
    parallel = config.get("server_threads" if mode == "sync" else "workers")
    rate = config.get("rate")
    if not isinstance(scan_ms, (int, float)) or not isinstance(parallel, int):
        return None
    return metrics.ideal_per_s(
        parallel,
        scan_ms,
        cores if config.get("scan_kind") == "cpu" else None,
        rate if isinstance(rate, (int, float)) else 0.0,
    )


def run_charts(result: Result, lang: str) -> list[Chart]:
    runs = [result] if result["kind"] == "run" else list(result["runs"])
    if not runs:
        raise BadChart("the compare result holds no runs")
    runs.sort(key=lambda run: rank(run["mode"], MODES))  # stable: queue types keep their order
    config = result["config"]
    # every slide ends with what each mode's numbers mean, in the table's own sentences
    captions = [
        (mode_colour(run["mode"]), run_meaning(run, lang, run_label(run, runs, lang)))
        for run in runs
    ]
    charts = [
        ("latency", _latency_chart(runs, config, lang, captions)),
        ("throughput", _throughput_chart(runs, config, lang, captions)),
        ("timeline", _run_timeline_chart(runs, config, lang, captions)),
    ]
    if price_runs(runs):  # the broker on several queue types: what replication costs
        charts.append(("replication", price_chart(runs, config, lang)))
    return charts


def _tick(run: Result, runs: Sequence[Result], lang: str, width_pt: float, size: float) -> str:
    """The mode's name under its bars; a broker run's queue type on a line of its own when
    the broker ran on several."""
    label = tick_label(run["mode"], lang, width_pt, size)
    if run["mode"] == "broker" and len(brokers_of(runs)) > 1:
        label += "\n" + wrap(i18n.broker_label(broker_of(run), lang), width_pt, size)
    if run["mode"] == "broker" and len(queue_types(runs)) > 1:
        label += "\n" + wrap(i18n.queue_label(queue_type_of(run), lang), width_pt, size)
    return label


def _run_config(run: Result, shared: Result) -> Result:
    """A run's own config over the shared one (compare files hold both)."""
    return {**shared, **run.get("config", {})}


def _latency_chart(runs: list[Result], config: Result, lang: str, captions: Captions) -> Figure:
    fig = new_figure(
        i18n.text("chart.latency.title", lang),
        i18n.workload_line(config, [r["mode"] for r in runs], lang),
        captions,
    )
    ax = fig.subplots()
    waits = [_wait_caption(run, config, lang) for run in runs]
    _percentile_bars(ax, runs, "response_ms", waits, lang)
    ax.set_ylabel(i18n.text("chart.latency.ylabel", lang))
    return fig


def _wait_caption(run: Result, shared: Result, lang: str) -> str:
    """ "user waits" when the median answer took at least half a scan, else "answered at once"."""
    scan_ms = _run_config(run, shared).get("scan_ms")
    p50 = run["summary"]["response_ms"].get("p50")
    if not isinstance(scan_ms, (int, float)) or scan_ms <= 0 or p50 is None:
        return ""
    key = "chart.latency.waits" if p50 >= scan_ms / 2 else "chart.latency.at_once"
    return i18n.text(key, lang)


def _percentile_bars(
    ax: Axes,
    runs: list[Result],
    key: str,
    captions: Sequence[str],
    lang: str,
    share: float = 1.0,
) -> None:
    """p50, p95, p99 side by side for each mode; one bar container per mode. `share`: the
    part of the slide's width the axes get (mode names wrap to fit their group)."""
    offsets, width, alphas = (-0.28, 0.0, 0.28), 0.26, (1.0, 0.72, 0.46)
    bar_pt = SLIDE_PT * share / (max(len(runs), 3) + 0.2) * 0.28  # a bar and its gap
    values: list[float] = []
    any_late = False
    for i, run in enumerate(runs):
        stats = run["summary"][key]
        raw = [stats.get(p) for p in PERCENTILES]
        heights = [num(v) for v in raw]
        colours = [to_rgba(mode_colour(run["mode"]), a) for a in alphas]
        xs = [i + o for o in offsets]
        bars = ax.bar(xs, heights, width, color=colours, label=run["mode"])
        # A percentile carrying the load generator's own delay says so on the slide too.
        doubtful = metrics.untrusted(run["summary"], run.get("config", {}).get("rate"))
        late = [f"{key}.{p}" in doubtful for p in PERCENTILES]
        labels = [
            "" if v is None else fmt(v, lang) + (LATE_MARK if bad else "")
            for v, bad in zip(raw, late, strict=True)
        ]
        ax.bar_label(bars, labels=labels, padding=4, fontsize=fitting(labels, bar_pt))
        any_late = any_late or any(late)
        _label_missing(ax, [x for x, v in zip(xs, raw, strict=True) if v is None], lang)
        values += heights
    log_scale_if_spread(ax, values, top_room=1.15)
    ax.set_xticks(
        [i + o for i in range(len(runs)) for o in offsets],
        labels=list(PERCENTILES) * len(runs),
        minor=True,
    )
    size = LABEL_PT if share >= 1 else TICK_PT
    slot = SLIDE_PT * share / (max(len(runs), 3) + 0.2) * 0.9
    labels = [
        _tick(run, runs, lang, slot, size) + (f"\n{cap}" if cap else "")
        for run, cap in zip(runs, captions, strict=True)
    ]
    ax.set_xticks(range(len(runs)), labels=labels)
    ax.xaxis.remove_overlapping_locs = False  # keep the "p95" minor tick under the mode name
    ax.tick_params(axis="x", which="both", length=0)
    ax.tick_params(axis="x", which="minor", labelsize=VALUE_PT, labelcolor=MUTED)
    ax.tick_params(axis="x", which="major", pad=TICK_PT * 1.8, labelsize=size)
    colour_ticklabels(ax, [run["mode"] for run in runs])
    centre_groups(ax, len(runs))
    ax.grid(axis="y", color=GRID)
    ax.set_axisbelow(True)
    if any_late:  # what the mark means, under the bars it marks
        note = LATE_MARK + " " + i18n.text("chart.late_note", lang)
        ax.set_xlabel(
            wrap(note, SLIDE_PT * share, VALUE_PT), fontsize=VALUE_PT, color=MUTED, labelpad=14
        )


def _label_missing(ax: Axes, xs: Sequence[float], lang: str) -> None:
    """ "n/a" at the foot of a bar that has no value (no samples), on any y scale."""
    where = blended_transform_factory(ax.transData, ax.transAxes)
    for x in xs:
        ax.text(
            x,
            0.02,
            i18n.text("chart.na", lang),
            transform=where,
            ha="center",
            va="bottom",
            fontsize=VALUE_PT,
            color=MUTED,
        )


def _throughput_chart(runs: list[Result], config: Result, lang: str, captions: Captions) -> Figure:
    fig = new_figure(
        i18n.text("chart.throughput.title", lang),
        i18n.workload_line(config, [r["mode"] for r in runs], lang),
        captions,
    )
    left, right = fig.subplots(1, 2)
    _percentile_bars(left, runs, "e2e_ms", [""] * len(runs), lang, share=0.5)
    left.set_title(i18n.text("chart.throughput.e2e", lang))
    right.set_title(i18n.text("chart.throughput.rate", lang))
    if _throughput_bars(right, runs, config, lang):
        ideal = Line2D([], [], color=INK, linestyle="--", linewidth=3)
        slide_legend(fig, [ideal], [i18n.text("chart.ideal", lang)], loc="lower right")
    return fig


def _throughput_bars(ax: Axes, runs: list[Result], config: Result, lang: str) -> bool:
    """Mails per second per mode, a dashed ideal W ÷ scan time over each bar (True if any)."""
    raw = [run["summary"].get("throughput_per_s") for run in runs]
    heights = [num(v) for v in raw]
    ideals = [run_ideal(run["mode"], _run_config(run, config), cores_of(run)) for run in runs]
    top = max([*heights, *(i for i in ideals if i is not None), 1.0]) * 1.2
    bars = ax.bar(range(len(runs)), heights, 0.6, color=[mode_colour(r["mode"]) for r in runs])
    # the value sits inside a tall bar, so it never collides with the ideal label above
    text = [fmt(v, lang) for v in raw]
    inside = [h >= 0.12 * top for h in heights]
    ax.bar_label(
        bars,
        labels=[s if ok else "" for s, ok in zip(text, inside, strict=True)],
        label_type="center",
        color="white",
        fontsize=VALUE_PT,
        fontweight="bold",
    )
    ax.bar_label(
        bars,
        labels=["" if ok else s for s, ok in zip(text, inside, strict=True)],
        padding=4,
        fontsize=VALUE_PT,
        fontweight="bold",
    )
    for i, ideal in enumerate(ideals):
        if ideal is None:
            continue
        ax.hlines(ideal, i - 0.4, i + 0.4, colors=INK, linestyles="--", linewidth=3)
        ax.annotate(
            i18n.text("chart.ideal_value", lang).format(value=fmt(ideal)),
            (i, ideal),
            xytext=(0, 6),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=VALUE_PT,
        )
    ax.set_ylim(0, top)
    centre_groups(ax, len(runs))
    slot = SLIDE_PT / 2 / (max(len(runs), 3) + 0.2) * 0.9  # one of two panels
    ax.set_xticks(range(len(runs)), labels=[_tick(r, runs, lang, slot, TICK_PT) for r in runs])
    ax.tick_params(axis="x", length=0, labelsize=TICK_PT)
    colour_ticklabels(ax, [r["mode"] for r in runs])
    ax.grid(axis="y", color=GRID)
    ax.set_axisbelow(True)
    return any(ideal is not None for ideal in ideals)


def _run_timeline_chart(
    runs: list[Result], config: Result, lang: str, captions: Captions
) -> Figure:
    panels = [
        Panel(
            run_label(run, runs, lang),
            run["mode"],
            run.get("timeline", []),
            run.get("events", []),
        )
        for run in runs
    ]
    return timeline_chart(
        panels,
        _timeline_title(config, lang),
        i18n.workload_line(config, [r["mode"] for r in runs], lang),
        lang,
        captions,
    )


def _timeline_title(config: Result, lang: str) -> str:
    """Name the load that was sent: a spike (all at once) is absorbed; a steady rate is not
    a spike, the question there is where the requests wait."""
    n, rate = config.get("requests"), config.get("rate")
    if not isinstance(n, int) or not isinstance(rate, (int, float)):
        return i18n.text("chart.timeline.title", lang)
    if rate <= 0:
        return i18n.text("chart.timeline.title.spike", lang).format(n=n)
    return i18n.text("chart.timeline.title.steady", lang).format(n=n, rate=fmt(rate, lang))
