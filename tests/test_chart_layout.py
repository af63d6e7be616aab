"""Slides without overlapping or clipped text: every chart kind, in English and Korean.

Each figure is laid out at its real size (drawn without rendering its pixels: text extents
need the layout and the fonts, not the raster); then every visible text (titles, tick
labels, axis labels, legend entries, bar labels, annotations, the sentences under the axes)
is measured in pixels. No two may overlap, none may leave the figure, and the timeline's
data lines may not run through its peak label (the issue saw the queue-depth line do just
that).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.text import Annotation, Text
from matplotlib.transforms import Bbox

from mqlab.report import chart, i18n

try:
    from . import chartdata
except ImportError:  # tests/ collected as a plain directory
    import chartdata  # type: ignore[no-redef]

DOCS = {
    "compare": chartdata.compare(),
    "compare-long": chartdata.compare_long(),
    "compare-late": chartdata.compare_late(),
    "run-sync": chartdata.run("sync"),
    "crash": chartdata.crash_test(),
    "crash-crowded": chartdata.crash_crowded(),
    "crash-nodes": chartdata.crash_nodes(),
    "compare-price": chartdata.compare_price(),
    "sweep": chartdata.sweep(),
}
# Drawing is what costs: of a document whose other slides another one already covers, only
# the charts that are its own (the compare on two queue types: replication, and the latency
# slide, whose broker groups carry a third line).
ONLY = {"compare-price": {"replication", "latency"}}
_DRAWN: dict[tuple[str, str], list[tuple[str, Figure]]] = {}


def drawn(doc: str, lang: str) -> list[tuple[str, Figure]]:
    """Every chart of DOCS[doc] in `lang` (those of ONLY[doc]), drawn once (layout done) and
    kept: the tests below look at the same figures instead of drawing each one three times."""
    if (doc, lang) not in _DRAWN:
        charts = chart.charts_for(DOCS[doc], lang)
        charts = [(name, fig) for name, fig in charts if name in ONLY.get(doc, {name})]
        for _, fig in charts:
            fig.draw_without_rendering()
        _DRAWN[(doc, lang)] = charts
    return _DRAWN[(doc, lang)]


SLACK_PX = 1.0  # anti-aliasing: a text may touch the figure's edge by a pixel
GAP_PX = 8.0  # two texts closer than this read as one ("1234523456"): counted as overlap


def _axis_texts(ax: Axes) -> Iterator[Text]:
    for axis in (ax.xaxis, ax.yaxis):
        for tick in axis._update_ticks():  # the ticks drawn, not the spare ones
            yield from (tick.label1, tick.label2)
        yield axis.label
    yield from (ax.title, ax._left_title, ax._right_title)
    yield from ax.texts
    legend = ax.get_legend()
    if legend is not None:
        yield from legend.get_texts()


def visible_texts(fig: Figure) -> list[Text]:
    found: list[Text] = list(fig.texts)
    for legend in fig.legends:
        assert isinstance(legend, Legend)
        found += legend.get_texts()
    for ax in fig.axes:
        if ax.get_visible():
            found += _axis_texts(ax)
    return [t for t in found if t.get_visible() and t.get_text().strip()]


def _box(t: Text, renderer: Any) -> Bbox:
    box = t.get_window_extent(renderer)
    if isinstance(t, Annotation) or t.get_bbox_patch() is not None:
        patch = t.get_bbox_patch()
        if patch is not None:
            box = Bbox.union([box, patch.get_window_extent(renderer)])
    return box


def _name(t: Text) -> str:
    return repr(t.get_text()[:40])


def problems(fig: Figure, draw: bool = True) -> list[str]:
    """Every pair of overlapping texts, every text outside the figure, every line through
    a timeline's peak label: one line each. `draw=False`: the figure is drawn already."""
    if draw:
        fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    page = fig.bbox
    texts = visible_texts(fig)
    boxes = [_box(t, renderer) for t in texts]
    # an axis title sits a few points from its tick labels by design: it only may not touch
    titles = {id(ax.xaxis.label) for ax in fig.axes} | {id(ax.yaxis.label) for ax in fig.axes}
    out: list[str] = []
    for t, b in zip(texts, boxes, strict=True):
        if (
            b.x0 < page.x0 - SLACK_PX
            or b.y0 < page.y0 - SLACK_PX
            or b.x1 > page.x1 + SLACK_PX
            or b.y1 > page.y1 + SLACK_PX
        ):
            out.append(f"{_name(t)} leaves the figure: {b.bounds}")
    for i in range(len(texts)):
        for j in range(i + 1, len(texts)):
            a, b = boxes[i], boxes[j]
            w = min(a.x1, b.x1) - max(a.x0, b.x0)
            h = min(a.y1, b.y1) - max(a.y0, b.y0)
            gap = SLACK_PX if {id(texts[i]), id(texts[j])} & titles else -GAP_PX
            if w > gap and h > gap:
                out.append(f"{_name(texts[i])} overlaps {_name(texts[j])}")
    out += _lines_through_labels(fig, renderer)
    return out


