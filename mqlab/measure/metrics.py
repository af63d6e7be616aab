"""From raw samples and the sink's ledger to the numbers on the slide.

Definitions (the README repeats them):
- accepted: answered 2xx. failed: answered with an error (not 2xx, not a 422 quarantine) or
  not at all: the user knew. quarantined: jobs whose attachment was infected (no welcome mail).
- delivered: accepted jobs with a welcome mail in the ledger. dead-lettered: accepted jobs the
  broker parked in `<queue>.dead` (a permanent SMTP failure, or retries exhausted): not sent,
  but not lost either, a person can look at them. lost: accepted jobs that are none of these.
  duplicates: welcome mails of a job beyond its first. retried: delivered jobs whose mail the
  SMTP server refused at least once first (the retry worked).
- sent anyway ("told failed, sent anyway"): failed jobs whose welcome mail arrived all the
  same (the work went on after the app gave up, or the app died after the send): a user who
  tries again gets two mails. Jepsen's queue checker calls these "recovered". Kept apart
  from delivered and lost, which count accepted jobs only; their extra mails are duplicates.
- told (what each user heard, against the ledger; every request is one user): told the truth
  (a final answer or status that says "sent" and the mail arrived, or that says it was not
  sent, as an error answer, dead, quarantined or dropped, and no mail arrived), told wrong
  (a final one the ledger contradicts: a failed request sent anyway, a "sent" with no mail),
  told "queued" forever (accepted, and the status never became final), never heard
  (accepted, and the app had no answer about the job: it does not know it, as a restarted
  thread app, or it did not answer). A request with no answer at all counts as told
  failed, as in `failed`: the user knew at once. A 503 that said the outcome is unknown
  (the broker may still have the job) counts by the final status the app tells of the job
  afterwards, where it tells one; else as told failed. Sync's answer is its outcome (2xx: sent);
  thread and broker users are asked `GET /signup/{id}` after the drain (`heard.ask`).
- throughput: delivered mails / seconds from the first request sent to the last mail delivered.
- response: answer - *intended* send time. e2e: first arrival in the sink - intended send time.
Percentiles come from all samples at once (numpy), never from averaged percentiles.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mqlab.job.ledger import Arrival
from mqlab.job.status import FINAL, STATES
from mqlab.measure.loadgen import Sample
from mqlab.measure.results import Percentiles, Summary

QUARANTINE_STATUS = 422
LATE_OK_MS = 2.0  # generator lateness above this: its response times carry its own delay
LATE_SHARE = 0.10  # ... and a percentile is doubtful when the delay is more than 10% of it


def percentiles(values: Iterable[float]) -> Percentiles:
    arr = np.fromiter(values, dtype=float)
    if arr.size == 0:
        return Percentiles(None, None, None, None)
    p50, p95, p99 = np.percentile(arr, [50, 95, 99])
    return Percentiles(float(p50), float(p95), float(p99), float(arr.max()))


@dataclass(frozen=True)
class Accounting:
    """Every job id followed from the HTTP answer to the ledger."""

    accepted: set[str]
    failed: set[str]
    welcome: Counter[str]  # job id -> number of welcome mails
    quarantined: set[str]
    first_arrival: dict[str, float]  # job id -> first welcome mail's arrival
    dead_lettered: set[str]
    refused: Counter[str]  # job id -> SMTP attempts the sink refused

    @property
    def delivered(self) -> set[str]:
        return {j for j in self.accepted if self.welcome[j] > 0}

    @property
    def sent_anyway(self) -> set[str]:
        return {j for j in self.failed if self.welcome[j] > 0}

    @property
    def lost(self) -> set[str]:
        parked = self.quarantined | self.dead_lettered
        return {j for j in self.accepted if self.welcome[j] == 0 and j not in parked}

    @property
    def retried(self) -> set[str]:
        return {j for j in self.delivered if self.refused[j] > 0}

    @property
    def duplicates(self) -> int:
        return sum(n - 1 for j, n in self.welcome.items() if n > 1)


def account(
    samples: Sequence[Sample], arrivals: Sequence[Arrival], dead: Iterable[str] = ()
) -> Accounting:
    ours = {s.job_id for s in samples}
    welcome: Counter[str] = Counter()
    quarantined: set[str] = set()
    first: dict[str, float] = {}
    refused: Counter[str] = Counter()
    for a in arrivals:
        if a.job_id not in ours:
            continue  # not from this run (a shared sink, a stray message)
        if a.kind == "refused":
            refused[a.job_id] += 1
        elif a.kind == "quarantine":
            quarantined.add(a.job_id)
        elif a.kind == "welcome":
            welcome[a.job_id] += 1
            first.setdefault(a.job_id, a.arrived)
    accepted = {s.job_id for s in samples if s.accepted}
    failed = {s.job_id for s in samples if not s.accepted and s.status != QUARANTINE_STATUS}
    dead_lettered = set(dead) & accepted
    return Accounting(accepted, failed, welcome, quarantined, first, dead_lettered, refused)


def told(
    mode: str,
    samples: Sequence[Sample],
    arrivals: Sequence[Arrival],
    heard: Mapping[str, str] | None = None,
) -> dict[str, int]:
    """What the users were told, against the ledger: the four counts of the summary.

    `heard`: job id -> the state the app tells for it (or "unknown"), for accepted jobs of
    thread and broker runs; a job missing from it was never heard of. Sync's answer is its
    outcome: 2xx means sent."""
    acc = account(samples, arrivals)
    heard = heard or {}
    out = {"told_truth": 0, "told_wrong": 0, "told_queued": 0, "never_heard": 0}
    for sample in samples:
        mailed = acc.welcome[sample.job_id] > 0
        if sample.in_doubt and heard.get(sample.job_id) in FINAL:
            # told "it may still be sent, look again", and the status it then read was final
            key = "told_truth" if (heard[sample.job_id] == "sent") == mailed else "told_wrong"
        elif not sample.accepted:  # an error answer, or none: the user knew it failed
            key = "told_wrong" if mailed else "told_truth"
        elif mode == "sync":
            key = "told_truth" if mailed else "told_wrong"
        else:
            state = heard.get(sample.job_id)
            if state not in STATES:  # not asked, no answer, or "unknown" (404)
                key = "never_heard"
            elif state not in FINAL:
                key = "told_queued"
            else:
                key = "told_truth" if (state == "sent") == mailed else "told_wrong"
        out[key] += 1
    return out


def summarize(
    samples: Sequence[Sample],
    arrivals: Sequence[Arrival],
    dead: Iterable[str] = (),
    mode: str | None = None,
    heard: Mapping[str, str] | None = None,
) -> Summary:
    """The run's numbers; what the users were told (`told`) only when `mode` is given."""
    acc = account(samples, arrivals, dead)
    users = told(mode, samples, arrivals, heard) if mode is not None else {}
    delivered = acc.delivered
    by_id = {s.job_id: s for s in samples}
    sent_times = [s.sent for s in samples if s.sent is not None]
    start = min(sent_times) if sent_times else 0.0
    last = max((acc.first_arrival[j] for j in delivered), default=None)
    # The last mail delivered, counting duplicates too: the work was done.
    span = (last - start) if last is not None else None
    throughput = len(delivered) / span if span and span > 0 else None
    answered = [
        s.response_ms for s in samples if s.status is not None and s.response_ms is not None
    ]
    late = [(s.sent - s.intended) * 1000 for s in samples if s.sent is not None]
    e2e = [(acc.first_arrival[j] - by_id[j].intended) * 1000 for j in delivered]
    end = max(
        [last or start, *(s.intended + (s.response_ms or 0) / 1000 for s in samples)], default=start
    )
    return Summary(
        requests=len(samples),
        accepted=len(acc.accepted),
        failed=len(acc.failed),
        delivered=len(delivered),
        lost=len(acc.lost),
        duplicates=acc.duplicates,
        quarantined=len(acc.quarantined),
        dead_lettered=len(acc.dead_lettered),
        retried=len(acc.retried),
        sent_anyway=len(acc.sent_anyway),
        throughput_per_s=throughput,
        duration_s=max(0.0, end - start),
        response_ms=percentiles(answered),
        e2e_ms=percentiles(e2e),
        generator_late_ms=percentiles(late),
        told_truth=users.get("told_truth"),
        told_wrong=users.get("told_wrong"),
        told_queued=users.get("told_queued"),
        never_heard=users.get("never_heard"),
    )


