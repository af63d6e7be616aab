"""The typer app: every command (defined in measure.py, stress.py, live.py, lesson.py and
cluster.py, and `chart` here) on the root of `root.py`. `mqlab.cli.core` runs it inside the
one error boundary.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mqlab.cli import cluster, lesson, live, measure, root, stress
from mqlab.cli.options import Lang, LangChoice, writable_folder

app = root.new_app()
broker_app = typer.Typer(
    help="Start, stop or inspect a RabbitMQ node for live demos.", no_args_is_help=True
)
app.add_typer(broker_app, name="broker")
cluster_app = typer.Typer(
    help="Start, stop or inspect a three-node RabbitMQ cluster of mqlab's own.",
    no_args_is_help=True,
)
app.add_typer(cluster_app, name="cluster")


def chart(
    files: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Result JSON files (run, compare, crash-test or sweep).", show_default=False
        ),
    ] = None,
    latest: Annotated[
        bool, typer.Option("--latest", help="Chart the newest result in --results.")
    ] = False,
    results_dir: Annotated[
        Path, typer.Option("--results", file_okay=False, help="Where --latest looks.")
    ] = Path("results"),
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            file_okay=False,
            callback=writable_folder,
            help="Folder for the PNG and SVG files [default: beside each result].",
        ),
    ] = None,
    lang: Lang = LangChoice.en,
) -> None:
    """Draw slide-ready charts (16:9 PNG and SVG) from result files."""
    from mqlab.errors import BadInput
    from mqlab.measure import results
    from mqlab.report import chart as charts
    from mqlab.report import render

    paths = list(files or [])
    if latest:
        paths.append(results.latest(results_dir, kinds=charts.KINDS))
    if not paths:
        raise BadInput("name at least one result file, or use --latest")
    for path in paths:  # a missing, unreadable or unknown file: one BadInput line, from load
        kind = results.load(path)["kind"]
        if kind not in charts.KINDS:
            raise BadInput(f"{path}: a {kind} result has no charts ({', '.join(charts.KINDS)} do)")
    written = charts.draw(paths, out, lang.value)  # anything raised here is a bug in the charts
    render.print_written(written, lang.value)


# The commands, in the order `mqlab --help` lists them.
app.command()(measure.run)
app.command()(live.serve)
app.command()(live.worker)
app.command()(live.sink)
app.command()(measure.compare)
app.command()(chart)
app.command("crash-test")(stress.crash_test)
app.command()(stress.sweep)
app.command()(measure.calibrate)
app.command()(measure.bench)
app.command()(lesson.lesson)
app.command()(lesson.slides)
broker_app.command("up")(live.broker_up)
broker_app.command("down")(live.broker_down)
broker_app.command("status")(live.broker_status)
cluster_app.command("up")(cluster.up)
cluster_app.command("down")(cluster.down)
cluster_app.command("status")(cluster.status)
