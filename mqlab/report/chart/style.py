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
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal

from matplotlib import font_manager, ticker
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

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
# The broker's two queue types where they stand side by side (the cluster's charts): sky
# blue and bluish green, Okabe-Ito too, apart from the modes' colours.
QUEUE_COLOURS = {"classic": "#56B4E9", "quorum": "#009E73"}
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
CAPTION_PT = 16.0  # the sentences under the axes: as big as the values on the bars
CAPTION_MIN_PT = 14.0  # ... and never smaller, however many there are
HEADER_BOTTOM = 0.85  # the title and subtitle live above this line
MARGIN = 0.015  # the left edge of the title, the subtitle and the captions (figure width)
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


def new_figure(title: str, subtitle: str, captions: Sequence[tuple[str, str]] = ()) -> Figure:
    """A 16:9 slide with the title and the workload subtitle in a fixed header band, and
    `captions`, (colour, sentence) per mode, in a band under the axes: the plain sentences
    of `mqlab.report.sentences`, which the chart only lays out."""
    layout = ConstrainedLayoutEngine(rect=(0.0, 0.0, 1.0, HEADER_BOTTOM), h_pad=0.08, w_pad=0.1)
    fig = Figure(figsize=FIGSIZE, dpi=DPI, layout=layout)
    FigureCanvasAgg(fig)
    fig.text(MARGIN, 0.97, title, fontsize=TITLE_PT, fontweight="bold", va="top")
    fig.text(MARGIN, 0.905, subtitle, fontsize=SUBTITLE_PT, color=MUTED, va="top")
    if captions:
        bottom = _caption_band(fig, captions)
        layout.set(rect=(0.0, bottom, 1.0, HEADER_BOTTOM - bottom))
    return fig


def slide_legend(
    fig: Figure,
    handles: Sequence[Artist],
    labels: Sequence[str],
    loc: Literal["lower center", "lower right"],
    **kwargs: Any,
) -> Legend:
    """A figure legend at the foot of the plot area (`loc`: "lower center", "lower right"),
    above the caption band; the axes are laid out above it. (Constrained layout's own
    "outside" legends sit at the figure's edge, under the captions.)"""
    engine = fig.get_layout_engine()
    assert isinstance(engine, ConstrainedLayoutEngine)
    left, bottom, width, height = engine.get()["rect"]
    legend = fig.legend(
        handles,
        labels,
        loc=loc,
        bbox_to_anchor=(left, bottom, width, height),
        bbox_transform=fig.transFigure,
        **kwargs,
    )
    box = legend.get_window_extent(fig.canvas.get_renderer())  # type: ignore[attr-defined]
    pad = legend.borderaxespad * legend.prop.get_size_in_points() * fig.dpi / 72
    room = (box.height + 2 * pad) / fig.bbox.height
    engine.set(rect=(left, bottom + room, width, height - room))
    return legend


CAPTION_GID = "caption"  # the gid of each caption text, so a test can find them
CAPTION_SPACING = 1.2  # between the lines of one sentence
CAPTION_BAND = 0.25  # the most of the slide's height the sentences take at CAPTION_PT


