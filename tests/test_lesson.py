"""`mqlab lesson`: the list, the prediction asked until it is one, a real run that shows the
prediction beside the measurement, and takeaways that follow the numbers, never the claim.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mqlab.cli.core import main
from mqlab.measure import lesson as lessons
from mqlab.measure import results
from mqlab.report import i18n
from mqlab.report import lessontext as words

try:
    from . import lessondata
except ImportError:  # tests/ collected as a plain directory
    import lessondata  # type: ignore[no-redef]


def mqlab(*args: str, answers: str, timeout: float) -> subprocess.CompletedProcess[str]:
    """The real CLI in a process of its own, its answers typed on stdin as a student would."""
    return subprocess.run(
        [sys.executable, "-m", "mqlab", *args],
        input=answers,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "160"},
        check=False,
    )


# --- the list ---------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", i18n.LANGS)
def test_the_list_names_each_lesson_with_its_claim_command_and_chart(
    lang: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["lesson", "--lang", lang]) == 0
    shown = capsys.readouterr().out
    for spec in lessons.LESSONS:
        assert words.claim(spec.key, lang) in " ".join(shown.split())
    for command in ("mqlab compare", "mqlab crash-test", "mqlab sweep", "mqlab lesson 7"):
        assert command in shown
    assert "app-kill" in shown and i18n.text("lesson.chart.own", lang) in shown


def test_there_is_no_lesson_8(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lesson", "8"]) == 2
    assert "there is no lesson 8: the lessons are 1 to 7" in capsys.readouterr().err


# --- the prediction ---------------------------------------------------------------------------


def test_a_prediction_is_a_number_in_range_or_one_of_the_choices() -> None:
    lost = lessons.lesson(3).predict
    assert lessons.parse(lost, "12") == 12.0
    assert lessons.parse(lost, " 12 jobs ") == 12.0
    assert lessons.parse(lost, "12건") == 12.0
    for bad in ("", "many", "-1", "41", "nan", "1e3", "12 34"):
        assert lessons.parse(lost, bad) is None, bad
    who = lessons.lesson(5).predict
    assert [lessons.parse(who, a) for a in ("a", "B)", "3", "neither")] == [
        "both",
        "broker",
        "thread",
        "neither",
    ]
    assert lessons.parse(who, "e") is None and lessons.parse(who, "0") is None


def test_a_bad_prediction_is_asked_again_and_the_end_of_input_stops_cleanly(
    tmp_path: Path,
) -> None:
    """Nothing is measured before the student committed to a guess; no answer, no run."""
    done = mqlab("lesson", "3", "--out", str(tmp_path), answers="many\n-5\n", timeout=30)
    assert done.returncode == 130, done.stderr
    assert done.stderr.strip() == "mqlab: error: interrupted"
    prompt = i18n.text("lesson.predict", "en") + " [0-40 jobs]"
    assert done.stdout.count(prompt) == 3  # asked, asked again twice, then no more input
    assert done.stdout.count(i18n.text("lesson.bad.number", "en").format(low=0, high=40)) == 2
    assert not list(tmp_path.iterdir())


# --- a takeaway says what the numbers say ------------------------------------------------------


def _crash(thread_lost: int, broker_lost: int) -> dict[str, Any]:
    doc = lessondata.crash()
    thread, broker = doc["rows"]
    thread.update(lost=thread_lost, delivered=thread["accepted"] - thread_lost)
    broker.update(lost=broker_lost, delivered=broker["accepted"] - broker_lost)
    return lessondata.lesson_doc("crash", doc)


def test_a_takeaway_names_the_measured_numbers() -> None:
    doc = _crash(13, 0)
    assert doc["measured"]["verdict"] == "holds" and doc["measured"]["value"] == 13
    said = words.takeaway(doc, "en")
    assert "lost 13 of the 21 jobs" in said and "lost 0 of 20" in said
    assert "21건 중 13건이 유실" in words.takeaway(doc, "ko")


def test_a_measurement_that_contradicts_the_claim_says_so() -> None:
    lost = _crash(13, 2)
    assert lost["measured"]["verdict"] == "contradicted"
    assert "lost 2 of 20" in words.takeaway(lost, "en") and "must not happen" in words.takeaway(
        lost, "en"
    )
    nothing = _crash(0, 0)  # the pool held nothing when it was killed: no lesson in that
    assert nothing["measured"]["verdict"] == "unclear"
    assert "held no job" in words.takeaway(nothing, "en")
    slow = lessondata.immediate()
    for run in slow["runs"]:
        if run["mode"] == "broker":
            run["summary"]["response_ms"]["p50"] = 250.0  # no sooner than sync's 210 ms
    judged = lessondata.lesson_doc("immediate", slow)
    assert judged["measured"]["verdict"] == "contradicted"
    assert words.takeaway(judged, "en").startswith("Not this time")


def test_every_takeaway_a_judge_gives_exists_in_both_languages() -> None:
    for doc in lessondata.all_lessons():
        for lang in i18n.LANGS:
            said = words.takeaway(doc, lang)
            assert "{" not in said and words.MISSING not in said.split(), (doc["lesson"], said)


# --- a real lesson, as a student runs it ------------------------------------------------------


@pytest.mark.broker
@pytest.mark.slow
def test_lesson_3_shows_the_prediction_beside_the_measured_loss(tmp_path: Path) -> None:
    done = mqlab("lesson", "3", "--quick", "--out", str(tmp_path), answers="lots\n6\n", timeout=150)
    assert done.returncode == 0, done.stderr
    saved = sorted(tmp_path.glob("*.json"))
    kinds = {results.load(p)["kind"]: p for p in saved}
    assert set(kinds) == {"crash-test", "lesson"}
    doc = results.load(kinds["lesson"])
    rows = {r["mode"]: r for r in doc["result"]["rows"]}
    assert doc["prediction"]["value"] == 6.0
    assert doc["measured"]["value"] == rows["thread"]["lost"]  # the thread pool's loss
    assert doc["files"] == [kinds["crash-test"].name]
    assert json.loads(kinds["crash-test"].read_text())["rows"] == doc["result"]["rows"]
    shown = done.stdout
    assert i18n.text("lesson.bad.number", "en").format(low=0, high=40) in shown
    assert "6 jobs" in shown and f"{rows['thread']['lost']} jobs" in shown  # side by side
    assert " ".join(words.takeaway(doc, "en").split()) in " ".join(shown.split())
