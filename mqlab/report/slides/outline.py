"""The deck as Markdown: each slide's title, picture and words, and the result files its
numbers come from, for speaker notes, a course page, or a diff between two runs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mqlab.report import i18n
from mqlab.report import lessontext as words
from mqlab.report.chart.style import fmt, num
from mqlab.report.slides.pages import FLOORS, machine_line

Doc = Mapping[str, Any]


def outline(docs: Sequence[Doc], calibration: Doc | None, lang: str, stem: str) -> str:
    def t(key: str) -> str:
        return i18n.text(key, lang)

    lines = [
        f"# {t('slides.title')}",
        "",
        t("slides.subtitle"),
        "",
        machine_line(docs, lang),
        "",
        f"![]({stem}-01.png)",
    ]
    for slide, doc in enumerate(docs, start=2):
        key, n = doc["lesson"]["key"], doc["lesson"]["number"]
        title = words.title(n, key, lang)
        lines += [
            "",
            f"## {t('slides.outline.slide').format(n=slide, title=title)}",
            "",
            f"![]({stem}-{slide:02d}.png)",
            "",
            f"- {t('lesson.question')}: {words.question(key, doc['config'], lang)}",
            f"- {t('lesson.measured')}: **{words.big(doc, lang)}** "
            f"({words.big_caption(doc, lang)})",
        ]
        if doc["prediction"]["value"] is not None:
            lines.append(f"- {t('lesson.you')}: {words.predicted(doc, lang, letter=False)}")
        lines += [
            f"- {words.verdict(doc, lang)}: {words.takeaway(doc, lang)}",
            f"- {t('slides.by_hand')} " + " ; ".join(f"`{c}`" for c in doc["lesson"]["commands"]),
            f"- {words.source(key, lang)}",
            f"- {t('slides.outline.files')}: "
            + ", ".join(f"`{name}`" for name in [*doc.get("files", [])]),
        ]
        busy = words.busy(doc, lang)
        if busy:
            lines.append(f"- {busy}")
    floors_slide = len(docs) + 2
    lines += [
        "",
        f"## {t('slides.outline.slide').format(n=floors_slide, title=t('slides.floors.title'))}",
        "",
        f"![]({stem}-{floors_slide:02d}.png)",
        "",
    ]
    floors = (calibration or {}).get("floors") or {}
    if not any(name in floors for name in FLOORS):
        lines.append(t("slides.floors.none"))
    for name in FLOORS:
        if name in floors:
            ms = floors[name]["ms"]
            lines.append(
                f"- {t('floor.' + name)}: p50 {fmt(num(ms.get('p50')), lang)} ms, "
                f"p99 {fmt(num(ms.get('p99')), lang)} ms"
            )
    last = floors_slide + 1
    lines += [
        "",
        f"## {t('slides.outline.slide').format(n=last, title=t('slides.sources.title'))}",
        "",
        f"![]({stem}-{last:02d}.png)",
        "",
    ]
    for slide, doc in enumerate(docs, start=2):
        key = doc["lesson"]["key"]
        row = t("slides.sources.row").format(
            slide=slide, claim=words.claim(key, lang), source=words.source(key, lang)
        )
        lines.append(f"- {row}")
    lines += ["", t("slides.sources.files"), ""]
    return "\n".join(lines)
