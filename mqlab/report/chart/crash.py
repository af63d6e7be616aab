"""The slides of `mqlab crash-test`: per fault, what was accepted, delivered, lost,
duplicated, failed and sent anyway, and how many users were told the truth, per mode and
safety setting; then its timeline. (A node fault's slides set queue types side by side
instead: `nodes`.)

The black bar of lost mails is the lesson, so harms are bold numbers; a group whose
every trial was skipped says why instead of drawing zero bars.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from matplotlib.axes import Axes
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.transforms import blended_transform_factory

from mqlab.report import i18n
from mqlab.report.chart.style import (
    GRID,
    LABEL_PT,
    MODES,
    MUTED,
    SLIDE_PT,
    VALUE_PT,
    BadChart,
    Chart,
    Result,
    colour_ticklabels,
    mode_colour,
    new_figure,
    num,
    rank,
    slide_legend,
    text_width_pt,
    tick_label,
    wrap,
)
from mqlab.report.chart.timeline import Panel, timeline_chart
from mqlab.report.sentences import NODE_FAULTS, crash_meaning

FAULTS = ("app-kill", "worker-kill", "broker-restart")
SAFETIES = ("default", "no-confirm", "transient", "auto-ack", "idempotent")
# The user's side (accepted, failed) and the inbox's (delivered, lost, duplicates, and mails
# of requests told they failed: sent anyway); then the users told the truth of their mail.
CRASH_METRICS = (
    "accepted",
    "delivered",
    "lost",
    "duplicates",
    "failed",
    "sent_anyway",
    "told_truth",
)
HARM = ("lost", "sent_anyway")  # bold numbers: mails missing, or sent after an error


@dataclass(frozen=True)
class Group:
    """All trials of one mode and safety setting under one fault."""

    mode: str
    safety: str
    rows: list[Result]

    @property
    def live(self) -> list[Result]:
        return [row for row in self.rows if not row.get("skipped")]


def _crash_groups(rows: Sequence[Result], fault: str) -> list[Group]:
    keyed: dict[tuple[str, str], list[Result]] = {}
    for row in rows:
        if row["fault"] == fault:
            keyed.setdefault((row["mode"], row.get("safety") or "default"), []).append(row)
    order = sorted(keyed, key=lambda k: (rank(k[0], MODES), rank(k[1], SAFETIES)))
    return [
        Group(m, s, sorted(keyed[(m, s)], key=lambda r: int(r.get("trial", 0)))) for m, s in order
    ]


def _group_label(group: Group, groups: Sequence[Group], lang: str, *, ticks: bool) -> str:
    """The mode, plus the safety setting when the same mode appears more than once."""
    mode = tick_label(group.mode, lang) if ticks else i18n.mode_label(group.mode, lang)
    if sum(g.mode == group.mode for g in groups) < 2:
        return mode
    if not ticks:  # a panel title beside its peak: the short name leaves room
        return (
            i18n.text(f"mode.{group.mode}.short", lang)
            + " · "
            + i18n.safety_label(group.safety, lang)
        )
    return mode + "\n" + i18n.safety_label(group.safety, lang)


def crash_charts(result: Result, lang: str) -> list[Chart]:
    """The counts and the timeline of every fault but the node faults (`nodes` draws those:
    a row per queue type, not per mode)."""
    rows = result["rows"]
    if not rows:
        raise BadChart("the crash-test result holds no rows")
    faults = sorted(
        {row["fault"] for row in rows if row["fault"] not in NODE_FAULTS},
        key=lambda f: rank(f, FAULTS),
    )
    counts = [_crash_chart(result, f, lang) for f in faults]
    timelines = [_crash_timeline_chart(result, f, lang) for f in faults]
    # the file is already "<time>-crash-test": "-app-kill", not "-crash-app-kill"
    return [(f, fig) for f, fig in zip(faults, counts, strict=True)] + [
        (f"timeline-{f}", fig) for f, fig in zip(faults, timelines, strict=True)
    ]


def _captions(
    result: Result, fault: str, groups: Sequence[Group], lang: str
) -> list[tuple[str, str]]:
    """What each group's bars mean, in the sentences the terminal prints under its table."""
    return [
        (mode_colour(g.mode), crash_meaning(result, fault, g.mode, g.safety, lang)) for g in groups
    ]


