"""What each user would hear if they asked now: `GET /signup/{id}` on the run's own app, for
every accepted job, after the drain (the runner calls `ask`; `metrics.told` compares the
answers with the ledger).

One kept-alive connection, a short timeout per request and a bounded total, so that an app
that died or hangs costs seconds, not the run: a job not asked in time was never heard of.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import time
from collections.abc import Iterable

from mqlab.job.status import FINAL

UNKNOWN = "unknown"  # the app answered 404: it has never heard of the job
PER_REQUEST_S = 2.0
SETTLE_S = 3.0  # how long a state not yet final may take to become final (broker: the log)


def ask(host: str, port: int, jobs: Iterable[str], total_s: float = 30.0) -> dict[str, str]:
    """job id -> its state as the app tells it, or UNKNOWN (404); a job with no answer (no
    app, an error, out of time) is left out. States not yet final, and 503s (the app is
    still reading its log), are asked again until SETTLE_S has passed with no change."""
    deadline = time.monotonic() + total_s
    heard: dict[str, str] = {}
    todo = list(dict.fromkeys(jobs))
    conn: http.client.HTTPConnection | None = None
    settle_until = time.monotonic() + SETTLE_S
    try:
        while todo and time.monotonic() < deadline:
            again = []
            for job in todo:
                if time.monotonic() >= deadline:
                    break
                if conn is None:
                    conn = http.client.HTTPConnection(host, port, timeout=PER_REQUEST_S)
                try:
                    conn.request("GET", f"/signup/{job}")
                    r = conn.getresponse()
                    body = r.read()
                except (OSError, http.client.HTTPException):
                    conn.close()
                    conn = None
                    if not _reachable(host, port):
                        return heard  # the app is gone: nobody else will hear either
                    continue
                state = _state(r.status, body)
                if state is not None:
                    if heard.get(job) != state:
                        settle_until = max(settle_until, time.monotonic() + SETTLE_S)
                    heard[job] = state
                if state is None or (state != UNKNOWN and state not in FINAL):
                    again.append(job)
            todo = again
            if todo:
                if time.monotonic() >= settle_until:
                    break
                time.sleep(0.2)
    finally:
        if conn is not None:
            conn.close()
    return heard


def _state(status: int, body: bytes) -> str | None:
    if status == 404:
        return UNKNOWN
    if status != 200:
        return None  # 503 (still reading the log) or an error: ask again, or never heard
    with contextlib.suppress(ValueError, AttributeError):
        state = json.loads(body).get("state")
        if isinstance(state, str):
            return state
    return None


def _reachable(host: str, port: int) -> bool:
    try:
        with contextlib.closing(http.client.HTTPConnection(host, port, timeout=PER_REQUEST_S)) as c:
            c.connect()
        return True
    except OSError:
        return False
