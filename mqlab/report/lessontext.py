"""The words of a lesson, from its result document (or, before it ran, its settings): the
claim, the question, what is asked, the prediction and the measured value side by side, the
verdict and the takeaway. The terminal (`lessons`) and the slides (`slides`) both say them,
so they say the same thing. Neither rich nor matplotlib is imported here.

A takeaway is `lesson.<key>.<say>` filled with the numbers the judge took from the
measurement (`mqlab.measure.lesson.judge`); an unclear one is `lesson.unclear` with its
reason. A number the sentence names but the run lacks reads "-", never a made-up value.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from mqlab.report.i18n import TEXTS, text

Doc = Mapping[str, Any]
MISSING = "-"
BUSY_CORES = 0.5  # others took more CPU than this meanwhile: the lesson says so


class _Filled(dict[str, str]):
    """Fields for `str.format_map`: a field the numbers lack reads as MISSING."""

    def __missing__(self, key: str) -> str:
        return MISSING


def fmt(value: Any) -> str:
    """A number as a sentence shows it: 1,234 · 205 · 37.7 · 8.4 · 0.58; None: "-"."""
    if isinstance(value, bool) or value is None:
        return MISSING
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):  # as the charts write it (chart.style.fmt), in thousands
        if value != value:  # NaN
            return MISSING
        if value.is_integer() and abs(value) < 1e15:
            return f"{int(value):,}"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 1:
            return f"{value:.1f}".removesuffix(".0")
        return f"{value:.2f}"
    return str(value)


def _fields(numbers: Mapping[str, Any]) -> _Filled:
    return _Filled({k: fmt(v) for k, v in numbers.items()})


def _say(key: str, lang: str, numbers: Mapping[str, Any]) -> str:
    return text(key, lang).format_map(_fields(numbers))


def settings_fields(config: Doc) -> dict[str, Any]:
    """The numbers a question names, from a lesson's settings (`catalog.settings`)."""
    counts = config.get("worker_counts") or [1, 1]
    return {
        "requests": config.get("requests"),
        "rate": config.get("rate"),
        "scan": config.get("scan_ms"),
        "workers": config.get("workers"),
        "fail": round(100 * float(config.get("smtp_fail_rate") or 0)),
        "retries": config.get("max_retries"),
        "w1": counts[0],
        "wk": counts[-1],
    }


def claim(key: str, lang: str) -> str:
    return text(f"lesson.{key}.claim", lang)


def title(number: int, key: str, lang: str) -> str:
    return text("lesson.title", lang).format(n=number, claim=claim(key, lang))


def source(key: str, lang: str) -> str:
    return text(f"lesson.{key}.source", lang)


def question(key: str, config: Doc, lang: str) -> str:
    return _say(f"lesson.{key}.question", lang, settings_fields(config))


def ask(key: str, config: Doc, lang: str) -> str:
    return _say(f"lesson.{key}.ask", lang, settings_fields(config))


def chart_words(key: str, lang: str) -> str:
    return text(f"lesson.{key}.chart", lang)


def unit(name: str, lang: str) -> str:
    key = f"lesson.unit.{name}"
    return text(key, lang) if key in TEXTS[lang] else name


def with_unit(value: Any, name: str, lang: str) -> str:
    shown = unit(name, lang)
    return f"{fmt(value)}{shown}" if shown in ("×", "배", "건") else f"{fmt(value)} {shown}"


def letters(options: list[str]) -> list[str]:
    return [chr(ord("a") + i) for i in range(len(options))]


def option(options: list[str], value: str, lang: str, letter: bool = True) -> str:
    """ "b) only the message broker": a choice with the letter the student types (a slide
    shows the words alone)."""
    words = text(f"lesson.choice.{value}", lang)
    if not letter:
        return words
    mark = letters(options)[options.index(value)] if value in options else "?"
    return f"{mark}) {words}"


def options_line(options: list[str], lang: str) -> str:
    return "   ".join(option(options, o, lang) for o in options)


def range_hint(asked: Doc, lang: str) -> str:
    """ "[0-40 jobs]" or "[a-d]": what the prompt accepts."""
    if asked["kind"] == "choice":
        return f"[{letters(asked['options'])[0]}-{letters(asked['options'])[-1]}]"
    return f"[{fmt(asked['low'])}-{fmt(asked['high'])} {unit(asked['unit'], lang)}]"


def bad_answer(asked: Doc, lang: str) -> str:
    """What to type instead of an answer that is not a prediction."""
    if asked["kind"] == "choice":
        return text("lesson.bad.choice", lang).format(letters=", ".join(letters(asked["options"])))
    return text("lesson.bad.number", lang).format(low=fmt(asked["low"]), high=fmt(asked["high"]))


def shown_value(asked: Doc, value: Any, lang: str, letter: bool = True) -> str:
    """A prediction or a measured value as the student reads it."""
    if value is None:
        return MISSING
    if asked["kind"] == "choice":
        return option(list(asked["options"]), str(value), lang, letter)
    return with_unit(value, asked["unit"], lang)


def predicted(doc: Doc, lang: str, letter: bool = True) -> str:
    value = doc["prediction"]["value"]
    if value is None:
        return text("lesson.not_asked", lang)
    return shown_value(doc["prediction"], value, lang, letter)


def measured(doc: Doc, lang: str, letter: bool = True) -> str:
    return shown_value(doc["prediction"], doc["measured"]["value"], lang, letter)


def value_words(doc: Doc, lang: str) -> str:
    """What the measured value is: "message broker, median answer"."""
    return _say(f"lesson.{doc['lesson']['key']}.value", lang, settings_fields(doc["config"]))


def right(doc: Doc) -> bool | None:
    """For a choice: whether the student picked what was measured (None: not a choice, or
    nothing to compare)."""
    value, got = doc["prediction"]["value"], doc["measured"]["value"]
    if doc["prediction"]["kind"] != "choice" or value is None or got is None:
        return None
    return bool(value == got)


def verdict(doc: Doc, lang: str) -> str:
    return text(f"lesson.verdict.{doc['measured']['verdict']}", lang)


def takeaway(doc: Doc, lang: str) -> str:
    """The one sentence, computed from this run's numbers."""
    m = doc["measured"]
    if m["verdict"] == "unclear":
        why = _say(f"lesson.why.{m['why']}", lang, m["numbers"])
        return text("lesson.unclear", lang).format(why=why)
    return _say(f"lesson.{doc['lesson']['key']}.{m['say']}", lang, m["numbers"])


def big(doc: Doc, lang: str) -> str:
    """The key number in large type: "8.4 ms", "12 : 0"."""
    return _say(f"lesson.{doc['lesson']['key']}.big", lang, doc["measured"]["numbers"])


def big_caption(doc: Doc, lang: str) -> str:
    return _say(f"lesson.{doc['lesson']['key']}.big_caption", lang, doc["measured"]["numbers"])


def busy(doc: Doc, lang: str) -> str | None:
    """A warning when other programs took enough CPU to spoil the numbers, else None."""
    cores = doc.get("foreign_cores")
    if not isinstance(cores, (int, float)) or cores <= BUSY_CORES:
        return None
    return text("lesson.busy", lang).format(cores=f"{cores:.1f}")


def took(doc: Doc, lang: str) -> str:
    return text("lesson.took", lang).format(s=fmt(float(doc.get("seconds") or 0)))


def day(created: str) -> str:
    """ "2026-11-29" from a result's UTC time."""
    try:
        return datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ").strftime("%Y-%m-%d")
    except ValueError:
        return created
