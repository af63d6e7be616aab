"""The root of every `mqlab` command line: the app's help and the global `--traceback`.

`mqlab.cli.app` hangs every command on it. The lab's own processes (`serve`, `worker`,
`sink`, started hundreds of times by a run, a crash test or the tests) get a root with their
one command only (`mqlab.cli.core.app_for`): parsing the same options, without importing
and building the other commands.
"""

from __future__ import annotations

from typing import Annotated

import typer

PROCESSES = ("serve", "worker", "sink")


def new_app() -> typer.Typer:
    """The `mqlab` group with its help and the global options, no command yet."""
    app = typer.Typer(
        name="mqlab",
        help=(
            "mqlab: measure why message brokers exist. A signup must send a slow welcome mail "
            "(virus scan, then SMTP); mqlab runs it three ways on real parts and measures what "
            "the user waits, how fast mail goes out, and what a crash loses.\n\n"
            "Start with: mqlab compare"
        ),
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    app.callback()(_global_options)
    return app


def process_app(name: str) -> typer.Typer:
    """The root with only the process command `name` (one of PROCESSES)."""
    from mqlab.cli import live

    app = new_app()
    app.command(name)(getattr(live, name))
    return app


def _global_options(
    ctx: typer.Context,
    traceback: Annotated[
        bool,
        typer.Option(
            "--traceback",
            help="On an error, show the full Python stack (for bug reports), not one line. "
            "Goes before the command: mqlab --traceback run sync",
        ),
    ] = False,
) -> None:
    # mqlab.cli.core.main passes a dict as the context object and reads it when a command fails
    ctx.ensure_object(dict)["traceback"] = traceback
