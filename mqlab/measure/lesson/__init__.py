"""The course's claims as lessons: each a question, a prediction, a measurement on real
parts, and a takeaway computed from that measurement (`mqlab lesson`, `mqlab slides`).

- `catalog`: the lessons as data (settings, kind of prediction) and their commands;
- `judge`: what a measurement says about its claim (a verdict, never a canned sentence);
- `price`: the footprint of each mode (processes, memory, start-up, the confirm);
- `run`: a lesson through the same cores as compare, crash-test and sweep;
- `result`: the lesson's result file (kind "lesson") and reading them back.
"""

from mqlab.measure.lesson.catalog import (
    LESSONS,
    Choice,
    Lesson,
    Number,
    commands,
    lesson,
    parse,
    settings,
)
from mqlab.measure.lesson.judge import Outcome, judge
from mqlab.measure.lesson.result import (
    LessonResult,
    asked,
    calibration_in,
    copy_beside,
    lessons_in,
    save,
)
from mqlab.measure.lesson.run import run_lesson

__all__ = [
    "LESSONS",
    "Choice",
    "Lesson",
    "LessonResult",
    "Number",
    "Outcome",
    "asked",
    "calibration_in",
    "commands",
    "copy_beside",
    "judge",
    "lesson",
    "lessons_in",
    "parse",
    "run_lesson",
    "save",
    "settings",
]
