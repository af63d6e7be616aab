"""Value labels on a slide's chart that keep clear of the lines: `label` puts a value
beside its point, at the first of a few offsets where it stays inside the axes, crosses no
drawn line and touches no other label or legend.

Apart from `panels` (the charts that use it) to keep each module short.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.text import Annotation
from matplotlib.transforms import Bbox

from mqlab.report.chart.style import INK, VALUE_PT
from mqlab.report.slides.frame import renderer

Offset = tuple[float, float, Literal["left", "center", "right"], Literal["bottom", "center", "top"]]
AROUND: tuple[Offset, ...] = (
    (0, 10, "center", "bottom"),
    (-10, 8, "right", "bottom"),
    (10, 8, "left", "bottom"),
    (0, -10, "center", "top"),
    (-10, -8, "right", "top"),
    (10, -8, "left", "top"),
    (14, 0, "left", "center"),
    (-14, 0, "right", "center"),
)
ABOVE: tuple[Offset, ...] = tuple((0, 6 + 16 * k, "center", "bottom") for k in range(5))


def _path(line: Line2D) -> Any:
    """The drawn path of `line` in pixels (steps drawn as steps)."""
    xy = line.get_transform().transform(np.column_stack([line.get_xdata(), line.get_ydata()]))
    if line.get_drawstyle() == "steps-post" and len(xy) > 1:
        corners = [xy[0]]
        for (_, y0), (x1, y1) in itertools.pairwise(xy):
            corners += [(x1, y0), (x1, y1)]
        xy = np.array(corners)
    return xy


def _crosses(xy: Any, box: Bbox) -> bool:
    for (x0, y0), (x1, y1) in itertools.pairwise(xy):
        for s in np.linspace(0.0, 1.0, 60):
            if box.contains(x0 + s * (x1 - x0), y0 + s * (y1 - y0)):
                return True
    return False


def label(
    ax: Axes,
    xy: tuple[float, float],
    text: str,
    colour: str = INK,
    offsets: Sequence[Offset] = AROUND,
    size: float = VALUE_PT,
) -> Annotation:
    """A value label by `xy`: at the first of `offsets` where it stays inside the axes,
    crosses no line and touches no other label or legend (else at the first). Call it once
    the axes are where they stay (`frame.fit_axes`)."""
    draw = renderer(ax.figure)  # type: ignore[arg-type]
    inside = ax.get_window_extent(draw)
    taken = [t.get_window_extent(draw).padded(4) for t in ax.texts]
    legend = ax.get_legend()
    if legend is not None:
        taken.append(legend.get_window_extent(draw))
    paths = [_path(line) for line in ax.lines if line.get_visible()]

    def note_at(offset: Offset) -> Annotation:
        dx, dy, ha, va = offset
        return ax.annotate(
            text,
            xy,
            xytext=(dx, dy),
            textcoords="offset points",
            ha=ha,
            va=va,
            fontsize=size,
            fontweight="bold",
            color=colour,
        )

    for offset in offsets:
        note = note_at(offset)
        box = note.get_window_extent(draw)
        inner = inside.x0 <= box.x0 and box.x1 <= inside.x1
        inner = inner and inside.y0 <= box.y0 and box.y1 <= inside.y1
        if (
            inner
            and not any(box.overlaps(t) for t in taken)
            and not any(_crosses(path, box.padded(2)) for path in paths)
        ):
            return note
        note.remove()
    return note_at(offsets[0])  # nowhere clear: where it reads best
