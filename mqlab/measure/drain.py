"""The end of a run: waiting for the lab to deliver every accepted job (`drain`, quiet for
`settle_s`), and the backlog sampled in the background meanwhile (`DepthSampler`).

Apart from runner.py, which imports (and re-exports) them, to keep each module short; they
need only the lab and the sink's ledger, never the runner.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from mqlab.job import ledger
from mqlab.measure import metrics
from mqlab.measure.lab import Lab
from mqlab.measure.loadgen import Sample

SAMPLE_EVERY_S = 0.1


def settle_s(scan_ms: float) -> float:
    """How long nothing may arrive before an idle lab is taken to be done."""
    return max(1.0, 4 * scan_ms / 1000 + 0.5)


def drain(
    lab: Lab,
    samples: list[Sample],
    timeout: float,
    settle: float,
    report: Callable[[int], None],
    always_settle: bool = False,
) -> str:
    """Wait for every accepted job to reach the sink.

    Returns "complete" when all did, "idle" when the lab has nothing left to do, or
    "timeout". Idle means quiet for `settle` seconds in a row: no mail and no refused
    attempt reached the sink, and every look at the backlog (queues, retry queue, thread
    pool) found it empty. Then the rest will never come (it died with a crashed process).
    A backlog that cannot be read counts as busy. When a request failed, its mail may
    still come (told failed, sent anyway), so the lab must be idle even after every
    accepted job arrived; with `always_settle` (after a fault: a late duplicate) it always
    must.
    """
    accepted = {s.job_id for s in samples if s.accepted}
    unsure = always_settle or any(
        not s.accepted and s.status != metrics.QUARANTINE_STATUS for s in samples
    )
    deadline = time.monotonic() + timeout
    seen, quiet_since = -1, time.monotonic()
    while True:
        rows = ledger.read_arrivals(lab.ledger, include_refused=True)
        done = {a.job_id for a in rows if a.kind != "refused"} & accepted
        report(len(done))
        complete = len(done) == len(accepted)
        if complete and not unsure:
            return "complete"
        now = time.monotonic()
        backlog = lab.backlog() if lab.has_queue else 0
        if len(rows) != seen or backlog != 0:
            seen, quiet_since = len(rows), now  # something moved, or is still waiting
        elif now - quiet_since > settle:
            return "complete" if complete else "idle"
        if now > deadline:
            return "complete" if complete else "timeout"
        time.sleep(0.05)


class DepthSampler:
    """Samples the backlog (thread pool queue, RabbitMQ queue depth) in the background."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self.samples: list[metrics.DepthSample] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="depth-sampler", daemon=True)

    def _loop(self) -> None:
        while self.lab.has_queue and not self._stop.wait(SAMPLE_EVERY_S):
            self.samples.append(metrics.DepthSample(time.time(), self.lab.backlog()))

    def __enter__(self) -> DepthSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
