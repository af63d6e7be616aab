"""Running a lesson: its settings through the same core `mqlab compare`, `crash-test` and
`sweep` use (or the footprint of `price`), timed, with the CPU other processes took
meanwhile, judged (`judge`), and returned as a `LessonResult`. Nothing here prints or asks:
the CLI asks for the prediction first and passes it in.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

from mqlab.measure import calibrate, crash, runner, sweep
from mqlab.measure.bench.doubt import local_broker
from mqlab.measure.lesson import price
from mqlab.measure.lesson.catalog import Lesson
from mqlab.measure.lesson.judge import judge
from mqlab.measure.lesson.result import LessonResult
from mqlab.measure.results import utc_now
from mqlab.measure.runner import Progress
from mqlab.processes import rabbit
from mqlab.processes.config import Mode

ProgressFor = Callable[[str], AbstractContextManager[Progress]]


def measure(
    lesson: Lesson, amqp_url: str | None = None, progress_for: ProgressFor | None = None
) -> dict[str, Any]:
    """The lesson's measurement: the result document of its core."""
    w = lesson.workload
    if lesson.core == "compare":
        return runner.compare(
            w, amqp_url, modes=lesson.modes, progress_for=progress_for, floors=False
        ).to_dict()
    if lesson.core == "crash-test":
        config = crash.CrashConfig(
            workload=w, modes=lesson.modes, faults=(lesson.fault,), amqp_url=amqp_url
        )
        return crash.crash_test(config, progress_for=progress_for).to_dict()
    if lesson.core == "sweep":
        config_s = sweep.SweepConfig(
            workload=w,
            workers=lesson.worker_counts,
            modes=lesson.modes,
            jobs_per_worker=lesson.jobs_per_worker,
            amqp_url=amqp_url,
        )
        return sweep.sweep(config_s, progress_for=progress_for).to_dict()
    return price.footprint(w, lesson.modes, amqp_url, progress_for)


@contextlib.contextmanager
def _meter(lesson: Lesson, amqp_url: str | None) -> Iterator[calibrate.CpuMeter | None]:
    """The CPU others took during the lesson; the local broker works for us. Not for the
    price lesson: the RabbitMQ node it boots for itself would count as someone else's."""
    if lesson.core == "price":
        yield None
        return
    uses_broker = Mode.broker in lesson.modes
    also = local_broker(rabbit.resolve_url(amqp_url)) if uses_broker else []
    with calibrate.CpuMeter(also=also) as cpu:
        yield cpu


def run_lesson(
    lesson: Lesson,
    prediction: float | str | None = None,
    amqp_url: str | None = None,
    progress_for: ProgressFor | None = None,
    quick: bool = False,
) -> LessonResult:
    """Measure `lesson` (already `sized`), judge it, keep the student's `prediction`."""
    created = utc_now()
    t0 = time.monotonic()
    with _meter(lesson, amqp_url) as cpu:
        doc = measure(lesson, amqp_url, progress_for)
    seconds = time.monotonic() - t0
    return LessonResult(
        lesson=lesson,
        prediction=prediction,
        outcome=judge(lesson, doc),
        result=doc,
        seconds=seconds,
        foreign_cores=cpu.foreign_cores if cpu is not None else None,
        created=created,
        quick=quick,
    )
