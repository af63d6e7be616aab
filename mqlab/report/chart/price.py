"""The slide of `mqlab compare --queue-types classic,quorum`: the price of replication.

The broker on the same cluster and workload, one queue type after the other, side by
side: a confirmed publish alone (the floor `calibrate.quick` measured on that queue type
just before its run: a quorum queue confirms once a majority of its replicas wrote the
job), the users' answer in the run (that confirm, plus HTTP), and the mails per second.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.axes import Axes
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure

from mqlab.measure import metrics
from mqlab.report import i18n
from mqlab.report.chart.style import (
    GRID,
    MUTED,
    SLIDE_PT,
    TICK_PT,
    VALUE_PT,
    Result,
    fitting,
    fmt,
    log_scale_if_spread,
    new_figure,
    num,
    queue_colour,
    wrap,
)
from mqlab.report.sentences import confirm_ms, price_meanings, price_runs, queue_type_of

PERCENTILES = ("p50", "p95", "p99")
LATE_MARK = "*"  # as on the latency slide: a value carrying the load generator's delay
WIDTHS = (2.0, 2.0, 1.3)  # confirm, answer, throughput: the panels' shares of the width


def price_chart(runs: Sequence[Result], config: Result, lang: str) -> Figure:
    """Confirm alone, the users' answer, and throughput, per queue type of the broker."""
    priced = price_runs(runs)
    kinds = [queue_type_of(r) for r in priced]
    colours = [queue_colour(k) for k in kinds]
    fig = new_figure(
        i18n.text("chart.price.title", lang),
        i18n.workload_line(config, ["broker"], lang),
        list(zip(colours, price_meanings(runs, lang), strict=True)),
    )
    confirm, answer, rate = fig.subplots(1, 3, width_ratios=WIDTHS)
    share = [w / sum(WIDTHS) for w in WIDTHS]
    names = [i18n.queue_label(k, lang) for k in kinds]
    floors = [confirm_ms(r) for r in priced]
    _percentile_bars(confirm, floors, [set() for _ in priced], names, colours, lang, share[0])
    confirm.set_title(i18n.text("chart.price.confirm", lang))
    late = [set(metrics.untrusted(r["summary"], r.get("config", {}).get("rate"))) for r in priced]
    answers = [r["summary"]["response_ms"] for r in priced]
    doubtful = [{p for p in PERCENTILES if f"response_ms.{p}" in bad} for bad in late]
    _percentile_bars(answer, answers, doubtful, names, colours, lang, share[1])
    answer.set_title(i18n.text("chart.price.response", lang))
    if any(doubtful):  # what the mark means, under the bars it marks
        note = LATE_MARK + " " + i18n.text("chart.late_note", lang)
        answer.set_xlabel(wrap(note, SLIDE_PT * share[1], VALUE_PT), fontsize=VALUE_PT, color=MUTED)
    short = [i18n.queue_label(k, lang, short=True) for k in kinds]  # the narrowest panel
    _rate_bars(rate, [r["summary"].get("throughput_per_s") for r in priced], short, colours, lang)
    rate.set_title(i18n.text("chart.throughput.rate", lang))
    return fig


def _percentile_bars(
    ax: Axes,
    values: Sequence[Mapping[str, Any] | None],
    late: Sequence[set[str]],
    names: Sequence[str],
    colours: Sequence[str],
    lang: str,
    share: float,
) -> None:
    """p50, p95, p99 side by side per queue type, darkest first; "n/a" where not measured."""
    offsets, width, alphas = (-0.28, 0.0, 0.28), 0.26, (1.0, 0.72, 0.46)
    bar_pt = SLIDE_PT * share / (len(names) + 0.2) * 0.28
    heights: list[float] = []
    for i, (stats, colour, bad) in enumerate(zip(values, colours, late, strict=True)):
        raw = [None if stats is None else stats.get(p) for p in PERCENTILES]
        tall = [num(v) for v in raw]
        bars = ax.bar(
            [i + o for o in offsets], tall, width, color=[to_rgba(colour, a) for a in alphas]
        )
        labels = [
            i18n.text("chart.na", lang) if v is None else fmt(v, lang) + (LATE_MARK * (p in bad))
            for v, p in zip(raw, PERCENTILES, strict=True)
        ]
        ax.bar_label(bars, labels=labels, padding=4, fontsize=fitting(labels, bar_pt))
        heights += tall
    log_scale_if_spread(ax, heights, top_room=1.18)
    ax.set_xticks(
        [i + o for i in range(len(names)) for o in offsets],
        labels=list(PERCENTILES) * len(names),
        minor=True,
    )
    _name_groups(ax, names, colours, share)
    ax.xaxis.remove_overlapping_locs = False  # keep the "p95" minor tick under the name
    ax.tick_params(axis="x", which="minor", labelsize=VALUE_PT, labelcolor=MUTED, length=0)
    ax.tick_params(axis="x", which="major", pad=TICK_PT * 1.8)


def _rate_bars(
    ax: Axes,
    rates: Sequence[float | None],
    names: Sequence[str],
    colours: Sequence[str],
    lang: str,
) -> None:
    """Mails per second per queue type, the value above its bar."""
    bars = ax.bar(range(len(rates)), [num(r) for r in rates], 0.6, color=list(colours))
    ax.bar_label(
        bars,
        labels=[fmt(r, lang) for r in rates],
        padding=4,
        fontsize=VALUE_PT,
        fontweight="bold",
    )
    ax.set_ylim(0, max([num(r) for r in rates] + [1.0]) * 1.2)
    _name_groups(ax, names, colours, WIDTHS[2] / sum(WIDTHS))


def _name_groups(ax: Axes, names: Sequence[str], colours: Sequence[str], share: float) -> None:
    """Each queue type's name under its group, in its colour, wrapped to its slot."""
    ax.set_xlim(-0.6, len(names) - 0.4)  # two groups: each gets half the panel
    slot = SLIDE_PT * share / (len(names) + 0.2) * 0.9
    ax.set_xticks(range(len(names)), labels=[wrap(n, slot, TICK_PT) for n in names])
    ax.tick_params(axis="x", which="major", length=0, labelsize=TICK_PT)
    for label, colour in zip(ax.get_xticklabels(), colours, strict=False):
        label.set_color(colour)
        label.set_fontweight("bold")
    ax.grid(axis="y", color=GRID)
    ax.set_axisbelow(True)
