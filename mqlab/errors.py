"""Expected failures and the exit codes they become.

Everything the user can cause (bad input, a busy port, no broker, a child
process that would not start) is raised as an `MqlabError` where it is detected;
`mqlab.core.main` is the one place that turns it into a single readable line and an
exit code. Any other exception is a bug: one "internal error" line and exit 1, or
the full stack with `mqlab --traceback`.
"""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    OK = 0
    ERROR = 1
    BAD_INPUT = 2
    NO_BROKER = 3
    PORT_IN_USE = 4
    TIMEOUT = 5
    CHILD_FAILED = 6
    INTERRUPTED = 130
    TERMINATED = 143  # 128 + SIGTERM, as a shell reports it


class MqlabError(Exception):
    """A failure we expected and can explain in one line."""

    status = ExitStatus.ERROR


class BadInput(MqlabError):
    status = ExitStatus.BAD_INPUT


class PortInUse(MqlabError):
    status = ExitStatus.PORT_IN_USE


class NoBroker(MqlabError):
    """No usable RabbitMQ: the message says why, in one line, and how to get one."""

    status = ExitStatus.NO_BROKER


class Timeout(MqlabError):
    status = ExitStatus.TIMEOUT


class ChildFailed(MqlabError):
    """A process the lab started (sink, app, worker) exited or never became ready."""

    status = ExitStatus.CHILD_FAILED
