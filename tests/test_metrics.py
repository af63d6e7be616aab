"""Accounting from samples and ledger rows: lost, duplicates, quarantined, sent anyway,
percentiles."""

from __future__ import annotations

import pytest

from mqlab.job.ledger import Arrival
from mqlab.measure import runner
from mqlab.measure.loadgen import Sample
from mqlab.measure.metrics import account, percentiles, summarize, timeline
from mqlab.measure.results import Percentiles, Summary


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


def test_a_failed_request_whose_mail_arrived_is_told_failed_sent_anyway() -> None:
    samples = [
        sample("a", 0.0, 503),  # told to try again, yet mailed (twice)
        sample("b", 0.1, None, None),  # no answer (the app died after the send), mailed
        sample("c", 0.2, 422),  # quarantined in sync: a notice, not a welcome mail
        sample("d", 0.3, 503),  # refused, and really not sent
        sample("e", 0.4, 202),  # accepted and delivered
    ]
    arrivals = [
        Arrival("a", "welcome", "a@x.test", 1.0),
        Arrival("b", "welcome", "b@x.test", 1.1),
        Arrival("c", "quarantine", "security@x.test", 0.5),
        Arrival("e", "welcome", "e@x.test", 0.6),
        Arrival("a", "welcome", "a@x.test", 1.5),
    ]
    assert account(samples, arrivals).sent_anyway == {"a", "b"}
    s = summarize(samples, arrivals)
    assert (s.accepted, s.failed, s.sent_anyway) == (1, 3, 2)
    assert (s.delivered, s.lost, s.quarantined) == (1, 0, 1)
    assert s.duplicates == 1  # a's second mail: a duplicate as before
    # throughput and e2e count delivered (accepted) jobs only: e, first sent at 0.0
    assert s.throughput_per_s == pytest.approx(1 / 0.6)
    assert s.e2e_ms.max == pytest.approx(200.0)


def test_a_mail_sent_anyway_does_not_shrink_the_backlog() -> None:
    samples = [sample("a", 0.0, 202), sample("b", 0.0, 503)]
    arrivals = [Arrival("b", "welcome", "b@x.test", 0.2), Arrival("a", "welcome", "a@x.test", 0.7)]
    rows = timeline(samples, arrivals, [], start=0.0, width_s=0.5)
    assert [r["backlog"] for r in rows] == [1, 0]  # a is still waiting at 0.5 s
    assert [r["delivered"] for r in rows] == [1, 1]  # b's mail did go out


def test_a_summary_with_more_sent_anyway_than_failed_is_refused() -> None:
    none = Percentiles(None, None, None, None)
    with pytest.raises(ValueError, match="sent anyway"):
        Summary(
            requests=2, accepted=1, failed=1, delivered=1, lost=0, duplicates=0, quarantined=0,
            dead_lettered=0, retried=0, sent_anyway=2, throughput_per_s=None, duration_s=1.0,
            response_ms=none, e2e_ms=none, generator_late_ms=none,
        )  # fmt: skip


def test_timeline_counts_sync_users_waiting_as_in_flight() -> None:
    # sync: 4 users sent at 0.0; the server answers one every 0.5 s (each waits in line)
    samples = [sample(f"j{i}", 0.0, 200, ms=400.0 + 500.0 * i) for i in range(4)]
    arrivals = [Arrival(f"j{i}", "welcome", "x", 0.35 + 0.5 * i) for i in range(4)]
    rows = timeline(samples, arrivals, [], start=0.0, width_s=0.5)
    assert [r["in_flight"] for r in rows] == [3, 2, 1, 0]
    assert [r["backlog"] for r in rows] == [0, 0, 0, 0]  # sync's backlog: flat, yet users waited
    unanswered = [Sample("n", intended=0.0, sent=0.0, status=None, response_ms=None)]
    assert timeline(unanswered, [], [], start=0.0, width_s=0.5)[-1]["in_flight"] == 1


def test_what_each_user_was_told_is_checked_against_the_ledger() -> None:
    samples = [
        sample("a", 0.0, 202),  # "sent", and mailed: the truth
        sample("b", 0.0, 202),  # "dead", no mail: the truth
        sample("c", 0.0, 202),  # "sent", no mail: wrong
        sample("d", 0.0, 202),  # still "queued" when asked: queued forever
        sample("e", 0.0, 202),  # the app does not know it (404): never heard
        sample("f", 0.0, 202),  # no answer to the status request: never heard
        sample("g", 0.0, 503),  # told it failed, yet mailed: wrong
        sample("h", 0.0, 503),  # told it failed, no mail: the truth
        sample("i", 0.0, None, None),  # no answer to the signup: knew it failed; no mail
    ]
    arrivals = [Arrival(j, "welcome", f"{j}@x.test", 0.5) for j in ("a", "d", "g")]
    heard = {"a": "sent", "b": "dead", "c": "sent", "d": "queued", "e": "unknown"}
    s = summarize(samples, arrivals, mode="broker", heard=heard)
    assert (s.told_truth, s.told_wrong, s.told_queued, s.never_heard) == (4, 2, 1, 2)
    # sync: the answer is the outcome, 2xx means sent; nobody is asked afterwards
    s = summarize(samples, arrivals, mode="sync")
    assert (s.told_truth, s.told_wrong, s.told_queued, s.never_heard) == (4, 5, 0, 0)
    # counted only when asked for: a summary without a mode (and an old file) says unknown
    assert summarize(samples, arrivals).told_truth is None


def test_a_user_told_the_outcome_is_unknown_is_judged_by_the_status_read_afterwards() -> None:
    """A 503 "outcome unknown" says the job may still be sent and to look again: the final
    status the app then tells decides. A 503 that said it was not taken is judged by that
    answer, whatever the status says (a lie is not excused by what follows)."""

    def doubt(job: str, outcome: str) -> Sample:
        s = sample(job, 0.0, 503)
        s.outcome = outcome
        return s

    samples = [
        doubt("a", "unknown"),  # "sent", mailed: the truth
        doubt("b", "unknown"),  # "sent", mailed: the truth
        doubt("c", "unknown"),  # the app does not know it, no mail: the truth (it failed)
        doubt("d", "unknown"),  # the app does not know it, mailed: wrong (told failed)
        doubt("e", "unknown"),  # still "queued", mailed: not final, so told failed: wrong
        doubt("f", "not_taken"),  # "not taken", yet "sent" and mailed: wrong
        doubt("g", "unknown"),  # "dead", no mail: the truth
    ]
    arrivals = [Arrival(j, "welcome", f"{j}@x.test", 0.5) for j in ("a", "b", "d", "e", "f")]
    heard = {"a": "sent", "b": "sent", "c": "unknown", "e": "queued", "f": "sent", "g": "dead"}
    s = summarize(samples, arrivals, mode="broker", heard=heard)
    assert (s.told_truth, s.told_wrong, s.told_queued, s.never_heard) == (4, 3, 0, 0)
    assert (s.failed, s.sent_anyway) == (7, 5)  # still told failed, and still mailed anyway
    # "sent" with no mail: wrong, though the 503 alone would have been the truth
    s = summarize([doubt("h", "unknown")], [], mode="broker", heard={"h": "sent"})
    assert (s.told_truth, s.told_wrong) == (0, 1)

    # and these are the users the runner asks, with the accepted ones
    samples = [sample("ok", 0.0, 202), doubt("maybe", "unknown"), doubt("no", "not_taken")]
    assert runner.to_ask([*samples, sample("none", 0.0, None, None)]) == ["ok", "maybe"]
