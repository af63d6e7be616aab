"""Lesson result documents for the lesson and slide tests, made without measuring: the
known result documents of `chartdata`, shaped like each lesson's core would write them,
judged by the real judges and written by the real `LessonResult`.
"""

from __future__ import annotations

import copy
from typing import Any

from mqlab.measure import lesson as lessons

try:
    from . import chartdata
except ImportError:  # tests/ collected as a plain directory
    import chartdata  # type: ignore[no-redef]

Doc = dict[str, Any]


def _compare(modes: tuple[str, ...], **config: Any) -> Doc:
    doc = chartdata.compare(modes)
    doc["config"].update(config)
    for run in doc["runs"]:
        run["config"].update(config)
    return doc


def immediate() -> Doc:
    return _compare(("sync", "thread", "broker"))


def buffer() -> Doc:
    doc = _compare(("sync", "broker"), rate=0)
    for row in doc["runs"][0]["timeline"]:  # sync's users in line for an answer
        row["in_flight"] = max(0, 150 - 20 * int(row["t"]))
    return doc


def crash() -> Doc:
    rows = [
        chartdata.crash_row("thread", "app-kill", "default", 1, 21, 8, 13, 0, failed=19),
        chartdata.crash_row("broker", "app-kill", "default", 1, 20, 20, 0, 0, failed=20),
    ]
    doc = chartdata.crash_test()
    doc["rows"] = rows
    doc["config"].update(requests=40, rate=40, workers=2, modes=["thread", "broker"])
    return doc


def _sweep(modes: tuple[str, ...], kind: str, workers: tuple[int, ...]) -> Doc:
    doc = chartdata.sweep()
    doc["points"] = [
        p
        for p in doc["points"]
        if p["mode"] in modes and p["scan_kind"] == kind and p["workers"] in workers
    ]
    doc["config"].update(modes=list(modes), scan_kind=kind)
    return doc


def scale() -> Doc:
    return _sweep(("broker",), "cpu", (1, 2, 4))


def gil() -> Doc:
    return _sweep(("thread", "broker"), "cpu", (1, 2))


def retry() -> Doc:
    doc = _compare(("thread", "broker"), smtp_fail_rate=0.5, max_retries=8, retry_delay_ms=50)
    thread, broker = (run["summary"] for run in doc["runs"])
    thread.update(accepted=60, delivered=53, lost=7, retried=18, requests=60)
    broker.update(accepted=60, delivered=60, lost=0, retried=28, dead_lettered=0, requests=60)
    return doc


def price() -> Doc:
    def mode(name: str, parts: list[tuple[str, int, float, float]], p50: float) -> Doc:
        summary = copy.deepcopy(chartdata.run(name)["summary"])
        summary["response_ms"]["p50"] = p50
        return {
            "mode": name,
            "parts": [
                {"part": part, "processes": n, "rss_mb": mb, "startup_s": s}
                for part, n, mb, s in parts
            ],
            "ready_s": max(s for _, _, _, s in parts) if name != "broker" else 7.9,
            "summary": summary,
            "warnings": [],
        }

    def floor(p50: float) -> Doc:
        ms = {"p50": p50, "p95": p50 * 2, "p99": p50 * 3, "max": p50 * 4}
        return {"samples": 20, "every_ms": 20.0, "ms": ms}

    floors = {"http": floor(1.4), "publish": floor(2.3), "smtp": floor(3.9)}
    return {
        "modes": [
            mode("sync", [("app", 1, 37.7, 0.58)], 56.5),
            mode("thread", [("app", 1, 37.9, 0.58)], 1.9),
            mode(
                "broker",
                [("app", 1, 38.2, 0.7), ("workers", 4, 129.5, 1.27), ("broker", 6, 226.1, 6.88)],
                10.1,
            ),
        ],
        "calibration": {
            "format_version": 1,
            "kind": "calibration",
            "created": "2026-11-25T07:34:12Z",
            "environment": chartdata.ENVIRONMENT,
            "floors": floors,
            "schedule": None,
            "notes": [],
        },
        "notes": [],
        "environment": chartdata.ENVIRONMENT,
    }


RESULTS = {
    "immediate": immediate,
    "buffer": buffer,
    "crash": crash,
    "scale": scale,
    "retry": retry,
    "gil": gil,
    "price": price,
}
PREDICTIONS: dict[str, float | str] = {
    "immediate": 50.0,
    "buffer": 100.0,
    "crash": 5.0,
    "scale": 4.0,
    "retry": "both",
    "gil": "broker",
    "price": 150.0,
}


def lesson_doc(key: str, result: Doc | None = None, predicted: bool = True) -> Doc:
    """The lesson document of lesson `key` over `result` (its chartdata one by default)."""
    spec = next(s for s in lessons.LESSONS if s.key == key)
    doc = result if result is not None else RESULTS[key]()
    outcome = lessons.judge(spec, doc)
    made = lessons.LessonResult(
        spec,
        PREDICTIONS[key] if predicted else None,
        outcome,
        doc,
        seconds=21.5,
        foreign_cores=0.1,
        created="2026-11-25T07:34:12Z",
    )
    return made.to_dict([f"20261125T073412Z-{doc.get('kind', 'calibration')}.json"])


def all_lessons(predicted: bool = True) -> list[Doc]:
    return [lesson_doc(spec.key, predicted=predicted) for spec in lessons.LESSONS]
