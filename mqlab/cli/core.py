"""The one error boundary: runs the CLI and turns every failure into a line and an exit code.

Like httpie's `core.main`: the commands (`mqlab.cli.app`) raise, this decides what the
user sees. An `MqlabError` is one line and its exit code; anything else is a bug,
one "internal error" line and exit 1. `mqlab --traceback` (a global option, declared
in `app.py`) shows the real stack instead, for bug reports.
"""

from __future__ import annotations

import functools
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any

import typer
from typer import TyperException as UsageProblem  # typer >= 0.28 (pyproject pins it)

from mqlab.errors import ExitStatus, MqlabError


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    command = typer.main.get_command(app_for(args))
    _flow_help(command)
    options: dict[str, Any] = {}  # the global options, filled in by the app's callback

    def show_traceback() -> bool:
        return bool(options.get("traceback"))

    hook = sys.unraisablehook  # put back after the command, as the SIGTERM handler is
    previous = _unwind_on_sigterm()
    try:
        result = command.main(args=args, prog_name="mqlab", standalone_mode=False, obj=options)
    except Terminated:
        _say("terminated")
        return int(ExitStatus.TERMINATED)
    except typer.Exit as e:
        return int(e.exit_code)
    except UsageProblem as e:
        if type(e).__name__ == "NoArgsIsHelpError":  # `mqlab` alone: show the help
            print(e.format_message())
            return int(ExitStatus.OK)
        if show_traceback():
            raise
        _say(e.format_message().replace("Value error, ", ""))  # typer's validator prefix
        return int(ExitStatus.BAD_INPUT)
    except (typer.Abort, KeyboardInterrupt):
        _say("interrupted")
        return int(ExitStatus.INTERRUPTED)
    except MqlabError as e:
        if show_traceback():
            raise
        _say(str(e))
        return int(e.status)
    except Exception as e:  # a bug, not something the user did
        if show_traceback():
            raise
        _say(
            f"internal error ({type(e).__name__}: {e}); "
            "run it again as 'mqlab --traceback ...' and report the stack"
        )
        return int(ExitStatus.ERROR)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
            sys.unraisablehook = hook
    return int(result) if isinstance(result, int) else int(ExitStatus.OK)


def app_for(args: Sequence[str]) -> typer.Typer:
    """The app that parses `args`: for a lab process (`mqlab worker ...`), the root with that
    one command, which does not import or build the others; else the whole app."""
    from mqlab.cli import root

    at = next((i for i, a in enumerate(args) if not a.startswith("-")), len(args))
    if at < len(args) and args[at] in root.PROCESSES and set(args[:at]) <= {"--traceback"}:
        return root.process_app(args[at])  # not `mqlab --help worker`: that is the app's help
    from mqlab.cli.app import app

    return app


class Terminated(BaseException):
    """SIGTERM reached a command: raised where it runs, so that every `finally` and context
    manager on the way out runs too (private brokers, the lab's children, temp dirs). Python's
    default would end the process at once and leave them running."""


RESEND_S = 0.05  # after a swallowed `Terminated`, when the SIGTERM comes again


def _terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated


def _resend_swallowed(before: Callable[[Any], object], unraisable: Any) -> None:
    """`sys.unraisablehook`: a `Terminated` raised while a finalizer ran (a client's `__del__`,
    a weakref callback) is printed and dropped by Python, and the command would run on as if
    no SIGTERM had come. Send it again shortly, from a thread, to land outside the finalizer.
    Anything else goes to the hook that was there before."""
    if isinstance(unraisable.exc_value, Terminated):

        def again() -> None:
            time.sleep(RESEND_S)
            os.kill(os.getpid(), signal.SIGTERM)

        threading.Thread(target=again, name="sigterm-again", daemon=True).start()
        return
    before(unraisable)


def _unwind_on_sigterm() -> Any:
    """SIGTERM becomes `Terminated` for this command (serve and worker set handlers of their
    own: a graceful drain). The handler before, to put back; None off the main thread."""
    if threading.current_thread() is not threading.main_thread():
        return None
    sys.unraisablehook = functools.partial(_resend_swallowed, sys.unraisablehook)
    return signal.signal(signal.SIGTERM, _terminated)


def _flow_help(command: Any) -> None:
    """Docstrings are wrapped at 96 columns in the source; the terminal wraps them again. Join
    each paragraph's lines, so `--help` shows no line broken twice."""
    if command.help:
        paragraphs = command.help.split("\n\n")
        command.help = "\n\n".join(" ".join(p.split()) for p in paragraphs)
    for sub in getattr(command, "commands", {}).values():
        _flow_help(sub)


def _say(message: str) -> None:
    text = " ".join(message.split())  # one line, whatever the message was
    print(f"mqlab: error: {text}", file=sys.stderr)
