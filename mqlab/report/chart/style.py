"""What every slide shares: sizes, colours, fonts, the empty figure, and the small helpers
that put numbers and mode names on it.

One place for the look, so a mode has the same colour and a number the same format on
every chart. Korean slides use NanumGothic from the koreanize-matplotlib package: we only
register its font files and never import the package, which would change global
matplotlib settings (and imports distutils).
"""

from __future__ import annotations

import functools
import importlib.util
import math
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from matplotlib import font_manager, ticker
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine

from mqlab.errors import BadInput
from mqlab.report import i18n

Result = dict[str, Any]
Chart = tuple[str, Figure]


class BadChart(BadInput, ValueError):
    """A result file the chart package cannot draw: one line and exit 2, not a bug."""


# ---------------------------------------------------------------- colours and sizes

MODES = ("sync", "thread", "broker")  # the order of the modes on every chart
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


# ---------------------------------------------------------------- fonts and the figure


def _packaged_hangul_fonts() -> list[Path]:
    """Font files of the Hangul font package, found without importing it."""
    spec = importlib.util.find_spec(HANGUL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return []
    return sorted(
        p for loc in spec.submodule_search_locations for p in Path(loc, "fonts").glob("*.ttf")
    )


@functools.cache
def hangul_family() -> str:
    for path in _packaged_hangul_fonts():
        font_manager.fontManager.addfont(str(path))
    known = {entry.name for entry in font_manager.fontManager.ttflist}
    for family in HANGUL_FAMILIES:
        if family in known:
            return family
    raise BadChart("Korean charts need a Hangul font: pip install koreanize-matplotlib")


def families(lang: str) -> list[str]:
    if i18n.check_lang(lang) == "ko":
        return [hangul_family(), LATIN_FAMILY]
    return [LATIN_FAMILY]


def rc(lang: str) -> dict[Any, Any]:
    return {
        "font.family": families(lang),
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


def new_figure(title: str, subtitle: str) -> Figure:
    """A 16:9 slide with the title and the workload subtitle in a fixed header band."""
    layout = ConstrainedLayoutEngine(rect=(0.0, 0.0, 1.0, HEADER_BOTTOM), h_pad=0.08, w_pad=0.1)
    fig = Figure(figsize=FIGSIZE, dpi=DPI, layout=layout)
    FigureCanvasAgg(fig)
    fig.text(0.015, 0.97, title, fontsize=TITLE_PT, fontweight="bold", va="top")
    fig.text(0.015, 0.905, subtitle, fontsize=SUBTITLE_PT, color=MUTED, va="top")
    return fig


# ---------------------------------------------------------------- small helpers


def mode_colour(mode: str) -> str:
    return MODE_COLOURS.get(mode, OTHER_COLOUR)


def rank(value: str, order: Sequence[str]) -> tuple[int, str]:
    return (order.index(value) if value in order else len(order), value)


def fmt(value: float | None, lang: str = "en") -> str:
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


def num(value: Any) -> float:
    """A number from a result, or 0 for null (the bar is then labelled n/a)."""
    return float(value) if isinstance(value, (int, float)) else 0.0


def text_width_pt(text: str, size: float) -> float:
    """About how wide `text` is at `size` points: Hangul a full em, Latin ~0.62 em."""
    wide = sum(unicodedata.east_asian_width(c) in "WF" for c in text)
    return (wide * 1.0 + (len(text) - wide) * 0.62) * size


def wrap(text: str, width_pt: float, size: float) -> str:
    """Break `text` at spaces so no line is wider than `width_pt` (one word may be)."""
    lines: list[str] = []
    for para in text.split("\n"):
        line = ""
        for word in para.split(" "):
            trial = f"{line} {word}" if line else word
            if line and text_width_pt(trial, size) > width_pt:
                lines.append(line)
                line = word
            else:
                line = trial
        lines.append(line)
    return "\n".join(lines)


def fitting(labels: Sequence[str], width_pt: float, size: float = VALUE_PT) -> float:
    """`size`, or smaller (not below 12 pt) so the widest line of `labels` fits `width_pt`:
    five-digit values over narrow bars must not run into their neighbours."""
    lines = [line for label in labels for line in label.split("\n")] or [""]
    widest = max(text_width_pt(line, 1.0) for line in lines)
    return max(12.0, min(size, width_pt * 0.9 / widest)) if widest else size


def tick_label(mode: str, lang: str, width_pt: float | None = None, size: float = LABEL_PT) -> str:
    label = i18n.mode_label(mode, lang).replace(" (", "\n(")
    return label if width_pt is None else wrap(label, width_pt, size)


def colour_ticklabels(ax: Axes, modes: Sequence[str]) -> None:
    for label, mode in zip(ax.get_xticklabels(), modes, strict=False):
        label.set_color(mode_colour(mode))
        label.set_fontweight("bold")


def log_scale_if_spread(ax: Axes, values: Sequence[float], top_room: float) -> None:
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


def centre_groups(ax: Axes, n: int) -> None:
    """Groups at x = 0..n-1, centred, and never wider than a third of the axes each."""
    half = (max(n, 3) + 0.2) / 2
    ax.set_xlim((n - 1) / 2 - half, (n - 1) / 2 + half)


def _tick_number(value: float, _pos: int | None) -> str:
    return f"{value:g}"