def crash_subtitle(result: Result, groups: Sequence[Group], lang: str) -> str:
    trials = max((len(g.live) for g in groups), default=0)
    out = i18n.workload_line(result["config"], [g.mode for g in groups], lang)
    return out + (" · " + i18n.counted("sub.trials", trials, lang) if trials else "")


def _crash_chart(result: Result, fault: str, lang: str) -> Figure:
    """Each of CRASH_METRICS per mode under one fault, summed over trials; one container each."""
    groups = _crash_groups(result["rows"], fault)
    fig = new_figure(
        i18n.text("chart.crash.title", lang).format(fault=i18n.fault_label(fault, lang)),
        crash_subtitle(result, groups, lang),
        _captions(result, fault, groups, lang),
    )
    ax = fig.subplots()
    draw_counts(ax, [(g.live, mode_colour(g.mode)) for g in groups], 1.0, lang)
    mark_skipped(ax, groups, lang)
    size = LABEL_PT if len(groups) <= 4 else VALUE_PT
    slot = SLIDE_PT / (len(groups) + 0.2) * 0.92
    ax.set_xticks(
        range(len(groups)),
        labels=[wrap(_group_label(g, groups, lang, ticks=True), slot, size) for g in groups],
    )
    ax.tick_params(axis="x", length=0, labelsize=size)
    colour_ticklabels(ax, [g.mode for g in groups])
    trials = max((len(g.live) for g in groups), default=0)
    ax.set_ylabel(
        i18n.text("chart.crash.ylabel_sum", lang).format(n=trials)
        if trials > 1
        else i18n.text("chart.crash.ylabel", lang)
    )
    count_legend(fig, lang)
    return fig


def draw_counts(
    ax: Axes, groups: Sequence[tuple[list[Result], str]], share: float, lang: str
) -> None:
    """Each of CRASH_METRICS per group (its rows, summed over trials, and its colour), one
    bar container per metric; a group with no rows draws none. `share`: the part of the
    slide's width the axes get. "n/a" over a count the rows' file did not hold."""
    step = 0.84 / len(CRASH_METRICS)
    width = step * 0.95
    offsets = [(k - (len(CRASH_METRICS) - 1) / 2) * step for k in range(len(CRASH_METRICS))]
    live = [(i, rows, colour) for i, (rows, colour) in enumerate(groups) if rows]
    top = max(
        [1.0, *(sum(num(r.get(m)) for r in rows) for _, rows, _ in live for m in CRASH_METRICS)]
    )
    # numbers wider than their bar (with its gap) stand upright: many groups, four digits
    bar_pt = SLIDE_PT * share / (len(groups) + 0.2) * step
    upright = text_width_pt(f"{top:.0f}", VALUE_PT) > bar_pt * 0.85  # the axes' own margins
    # upright, a number is a line high: as many bars as a crowded slide has need a smaller one
    size = min(VALUE_PT, (bar_pt - 5) / 1.2) if upright else VALUE_PT
    for metric, offset in zip(CRASH_METRICS, offsets, strict=True):
        heights = [float(sum(num(row.get(metric)) for row in rows)) for _, rows, _ in live]
        style = _crash_bar_style(metric, [colour for _, _, colour in live])
        bars = ax.bar(
            [i + offset for i, _, _ in live], heights, width, label=metric, linewidth=1.5, **style
        )
        # a file from before the users were asked has no count to draw: "n/a", not 0
        known = [
            metric != "told_truth" or all(isinstance(r.get(metric), int) for r in rows)
            for _, rows, _ in live
        ]
        texts = ax.bar_label(
            bars,
            labels=[
                f"{h:.0f}" if ok else i18n.text("chart.na", lang)
                for h, ok in zip(heights, known, strict=True)
            ],
            padding=3,
            fontsize=size,
            rotation=90 if upright else 0,
        )
        if metric in HARM:
            for text in texts:
                text.set_fontweight("bold")
        top = max([top, *heights])
    ax.set_ylim(0, top * (1.3 if upright else 1.15))
    ax.set_xlim(-0.6, len(groups) - 0.4)
    ax.grid(axis="y", color=GRID)
    ax.set_axisbelow(True)


