"""The frame every slide shares: a 16:9 figure, a header (a small kicker line, the title, a
subtitle), a chart region on the left, a column on the right for the key number and the
takeaway, and a footer for the commands.

Nothing is placed by guesswork: each text is measured once drawn, the next one goes under
it, and a column that would run past its bottom is set again a little smaller. A chart's
axes are moved until their labels fit their region (`fit_axes`). The colours, sizes and
fonts are the charts' own (`mqlab.report.chart.style`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib as mpl
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.text import Text

from mqlab.report.chart.style import DPI, FIGSIZE, GRID, INK, MUTED, greedy_wrap

MONO = "DejaVu Sans Mono"  # ships with matplotlib: the commands, as typed
COMMAND_GID = "command"  # a command or option name: stays in Latin letters on any slide
LEFT, RIGHT = 0.035, 0.975  # the slide's margins (figure fractions)
HEADER_BOTTOM = 0.79  # the header lives above this line
FOOTER_TOP = 0.125  # the footer lives below this line
SPLIT = 0.60  # the chart region ends here, the key column starts a little right of it
GAP = 0.03
APART_PX = 10  # between two stacked texts: closer, they read as one (the layout test agrees)
UNIT = re.compile(r"^(ms|MB|s|%|×)(?![A-Za-z])")  # stays on the line of the number before it


@dataclass(frozen=True)
class Region:
    """A rectangle of the slide, in figure fractions."""

    x0: float
    y0: float
    x1: float
    y1: float


CHART = Region(LEFT, FOOTER_TOP + 0.01, SPLIT, HEADER_BOTTOM - 0.02)
COLUMN = Region(SPLIT + GAP, FOOTER_TOP + 0.01, RIGHT, HEADER_BOTTOM - 0.02)
FOOTER = Region(LEFT, 0.012, RIGHT, FOOTER_TOP - 0.01)


@dataclass(frozen=True)
class Block:
    """A text of a column: stacked under the one before it."""

    text: str
    size: float
    colour: str = INK
    weight: str = "normal"
    gap: float = 0.4  # space above it, in lines of its own size
    shrink: bool = True  # may be set smaller when the column is too long
    gid: str | None = None
    family: str | None = None


def new_slide() -> Figure:
    fig = Figure(figsize=FIGSIZE, dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def renderer(fig: Figure) -> Any:
    return fig.canvas.get_renderer()  # type: ignore[attr-defined]


def _width_px(
    fig: Figure, text: str, size: float, family: str | None = None, weight: str = "normal"
) -> float:
    """How wide `text` is drawn, in pixels: measured word by word (each word once: asking
    the font is slow), the spaces between them added."""
    words = text.split(" ")
    space = _measure(fig, " ", size, family, weight) if len(words) > 1 else 0.0
    return sum(_measure(fig, w, size, family, weight) for w in words) + space * (len(words) - 1)


def _measure(fig: Figure, text: str, size: float, family: str | None, weight: str) -> float:
    key = (text, size, family, weight, mpl.rcParams["font.family"][0], fig.dpi)
    if key not in _WIDTHS:
        font = FontProperties(size=size, weight=weight)
        if family:
            font.set_family(family)
        draw = renderer(fig)
        if text == " ":  # a space alone measures 0: the gap it makes between two letters
            pair = draw.get_text_width_height_descent("x x", font, ismath=False)[0]
            one = draw.get_text_width_height_descent("xx", font, ismath=False)[0]
            _WIDTHS[key] = float(pair - one)
        else:
            _WIDTHS[key] = float(draw.get_text_width_height_descent(text, font, ismath=False)[0])
    return _WIDTHS[key]


_WIDTHS: dict[tuple[Any, ...], float] = {}


def _words(paragraph: str) -> list[str]:
    """The words of a paragraph, a unit glued to its number ("206 ms" never breaks)."""
    out: list[str] = []
    for word in paragraph.split(" "):
        if out and UNIT.match(word):
            out[-1] += " " + word
        else:
            out.append(word)
    return out


def wrap(
    fig: Figure,
    text: str,
    width: float,
    size: float,
    family: str | None = None,
    weight: str = "normal",
) -> str:
    """Break `text` at spaces so that no line is wider than `width` (a figure fraction),
    measured in the font it will be drawn in. Existing line breaks are kept."""
    room = width * fig.bbox.width
    return greedy_wrap(text, lambda line: _width_px(fig, line, size, family, weight) > room, _words)


def fitting_size(
    fig: Figure, text: str, width: float, size: float, least: float, weight: str = "normal"
) -> float:
    """`size`, or smaller (not below `least`) so that one line of `text` fits `width`."""
    room = width * fig.bbox.width
    while size > least and _width_px(fig, text, size, weight=weight) > room:
        size -= 1
    return size


def put(
    fig: Figure, x: float, top: float, block: Block, width: float, scale: float = 1.0
) -> tuple[Text, float]:
    """Draw `block` at `x` with its top at `top`, wrapped to `width`; (the text, its bottom)."""
    size = block.size * scale if block.shrink else block.size
    body = wrap(fig, block.text, width, size, block.family, block.weight)
    text = fig.text(
        x,
        top,
        body,
        fontsize=size,
        color=block.colour,
        fontweight=block.weight,
        ha="left",
        va="top",
        linespacing=1.25,
        gid=block.gid,
        fontfamily=block.family,
    )
    box = text.get_window_extent(renderer(fig))
    return text, box.y0 / fig.bbox.height


def column(fig: Figure, region: Region, blocks: Sequence[Block]) -> None:
    """Stack `blocks` top down in `region`; if they run past its bottom, set the shrinkable
    ones smaller (never below 60%) until they fit."""
    scale = 1.0
    while True:
        drawn: list[Text] = []
        y = region.y1
        for block in blocks:
            size = block.size * scale if block.shrink else block.size
            y -= max(block.gap * size / 72 * DPI, APART_PX) / fig.bbox.height
            text, y = put(fig, region.x0, y, block, region.x1 - region.x0, scale)
            drawn.append(text)
        if y >= region.y0 or scale <= 0.6:
            return
        for text in drawn:
            text.remove()
        scale -= 0.05


def header(fig: Figure, kicker: str, title: str, subtitle: str) -> None:
    """The kicker (small, muted), the title and the subtitle, top down, then a rule."""
    width = RIGHT - LEFT
    apart = APART_PX / fig.bbox.height
    y = 0.975
    _, y = put(fig, LEFT, y, Block(kicker, 16, MUTED, shrink=False), width)
    size = fitting_size(fig, title, width, 32, 24, "bold")
    _, y = put(fig, LEFT, y - apart, Block(title, size, weight="bold", shrink=False), width)
    if subtitle:
        put(fig, LEFT, y - apart, Block(subtitle, 18, MUTED, shrink=False), width)
    fig.add_artist(
        Line2D([LEFT, RIGHT], [HEADER_BOTTOM] * 2, transform=fig.transFigure, color=GRID)
    )


def footer(fig: Figure, label: str, commands: Sequence[str], line: str) -> None:
    """ "by hand:" and the commands a student types, then a muted line (the workload)."""
    fig.add_artist(Line2D([LEFT, RIGHT], [FOOTER_TOP] * 2, transform=fig.transFigure, color=GRID))
    apart = APART_PX / fig.bbox.height
    y = FOOTER.y1
    label_text, below_label = put(fig, LEFT, y, Block(label, 14, MUTED, shrink=False), 0.2)
    indent = LEFT + label_text.get_window_extent(renderer(fig)).width / fig.bbox.width + 0.012
    for command in commands:
        size = fitting_size(fig, command, RIGHT - indent, 13, 9)
        block = Block(command, size, INK, shrink=False, gid=COMMAND_GID, family=MONO)
        _, y = put(fig, indent, y, block, RIGHT - indent)
        y -= apart
    if line:
        y = min(y, below_label - apart)
        put(fig, LEFT, y, Block(line, 13, MUTED, shrink=False), RIGHT - LEFT)


def fit_axes(fig: Figure, axes: Sequence[Axes], region: Region) -> None:
    """Move and shrink `axes` until everything they draw (tick labels, axis labels, legends)
    lies inside `region`: the box around all of it is mapped into the region, then measured
    again (labels keep their size in pixels while the axes shrink)."""
    for _ in range(5):
        boxes = [ax.get_tightbbox(renderer(fig)) for ax in axes]
        found = [b for b in boxes if b is not None]
        if not found:
            return
        w, h = fig.bbox.width, fig.bbox.height
        x0, x1 = min(b.x0 for b in found) / w, max(b.x1 for b in found) / w
        y0, y1 = min(b.y0 for b in found) / h, max(b.y1 for b in found) / h
        if x0 >= region.x0 and x1 <= region.x1 and y0 >= region.y0 and y1 <= region.y1:
            return
        fx = _onto(x0, x1, region.x0, region.x1)
        fy = _onto(y0, y1, region.y0, region.y1)
        for ax in axes:
            pos = ax.get_position()
            left, right = fx(pos.x0), fx(pos.x1)
            bottom, top = fy(pos.y0), fy(pos.y1)
            ax.set_position((left, bottom, right - left, top - bottom))


def _onto(lo: float, hi: float, low: float, high: float) -> Callable[[float], float]:
    """The linear map that takes [lo, hi] into [low, high] where it sticks out (with a hair
    of room), and leaves a side that fits where it is."""
    new_lo = max(lo, low + 0.002)
    new_hi = min(hi, high - 0.002)
    scale = (new_hi - new_lo) / (hi - lo) if hi > lo else 1.0

    def f(v: float) -> float:
        return new_lo + (v - lo) * scale

    return f
