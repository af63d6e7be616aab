"""The one error boundary: runs the CLI and turns every failure into a line and an exit code.

Like httpie's `core.main`: the commands in `cli.py` raise, this decides what the
user sees. `--traceback` shows the real stack for bug reports.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import typer
from typer import TyperException as UsageProblem  # typer >= 0.28 (pyproject pins it)

from mqlab.errors import ExitStatus, MqlabError


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    show_traceback = "--traceback" in args
    args = [a for a in args if a != "--traceback"]
    from mqlab.cli import app

    command = typer.main.get_command(app)
    try:
        result = command.main(args=args, prog_name="mqlab", standalone_mode=False)
    except typer.Exit as e:
        return int(e.exit_code)
    except UsageProblem as e:
        if type(e).__name__ == "NoArgsIsHelpError":  # `mqlab` alone: show the help
            print(e.format_message())
            return int(ExitStatus.OK)
        if show_traceback:
            raise
        _say(e.format_message().replace("Value error, ", ""))  # typer's validator prefix
        return int(ExitStatus.BAD_INPUT)
    except (typer.Abort, KeyboardInterrupt):
        _say("interrupted")
        return int(ExitStatus.INTERRUPTED)
    except MqlabError as e:
        if show_traceback:
            raise
        _say(str(e))
        return int(e.status)
    return int(result) if isinstance(result, int) else int(ExitStatus.OK)


def _say(message: str) -> None:
    text = " ".join(message.split())  # one line, whatever the message was
    print(f"mqlab: error: {text}", file=sys.stderr)
