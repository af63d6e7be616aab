"""Charts from result files: with `report.slides`, the only packages that import matplotlib.

A lesson is won or lost on the picture: "the user waits 200 ms" against "answered
at once", a backlog that drains, a black bar of lost mails after a crash. This
package reads the versioned JSON that `mqlab run|compare|crash-test|sweep` wrote
(so yesterday's run can be redrawn) and draws one chart per idea, ready for a
projector: 1920×1080 PNG plus SVG, big fonts, one colour-blind-safe colour per
mode on every chart, a subtitle naming the workload so each slide stands alone,
and under the axes one plain sentence per mode saying what its numbers mean (the
sentences the terminal prints, from `mqlab.report.sentences`).

    draw([Path("results/20261125T073412Z-compare.json")], lang="ko")

Its modules, by what they draw or do: `files` (read, check, pick the charts, save),
`style` (sizes, colours, fonts, the figure, number and label helpers), `runs` (latency,
throughput and timeline of run and compare), `timeline` (the small multiples over time),
`crash` (crash-test counts and timelines), `nodes` (a cluster node killed: classic against
quorum queues), `price` (the price of replication: the broker on two queue types) and
`sweep` (throughput against workers).
Words come from `mqlab.report.i18n`.
"""

from __future__ import annotations

from mqlab.report.chart.crash import CRASH_METRICS, FAULTS, HARM, SAFETIES
from mqlab.report.chart.files import FORMAT_VERSION, KINDS, charts_for, draw, load, validate
from mqlab.report.chart.runs import LATE_MARK, PERCENTILES, run_ideal
from mqlab.report.chart.style import (
    ACCEPTED_GREY,
    CAPTION_GID,
    CAPTION_MIN_PT,
    CAPTION_PT,
    DPI,
    FIGSIZE,
    GRID,
    HANGUL_FAMILIES,
    HANGUL_PACKAGE,
    HEADER_BOTTOM,
    INK,
    LABEL_PT,
    LATIN_FAMILY,
    MODE_COLOURS,
    MODES,
    MUTED,
    OTHER_COLOUR,
    QUEUE_COLOURS,
    SLIDE_PT,
    SUBTITLE_PT,
    TICK_PT,
    TITLE_PT,
    VALUE_PT,
    BadChart,
    Chart,
    Result,
)
from mqlab.report.chart.style import fmt as _fmt  # the tests format values as the bars do
from mqlab.report.chart.style import hangul_family as _hangul_family
from mqlab.report.sentences import cores_of

__all__ = [
    "ACCEPTED_GREY",
    "CAPTION_GID",
    "CAPTION_MIN_PT",
    "CAPTION_PT",
    "CRASH_METRICS",
    "DPI",
    "FAULTS",
    "FIGSIZE",
    "FORMAT_VERSION",
    "GRID",
    "HANGUL_FAMILIES",
    "HANGUL_PACKAGE",
    "HARM",
    "HEADER_BOTTOM",
    "INK",
    "KINDS",
    "LABEL_PT",
    "LATE_MARK",
    "LATIN_FAMILY",
    "MODES",
    "MODE_COLOURS",
    "MUTED",
    "OTHER_COLOUR",
    "PERCENTILES",
    "QUEUE_COLOURS",
    "SAFETIES",
    "SLIDE_PT",
    "SUBTITLE_PT",
    "TICK_PT",
    "TITLE_PT",
    "VALUE_PT",
    "BadChart",
    "Chart",
    "Result",
    "_fmt",
    "_hangul_family",
    "charts_for",
    "cores_of",
    "draw",
    "load",
    "run_ideal",
    "validate",
]
