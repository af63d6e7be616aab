"""Timelines: what was accepted, delivered and still waiting, second by second.

Small multiples, one panel per mode (run, compare) or per mode and safety setting
(crash-test), sharing both axes so the modes compare at a glance; kills and restarts are
dashed lines with their names, and each panel's peak backlog is its right-hand title.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from matplotlib import ticker
from matplotlib.axes import Axes
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.text import Text
from matplotlib.transforms import ScaledTranslation, blended_transform_factory

from mqlab.report import i18n
from mqlab.report.chart.style import (
    ACCEPTED_GREY,
    GRID,
    INK,
    LABEL_PT,
    MUTED,
    SLIDE_PT,
    VALUE_PT,
    Result,
    fmt,
    mode_colour,
    new_figure,
    num,
    slide_legend,
    text_width_pt,
    wrap,
)


@dataclass(frozen=True)
class Panel:
    """One small multiple of a timeline figure."""

    title: str
    mode: str
    timeline: list[Result]
    events: list[Result] = field(default_factory=list)
    skipped_note: str | None = None
    colour: str | None = None  # the mode's unless given (the cluster's: the queue type's)


def _waiting(panel: Panel) -> bool:
    """Sync's queue is its users in line at the server: drawn from `in_flight` when the
    file has it (files from before the field draw the backlog alone)."""
    return panel.mode == "sync" and any(
        isinstance(row.get("in_flight"), (int, float)) for row in panel.timeline
    )


def timeline_chart(
    panels: list[Panel],
    title: str,
    subtitle: str,
    lang: str,
    captions: Sequence[tuple[str, str]] = (),
) -> Figure:
    """Small multiples sharing both axes, so modes compare at a glance; `captions` as in
    `new_figure`."""
    fig = new_figure(title, subtitle, captions)
    ncols = 1 if len(panels) <= 3 else 2
    nrows = math.ceil(len(panels) / ncols)
    axes = fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False)
    size = LABEL_PT if ncols == 1 else VALUE_PT
    top = max(
        [
            _plot_timeline(ax, panel, lang, size)
            for ax, panel in zip(axes.flat, panels, strict=False)
        ]
        + [1.0]
    )
    # shared: one scale for every mode; room above the data for the event labels
    axes[0, 0].set_ylim(0, top * (1.25 + 0.2 * nrows))
    # panels share the height with the captions: fewer ticks the more rows there are
    axes[0, 0].yaxis.set_major_locator(ticker.MaxNLocator(nbins={1: 6, 2: 4}.get(nrows, 2)))
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    for col in range(ncols):  # the lowest panel of each column, above an empty slot too
        lowest = max(r for r in range(nrows) if r * ncols + col < len(panels))
        axes[lowest, col].xaxis.set_tick_params(labelbottom=True)
        if lowest == nrows - 1:  # one axis title per column, under its bottom row
            axes[lowest, col].set_xlabel(i18n.text("chart.timeline.xlabel", lang))
    xlim = axes[0, 0].get_xlim()  # shared: known once every panel is drawn
    for ax, panel in zip(axes.flat, panels, strict=False):
        _label_events(ax, panel.events, lang, xlim, SLIDE_PT / ncols * 0.9)
    fig.supylabel(i18n.text("chart.timeline.ylabel", lang), fontsize=LABEL_PT)
    # the legend names only what is drawn: no queue depth on a sync-only slide
    drawn = [p for p in panels if p.skipped_note is None]
    depth = any(isinstance(r.get("queue_depth"), (int, float)) for p in drawn for r in p.timeline)
    entries: list[tuple[str, Any]] = [
        ("accepted", Patch(color=ACCEPTED_GREY)),
        ("delivered", Line2D([], [], color=INK, linewidth=3.5)),
    ]
    if not drawn or not all(_waiting(p) for p in drawn):
        entries.append(("backlog", Patch(facecolor=to_rgba(INK, 0.2), edgecolor=INK)))
    if depth:
        entries.append(("queue", Line2D([], [], color=INK, linestyle="--", linewidth=2)))
    if any(_waiting(p) for p in drawn):
        entries.append(
            ("waiting", Patch(facecolor="white", edgecolor=mode_colour("sync"), hatch="//"))
        )
    keys = [k for k, _ in entries]
    handles = [h for _, h in entries]
    slide_legend(
        fig,
        handles,
        [i18n.text(f"chart.timeline.{k}", lang) for k in keys],
        loc="lower center",
        ncols=len(keys) if len(keys) <= 4 else 3,
    )
    return fig


def _plot_timeline(ax: Axes, panel: Panel, lang: str, size: float) -> float:
    """Accepted (grey bars), delivered (line), backlog or users waiting (area); returns the
    highest value. The peak goes in the panel's right-hand title, where no line runs."""
    colour = panel.colour or mode_colour(panel.mode)
    ax.set_title(panel.title, color=colour, fontsize=size)
    ax.grid(axis="y", color=GRID)
    ax.set_axisbelow(True)
    if panel.skipped_note is not None:
        _say_instead(ax, wrap(panel.skipped_note, SLIDE_PT * 0.4, VALUE_PT))
        return 0.0
    rows = sorted(panel.timeline, key=lambda row: float(row["t"]))
    if not rows:
        _say_instead(ax, i18n.text("chart.na", lang))
        return 0.0
    t = [float(row["t"]) for row in rows]
    step = min((b - a for a, b in itertools.pairwise(t) if b > a), default=1.0)
    waiting = _waiting(panel)
    backlog = [num(row.get("in_flight" if waiting else "backlog")) for row in rows]
    accepted = [num(row.get("accepted")) for row in rows]
    delivered = [num(row.get("delivered")) for row in rows]
    ax.bar(t, accepted, step * 0.9, color=ACCEPTED_GREY)
    if waiting:
        ax.fill_between(t, backlog, facecolor="none", edgecolor=colour, hatch="//", linewidth=0)
    else:
        ax.fill_between(t, backlog, color=colour, alpha=0.2, linewidth=0)
    ax.plot(t, backlog, color=colour, linewidth=1.5)
    ax.plot(t, delivered, color=colour, linewidth=3.5, drawstyle="steps-mid")
    depth = [
        (x, float(row["queue_depth"]))
        for x, row in zip(t, rows, strict=True)
        if isinstance(row.get("queue_depth"), (int, float))
    ]
    if depth:
        ax.plot(
            [x for x, _ in depth], [y for _, y in depth], color=INK, linestyle="--", linewidth=2
        )
    _mark_peak(ax, t, backlog, colour, "peak_waiting" if waiting else "peak", lang, size)
    _mark_events(ax, panel.events)
    return max([*accepted, *delivered, *backlog, *(y for _, y in depth), 0.0])