@dataclass(frozen=True)
class DepthSample:
    at: float  # wall clock
    depth: int | None


def timeline(
    samples: Sequence[Sample],
    arrivals: Sequence[Arrival],
    depths: Sequence[DepthSample],
    start: float,
    width_s: float | None = None,
) -> list[dict[str, float | int | None]]:
    """Per interval: accepted answers, welcome mails delivered, backlog at its end, queue
    depth, and requests in flight at its end (sent, not yet answered).

    The backlog is accepted jobs not yet done: a mail sent for a failed request (sent
    anyway) was never in it, so it does not shrink it; it still counts as a mail delivered.
    In flight is sync's queue: its users stand in line at the server, each waiting for an
    answer, while its backlog of accepted jobs stays near 0. A request never answered
    (no response time) counts as in flight until the end.
    """
    ours = {s.job_id for s in samples}
    accepted = {s.job_id for s in samples if s.accepted}
    answers = sorted(s.intended + (s.response_ms or 0) / 1000 for s in samples if s.accepted)
    first_done: dict[str, float] = {}
    for a in arrivals:
        if a.job_id in accepted and a.kind in ("welcome", "quarantine"):
            first_done.setdefault(a.job_id, a.arrived)
    done = sorted(first_done.values())  # a duplicate does not shrink the backlog twice
    welcome = sorted(a.arrived for a in arrivals if a.job_id in ours and a.kind == "welcome")
    sent = sorted(s.sent for s in samples if s.sent is not None)
    answered = sorted(
        s.intended + s.response_ms / 1000
        for s in samples
        if s.sent is not None and s.response_ms is not None
    )
    end = max([start, *answers, *done])
    if width_s is None:
        width_s = interval_width(end - start)
    rows: list[dict[str, float | int | None]] = []
    n = int((end - start) / width_s) + 1
    bounds = [start + i * width_s for i in range(n + 1)]
    acc_cum = np.searchsorted(answers, bounds, side="right")
    done_cum = np.searchsorted(done, bounds, side="right")
    wel_cum = np.searchsorted(welcome, bounds, side="right")
    sent_cum = np.searchsorted(sent, bounds, side="right")
    answered_cum = np.searchsorted(answered, bounds, side="right")
    depth_at = [d for d in depths if d.depth is not None]
    for i in range(n):
        lo, hi = bounds[i], bounds[i + 1]
        in_interval = [d.depth for d in depth_at if lo <= d.at < hi]
        rows.append(
            {
                "t": round(lo - start, 3),
                "accepted": int(acc_cum[i + 1] - acc_cum[i]),
                "delivered": int(wel_cum[i + 1] - wel_cum[i]),
                "backlog": max(0, int(acc_cum[i + 1] - done_cum[i + 1])),
                "queue_depth": in_interval[-1] if in_interval else None,
                "in_flight": max(0, int(sent_cum[i + 1] - answered_cum[i + 1])),
            }
        )
    return rows


