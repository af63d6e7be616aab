"""Slides from result files: the only module of mqlab that imports matplotlib.

A lesson is won or lost on the picture: "the user waits 200 ms" against "answered
at once", a backlog that drains, a black bar of lost mails after a crash. This
module reads the versioned JSON that `mqlab run|compare|crash-test|sweep` wrote
(so yesterday's run can be redrawn) and draws one chart per idea, ready for a
projector: 1920×1080 PNG plus SVG, big fonts, one colour-blind-safe colour per
mode on every chart, and a subtitle naming the workload so each slide stands
alone.

    draw([Path("results/20261125T073412Z-compare.json")], lang="ko")

Korean charts use NanumGothic from the koreanize-matplotlib package. We only
register its font files; we never import the package, which would change global
matplotlib settings (and imports distutils). Words come from `mqlab.i18n`.
"""

from __future__ import annotations

import functools
import importlib.util
import itertools
import json
import math
import textwrap
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib
from matplotlib import font_manager, ticker
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.transforms import ScaledTranslation, blended_transform_factory

from mqlab.errors import BadInput
from mqlab.measure import metrics
from mqlab.report import i18n

Result = dict[str, Any]
Chart = tuple[str, Figure]

FORMAT_VERSION = 1


class BadChart(BadInput, ValueError):
    """A result file this chart module cannot draw: one line and exit 2, not a bug."""


KINDS = ("run", "compare", "crash-test", "sweep")
MODES = ("sync", "thread", "broker")
FAULTS = ("app-kill", "worker-kill", "broker-restart")
SAFETIES = ("default", "no-confirm", "transient", "auto-ack", "idempotent")
PERCENTILES = ("p50", "p95", "p99")
# The user's side (accepted, failed) and the inbox's (delivered, lost, duplicates, and mails
# of requests told they failed: sent anyway).
CRASH_METRICS = ("accepted", "delivered", "lost", "duplicates", "failed", "sent_anyway")
LATE_MARK = "*"  # a value spoiled by the load generator's own lateness: explained below it
HARM = ("lost", "sent_anyway")  # bold numbers: mails missing, or sent after an error

# Okabe-Ito: distinguishable with every common colour-vision deficiency.
MODE_COLOURS = {"sync": "#D55E00", "thread": "#CC79A7", "broker": "#0072B2"}
OTHER_COLOUR = "#999999"
INK = "#222222"
MUTED = "#555555"
GRID = "#DDDDDD"
ACCEPTED_GREY = "#C8C8C8"

# 16 × 9 inches at 120 dpi = 1920 × 1080 px; 1 pt = 120/72 px.
DPI = 120
FIGSIZE = (16.0, 9.0)
TITLE_PT = 28.0
SUBTITLE_PT = 18.0
LABEL_PT = 20.0
TICK_PT = 18.0
VALUE_PT = 16.0
HEADER_BOTTOM = 0.85  # the title and subtitle live above this line
SLIDE_PT = FIGSIZE[0] * 72 * 0.9  # the width the axes share, less the y labels' margin

HANGUL_PACKAGE = "koreanize_matplotlib"
HANGUL_FAMILIES = (
    "NanumGothic",
    "Noto Sans CJK KR",
    "Noto Sans KR",
    "Malgun Gothic",
    "Apple SD Gothic Neo",
    "AppleGothic",
)
LATIN_FAMILY = "DejaVu Sans"  # ships with matplotlib; also the fallback for − and friends


# ---------------------------------------------------------------- public API


def draw(paths: Sequence[Path], out_dir: Path | None = None, lang: str = "en") -> list[Path]:
    """Draw every chart of every result file; return the PNG and SVG files written.

    Files go to `out_dir`, or beside each result file when it is None, named
    `<result stem>-<chart>.png|svg` (`-<chart>-ko` for Korean).
    """
    i18n.check_lang(lang)
    written: list[Path] = []
    for path in paths:
        result = load(path)
        try:
            charts = charts_for(result, lang)
        except BadChart as exc:
            raise BadChart(f"{path}: {exc}") from exc
        target = out_dir if out_dir is not None else path.parent
        target.mkdir(parents=True, exist_ok=True)
        suffix = "" if lang == "en" else f"-{lang}"
        for name, fig in charts:
            written += _save(fig, target / f"{path.stem}-{name}{suffix}", lang)
    return written


