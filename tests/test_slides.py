"""The deck of `mqlab slides`: every slide laid out without overlapping or clipped text in
both languages (the chart layout test's own checker), Korean slides in Korean, and the
files of a deck: one 16:9 PNG per slide, a PDF with as many pages, the outline, and the
result files beside them.

The lesson documents are made from known results (`lessondata`) by the real judges; the
measurement behind a real one is `test_lesson.py`'s.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path
from typing import Any

import matplotlib
import pytest
from matplotlib.figure import Figure

from mqlab.cli.core import main
from mqlab.measure import lesson as lessons
from mqlab.measure import results
from mqlab.report import i18n, slides
from mqlab.report import lessontext as words
from mqlab.report.chart.style import rc
from mqlab.report.slides.frame import COMMAND_GID
from mqlab.report.slides.pages import floors_slide

try:
    from . import lessondata
    from .test_chart_layout import problems, visible_texts
except ImportError:  # tests/ collected as a plain directory
    import lessondata  # type: ignore[no-redef]
    from test_chart_layout import problems, visible_texts  # type: ignore[no-redef]

# Latin words a Korean slide may show: units, acronyms and the names of products
LATIN_OK = {"ms", "s", "MB", "RSS", "p50", "p99", "W", "CPU", "HTTP", "SMTP", "SIGKILL",
            "RabbitMQ", "Python", "Linux"}  # fmt: skip
COMMAND = re.compile(r"'mqlab [^']*'|--[a-z][a-z-]*")  # a command or an option in a sentence


@pytest.fixture(scope="module")
def docs() -> list[dict[str, Any]]:
    return lessondata.all_lessons()


@pytest.fixture(scope="module")
def deck(docs: list[dict[str, Any]]) -> dict[str, list[tuple[str, Figure]]]:
    """Every slide of the deck, in each language (drawn once: the tests only look)."""
    return {lang: slides.slides_for(docs, None, lang) for lang in i18n.LANGS}


@pytest.mark.parametrize("lang", i18n.LANGS)
def test_no_text_overlaps_or_leaves_any_slide(
    deck: dict[str, list[tuple[str, Figure]]], lang: str
) -> None:
    made = deck[lang]
    assert [name for name, _ in made] == [
        "title",
        *(f"lesson-{n}" for n in range(1, 8)),
        "floors",
        "sources",
    ]
    found = [f"{name}: {p}" for name, fig in made for p in problems(fig)]
    assert not found, "\n".join(found)


def test_korean_slides_hold_no_english_word_but_units_and_commands(
    deck: dict[str, list[tuple[str, Figure]]],
) -> None:
    english: dict[str, set[str]] = {}
    for name, fig in deck["ko"]:
        fig.draw_without_rendering()
        for t in visible_texts(fig):
            if t.get_gid() == COMMAND_GID:  # typed as is: mqlab crash-test --modes ...
                continue
            shown = COMMAND.sub("", t.get_text())
            english.setdefault(name, set()).update(re.findall(r"[A-Za-z][A-Za-z0-9-]*", shown))
    strays = {name: sorted(w - LATIN_OK) for name, w in english.items() if w - LATIN_OK}
    assert not strays, strays


def test_each_lesson_slide_shows_its_measured_number_and_takeaway(
    docs: list[dict[str, Any]], deck: dict[str, list[tuple[str, Figure]]]
) -> None:
    made = dict(deck["en"])
    for doc in docs:
        shown = " ".join(
            t.get_text() for t in visible_texts(made[f"lesson-{doc['lesson']['number']}"])
        )
        flat = " ".join(shown.split())
        assert words.big(doc, "en") in flat
        assert " ".join(words.takeaway(doc, "en").split()) in flat
        assert doc["lesson"]["commands"][0] in flat
    crash = next(d for d in docs if d["lesson"]["key"] == "crash")
    assert words.big(crash, "en") == "13 : 0"  # thread lost 13 of 21, broker none


def test_the_floors_slide_says_so_when_they_were_not_measured(
    deck: dict[str, list[tuple[str, Figure]]],
) -> None:
    for lang in i18n.LANGS:
        with matplotlib.rc_context(rc(lang)):  # as slides_for draws it
            fig = floors_slide(None, lang)
        shown = " ".join(" ".join(t.get_text() for t in visible_texts(fig)).split())
        assert i18n.text("slides.floors.none", lang) in shown
    fig = dict(deck["en"])["floors"]  # the floors the price lesson measured
    shown = " ".join(t.get_text() for t in visible_texts(fig))
    assert "p50 2.3 ms" in shown and "p50 1.4 ms" in shown and "20 calls" in shown


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", head[16:24])
    return int(width), int(height)


def test_slides_from_a_folder_write_the_deck_beside_its_results(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`mqlab slides --from DIR --out OUT`: the deck, and the result files copied beside it."""
    source, out = tmp_path / "class", tmp_path / "deck"
    for key in ("crash", "price"):
        spec = next(s for s in lessons.LESSONS if s.key == key)
        doc = lessondata.RESULTS[key]()
        made = lessons.LessonResult(spec, None, lessons.judge(spec, doc), doc, 20.0, None,
                                    "2026-11-25T07:34:12Z")  # fmt: skip
        lessons.save(made, source)
    assert main(["slides", "--from", str(source), "--out", str(out), "--lang", "ko"]) == 0
    pngs = sorted(out.glob("slides-ko-*.png"))
    assert [p.name for p in pngs] == [f"slides-ko-{n:02d}.png" for n in range(1, 6)]
    assert all(_png_size(p) == (1920, 1080) for p in pngs)
    pdf = (out / "slides-ko.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page\b", pdf)) == 5
    outline = (out / "slides-ko.md").read_text(encoding="utf-8")
    for png in pngs:
        assert f"]({png.name})" in outline
    assert "13 : 0" in outline and "유실" in outline
    copied = {p.name for p in out.glob("*.json")}
    assert copied == {p.name for p in source.glob("*.json")}  # lessons, crash-test, calibration
    kinds = sorted(results.load(out / name)["kind"] for name in copied)
    assert kinds == ["calibration", "crash-test", "lesson", "lesson"]
    said = capsys.readouterr().out
    assert str(out / "slides-ko.pdf") in said
