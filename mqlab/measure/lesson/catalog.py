"""The lessons, as data: one per claim of the course notes, each with the settings that make
its point clearly in about 30 s on two cores.

A lesson names its words by `key` (`lesson.<key>.*` in `mqlab.report.i18n`: the claim in the
notes' own words, the question, what the student predicts, the takeaways); here are only
the things a measurement needs: which core runs it (`compare`, `crash-test`, `sweep`, or
`price`, the footprint of `price.py`), the workload, the modes, and the kind of prediction.
The commands a student can type to see the same thing by hand are derived from the same
settings, so they cannot drift apart.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

from mqlab.errors import BadInput
from mqlab.processes.config import Mode, Workload

Core = Literal["compare", "crash-test", "sweep", "price"]
Verdict = Literal["holds", "partly", "contradicted", "unclear"]
VERDICTS: tuple[Verdict, ...] = ("holds", "partly", "contradicted", "unclear")


@dataclass(frozen=True)
class Number:
    """A prediction typed as a number, in `unit` ("ms", "jobs", "times", "MB")."""

    unit: str
    low: float
    high: float


@dataclass(frozen=True)
class Choice:
    """A prediction picked from `options` (ids; words: `lesson.choice.<id>`), typed as a
    letter (a, b, ...) or a number (1, 2, ...)."""

    options: tuple[str, ...]


Predict = Number | Choice
WHO = ("both", "broker", "thread", "neither")  # "which of the two does it?"


@dataclass(frozen=True)
class Lesson:
    number: int
    key: str  # its words: lesson.<key>.claim, .question, .ask, .takeaway.<verdict>
    core: Core
    modes: tuple[Mode, ...]
    workload: Workload
    predict: Predict
    chart: str  # the chart of the core's result (`mqlab chart`) that shows the point
    fault: str = ""  # crash-test
    worker_counts: tuple[int, ...] = ()  # sweep
    jobs_per_worker: int = 0  # sweep

    def sized(self, quick: bool, seed: int) -> Lesson:
        """This lesson with `seed`, and with half the signups when `quick` (a rehearsal,
        or a slow machine: the same story, noisier)."""
        w = replace(self.workload, seed=seed)
        jobs = self.jobs_per_worker
        if quick:
            w = replace(w, requests=max(10, w.requests // 2))
            jobs = max(4, jobs // 2) if jobs else 0
        return replace(self, workload=w, jobs_per_worker=jobs)


LESSONS: tuple[Lesson, ...] = (
    Lesson(
        1,
        "immediate",
        "compare",
        (Mode.sync, Mode.thread, Mode.broker),
        Workload(requests=40, rate=10.0, scan_ms=200.0, workers=4, drain_timeout=30.0),
        Number("ms", 0, 100_000),
        "latency",
    ),
    Lesson(
        2,
        "buffer",
        "compare",
        (Mode.sync, Mode.broker),
        Workload(requests=120, rate=0.0, scan_ms=100.0, workers=4, drain_timeout=30.0),
        Number("jobs", 0, 120),
        "timeline",
    ),
    Lesson(
        3,
        "crash",
        "crash-test",
        (Mode.thread, Mode.broker),
        Workload(requests=40, rate=40.0, scan_ms=100.0, workers=2, drain_timeout=30.0),
        Number("jobs", 0, 40),
        "app-kill",
        fault="app-kill",
    ),
    Lesson(
        4,
        "scale",
        "sweep",
        (Mode.broker,),
        Workload(requests=1, rate=0.0, scan_ms=200.0, drain_timeout=30.0),
        Number("times", 0, 100),
        "throughput",
        worker_counts=(1, 2, 4),
        jobs_per_worker=10,
    ),
    Lesson(
        5,
        "retry",
        "compare",
        (Mode.thread, Mode.broker),
        # half refused: 3 tries in memory drop 1 mail in 8 (about 10 of 80), while 11 tries
        # through the retry queue dead-letter 1 in 2,000 (one run in 25 sees one); the longest
        # wait, 20 ms doubling 10 times, is 20 s
        Workload(
            requests=80,
            rate=30.0,
            scan_ms=50.0,
            workers=4,
            smtp_fail_rate=0.5,
            max_retries=10,
            retry_delay_ms=20.0,
            drain_timeout=40.0,
        ),
        Choice(WHO),
        "timeline",
    ),
    Lesson(
        6,
        "gil",
        "sweep",
        (Mode.thread, Mode.broker),
        Workload(requests=1, rate=0.0, scan_ms=100.0, scan_kind="cpu", drain_timeout=30.0),
        Choice(WHO),
        "throughput",
        worker_counts=(1, 2),
        jobs_per_worker=12,
    ),
    Lesson(
        7,
        "price",
        "price",
        (Mode.sync, Mode.thread, Mode.broker),
        Workload(requests=40, rate=20.0, scan_ms=50.0, workers=4, drain_timeout=30.0),
        Number("MB", 0, 100_000),
        "",
    ),
)


def lesson(number: int) -> Lesson:
    """Lesson `number`, or one BadInput line naming the ones there are."""
    for found in LESSONS:
        if found.number == number:
            return found
    raise BadInput(f"there is no lesson {number}: the lessons are 1 to {len(LESSONS)}")


def settings(lesson: Lesson, quick: bool = False) -> dict[str, Any]:
    """The lesson's settings as a result file's `config`: its workload, modes and the rest."""
    out: dict[str, Any] = {
        **asdict(lesson.workload),
        "senders": lesson.workload.workers,  # in every mode, sync's handler threads too
        "modes": [m.value for m in lesson.modes],
        "quick": quick,
    }
    if lesson.fault:
        out["fault"] = lesson.fault
    if lesson.worker_counts:
        out["worker_counts"] = list(lesson.worker_counts)
        out["jobs_per_worker"] = lesson.jobs_per_worker
    return out


def parse(predict: Predict, answer: str) -> float | str | None:
    """The student's answer as a prediction, or None if it is not one (then ask again).

    A number must lie within the lesson's range ("1,200" and "1200 ms" are read as 1200);
    a choice is its letter or its number."""
    answer = answer.strip().lower()
    if isinstance(predict, Choice):
        letters = [chr(ord("a") + i) for i in range(len(predict.options))]
        numbers = [str(i + 1) for i in range(len(predict.options))]
        word = answer.rstrip(").")
        if word in letters:
            return predict.options[letters.index(word)]
        if word in numbers:
            return predict.options[numbers.index(word)]
        return predict.options[predict.options.index(word)] if word in predict.options else None
    found = re.fullmatch(r"([-+]?(?:[0-9][0-9,]*(?:\.[0-9]*)?|\.[0-9]+))\s*([^\W\d]*)", answer)
    if found is None:  # a unit may follow the number ("120 ms", "12건"), nothing else
        return None
    value = float(found.group(1).replace(",", ""))
    if not math.isfinite(value) or not predict.low <= value <= predict.high:
        return None
    return value


# --- the commands that show the same thing by hand ------------------------------------------


def commands(lesson: Lesson) -> list[str]:
    """The mqlab commands a student types to see this lesson's measurement by hand."""
    w = lesson.workload
    seed = [f"--seed {w.seed}"] if w.seed != 1 else []
    if lesson.core == "price":
        return [f"mqlab lesson {lesson.number}", "mqlab calibrate"]
    if lesson.core == "sweep":
        flags = [
            f"--worker-counts {','.join(str(n) for n in lesson.worker_counts)}",
            f"--jobs-per-worker {lesson.jobs_per_worker}",
            f"--scan-ms {_n(w.scan_ms)}",
        ]
        if w.scan_kind != "sleep":
            flags.append(f"--scan-kind {w.scan_kind}")
        if lesson.modes != (Mode.broker,):
            flags.insert(0, f"--modes {_modes(lesson.modes)}")
        return [" ".join(["mqlab sweep", *flags])]
    load = [
        f"--requests {w.requests}",
        f"--rate {_n(w.rate)}",
        f"--scan-ms {_n(w.scan_ms)}",
        f"--workers {w.workers}",
    ]
    if w.smtp_fail_rate:
        load.append(f"--smtp-fail-rate {_n(w.smtp_fail_rate)}")
        load += [f"--max-retries {w.max_retries}", f"--retry-delay-ms {_n(w.retry_delay_ms)}"]
    if lesson.core == "crash-test":
        head = f"mqlab crash-test --modes {_modes(lesson.modes)} --faults {lesson.fault}"
        return [" ".join([head, *load, *seed])]
    if set(lesson.modes) == set(Mode):
        return [" ".join(["mqlab compare", *load, *seed])]
    return [" ".join([f"mqlab run {m.value}", *load, *seed]) for m in lesson.modes]


def _modes(modes: Sequence[Mode]) -> str:
    return ",".join(m.value for m in modes)


def _n(value: float) -> str:
    return f"{value:g}"