def count_legend(fig: Figure, lang: str) -> None:
    """What each bar of `draw_counts` is, at the foot of the plot area."""
    slide_legend(
        fig,
        _crash_legend_handles(),
        [i18n.text(f"col.{m}", lang) for m in CRASH_METRICS],
        loc="lower center",
        ncols=len(CRASH_METRICS),
    )


def _crash_bar_style(metric: str, colours: Sequence[str]) -> dict[str, Any]:
    """Accepted: a tint of the group's colour; delivered: its colour; lost: black;
    duplicates: hatched; failed: dotted; sent anyway: cross-hatched in black (a harm, like
    lost); told the truth: ringed in the group's colour."""
    if metric == "accepted":
        return {"color": [to_rgba(c, 0.35) for c in colours], "edgecolor": list(colours)}
    if metric == "delivered":
        return {"color": list(colours), "edgecolor": list(colours)}
    if metric == "lost":
        return {"color": "black", "edgecolor": "black"}
    if metric == "failed":
        return {"color": "white", "edgecolor": MUTED, "hatch": ".."}
    if metric == "sent_anyway":
        return {"color": "white", "edgecolor": "black", "hatch": "xx"}
    if metric == "told_truth":
        return {"color": "white", "edgecolor": list(colours), "hatch": "oo"}
    return {"color": "white", "edgecolor": list(colours), "hatch": "///"}


def _crash_legend_handles() -> list[Patch]:
    return [
        Patch(facecolor=to_rgba(MUTED, 0.35), edgecolor=MUTED),
        Patch(facecolor=MUTED, edgecolor=MUTED),
        Patch(facecolor="black", edgecolor="black"),
        Patch(facecolor="white", edgecolor=MUTED, hatch="///"),
        Patch(facecolor="white", edgecolor=MUTED, hatch=".."),
        Patch(facecolor="white", edgecolor="black", hatch="xx"),
        Patch(facecolor="white", edgecolor=MUTED, hatch="oo"),
    ]


def mark_skipped(ax: Axes, groups: Sequence[Group], lang: str) -> None:
    """Where every trial was skipped, say so and why instead of drawing zero bars."""
    where = blended_transform_factory(ax.transData, ax.transAxes)
    width = max(12, 120 // max(len(groups), 1))
    for i, group in enumerate(groups):
        if group.live:
            continue
        note = next(
            (i18n.note_text(str(r.get("note")), lang) for r in group.rows if r.get("note")), ""
        )
        body = i18n.text("col.skipped", lang) + ("\n" + textwrap.fill(note, width) if note else "")
        ax.text(
            i,
            0.5,
            body,
            transform=where,
            ha="center",
            va="center",
            fontsize=VALUE_PT,
            color=MUTED,
            bbox={"facecolor": "#F2F2F2", "edgecolor": "none", "pad": 8},
        )


def _crash_timeline_chart(result: Result, fault: str, lang: str) -> Figure:
    """The first trial that ran, per mode and safety setting, with its kills and restarts."""
    groups = _crash_groups(result["rows"], fault)
    events = [e for e in result.get("events", []) if e.get("fault") == fault]
    panels = []
    for group in groups:
        title = _group_label(group, groups, lang, ticks=False)
        if not group.live:
            note = next(
                (i18n.note_text(str(r.get("note")), lang) for r in group.rows if r.get("note")), ""
            )
            skipped = i18n.text("col.skipped", lang) + (f": {note}" if note else "")
            panels.append(Panel(title, group.mode, [], skipped_note=skipped))
            continue
        row = group.live[0]
        trial = row.get("trial", 0)
        if len(group.rows) > 1:  # which of the trials is drawn, when there are several
            title += " · " + i18n.text("chart.timeline.trial", lang).format(n=trial)
        mine = [
            e
            for e in events
            if e.get("mode") == group.mode
            and e.get("trial") == trial
            and e.get("safety", group.safety) == group.safety
        ]
        panels.append(Panel(title, group.mode, row.get("timeline", []), mine))
    title = i18n.text("chart.crash_timeline.title", lang).format(
        fault=i18n.fault_label(fault, lang)
    )
    return timeline_chart(
        panels,
        title,
        crash_subtitle(result, groups, lang),
        lang,
        _captions(result, fault, groups, lang),
    )
