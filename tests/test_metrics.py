"""Accounting from samples and ledger rows: lost, duplicates, quarantined, percentiles."""

from __future__ import annotations

import pytest

from mqlab.ledger import Arrival
from mqlab.loadgen import Sample
from mqlab.metrics import percentiles, summarize, timeline


def sample(job: str, t: float, status: int | None, ms: float | None = 5.0) -> Sample:
    return Sample(job, intended=t, sent=t, status=status, response_ms=ms)


def test_every_job_is_followed_from_answer_to_inbox() -> None:
    samples = [
        sample("a", 100.0, 202),  # delivered twice: one duplicate
        sample("b", 100.1, 202),  # never arrives: lost
        sample("c", 100.2, 202),  # infected: quarantined, not lost
        sample("d", 100.3, 503),  # refused: the user knew; not lost
        sample("e", 100.4, None, None),  # no answer at all: failed
        sample("f", 100.5, 202),  # delivered
    ]
    arrivals = [
        Arrival("a", "welcome", "a@x.test", 101.0),
        Arrival("f", "welcome", "f@x.test", 101.5),
        Arrival("a", "welcome", "a@x.test", 102.0),
        Arrival("c", "quarantine", "security@x.test", 101.2),
        Arrival("zz", "welcome", "stray@x.test", 101.3),  # not ours: ignored
    ]
    s = summarize(samples, arrivals)
    assert (s.requests, s.accepted, s.failed) == (6, 4, 2)
    assert (s.delivered, s.lost, s.duplicates, s.quarantined) == (2, 1, 1, 1)
    # throughput: 2 delivered between the first send (100.0) and the last first-arrival (101.5)
    assert s.throughput_per_s == pytest.approx(2 / 1.5)
    # e2e from the intended time: a 1000 ms, f 1000 ms
    assert s.e2e_ms.p50 == pytest.approx(1000.0)


def test_a_quarantined_sync_request_is_neither_failed_nor_lost() -> None:
    s = summarize([sample("a", 0.0, 422)], [Arrival("a", "quarantine", "s@x.test", 0.5)])
    assert (s.accepted, s.failed, s.lost, s.quarantined) == (0, 0, 0, 1)


def test_percentiles_come_from_all_samples() -> None:
    p = percentiles(float(v) for v in range(1, 101))
    assert p.p50 == pytest.approx(50.5)
    assert p.p99 == pytest.approx(99.01)
    assert p.max == 100.0
    assert percentiles([]).p50 is None


def test_timeline_counts_per_interval_and_backlog() -> None:
    samples = [sample(f"j{i}", 0.0, 202, ms=10.0) for i in range(4)]
    arrivals = [Arrival(f"j{i}", "welcome", "x", 0.3 + 0.5 * i) for i in range(4)]
    rows = timeline(samples, arrivals, [], start=0.0, width_s=0.5)
    assert rows[0]["accepted"] == 4
    assert [r["delivered"] for r in rows] == [1, 1, 1, 1]
    assert [r["backlog"] for r in rows] == [3, 2, 1, 0]


def test_dead_lettered_and_retried_jobs_are_counted_not_lost() -> None:
    samples = [sample(j, 0.0, 202) for j in ("a", "b", "c")]
    arrivals = [
        Arrival("a", "refused", "a@x.test", 0.1),  # refused once, then delivered: retried
        Arrival("a", "welcome", "a@x.test", 0.5),
        Arrival("b", "refused", "b@x.test", 0.1),  # refused for good: parked in .dead
        Arrival("c", "welcome", "c@x.test", 0.2),
    ]
    s = summarize(samples, arrivals, dead=["b", "not-ours"])
    assert (s.delivered, s.dead_lettered, s.retried, s.lost) == (2, 1, 1, 0)
    assert summarize(samples, arrivals).lost == 1  # without the dead-letter queue: lost