def _mark_peak(
    ax: Axes,
    t: Sequence[float],
    backlog: Sequence[float],
    colour: str,
    key: str,
    lang: str,
    size: float,
) -> None:
    """A dot on the highest backlog, and its value as the panel's right-hand title."""
    if not backlog or max(backlog) <= 0:
        return
    i = max(range(len(backlog)), key=backlog.__getitem__)
    ax.plot([t[i]], [backlog[i]], "o", color=colour, markersize=9, markeredgecolor="white")
    ax.set_title(
        i18n.text(f"chart.timeline.{key}", lang).format(value=fmt(backlog[i])),
        loc="right",
        fontsize=size,
        fontweight="bold",
        color=colour,
    )


def _mark_events(ax: Axes, events: Sequence[Result]) -> None:
    """A dashed vertical line at each kill or restart; `_label_events` names them."""
    for event in events:
        ax.axvline(float(event["t"]), color="black", linestyle=(0, (4, 3)), linewidth=2)


def _label_events(
    ax: Axes, events: Sequence[Result], lang: str, xlim: tuple[float, float], width_pt: float
) -> None:
    """A label beside each event's line: right of it, or left of it in the right part of
    the time axis (so it stays in its panel). A label that would run into the one before
    it goes one row lower, a fixed number of points apart; others stay on the top row, so
    a short panel keeps its labels above its tick labels."""
    where = blended_transform_factory(ax.transData, ax.transAxes)
    lo, hi = xlim
    per_pt = (hi - lo) / width_pt  # data units per point across the panel
    ends: list[float] = [-math.inf, -math.inf]  # where each row's last label ends
    last: tuple[Result, Text] | None = None  # the top row's last event and its label
    for event in sorted(events, key=lambda e: float(e["t"])):
        t = float(event["t"])
        name = i18n.event_label(event["kind"], event["target"], lang)
        late = t > lo + 0.6 * (hi - lo)
        wide = text_width_pt(name + "  ", VALUE_PT) * 1.1 * per_pt  # bold
        start = t - wide if late else t
        if start <= ends[0] and last is not None and _restart_of(last[0], event):
            # "worker killed" and, moments later, "worker restarted": one label says both
            both = i18n.text("event.kill_restart", lang).format(
                target=i18n.target_label(event["target"], lang)
            )
            label = last[1]
            label.set_text(f"{both} " if label.get_horizontalalignment() == "right" else f" {both}")
            ends[0] = max(
                ends[0], float(last[0]["t"]) + text_width_pt(both, VALUE_PT) * 1.1 * per_pt
            )
            last = None
            continue
        row = 0 if start > ends[0] else 1
        ends[row] = start + wide
        down = -8 - row * VALUE_PT * 1.6  # points: the same gap on any panel height
        label = ax.text(
            t,
            1.0,
            f"{name} " if late else f" {name}",
            transform=where + ScaledTranslation(0, down / 72, ax.figure.dpi_scale_trans),
            ha="right" if late else "left",
            va="top",
            fontsize=VALUE_PT,
            fontweight="bold",
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 1},
        )
        last = (event, label) if row == 0 else None


def _restart_of(before: Result, event: Result) -> bool:
    """Is `event` the restart of what `before` killed?"""
    return (
        before.get("kind") == "kill"
        and event.get("kind") == "restart"
        and before.get("target") == event.get("target")
    )


def _say_instead(ax: Axes, note: str) -> None:
    """A panel with nothing to draw says why, in its middle."""
    ax.text(
        0.5,
        0.5,
        note,
        transform=ax.transAxes,
        ha="center",
        va="center",
        fontsize=VALUE_PT,
        color=MUTED,
    )