def charts_for(result: Result, lang: str) -> list[Chart]:
    """(name, figure) for each chart a result holds; figures are not saved."""
    i18n.check_lang(lang)
    kind = validate(result)["kind"]
    builders: dict[str, Callable[[Result, str], list[Chart]]] = {
        "run": _run_charts,
        "compare": _run_charts,
        "crash-test": _crash_charts,
        "sweep": _sweep_charts,
    }
    with matplotlib.rc_context(_rc(lang)):
        try:
            charts = builders[kind](result, lang)
        except (KeyError, TypeError, IndexError, AttributeError) as exc:
            raise BadChart(f"malformed {kind} result ({type(exc).__name__}: {exc})") from exc
        for _, fig in charts:
            for ax in fig.axes:
                ax.tick_params(which="both", labelfontfamily=_families(lang))
    return charts


def load(path: Path) -> Result:
    """Read and check one result file; anything unreadable is one ValueError line."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadChart(f"{path}: not a readable mqlab result ({exc})") from exc
    return validate(data, str(path))


def validate(result: object, source: str = "result") -> Result:
    """Refuse what this version cannot draw: an unknown format_version or kind."""
    if not isinstance(result, dict):
        raise BadChart(f"{source}: not an mqlab result (expected a JSON object)")
    version = result.get("format_version")
    if type(version) is not int or version != FORMAT_VERSION:
        raise BadChart(
            f"{source}: unsupported format_version {version!r} (this mqlab reads {FORMAT_VERSION})"
        )
    if result.get("kind") not in KINDS:
        raise BadChart(
            f"{source}: unknown result kind {result.get('kind')!r} "
            f"(expected one of {', '.join(KINDS)})"
        )
    return result


def ideal_per_s(mode: str, config: Result, cores: int | None = None) -> float | None:
    """W ÷ scan time: what W parallel scanners could do at best (None if unknown).

    Never more than was offered (a steady `rate` caps it; a spike, rate 0, does not), and
    for CPU-bound scans never more than the machine's `cores` can compute.
    """
    scan_ms = config.get("scan_ms")
    parallel = config.get("server_threads" if mode == "sync" else "workers")
    if not isinstance(scan_ms, (int, float)) or scan_ms <= 0:
        return None
    if not isinstance(parallel, int) or parallel <= 0:
        return None
    if config.get("scan_kind") == "cpu" and isinstance(cores, int) and cores > 0:
        parallel = min(parallel, cores)
    ideal = parallel * 1000.0 / scan_ms
    rate = config.get("rate")
    if isinstance(rate, (int, float)) and rate > 0:
        ideal = min(ideal, float(rate))
    return ideal


def cores_of(result: Result) -> int | None:
    """The cores the result's environment block recorded: those the run could use, or
    (files from before that field) the machine's CPU count; None if neither."""
    env = result.get("environment") or {}
    for key in ("cpu_usable", "cpu_count"):
        cores = env.get(key)
        if isinstance(cores, int) and cores > 0:
            return cores
    return None


# ---------------------------------------------------------------- fonts, style, files


