"""The slides of a cluster node killed (`mqlab crash-test --faults node-kill,node-loss`):
classic against quorum queues, one group of bars per queue type, not per mode.

Beside the counts of every crash slide (accepted, delivered, lost, duplicates, failed,
sent anyway, told the truth; summed over the trials), a panel of how soon the cluster
accepted signups again after the kill (the median over the trials that did, and how many
never did); then the timeline of each queue type's first trial, the kill and the restart
marked.
"""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from mqlab.report import i18n
from mqlab.report.chart.crash import (
    Group,
    count_legend,
    crash_charts,
    crash_subtitle,
    draw_counts,
    mark_skipped,
)
from mqlab.report.chart.style import (
    GRID,
    LABEL_PT,
    MUTED,
    SLIDE_PT,
    VALUE_PT,
    Chart,
    Result,
    new_figure,
    queue_colour,
    wrap,
)
from mqlab.report.chart.timeline import Panel, timeline_chart
from mqlab.report.sentences import (
    NODE_FAULTS,
    median,
    node_groups,
    node_label,
    node_meaning,
    node_rows,
    recovery,
)

WIDTHS = (3.0, 1.0)  # the counts, and the seconds until the cluster accepted again
EVENTS = ("kill", "restart")  # drawn on the timeline; disk-lost and forgotten come with kill


def crash_test_charts(result: Result, lang: str) -> list[Chart]:
    """Every chart of a crash-test file: `crash_charts` for the faults of a mode, then the
    counts and the timeline of each node fault."""
    charts = crash_charts(result, lang)
    struck = [f for f in NODE_FAULTS if any(r["fault"] == f for r in result["rows"])]
    charts += [(f, _node_chart(result, f, lang)) for f in struck]
    charts += [(f"timeline-{f}", _node_timeline(result, f, lang)) for f in struck]
    return charts


def _groups(result: Result, fault: str) -> list[tuple[str, Group]]:
    """(queue type, its rows as a Group) per queue type and safety setting, classic first."""
    return [
        (
            kind,
            Group(
                "broker",
                safety,
                sorted(
                    (dict(r) for r in node_rows(result, fault, kind, safety)),
                    key=lambda r: int(r["trial"]),
                ),
            ),
        )
        for kind, safety in node_groups(result, fault)
    ]


def _captions(result: Result, fault: str, lang: str) -> list[tuple[str, str]]:
    """What each queue type's bars mean, as the terminal says it under the node table."""
    return [
        (queue_colour(kind), node_meaning(result, fault, kind, group.safety, lang))
        for kind, group in _groups(result, fault)
    ]


def _node_chart(result: Result, fault: str, lang: str) -> Figure:
    groups = _groups(result, fault)
    fig = new_figure(
        i18n.text("chart.crash.title", lang).format(fault=i18n.fault_label(fault, lang)),
        crash_subtitle(result, [g for _, g in groups], lang),
        _captions(result, fault, lang),
    )
    counts, back = fig.subplots(1, 2, width_ratios=WIDTHS)
    share = WIDTHS[0] / sum(WIDTHS)
    draw_counts(counts, [(g.live, queue_colour(k)) for k, g in groups], share, lang)
    mark_skipped(counts, [g for _, g in groups], lang)
    names = [node_label(result, fault, k, g.safety, lang) for k, g in groups]
    slot = SLIDE_PT * share / (len(groups) + 0.2) * 0.92
    _name_ticks(counts, names, [k for k, _ in groups], slot, LABEL_PT)
    trials = max((len(g.live) for _, g in groups), default=0)
    counts.set_ylabel(
        i18n.text("chart.crash.ylabel_sum", lang).format(n=trials)
        if trials > 1
        else i18n.text("chart.crash.ylabel", lang)
    )
    _recovery_bars(back, groups, lang)
    count_legend(fig, lang)
    return fig


def _name_ticks(
    ax: Axes, names: Sequence[str], kinds: Sequence[str], slot: float, size: float
) -> None:
    """Each group's name under it, wrapped to its slot, in its queue type's colour."""
    ax.set_xticks(range(len(names)), labels=[wrap(n, slot, size) for n in names])
    ax.tick_params(axis="x", length=0, labelsize=size)
    for label, kind in zip(ax.get_xticklabels(), kinds, strict=False):
        label.set_color(queue_colour(kind))
        label.set_fontweight("bold")


