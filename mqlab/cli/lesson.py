"""The teaching commands: `lesson` (a claim of the course notes as a question, the student's
prediction, the measurement and its takeaway) and `slides` (every lesson as a 16:9 deck).

Each parses its options, asks (typer's prompt: Ctrl-C or the end of input ends the command
through the one error boundary, as "interrupted"), calls `mqlab.measure.lesson` and hands
the documents to `mqlab.report`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from mqlab.cli.options import Lang, LangChoice, Out, Seed, writable_folder
from mqlab.cli.rabbit_options import AmqpUrl
from mqlab.errors import BadInput

_RESULTS = Path("results")
MAX_TRIES = 10  # answers that are not a prediction, before the lesson gives up asking

Quick = Annotated[
    bool,
    typer.Option(
        "--quick",
        help="Half the signups of each measurement: a rehearsal, or a slow machine (the same "
        "story, noisier).",
    ),
]


def lesson(
    number: Annotated[
        int | None,
        typer.Argument(help="The lesson to run (see the list: mqlab lesson).", show_default=False),
    ] = None,
    no_predict: Annotated[
        bool,
        typer.Option("--no-predict", help="Do not ask for a prediction (an instructor's run)."),
    ] = False,
    quick: Quick = False,
    seed: Seed = 1,
    amqp_url: AmqpUrl = None,
    out: Out = _RESULTS,
    lang: Lang = LangChoice.en,
) -> None:
    """A claim of the course notes as a lesson: its question, your prediction, the measurement
    on real processes, and the takeaway from its numbers.

    Without a number: the lessons, each with its question, its command and its chart. The
    prediction and the result are saved together (results/<UTC time>-lesson-N.json), so a
    class can collect them."""
    from mqlab.measure import lesson as lessons
    from mqlab.report import lessons as show
    from mqlab.report import render

    if number is None:
        show.print_lessons([_row(spec) for spec in lessons.LESSONS], lang.value)
        return
    spec = lessons.lesson(number).sized(quick, seed)
    asked = lessons.asked(spec)
    show.print_question(spec.number, spec.key, lessons.settings(spec, quick), asked, lang.value)
    prediction = None if no_predict else _ask(spec, asked, lang.value)
    result = lessons.run_lesson(
        spec,
        prediction,
        amqp_url,
        progress_for=lambda label: render.progress(label, 0, False, lang.value),
        quick=quick,
    )
    paths = lessons.save(result, out)
    show.print_outcome(result.to_dict([p.name for p in paths[:-1]]), lang.value)
    render.print_written(paths, lang.value)


def _row(spec: Any) -> dict[str, Any]:
    from mqlab.measure import lesson as lessons

    return {
        "number": spec.number,
        "key": spec.key,
        "config": lessons.settings(spec),
        "commands": lessons.commands(spec),
        "chart": spec.chart,
    }


def _ask(spec: Any, asked: dict[str, Any], lang: str) -> float | str:
    """The student's prediction, asked until it is one (a bad answer says what to type)."""
    from mqlab.measure import lesson as lessons
    from mqlab.report import lessons as show

    for _ in range(MAX_TRIES):
        answer = typer.prompt(show.prompt(asked, lang))
        value = lessons.parse(spec.predict, answer)
        if value is not None:
            return value
        show.print_bad_answer(asked, lang)
    raise BadInput(f"no prediction after {MAX_TRIES} answers; run it again, or use --no-predict")


def slides(
    from_dir: Annotated[
        Path | None,
        typer.Option(
            "--from",
            exists=True,
            file_okay=False,
            help="Build the deck from the lesson results in this folder, not by running "
            "every lesson.",
            show_default=False,
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            file_okay=False,
            callback=writable_folder,
            help="Folder for the deck and its result files (default: the --from folder, "
            "else results/slides-<UTC time>).",
            show_default=False,
        ),
    ] = None,
    seed: Seed = 1,
    quick: Quick = False,
    amqp_url: AmqpUrl = None,
    lang: Lang = LangChoice.en,
) -> None:
    """Run every lesson and write a 16:9 slide deck with this machine's numbers: one PNG per
    slide, a PDF and a Markdown outline, beside the result files of every number on it.

    With --from, the deck is drawn from lesson results already there (no measuring)."""
    from mqlab.measure import lesson as lessons
    from mqlab.measure import results
    from mqlab.report import lessons as show
    from mqlab.report import render
    from mqlab.report import slides as deck

    if from_dir is None:
        stamp = results.utc_now().replace("-", "").replace(":", "")
        target = out or _RESULTS / f"slides-{stamp}"
        paths = []
        for spec in lessons.LESSONS:
            sized = spec.sized(quick, seed)
            show.print_running(sized.number, sized.key, len(lessons.LESSONS), lang.value)
            result = lessons.run_lesson(
                sized,
                None,
                amqp_url,
                progress_for=lambda label: render.progress(label, 0, False, lang.value),
                quick=quick,
            )
            paths.append(lessons.save(result, target)[-1])
        calibration = lessons.calibration_in(target)
    else:
        paths = lessons.lessons_in(from_dir)
        calibration = lessons.calibration_in(from_dir)
        target = out or from_dir
        lessons.copy_beside([*paths, *([calibration] if calibration else [])], target)
    docs = [results.load(path) for path in paths]
    floors = results.load(calibration) if calibration else None
    written = deck.write_deck(docs, floors, target, lang.value)
    render.print_written(written, lang.value)
