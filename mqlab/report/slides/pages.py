"""The slides of a deck: the title, one per lesson, the machine's floors, the sources.

A lesson's slide: the claim in the notes' words as its title, the question under it, the
lesson's chart on the left, and on the right the measured key number in large type, what
it is, the verdict and the takeaway (both computed from that run, `lessontext`); the
commands that show the same thing by hand at the foot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.figure import Figure

from mqlab.report import i18n
from mqlab.report import lessontext as words
from mqlab.report.chart.style import GRID, INK, LABEL_PT, MUTED, fmt, num
from mqlab.report.slides import frame
from mqlab.report.slides.frame import COLUMN, LEFT, RIGHT, Block, Region
from mqlab.report.slides.panels import PANELS

Doc = Mapping[str, Any]
VERDICT_COLOURS = {  # Okabe-Ito, like the modes
    "holds": "#009E73",
    "partly": "#B07800",
    "contradicted": "#D55E00",
    "unclear": MUTED,
}
WARN = "#B07800"
FLOORS = ("http", "publish", "smtp")


def _workload(doc: Doc, lang: str) -> str:
    """What was measured: the core's own workload line (a sweep's has no request count)."""
    result = doc["result"]
    config = result.get("config") or doc["config"]
    modes = doc["config"]["modes"]
    line = i18n.workload_line(config, modes, lang, workers=doc["lesson"]["core"] != "sweep")
    return line or i18n.workload_line(doc["config"], modes, lang)


def lesson_slide(doc: Doc, lang: str) -> Figure:
    key, number = doc["lesson"]["key"], doc["lesson"]["number"]
    fig = frame.new_slide()
    kicker = i18n.text("slides.kicker", lang).format(n=number, source=words.source(key, lang))
    frame.header(fig, kicker, words.claim(key, lang), words.question(key, doc["config"], lang))
    axes = PANELS[key](fig, doc, lang)
    frame.fit_axes(fig, axes, frame.CHART)
    verdict = doc["measured"]["verdict"]
    big = words.big(doc, lang)
    blocks = [
        Block(i18n.text("lesson.measured", lang), 16, MUTED, gap=0),
        Block(
            big,
            frame.fitting_size(fig, big, COLUMN.x1 - COLUMN.x0, 64, 30, "bold"),
            INK,
            "bold",
            gap=0.1,
            shrink=False,
        ),
        Block(words.big_caption(doc, lang), 17, MUTED, gap=0.2),
    ]
    if doc["prediction"]["value"] is not None:
        guess = words.predicted(doc, lang, letter=False)
        shown = i18n.text("slides.predicted", lang).format(value=guess)
        blocks.append(Block(shown, 18, INK, gap=0.9))
    blocks += [
        Block(words.verdict(doc, lang), 19, VERDICT_COLOURS[verdict], "bold", gap=1.0),
        Block(words.takeaway(doc, lang), 19, INK, gap=0.5),
    ]
    busy = words.busy(doc, lang)
    if busy:
        blocks.append(Block(busy, 14, WARN, gap=0.9))
    frame.column(fig, COLUMN, blocks)
    frame.footer(
        fig, i18n.text("slides.by_hand", lang), doc["lesson"]["commands"], _workload(doc, lang)
    )
    return fig


def machine_line(docs: Sequence[Doc], lang: str) -> str:
    env = docs[0]["environment"]
    days = sorted({words.day(d["created"]) for d in docs})
    date = days[0] if len(days) == 1 else f"{days[0]} ~ {days[-1]}"
    line = i18n.text("slides.machine", lang).format(
        date=date,
        cores=env.get("cpu_usable") or env.get("cpu_count") or "?",
        system=str(env.get("platform") or "?").split("-")[0],
        python=env.get("python") or "?",
    )
    versions = [d["environment"].get("broker_version") for d in docs]
    version = next((v for v in versions if v), None)
    if version:
        line += " · " + i18n.text("slides.rabbit", lang).format(version=version)
    seeds = {d["config"].get("seed") for d in docs}
    if len(seeds) == 1:
        line += " · " + i18n.text("slides.seed", lang).format(seed=seeds.pop())
    if any(d.get("quick") for d in docs):
        line += " · " + i18n.text("slides.quick", lang)
    return line


def title_slide(docs: Sequence[Doc], lang: str) -> Figure:
    fig = frame.new_slide()
    width = RIGHT - LEFT
    y = 0.9
    _, y = frame.put(fig, LEFT, y, Block(i18n.text("slides.notes", lang), 18, MUTED), width)
    title = i18n.text("slides.title", lang)
    size = frame.fitting_size(fig, title, width, 44, 26, "bold")
    _, y = frame.put(fig, LEFT, y - 0.02, Block(title, size, INK, "bold"), width)
    _, y = frame.put(fig, LEFT, y - 0.02, Block(i18n.text("slides.subtitle", lang), 22), width)
    _, y = frame.put(fig, LEFT, y - 0.03, Block(machine_line(docs, lang), 18, MUTED), width)
    intro = i18n.text("slides.lessons", lang).format(n=len(docs))
    _, y = frame.put(fig, LEFT, y - 0.05, Block(intro, 20, INK, "bold"), width)
    for doc in docs:
        n, key = doc["lesson"]["number"], doc["lesson"]["key"]
        line = f"{n}.  {words.claim(key, lang)}"
        claim, bottom = frame.put(fig, LEFT + 0.02, y - 0.012, Block(line, 22), width - 0.02)
        # the measured key number beside each claim, in its verdict's colour
        after = claim.get_window_extent(frame.renderer(fig)).x1 / fig.bbox.width + 0.015
        colour = VERDICT_COLOURS[doc["measured"]["verdict"]]
        number = Block(words.big(doc, lang), 22, colour, "bold")
        frame.put(fig, after, y - 0.012, number, RIGHT - after)
        y = bottom
    return fig


def floors_slide(calibration: Doc | None, lang: str) -> Figure:
    """The least each step of the path takes here (`mqlab calibrate`): the floors under
    every number of the deck, or a plain "not measured"."""
    fig = frame.new_slide()
    floors = (calibration or {}).get("floors") or {}
    shown = [name for name in FLOORS if name in floors]
    every = next((floors[n].get("every_ms") for n in shown if floors[n].get("every_ms")), None)
    pacing = (
        i18n.text("floor.paced", lang).format(ms=every)
        if every
        else i18n.text("floor.unpaced", lang)
    )
    if shown:
        calls = floors[shown[0]].get("samples", "?")
        pacing += " · " + i18n.text("slides.floors.calls", lang).format(n=calls)
    frame.header(
        fig,
        i18n.text("slides.notes", lang),
        i18n.text("slides.floors.title", lang),
        pacing if shown else "",
    )
    if not shown:
        region = Region(LEFT, 0.3, RIGHT, 0.6)
        frame.column(fig, region, [Block(i18n.text("slides.floors.none", lang), 26, MUTED)])
        return fig
    region = Region(LEFT, frame.FOOTER_TOP, RIGHT, frame.HEADER_BOTTOM - 0.04)
    ax = fig.add_axes((0.35, 0.2, 0.5, 0.5))
    ys = list(range(len(shown)))[::-1]
    top = 1.0
    for y, name in zip(ys, shown, strict=True):
        ms = floors[name]["ms"]
        p50, p99 = num(ms.get("p50")), num(ms.get("p99"))
        ax.barh(y, p50, 0.55, color="#0072B2")
        ax.plot([p99, p99], [y - 0.3, y + 0.3], color=INK, linewidth=3)
        ax.annotate(
            f"p50 {fmt(p50, lang)} ms · p99 {fmt(p99, lang)} ms",
            (max(p50, p99), y),
            xytext=(10, 0),
            textcoords="offset points",
            va="center",
            fontsize=LABEL_PT,
            fontweight="bold",
        )
        top = max(top, p50, p99)
    labels = [frame.wrap(fig, i18n.text(f"floor.{n}", lang), 0.25, LABEL_PT) for n in shown]
    ax.set_yticks(ys, labels=labels, fontsize=LABEL_PT)
    ax.set_xlim(0, top * 1.9)
    ax.set_xlabel(i18n.text("slides.floors.axis", lang))
    ax.grid(axis="x", color=GRID)
    ax.set_axisbelow(True)
    frame.fit_axes(fig, [ax], region)
    return fig


def sources_slide(docs: Sequence[Doc], first: int, lang: str) -> Figure:
    """Which claim of the notes each slide reproduces, and where the numbers are kept."""
    fig = frame.new_slide()
    frame.header(fig, i18n.text("slides.notes", lang), i18n.text("slides.sources.title", lang), "")
    blocks = []
    for i, doc in enumerate(docs):
        key = doc["lesson"]["key"]
        row = i18n.text("slides.sources.row", lang).format(
            slide=first + i, claim=words.claim(key, lang), source=words.source(key, lang)
        )
        blocks.append(Block(row, 20, INK, gap=0.55))
    blocks.append(Block(i18n.text("slides.sources.files", lang), 17, MUTED, gap=1.4))
    frame.column(fig, Region(LEFT, frame.FOOTER_TOP, RIGHT, frame.HEADER_BOTTOM - 0.03), blocks)
    return fig
