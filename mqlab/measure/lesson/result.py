"""A lesson's result file (kind "lesson"): the prediction beside the measurement.

The document opens with the standard envelope (`results.envelope`: the lesson's settings
as `config`, the measuring machine as `environment`), then:
- `lesson`: its number, key (its words in `mqlab.report.i18n`), core, chart and commands;
- `prediction`: what was asked (`kind` "number" with `unit`, `low`, `high`, or "choice"
  with `options`) and the student's `value` (None: not asked, as with --no-predict);
- `measured`: the `value` the prediction is compared with, the `verdict`, the takeaway's
  `say` and `why`, and the `numbers` it names;
- `seconds` the measurement took, `foreign_cores` other processes took meanwhile (None:
  not measured), `quick` (half-size settings), `files`: the result files saved with it;
- `result`: the whole result document of its core, so the file stands alone.
The core's own document is also saved as an ordinary result file beside it (`save`), so
`mqlab chart` can redraw its charts.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mqlab.errors import BadInput
from mqlab.measure import results
from mqlab.measure.lesson.catalog import Choice, Lesson, commands, settings
from mqlab.measure.lesson.judge import Outcome


@dataclass
class LessonResult:
    lesson: Lesson
    prediction: float | str | None
    outcome: Outcome
    result: dict[str, Any]  # the core's result document
    seconds: float
    foreign_cores: float | None
    created: str
    quick: bool = False

    def config(self) -> dict[str, Any]:
        return settings(self.lesson, self.quick)

    def to_dict(self, files: Sequence[str] = ()) -> dict[str, Any]:
        lesson, o = self.lesson, self.outcome
        environment = self.result.get("environment") or {}
        return {
            **results.envelope("lesson", self.created, environment, config=self.config()),
            "lesson": {
                "number": lesson.number,
                "key": lesson.key,
                "core": lesson.core,
                "chart": lesson.chart,
                "commands": commands(lesson),
            },
            "prediction": {**_asked(lesson), "value": self.prediction},
            "measured": {
                "value": o.value,
                "verdict": o.verdict,
                "say": o.say,
                "why": o.why,
                "numbers": o.numbers,
            },
            "seconds": round(self.seconds, 1),
            "foreign_cores": (
                round(self.foreign_cores, 2) if self.foreign_cores is not None else None
            ),
            "quick": self.quick,
            "files": list(files),
            "result": self.result,
        }


def _asked(lesson: Lesson) -> dict[str, Any]:
    p = lesson.predict
    if isinstance(p, Choice):
        return {"kind": "choice", "options": list(p.options)}
    return {"kind": "number", "unit": p.unit, "low": p.low, "high": p.high}


def asked(lesson: Lesson) -> dict[str, Any]:
    """What the student is asked to predict, as the result file stores it."""
    return _asked(lesson)


def save(result: LessonResult, out: Path) -> list[Path]:
    """Write the core's result file(s) (a price lesson: its calibration), then the lesson's
    file naming them; returns the paths, the lesson's last."""
    written = []
    doc = result.result
    if doc.get("kind") in results.KINDS:
        written.append(results.write(doc, out, str(doc["kind"])))
    calibration = doc.get("calibration")
    if isinstance(calibration, dict) and calibration.get("kind") == "calibration":
        written.append(results.write(calibration, out, "calibration"))
    data = result.to_dict([p.name for p in written])
    written.append(results.write(data, out, f"lesson-{result.lesson.number}"))
    return written


def lessons_in(folder: Path) -> list[Path]:
    """The newest lesson result file of each lesson number in `folder`, in lesson order."""
    newest: dict[int, Path] = {}
    for path in sorted(folder.glob("*.json")):  # names sort by time: later ones win
        try:
            data = results.load(path)
        except BadInput:
            continue  # not ours, or a newer format
        if data["kind"] == "lesson":
            newest[int(data["lesson"]["number"])] = path
    if not newest:
        raise BadInput(f"no lesson result in {folder}/: run 'mqlab lesson N' or 'mqlab slides'")
    return [newest[n] for n in sorted(newest)]


def copy_beside(paths: Sequence[Path], target: Path) -> None:
    """Copy lesson result files, and the result files each names, into `target` (a deck's
    folder): every number on its slides travels with it."""
    target.mkdir(parents=True, exist_ok=True)
    for path in paths:
        names = [path.name, *results.load(path).get("files", [])]
        for name in names:
            source = path.parent / name
            if source.is_file() and source.resolve() != (target / name).resolve():
                shutil.copy2(source, target / name)


def calibration_in(folder: Path) -> Path | None:
    """The newest calibration result file in `folder`, or None."""
    try:
        return results.latest(folder, kinds=("calibration",))
    except BadInput:
        return None
