"""The deck of `mqlab slides`: every lesson's claim with this machine's numbers, 16:9.

    write_deck(lesson_docs, calibration_doc, Path("results/slides"), lang="ko")

writes one PNG per slide (1920×1080), the same slides as one PDF, and a Markdown outline,
beside the lesson result files their numbers come from. Slides: a title (the machine and
the date, from the results' environment), one per lesson (`pages.lesson_slide`), the
machine's floors (or "not measured"), and the sources in the course notes.

Its modules: `frame` (the layout every slide shares, measured, never guessed), `panels`
(each lesson's chart), `labels` (their value labels), `pages` (the slides), `outline` (the
Markdown). Like the charts of
`mqlab.report.chart`, whose sizes, colours and fonts it uses, it imports matplotlib; words
come from `mqlab.report.i18n` through `mqlab.report.lessontext`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from mqlab.report import i18n
from mqlab.report.chart.style import DPI, families, rc
from mqlab.report.slides.outline import outline
from mqlab.report.slides.pages import floors_slide, lesson_slide, sources_slide, title_slide

Doc = Mapping[str, Any]
Slide = tuple[str, Figure]  # (what it shows, the figure)


def floors_of(docs: Sequence[Doc], calibration: Doc | None) -> Doc | None:
    """The calibration to show: the one given, else the one a price lesson measured."""
    if calibration is not None:
        return calibration
    for doc in docs:
        embedded = doc["result"].get("calibration")
        if isinstance(embedded, dict) and embedded.get("floors"):
            return embedded
    return None


def slides_for(docs: Sequence[Doc], calibration: Doc | None, lang: str) -> list[Slide]:
    """(name, figure) of every slide, in order; nothing is saved."""
    i18n.check_lang(lang)
    with matplotlib.rc_context(rc(lang)):
        out: list[Slide] = [("title", title_slide(docs, lang))]
        out += [(f"lesson-{d['lesson']['number']}", lesson_slide(d, lang)) for d in docs]
        out.append(("floors", floors_slide(floors_of(docs, calibration), lang)))
        out.append(("sources", sources_slide(docs, 2, lang)))
        for _, fig in out:
            for ax in fig.axes:
                ax.tick_params(which="both", labelfontfamily=families(lang))
    return out


@contextlib.contextmanager
def _quiet_fonttools() -> Iterator[None]:
    """fontTools, subsetting a font into the PDF, logs a line per table it leaves out
    ("TSI0 NOT subset"): noise for the user, not a problem with the deck."""
    logger = logging.getLogger("fontTools.subset")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def write_deck(
    docs: Sequence[Doc], calibration: Doc | None, out: Path, lang: str = "en"
) -> list[Path]:
    """Write the PNGs, the PDF and the outline into `out`; return the paths written."""
    slides = slides_for(docs, calibration, lang)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"slides-{lang}"
    written: list[Path] = []
    pdf_path = out / f"{stem}.pdf"
    metadata = {"Title": i18n.text("slides.title", lang), "Creator": "mqlab", "CreationDate": None}
    with (
        _quiet_fonttools(),
        matplotlib.rc_context({**rc(lang), "pdf.fonttype": 42}),
        PdfPages(pdf_path, metadata=metadata) as pdf,
    ):
        for number, (_, fig) in enumerate(slides, start=1):
            png = out / f"{stem}-{number:02d}.png"
            fig.savefig(png, format="png", dpi=DPI)
            pdf.savefig(fig)
            written.append(png)
    written.append(pdf_path)
    md = out / f"{stem}.md"
    md.write_text(outline(docs, floors_of(docs, calibration), lang, stem), encoding="utf-8")
    written.append(md)
    return written
