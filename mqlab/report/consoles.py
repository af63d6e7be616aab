"""The two consoles everything mqlab prints goes to: `console` (stdout) and `err_console`
(stderr: progress, steps, so --json output stays clean), as wide as a log needs.

Apart from `render` (which re-exports them) so that `brokerstatus` prints to the same
consoles without importing `render`.
"""

from __future__ import annotations

import os

from rich.console import Console

LOG_WIDTH = 120  # a pipe, a log file or CI: no terminal to fit, so tables keep their headers


def _console(stderr: bool = False) -> Console:
    c = Console(stderr=stderr)
    if not c.is_terminal and "COLUMNS" not in os.environ:
        c.width = max(c.width, LOG_WIDTH)  # rich's default there is 80: "ac…", "fa…"
    return c


console = _console()
err_console = _console(stderr=True)
