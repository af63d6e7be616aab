"""Failpoints: a crash test's way to SIGKILL a process at the worst possible moment.

`MQLAB_FAILPOINT=after-send:3` makes the process kill itself with SIGKILL right
after the 3rd mail was accepted by the SMTP server, before the worker could ack
it: a real SIGKILL of a real process, placed where at-least-once delivery shows
its duplicate. Unset (always, outside crash tests), `hit()` does nothing.
"""

from __future__ import annotations

import os
import signal
import threading

ENV = "MQLAB_FAILPOINT"

_lock = threading.Lock()
_hits: dict[str, int] = {}


def armed() -> tuple[str, int] | None:
    spec = os.environ.get(ENV, "")
    name, _, count = spec.partition(":")
    if not name or not count.isdigit():
        return None
    return name, int(count)


def hit(name: str) -> None:
    """Count a pass through failpoint `name`; SIGKILL this process on the armed pass."""
    target = armed()
    if target is None or target[0] != name:
        return
    with _lock:
        _hits[name] = _hits.get(name, 0) + 1
        if _hits[name] == target[1]:
            os.kill(os.getpid(), signal.SIGKILL)