def _packaged_hangul_fonts() -> list[Path]:
    """Font files of the Hangul font package, found without importing it."""
    spec = importlib.util.find_spec(HANGUL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return []
    return sorted(
        p for loc in spec.submodule_search_locations for p in Path(loc, "fonts").glob("*.ttf")
    )


@functools.cache
def _hangul_family() -> str:
    for path in _packaged_hangul_fonts():
        font_manager.fontManager.addfont(str(path))
    known = {entry.name for entry in font_manager.fontManager.ttflist}
    for family in HANGUL_FAMILIES:
        if family in known:
            return family
    raise BadChart("Korean charts need a Hangul font: pip install koreanize-matplotlib")


def _families(lang: str) -> list[str]:
    if i18n.check_lang(lang) == "ko":
        return [_hangul_family(), LATIN_FAMILY]
    return [LATIN_FAMILY]


def _rc(lang: str) -> dict[Any, Any]:
    return {
        "font.family": _families(lang),
        "font.size": TICK_PT,
        "axes.titlesize": LABEL_PT,
        "axes.titleweight": "bold",
        "axes.titlelocation": "left",
        "axes.labelsize": LABEL_PT,
        "axes.labelcolor": INK,
        "axes.edgecolor": MUTED,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "xtick.labelsize": TICK_PT,
        "ytick.labelsize": TICK_PT,
        "xtick.color": INK,
        "ytick.color": INK,
        "text.color": INK,
        "legend.fontsize": VALUE_PT,
        "legend.frameon": False,
        "figure.facecolor": "white",
        "savefig.facecolor": "white",
        "svg.fonttype": "path",
    }


def _save(fig: Figure, base: Path, lang: str) -> list[Path]:
    png = base.with_name(base.name + ".png")
    svg = base.with_name(base.name + ".svg")
    with matplotlib.rc_context(_rc(lang)):
        fig.savefig(png, format="png", dpi=DPI)
        fig.savefig(svg, format="svg", metadata={"Date": None})
    return [png, svg]


def _new_figure(title: str, subtitle: str) -> Figure:
    """A 16:9 slide with the title and the workload subtitle in a fixed header band."""
    layout = ConstrainedLayoutEngine(rect=(0.0, 0.0, 1.0, HEADER_BOTTOM), h_pad=0.08, w_pad=0.1)
    fig = Figure(figsize=FIGSIZE, dpi=DPI, layout=layout)
    FigureCanvasAgg(fig)
    fig.text(0.015, 0.97, title, fontsize=TITLE_PT, fontweight="bold", va="top")
    fig.text(0.015, 0.905, subtitle, fontsize=SUBTITLE_PT, color=MUTED, va="top")
    return fig


# ---------------------------------------------------------------- small helpers


def _colour(mode: str) -> str:
    return MODE_COLOURS.get(mode, OTHER_COLOUR)


def _rank(value: str, order: Sequence[str]) -> tuple[int, str]:
    return (order.index(value) if value in order else len(order), value)


def _fmt(value: float | None, lang: str = "en") -> str:
    """212 -> "212", 18.66 -> "18.7", 0.8231 -> "0.82", 20.0 -> "20", None -> "n/a"."""
    if value is None or math.isnan(value):
        return i18n.text("chart.na", lang)
    if value == 0:
        return "0"
    if abs(value) >= 100:
        out = f"{value:.0f}"
    elif abs(value) >= 1:
        out = f"{value:.1f}"
    else:
        out = f"{value:.2f}"
    return out[:-2] if out.endswith(".0") else out


def _num(value: Any) -> float:
    """A number from a result, or 0 for null (the bar is then labelled n/a)."""
    return float(value) if isinstance(value, (int, float)) else 0.0


def _width_pt(text: str, size: float) -> float:
    """About how wide `text` is at `size` points: Hangul a full em, Latin ~0.62 em."""
    wide = sum(unicodedata.east_asian_width(c) in "WF" for c in text)
    return (wide * 1.0 + (len(text) - wide) * 0.62) * size


def _wrap(text: str, width_pt: float, size: float) -> str:
    """Break `text` at spaces so no line is wider than `width_pt` (one word may be)."""
    lines: list[str] = []
    for para in text.split("\n"):
        line = ""
        for word in para.split(" "):
            trial = f"{line} {word}" if line else word
            if line and _width_pt(trial, size) > width_pt:
                lines.append(line)
                line = word
            else:
                line = trial
        lines.append(line)
    return "\n".join(lines)


def _fitting(labels: Sequence[str], width_pt: float, size: float = VALUE_PT) -> float:
    """`size`, or smaller (not below 12 pt) so the widest line of `labels` fits `width_pt`:
    five-digit values over narrow bars must not run into their neighbours."""
    lines = [line for label in labels for line in label.split("\n")] or [""]
    widest = max(_width_pt(line, 1.0) for line in lines)
    return max(12.0, min(size, width_pt * 0.9 / widest)) if widest else size


def _tick_label(mode: str, lang: str, width_pt: float | None = None, size: float = LABEL_PT) -> str:
    label = i18n.mode_label(mode, lang).replace(" (", "\n(")
    return label if width_pt is None else _wrap(label, width_pt, size)


def _colour_ticklabels(ax: Axes, modes: Sequence[str]) -> None:
    for label, mode in zip(ax.get_xticklabels(), modes, strict=False):
        label.set_color(_colour(mode))
        label.set_fontweight("bold")


def _log_scale_if_spread(ax: Axes, values: Sequence[float], top_room: float) -> None:
    """Log scale when the largest value is more than 20× the smallest, else linear from 0."""
    shown = [v for v in values if v > 0]
    if not shown:
        return
    lo, hi = min(shown), max(shown)
    if hi / lo > 20:
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(ticker.FuncFormatter(_tick_number))
        ax.yaxis.set_minor_formatter(ticker.NullFormatter())
        ax.set_ylim(lo / 2, hi * top_room**3)
    else:
        ax.set_ylim(0, hi * top_room)


def _centre_groups(ax: Axes, n: int) -> None:
    """Groups at x = 0..n-1, centred, and never wider than a third of the axes each."""
    half = (max(n, 3) + 0.2) / 2
    ax.set_xlim((n - 1) / 2 - half, (n - 1) / 2 + half)


def _tick_number(value: float, _pos: int | None) -> str:
    return f"{value:g}"


# ---------------------------------------------------------------- run / compare


def _run_charts(result: Result, lang: str) -> list[Chart]:
    runs = [result] if result["kind"] == "run" else list(result["runs"])
    if not runs:
        raise BadChart("the compare result holds no runs")
    runs.sort(key=lambda run: _rank(run["mode"], MODES))
    config = result["config"]
    return [
        ("latency", _latency_chart(runs, config, lang)),
        ("throughput", _throughput_chart(runs, config, lang)),
        ("timeline", _run_timeline_chart(runs, config, lang)),
    ]


def _run_config(run: Result, shared: Result) -> Result:
    """A run's own config over the shared one (compare files hold both)."""
    return {**shared, **run.get("config", {})}


def _latency_chart(runs: list[Result], config: Result, lang: str) -> Figure:
    fig = _new_figure(
        i18n.text("chart.latency.title", lang),
        i18n.workload_line(config, [r["mode"] for r in runs], lang),
    )
    ax = fig.subplots()
    captions = [_wait_caption(run, config, lang) for run in runs]
    _percentile_bars(ax, runs, "response_ms", captions, lang)
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
        heights = [_num(v) for v in raw]
        colours = [to_rgba(_colour(run["mode"]), a) for a in alphas]
        xs = [i + o for o in offsets]
        bars = ax.bar(xs, heights, width, color=colours, label=run["mode"])
        # A percentile carrying the load generator's own delay says so on the slide too.
        doubtful = metrics.untrusted(run["summary"], run.get("config", {}).get("rate"))
        late = [f"{key}.{p}" in doubtful for p in PERCENTILES]
        labels = [
            "" if v is None else _fmt(v, lang) + (LATE_MARK if bad else "")
            for v, bad in zip(raw, late, strict=True)
        ]
        ax.bar_label(bars, labels=labels, padding=4, fontsize=_fitting(labels, bar_pt))
        any_late = any_late or any(late)
        _label_missing(ax, [x for x, v in zip(xs, raw, strict=True) if v is None], lang)
        values += heights
    _log_scale_if_spread(ax, values, top_room=1.15)
    ax.set_xticks(
        [i + o for i in range(len(runs)) for o in offsets],
        labels=list(PERCENTILES) * len(runs),
        minor=True,
    )
    size = LABEL_PT if share >= 1 else TICK_PT
    slot = SLIDE_PT * share / (max(len(runs), 3) + 0.2) * 0.9
    labels = [
        _tick_label(run["mode"], lang, slot, size) + (f"\n{cap}" if cap else "")
        for run, cap in zip(runs, captions, strict=True)
    ]
    ax.set_xticks(range(len(runs)), labels=labels)
    ax.xaxis.remove_overlapping_locs = False  # keep the "p95" minor tick under the mode name
    ax.tick_params(axis="x", which="both", length=0)
    ax.tick_params(axis="x", which="minor", labelsize=VALUE_PT, labelcolor=MUTED)
    ax.tick_params(axis="x", which="major", pad=TICK_PT * 1.8, labelsize=size)
    _colour_ticklabels(ax, [run["mode"] for run in runs])
    _centre_groups(ax, len(runs))
    ax.grid(axis="y", color=GRID)
    ax.set_axisbelow(True)
    if any_late:  # what the mark means, under the bars it marks
        note = LATE_MARK + " " + i18n.text("chart.late_note", lang)
        ax.set_xlabel(
            _wrap(note, SLIDE_PT * share, VALUE_PT), fontsize=VALUE_PT, color=MUTED, labelpad=14
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


def _throughput_chart(runs: list[Result], config: Result, lang: str) -> Figure:
    fig = _new_figure(
        i18n.text("chart.throughput.title", lang),
        i18n.workload_line(config, [r["mode"] for r in runs], lang),
    )
    left, right = fig.subplots(1, 2)
    _percentile_bars(left, runs, "e2e_ms", [""] * len(runs), lang, share=0.5)
    left.set_title(i18n.text("chart.throughput.e2e", lang))
    right.set_title(i18n.text("chart.throughput.rate", lang))
    if _throughput_bars(right, runs, config, lang):
        ideal = Line2D([], [], color=INK, linestyle="--", linewidth=3)
        fig.legend([ideal], [i18n.text("chart.ideal", lang)], loc="outside lower right")
    return fig


def _throughput_bars(ax: Axes, runs: list[Result], config: Result, lang: str) -> bool:
    """Mails per second per mode, a dashed ideal W ÷ scan time over each bar (True if any)."""
    raw = [run["summary"].get("throughput_per_s") for run in runs]
    heights = [_num(v) for v in raw]
    ideals = [ideal_per_s(run["mode"], _run_config(run, config), cores_of(run)) for run in runs]
    top = max([*heights, *(i for i in ideals if i is not None), 1.0]) * 1.2
    bars = ax.bar(range(len(runs)), heights, 0.6, color=[_colour(r["mode"]) for r in runs])
    # the value sits inside a tall bar, so it never collides with the ideal label above
    text = [_fmt(v, lang) for v in raw]
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
            i18n.text("chart.ideal_value", lang).format(value=_fmt(ideal)),
            (i, ideal),
            xytext=(0, 6),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=VALUE_PT,
        )
    ax.set_ylim(0, top)
    _centre_groups(ax, len(runs))
    slot = SLIDE_PT / 2 / (max(len(runs), 3) + 0.2) * 0.9  # one of two panels
    ax.set_xticks(
        range(len(runs)), labels=[_tick_label(r["mode"], lang, slot, TICK_PT) for r in runs]
    )
    ax.tick_params(axis="x", length=0, labelsize=TICK_PT)
    _colour_ticklabels(ax, [r["mode"] for r in runs])
    ax.grid(axis="y", color=GRID)
    ax.set_axisbelow(True)
    return any(ideal is not None for ideal in ideals)


# ---------------------------------------------------------------- timelines


@dataclass(frozen=True)
class _Panel:
    """One small multiple of a timeline figure."""

    title: str
    mode: str
    timeline: list[Result]
    events: list[Result] = field(default_factory=list)
    skipped_note: str | None = None


def _run_timeline_chart(runs: list[Result], config: Result, lang: str) -> Figure:
    panels = [
        _Panel(
            i18n.mode_label(run["mode"], lang),
            run["mode"],
            run.get("timeline", []),
            run.get("events", []),
        )
        for run in runs
    ]
    return _timeline_chart(
        panels,
        _timeline_title(config, lang),
        i18n.workload_line(config, [r["mode"] for r in runs], lang),
        lang,
    )


def _timeline_title(config: Result, lang: str) -> str:
    """Name the load that was sent: a spike (all at once) is absorbed; a steady rate is not
    a spike, the question there is where the requests wait."""
    n, rate = config.get("requests"), config.get("rate")
    if not isinstance(n, int) or not isinstance(rate, (int, float)):
        return i18n.text("chart.timeline.title", lang)
    if rate <= 0:
        return i18n.text("chart.timeline.title.spike", lang).format(n=n)
    return i18n.text("chart.timeline.title.steady", lang).format(n=n, rate=_fmt(rate, lang))


def _waiting(panel: _Panel) -> bool:
    """Sync's queue is its users in line at the server: drawn from `in_flight` when the
    file has it (files from before the field draw the backlog alone)."""
    return panel.mode == "sync" and any(
        isinstance(row.get("in_flight"), (int, float)) for row in panel.timeline
    )


def _timeline_chart(panels: list[_Panel], title: str, subtitle: str, lang: str) -> Figure:
    """Small multiples sharing both axes, so modes compare at a glance."""
    fig = _new_figure(title, subtitle)
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
        entries.append(("waiting", Patch(facecolor="white", edgecolor=_colour("sync"), hatch="//")))
    keys = [k for k, _ in entries]
    handles = [h for _, h in entries]
    fig.legend(
        handles,
        [i18n.text(f"chart.timeline.{k}", lang) for k in keys],
        loc="outside lower center",
        ncols=len(keys) if len(keys) <= 4 else 3,
    )
    return fig


def _plot_timeline(ax: Axes, panel: _Panel, lang: str, size: float) -> float:
    """Accepted (grey bars), delivered (line), backlog or users waiting (area); returns the
    highest value. The peak goes in the panel's right-hand title, where no line runs."""
    colour = _colour(panel.mode)
    ax.set_title(panel.title, color=colour, fontsize=size)
    ax.grid(axis="y", color=GRID)
    ax.set_axisbelow(True)
    if panel.skipped_note is not None:
        ax.text(
            0.5,
            0.5,
            _wrap(panel.skipped_note, SLIDE_PT * 0.4, VALUE_PT),
            transform=ax.transAxes,
            ha="center",
            va="center",
            fontsize=VALUE_PT,
            color=MUTED,
        )
        return 0.0
    rows = sorted(panel.timeline, key=lambda row: float(row["t"]))
    if not rows:
        ax.text(
            0.5,
            0.5,
            i18n.text("chart.na", lang),
            transform=ax.transAxes,
            ha="center",
            va="center",
            fontsize=VALUE_PT,
            color=MUTED,
        )
        return 0.0
    t = [float(row["t"]) for row in rows]
    step = min((b - a for a, b in itertools.pairwise(t) if b > a), default=1.0)
    waiting = _waiting(panel)
    backlog = [_num(row.get("in_flight" if waiting else "backlog")) for row in rows]
    accepted = [_num(row.get("accepted")) for row in rows]
    delivered = [_num(row.get("delivered")) for row in rows]
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
        i18n.text(f"chart.timeline.{key}", lang).format(value=_fmt(backlog[i])),
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


# ---------------------------------------------------------------- crash test


@dataclass(frozen=True)
class _Group:
    """All trials of one mode and safety setting under one fault."""

    mode: str
    safety: str
    rows: list[Result]

    @property
    def live(self) -> list[Result]:
        return [row for row in self.rows if not row.get("skipped")]


def _crash_groups(rows: Sequence[Result], fault: str) -> list[_Group]:
    keyed: dict[tuple[str, str], list[Result]] = {}
    for row in rows:
        if row["fault"] == fault:
            keyed.setdefault((row["mode"], row.get("safety") or "default"), []).append(row)
    order = sorted(keyed, key=lambda k: (_rank(k[0], MODES), _rank(k[1], SAFETIES)))
    return [
        _Group(m, s, sorted(keyed[(m, s)], key=lambda r: int(r.get("trial", 0)))) for m, s in order
    ]


def _group_label(group: _Group, groups: Sequence[_Group], lang: str, *, ticks: bool) -> str:
    """The mode, plus the safety setting when the same mode appears more than once."""
    mode = _tick_label(group.mode, lang) if ticks else i18n.mode_label(group.mode, lang)
    if sum(g.mode == group.mode for g in groups) < 2:
        return mode
    if not ticks:  # a panel title beside its peak: the short name leaves room
        return (
            i18n.text(f"mode.{group.mode}.short", lang)
            + " · "
            + i18n.safety_label(group.safety, lang)
        )
    return mode + "\n" + i18n.safety_label(group.safety, lang)


def _crash_charts(result: Result, lang: str) -> list[Chart]:
    rows = result["rows"]
    if not rows:
        raise BadChart("the crash-test result holds no rows")
    faults = sorted({row["fault"] for row in rows}, key=lambda f: _rank(f, FAULTS))
    counts = [_crash_chart(result, f, lang) for f in faults]
    timelines = [_crash_timeline_chart(result, f, lang) for f in faults]
    # the file is already "<time>-crash-test": "-app-kill", not "-crash-app-kill"
    return [(f, fig) for f, fig in zip(faults, counts, strict=True)] + [
        (f"timeline-{f}", fig) for f, fig in zip(faults, timelines, strict=True)
    ]


def _crash_subtitle(result: Result, groups: Sequence[_Group], lang: str) -> str:
    trials = max((len(g.live) for g in groups), default=0)
    out = i18n.workload_line(result["config"], [g.mode for g in groups], lang)
    return out + (" · " + i18n.counted("sub.trials", trials, lang) if trials else "")


def _crash_chart(result: Result, fault: str, lang: str) -> Figure:
    """Each of CRASH_METRICS per mode under one fault, summed over trials; one container each."""
    groups = _crash_groups(result["rows"], fault)
    fig = _new_figure(
        i18n.text("chart.crash.title", lang).format(fault=i18n.fault_label(fault, lang)),
        _crash_subtitle(result, groups, lang),
    )
    ax = fig.subplots()
    step = 0.84 / len(CRASH_METRICS)
    width = step * 0.95
    offsets = [(k - (len(CRASH_METRICS) - 1) / 2) * step for k in range(len(CRASH_METRICS))]
    live = [(i, g) for i, g in enumerate(groups) if g.live]
    top = max([1.0, *(sum(_num(r.get(m)) for r in g.live) for _, g in live for m in CRASH_METRICS)])
    # numbers wider than their bar (with its gap) stand upright: many groups, four digits
    bar_pt = SLIDE_PT / (len(groups) + 0.2) * step
    upright = _width_pt(f"{top:.0f}", VALUE_PT) > bar_pt
    for metric, offset in zip(CRASH_METRICS, offsets, strict=True):
        heights = [float(sum(_num(row.get(metric)) for row in g.live)) for _, g in live]
        style = _crash_bar_style(metric, [g.mode for _, g in live])
        bars = ax.bar(
            [i + offset for i, _ in live], heights, width, label=metric, linewidth=1.5, **style
        )
        texts = ax.bar_label(
            bars,
            labels=[f"{h:.0f}" for h in heights],
            padding=3,
            fontsize=VALUE_PT,
            rotation=90 if upright else 0,
        )
        if metric in HARM:
            for text in texts:
                text.set_fontweight("bold")
        top = max([top, *heights])
    _mark_skipped(ax, groups, lang)
    ax.set_ylim(0, top * (1.3 if upright else 1.15))
    ax.set_xlim(-0.6, len(groups) - 0.4)
    size = LABEL_PT if len(groups) <= 4 else VALUE_PT
    slot = SLIDE_PT / (len(groups) + 0.2) * 0.92
    ax.set_xticks(
        range(len(groups)),
        labels=[_wrap(_group_label(g, groups, lang, ticks=True), slot, size) for g in groups],
    )
    ax.tick_params(axis="x", length=0, labelsize=size)
    _colour_ticklabels(ax, [g.mode for g in groups])
    trials = max((len(g.live) for g in groups), default=0)
    ax.set_ylabel(
        i18n.text("chart.crash.ylabel_sum", lang).format(n=trials)
        if trials > 1
        else i18n.text("chart.crash.ylabel", lang)
    )
    ax.grid(axis="y", color=GRID)
    ax.set_axisbelow(True)
    fig.legend(
        _crash_legend_handles(),
        [i18n.text(f"col.{m}", lang) for m in CRASH_METRICS],
        loc="outside lower center",
        ncols=len(CRASH_METRICS),
    )
    return fig


def _crash_bar_style(metric: str, modes: Sequence[str]) -> dict[str, Any]:
    """Accepted: mode tint; delivered: mode colour; lost: black; duplicates: hatched;
    failed: dotted; sent anyway: cross-hatched in black (a harm, like lost)."""
    colours = [_colour(m) for m in modes]
    if metric == "accepted":
        return {"color": [to_rgba(c, 0.35) for c in colours], "edgecolor": colours}
    if metric == "delivered":
        return {"color": colours, "edgecolor": colours}
    if metric == "lost":
        return {"color": "black", "edgecolor": "black"}
    if metric == "failed":
        return {"color": "white", "edgecolor": MUTED, "hatch": ".."}
    if metric == "sent_anyway":
        return {"color": "white", "edgecolor": "black", "hatch": "xx"}
    return {"color": "white", "edgecolor": colours, "hatch": "///"}


def _crash_legend_handles() -> list[Patch]:
    return [
        Patch(facecolor=to_rgba(MUTED, 0.35), edgecolor=MUTED),
        Patch(facecolor=MUTED, edgecolor=MUTED),
        Patch(facecolor="black", edgecolor="black"),
        Patch(facecolor="white", edgecolor=MUTED, hatch="///"),
        Patch(facecolor="white", edgecolor=MUTED, hatch=".."),
        Patch(facecolor="white", edgecolor="black", hatch="xx"),
    ]


def _mark_skipped(ax: Axes, groups: Sequence[_Group], lang: str) -> None:
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
            panels.append(_Panel(title, group.mode, [], skipped_note=skipped))
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
        panels.append(_Panel(title, group.mode, row.get("timeline", []), mine))
    title = i18n.text("chart.crash_timeline.title", lang).format(
        fault=i18n.fault_label(fault, lang)
    )
    return _timeline_chart(panels, title, _crash_subtitle(result, groups, lang), lang)


# ---------------------------------------------------------------- sweep


def _sweep_charts(result: Result, lang: str) -> list[Chart]:
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
    fig = _new_figure(
        i18n.text("chart.sweep.title", lang),
        i18n.workload_line(result["config"], [m for m, _ in series], lang, workers=False),
    )
    ax = fig.subplots()
    for (mode, kind), pts in sorted(series.items(), key=lambda s: _rank(s[0][0], MODES)):
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
    ys = [_num(p.get("throughput_per_s")) for p in pts]
    ax.plot(
        xs,
        ys,
        color=_colour(mode),
        linestyle="--" if cpu else "-",
        marker="s" if cpu else "o",
        markersize=11,
        linewidth=3.5,
        label=label,
    )
    ax.annotate(
        _fmt(ys[-1], lang),
        (xs[-1], ys[-1]),
        xytext=(10, 0),
        textcoords="offset points",
        va="center",
        fontsize=VALUE_PT,
        color=_colour(mode),
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