def ideal_per_s(
    parallel: int, scan_ms: float, cores: int | None = None, rate: float = 0.0
) -> float | None:
    """W ÷ scan time: what `parallel` scanners could do at best (None if unknown).

    Never more than was offered (a steady `rate` caps it; a spike, rate 0, does not), and
    for CPU-bound scans (`cores` given) never more than the machine's cores can compute.
    """
    if scan_ms <= 0 or parallel <= 0:
        return None
    if cores is not None and cores > 0:
        parallel = min(parallel, cores)
    ideal = parallel * 1000.0 / scan_ms
    return min(ideal, float(rate)) if rate > 0 else ideal


def interval_width(duration_s: float) -> float:
    """About 40-80 intervals whatever the run's length, on round widths."""
    for width in (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0):
        if duration_s / width <= 80:
            return width
    return 30.0


def untrusted(summary: Mapping[str, Any], rate: float | None = None) -> dict[str, str]:
    """Percentiles of a run (a summary dict) that carry too much of the generator's own delay.

    A spike that was asked for (`rate` 0: every signup due at once) has none: its requests
    wait for a free connection by design, as users who all arrive together would.

    Response and e2e times are counted from the *intended* send time, so a generator that
    sends late adds its delay to them. A percentile is not to be printed when the generator
    was late by more than LATE_OK_MS *and* by more than LATE_SHARE of that percentile, at
    the same percentile: {"response_ms.p50": "the generator sent 3.1 ms late (40% of it)"}.
    """
    late = summary.get("generator_late_ms") or {}
    out: dict[str, str] = {}
    if rate == 0:
        return out
    for group in ("response_ms", "e2e_ms"):
        values = summary.get(group) or {}
        for key in ("p50", "p95", "p99", "max"):
            lag, value = late.get(key), values.get(key)
            if lag is None or value is None or value <= 0:
                continue
            if lag > LATE_OK_MS and lag > LATE_SHARE * value:
                out[f"{group}.{key}"] = (
                    f"the generator sent {lag:.1f} ms late ({lag / value:.0%} of it)"
                )
    return out
