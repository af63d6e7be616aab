"""An asyncio event loop on a thread of its own, for callers that are threads.

nats-py is asyncio; the app answers on a pool of handler threads and the worker is a plain
loop. Each of them owns one `Loop`, whose thread runs the NATS client; a thread hands it a
coroutine and waits for the result with a bound (`run`), or does not wait at all (`submit`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from mqlab.jetstream.connection import UNAVAILABLE, Lost, close_all, quiet_lost_connections

log = logging.getLogger(__name__)

T = TypeVar("T")


class Loop:
    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        quiet_lost_connections(self.loop)
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        """The coroutine's result, run on the loop's thread; Lost if it took longer than
        `timeout` s (it is then cancelled) or was cancelled there (its connection closed)."""
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(max(timeout, 0.0))
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise Lost(f"no answer from the NATS server within {timeout:.1f} s") from None
        except concurrent.futures.CancelledError:
            raise Lost("the connection to the NATS server closed meanwhile") from None

    def submit(self, coro: Coroutine[Any, Any, object]) -> None:
        """Run it on the loop's thread, without waiting; a failure is logged, not raised."""
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        future.add_done_callback(_log_failure)

    def call(self, callback: Any) -> None:
        """`callback()` on the loop's thread, soon (thread-safe)."""
        self.loop.call_soon_threadsafe(callback)

    def close(self, timeout: float = 2.0) -> None:
        """Cancel what still runs on the loop, then stop it and its thread. Close the
        connections first (their owners do): a task cancelled here closes nothing, and
        a connection still open then (one `run` gave up on as it came) is closed here."""
        if self.loop.is_closed():
            return
        with contextlib.suppress(Lost):
            self.run(_cancel_the_rest(), timeout)
        with contextlib.suppress(Lost):  # after: no task is left to connect meanwhile
            self.run(close_all(), timeout)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout)
        if not self._thread.is_alive():
            self.loop.close()


async def _cancel_the_rest() -> None:
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _log_failure(future: concurrent.futures.Future[object]) -> None:
    if future.cancelled():
        return
    error = future.exception()
    if error is not None and not isinstance(error, UNAVAILABLE):
        log.warning("a background NATS call failed: %r", error)
