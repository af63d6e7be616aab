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


def _waiting(panel: Panel) -> bool:
    """Sync's queue is its users in line at the server: drawn from `in_flight` when the
    file has it (files from before the field draw the backlog alone)."""
    return panel.mode == "sync" and any(
        isinstance(row.get("in_flight"), (int, float)) for row in panel.timeline
    )


def timeline_chart(panels: list[Panel], title: str, subtitle: str, lang: str) -> Figure:
    """Small multiples sharing both axes, so modes compare at a glance."""
    fig = new_figure(title, subtitle)
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
    axes[0, 0].yaxis.set_major_locator(ticker.MaxNLocator(nbins=4 if nrows > 1 else 6))
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel(i18n.text("chart.timeline.xlabel", lang))
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
    fig.legend(
        handles,
        [i18n.text(f"chart.timeline.{k}", lang) for k in keys],
        loc="outside lower center",
        ncols=len(keys) if len(keys) <= 4 else 3,
    )
    return fig


def _plot_timeline(ax: Axes, panel: Panel, lang: str, size: float) -> float:
    """Accepted (grey bars), delivered (line), backlog or users waiting (area); returns the
    highest value. The peak goes in the panel's right-hand title, where no line runs."""
    colour = mode_colour(panel.mode)
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
    _mark_events(ax, panel.events, lang)
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


def _mark_events(ax: Axes, events: Sequence[Result], lang: str) -> None:
    """A dashed vertical line and a label for each kill or restart; labels take turns on
    two rows, a fixed number of points apart, so close events never cover each other."""
    where = blended_transform_factory(ax.transData, ax.transAxes)
    for n, event in enumerate(sorted(events, key=lambda e: float(e["t"]))):
        t = float(event["t"])
        ax.axvline(t, color="black", linestyle=(0, (4, 3)), linewidth=2)
        down = -8 - (n % 2) * VALUE_PT * 1.6  # points: the same gap on any panel height
        row = where + ScaledTranslation(0, down / 72, ax.figure.dpi_scale_trans)
        ax.text(
            t,
            1.0,
            " " + i18n.event_label(event["kind"], event["target"], lang),
            transform=row,
            ha="left",
            va="top",
            fontsize=VALUE_PT,
            fontweight="bold",
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 1},
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