def _recovery_bars(ax: Axes, groups: Sequence[tuple[str, Group]], lang: str) -> None:
    """Seconds from the kill until signups were accepted again, per queue type: the median
    over the trials that got there, "never" for those that did not."""
    top = 0.0
    marks: list[tuple[int, float, str]] = []
    for i, (kind, group) in enumerate(groups):
        timed = recovery(group.live) if group.live else None
        if timed is None:
            marks.append((i, 0.0, i18n.text("chart.na", lang)))
            continue
        back, never = timed
        height = median(back) if back else 0.0
        ax.bar(i, height, 0.6, color=queue_colour(kind))
        label = f"{height:.1f}" if back else i18n.text("col.recovery_s.never", lang)
        if back and never:
            label += "\n" + i18n.text("chart.node.never_some", lang).format(
                k=never, n=len(group.live)
            )
        marks.append((i, height, label))
        top = max(top, height)
    top = top or 1.0
    slot = SLIDE_PT * WIDTHS[1] / sum(WIDTHS) / (len(groups) + 0.2) * 0.92
    for i, height, label in marks:
        ax.annotate(
            wrap(label, slot, VALUE_PT),  # "never in 2 of 3" under the seconds, in its slot
            (i, height),
            xytext=(0, 4),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=VALUE_PT,
            fontweight="bold",
            color=MUTED if label == i18n.text("chart.na", lang) else "black",
        )
    ax.set_ylim(0, top * 1.5)
    ax.set_xlim(-0.6, len(groups) - 0.4)
    width = SLIDE_PT * WIDTHS[1] / sum(WIDTHS)
    ax.set_title(wrap(i18n.text("chart.node.recovery", lang), width, LABEL_PT), fontsize=LABEL_PT)
    trials = max((len(g.live) for _, g in groups), default=0)
    if trials > 1:  # what the bars are: the middle trial that got there
        median_of = i18n.text("chart.node.median", lang).format(n=trials)
        ax.set_xlabel(wrap(median_of, width, VALUE_PT), fontsize=VALUE_PT, color=MUTED)
    kinds = [k for k, _ in groups]
    _name_ticks(ax, [i18n.queue_label(k, lang, short=True) for k in kinds], kinds, slot, VALUE_PT)
    ax.grid(axis="y", color=GRID)
    ax.set_axisbelow(True)


def _node_timeline(result: Result, fault: str, lang: str) -> Figure:
    """The first trial that ran of each queue type, with its kill and restart."""
    groups = _groups(result, fault)
    events = [e for e in result.get("events", []) if e.get("fault") == fault]
    panels = []
    for kind, group in groups:
        title = node_label(result, fault, kind, group.safety, lang)
        if not group.live:
            note = next(
                (i18n.note_text(str(r.get("note")), lang) for r in group.rows if r.get("note")), ""
            )
            skipped = i18n.text("col.skipped", lang) + (f": {note}" if note else "")
            panels.append(
                Panel(title, "broker", [], skipped_note=skipped, colour=queue_colour(kind))
            )
            continue
        row = group.live[0]
        trial = row.get("trial", 0)
        if len(group.rows) > 1:
            title += " · " + i18n.text("chart.timeline.trial", lang).format(n=trial)
        mine = [
            {**e, "target": "node"}  # the node's name says nothing on a slide
            for e in events
            if (e.get("queue_type") or "classic") == kind
            and e.get("trial") == trial
            and e.get("safety", group.safety) == group.safety
            and e.get("kind") in EVENTS
        ]
        panels.append(
            Panel(title, "broker", row.get("timeline", []), mine, colour=queue_colour(kind))
        )
    title = i18n.text("chart.crash_timeline.title", lang).format(
        fault=i18n.fault_label(fault, lang)
    )
    return timeline_chart(
        panels,
        title,
        crash_subtitle(result, [g for _, g in groups], lang),
        lang,
        _captions(result, fault, lang),
    )
