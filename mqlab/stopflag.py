"""`StopFlag`: the stop flag a SIGTERM handler sets, and what a process waits on with it.

Why not a `threading.Event`: its `set()` takes a lock that `set()` and `wait()` themselves
hold for a moment, and Python runs a signal handler on the main thread between any two
bytecodes, those included. A handler that calls `Event.set()` while the main thread holds
that lock (inside the `set()` of a SIGTERM a moment before, or inside a `wait()`) waits for
a lock its own thread holds: forever. A NATS worker did, now and then, when the second
SIGTERM of a teardown came right after the first: SIGKILLed 10 s later. Blocked there, it
still ran the handlers of more SIGTERMs, each blocked on that lock in turn, until a
RecursionError came out in the job's work (which dead-lettered the job, unsent).

Here `set()` is one assignment, with no lock, and `wait()` sleeps in slices of POLL_S (a
sleep takes no lock; a signal only interrupts it) and looks at the flag between two: it
returns at most POLL_S after the flag was set, on whichever thread. Every wait is bounded:
there is no `wait()` without a timeout.
"""

from __future__ import annotations

import time

POLL_S = 0.05  # how long a `wait` may miss a `set`: a stop is noticed within this


class StopFlag:
    """Set once, by a signal handler or any thread; read and waited on by any thread."""

    def __init__(self) -> None:
        self._set = False

    def set(self) -> None:
        """Safe in a signal handler and from any thread: one assignment, no lock."""
        self._set = True

    def is_set(self) -> bool:
        return self._set

    def wait(self, timeout: float) -> bool:
        """True once the flag is set; False after `timeout` s without it (at once for 0)."""
        deadline = time.monotonic() + timeout
        while not self._set:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(left, POLL_S))  # a signal meanwhile: its handler runs, we go on
        return True