def _crosses(line: Line2D, box: Bbox) -> bool:
    """Does the drawn path of `line` enter `box` (in pixels)? Sampled densely along it."""
    xy = line.get_transform().transform(np.column_stack([line.get_xdata(), line.get_ydata()]))
    if line.get_drawstyle() == "steps-mid" and len(xy) > 1:
        mids = (xy[1:, 0] + xy[:-1, 0]) / 2
        pts = [xy[0]]
        for k, m in enumerate(mids):
            pts += [(m, xy[k, 1]), (m, xy[k + 1, 1])]
        pts.append(xy[-1])
        xy = np.array(pts)
    inner = box.padded(-SLACK_PX)
    for (x0, y0), (x1, y1) in itertools.pairwise(xy):
        for s in np.linspace(0.0, 1.0, 50):
            if inner.contains(x0 + s * (x1 - x0), y0 + s * (y1 - y0)):
                return True
    return False


def _lines_through_labels(fig: Figure, renderer: Any) -> list[str]:
    """On timelines: no data line (delivered, backlog, queue depth, event marks) through
    the peak-backlog label or an event label's text."""
    out: list[str] = []
    for ax in fig.axes:
        labels = [t for t in ax.texts if isinstance(t, Annotation) and t.get_visible()]
        for label in labels:
            box = label.get_window_extent(renderer)
            for line in ax.lines:
                if line.get_visible() and _crosses(line, box):
                    out.append(f"a line runs through {_name(label)}")
    return out


@pytest.mark.parametrize("lang", i18n.LANGS)
@pytest.mark.parametrize("doc", sorted(DOCS))
def test_no_text_overlaps_or_leaves_the_slide(doc: str, lang: str) -> None:
    charts = drawn(doc, lang)
    found = [f"{name}: {p}" for name, fig in charts for p in problems(fig, draw=False)]
    assert not found, "\n".join(found)
    # the sentences under the axes are among the texts checked: one per mode at least
    assert all(_captions(fig) for _, fig in charts)


def _captions(fig: Figure) -> list[Text]:
    return [t for t in fig.texts if t.get_gid() == chart.CAPTION_GID]


def test_the_checker_sees_an_overlap_and_a_clipped_text() -> None:
    fig = Figure(figsize=(4, 3), dpi=100)
    FigureCanvasAgg(fig)
    fig.text(0.1, 0.5, "one label")
    fig.text(0.12, 0.5, "another label")
    fig.text(0.95, 0.1, "cut at the edge")
    found = problems(fig)
    assert any("overlaps" in p for p in found)
    assert any("leaves the figure" in p for p in found)


@pytest.mark.parametrize("lang", i18n.LANGS)
def test_file_names_say_each_thing_once(lang: str) -> None:
    for key, doc in DOCS.items():
        for name, _ in drawn(key, lang):
            words = name.split("-")
            assert len(words) == len(set(words)), name
            assert not set(words) & set(doc["kind"].split("-")), name  # "crash-test-crash-…"


def test_korean_slides_hold_no_english_word() -> None:
    import re

    allowed = {"ms", "p50", "p95", "p99", "W", "CPU", "ACK", "RabbitMQ"}  # as the tables
    for doc in DOCS:
        for name, fig in drawn(doc, "ko"):
            words = {
                w
                for t in visible_texts(fig)
                for w in re.findall(r"[A-Za-z][A-Za-z0-9-]*", t.get_text())
            }
            assert not words - allowed, (name, sorted(words - allowed))