def _caption_band(fig: Figure, captions: Sequence[tuple[str, str]]) -> float:
    """One text per sentence, bottom up, each after a square of its mode's colour and wrapped
    by its measured width to the slide's; returns the band's top (a figure fraction), under
    which the axes, their tick labels and legends must not go. Many long sentences (a crash
    test with every safety flag) step the size down to CAPTION_MIN_PT, never below."""
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    width, height = fig.bbox.width, fig.bbox.height
    px = fig.dpi / 72
    left = MARGIN * width

    def layout(size: float) -> tuple[float, float, list[str]]:
        indent = left + size * 0.62 * px * 1.9  # the text starts here, after the square
        room = width * (1 - MARGIN) - indent
        font = FontProperties(size=size)
        wrapped = [_wrap_measured(sentence, room, font, renderer) for _, sentence in captions]
        lines = sum(w.count("\n") + 1 for w in wrapped)
        band = lines * size * px * CAPTION_SPACING + len(wrapped) * size * px * 0.4
        return band / height, indent, wrapped

    size = CAPTION_PT
    band, indent, wrapped = layout(size)
    while band > CAPTION_BAND and size > CAPTION_MIN_PT:
        size -= 1
        band, indent, wrapped = layout(size)
    square = size * 0.62 * px
    y = height * 0.01
    for (colour, _), body in zip(reversed(captions), reversed(wrapped), strict=True):
        label = fig.text(
            indent / width,
            y / height,
            body,
            fontsize=size,
            color=INK,
            ha="left",
            va="bottom",
            linespacing=CAPTION_SPACING,
            gid=CAPTION_GID,
        )
        box = label.get_window_extent(renderer)
        middle = box.y1 - size * px * 0.55  # of the first line, where the square goes
        fig.add_artist(
            Rectangle(
                (left / width, (middle - square / 2) / height),
                square / width,
                square / height,
                transform=fig.transFigure,
                facecolor=colour,
                edgecolor="none",
            )
        )
        y = box.y1 + size * px * 0.35  # a gap between two modes' sentences
    fig.add_artist(
        Line2D([MARGIN, 1 - MARGIN], [y / height] * 2, transform=fig.transFigure, color=GRID)
    )
    return (y + size * px * 0.3) / height


def _wrap_measured(sentence: str, room_px: float, font: FontProperties, renderer: Any) -> str:
    """Break `sentence` at spaces so no line is wider than `room_px`, each word measured in
    `font` (Hangul, Latin, digits: each its real width) and a line's width their sum."""
    size = font.get_size_in_points()
    family = tuple(font.get_family())

    def wide(word: str) -> float:
        return _word_px(word, family, size, renderer)

    space = wide(" ")
    lines: list[str] = []
    line, used = "", 0.0
    for word in sentence.split():
        need = wide(word)
        if line and used + space + need > room_px * 0.98:  # 2%: kerning and rounding
            lines.append(line)
            line, used = word, need
        else:
            line, used = (f"{line} {word}", used + space + need) if line else (word, need)
    lines.append(line)
    return "\n".join(lines)


_WIDTHS: dict[tuple[str, tuple[str, ...], float, float], float] = {}


def _word_px(word: str, family: tuple[str, ...], size: float, renderer: Any) -> float:
    """A word's width in pixels, measured once per process and size (measuring costs about
    a millisecond, and the slides' sentences repeat their words); at the size it is drawn,
    as hinting rounds small glyphs' widths up."""
    key = (word, family, size, renderer.dpi)
    if key not in _WIDTHS:
        font = FontProperties(family=list(family), size=size)
        w, _, _ = renderer.get_text_width_height_descent(word, font, ismath=False)
        _WIDTHS[key] = float(w)
    return _WIDTHS[key]


# ---------------------------------------------------------------- small helpers


def mode_colour(mode: str) -> str:
    return MODE_COLOURS.get(mode, OTHER_COLOUR)


def queue_colour(queue_type: str) -> str:
    return QUEUE_COLOURS.get(queue_type, OTHER_COLOUR)


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
    return greedy_wrap(text, lambda line: text_width_pt(line, size) > width_pt)


def greedy_wrap(
    text: str,
    too_wide: Callable[[str], bool],
    words: Callable[[str], list[str]] = lambda paragraph: paragraph.split(" "),
) -> str:
    """Fill each line with `words` of a paragraph until the next would make it `too_wide`
    (one word alone may be). Existing line breaks are kept."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in words(paragraph):
            trial = f"{line} {word}" if line else word
            if line and too_wide(trial):
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
    # 0.82: DejaVu digits are a little wider than the estimate, and two neighbours need a gap
    return max(12.0, min(size, width_pt * 0.82 / widest)) if widest else size


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
        # 1, 2, 5 in each decade while they have the room; beyond 3 decades 1 and 3
        decades = math.log10(hi * top_room**3 / (lo / 2))
        subs = (1.0, 2.0, 5.0) if decades <= 3 else (1.0, 3.0) if decades <= 4 else (1.0,)
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(ticker.LogLocator(base=10, subs=subs))
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
