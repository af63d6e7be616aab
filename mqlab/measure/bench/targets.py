"""What each bench row is judged against, and the arithmetic that judges it (pure, tested).

A row is a *ratio* of a measurement to the floor or ceiling it is held to, measured in
the same bench run, with the absolute numbers beside it. A row in doubt (the machine
spoiled the measurement) is shown but not judged. The result of a bench is its rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from mqlab.measure.results import envelope, utc_now

Op = Literal[">=", "<=", "±"]


@dataclass(frozen=True)
class Target:
    label: str
    op: Op  # ">=": at least, "<=": at most, "±": within target of 1
    target: float


TARGETS: dict[str, Target] = {
    "fidelity.thread": Target("thread ÷ (W ÷ scan), saturated", ">=", 0.97),
    "fidelity.broker": Target("broker ÷ (W ÷ scan), saturated", ">=", 0.97),
    # the same default run with broker mode on Redis Streams, on NATS JetStream (issue 21)
    "fidelity.redis": Target("broker on Redis ÷ (W ÷ scan), saturated", ">=", 0.97),
    "fidelity.nats": Target("broker on NATS ÷ (W ÷ scan), saturated", ">=", 0.97),
    "fidelity.sync": Target("sync p50 ÷ (scan + SMTP), light", "±", 0.03),
    "fidelity.accept": Target("broker p50 ÷ (publish + HTTP)", "<=", 1.5),
    "capacity.broker": Target("broker scan 0 sustained ÷ raw ceiling", ">=", 0.70),
    "capacity.rate": Target("generator rate ÷ 1000/s", ">=", 1.0),
    "capacity.late": Target("generator late p99 ÷ 2 ms", "<=", 1.0),
    "peer.throughput": Target("mqlab ÷ Celery (prefetch x1) throughput", ">=", 1.0),
    "time.compare": Target("default compare ÷ 60 s", "<=", 1.0),
    "time.broker": Target("private broker start ÷ 6 s", "<=", 1.0),
    # a quorum confirm does a classic one's work and waits for a majority's disks too
    # (bench/README.md, "The price of replication")
    "replication.confirm": Target("quorum ÷ classic confirm p50, same cluster", "<=", 2.5),
}


def ceiling(workers: int, scan_ms: float) -> float:
    """The most mails per second W workers can send when each scan takes scan_ms: W ÷ scan."""
    if workers < 1 or scan_ms <= 0:
        raise ValueError("workers must be at least 1 and scan_ms positive")
    return workers / (scan_ms / 1000)


def ratio(measured: float | None, reference: float | None) -> float | None:
    """measured ÷ reference, or None when either is missing or the reference is not positive."""
    if measured is None or reference is None or reference <= 0:
        return None
    return measured / reference


def verdict(value: float | None, op: Op, target: float) -> bool | None:
    """Does `value` meet `op target`? None when there is no value."""
    if value is None:
        return None
    if op == ">=":
        return value >= target
    if op == "<=":
        return value <= target
    return abs(value - 1) <= target


KEPT_UP = 0.97  # delivered ÷ offered at or above this: the offered rate was kept up with


def kept_up(offered: float, delivered: float) -> bool:
    return offered > 0 and delivered >= KEPT_UP * offered


def sustained(steps: Sequence[tuple[float, float]]) -> float | None:
    """The most delivered by a run that kept up with its (offered, delivered) rate, or None."""
    return max((d for o, d in steps if kept_up(o, d)), default=None)


def ms(v: float | None) -> str:
    """A duration for a row's detail."""
    return "-" if v is None else f"{v:.2f} ms"


@dataclass(frozen=True)
class Row:
    key: str  # a TARGETS key
    value: float | None  # the ratio
    detail: str  # the absolute numbers behind it
    doubt: str | None = None  # why the value is not to be trusted (then it is not judged)

    @property
    def target(self) -> Target:
        return TARGETS[self.key]

    @property
    def ok(self) -> bool | None:
        return None if self.doubt else verdict(self.value, self.target.op, self.target.target)

    def to_dict(self) -> dict[str, Any]:
        t = self.target
        return {
            "key": self.key,
            "label": t.label,
            "op": t.op,
            "target": t.target,
            "value": self.value,
            "ok": self.ok,
            "detail": self.detail,
            "doubt": self.doubt,
        }


@dataclass(frozen=True)
class KillRow:
    """One worker SIGKILLed mid-run: what the sink's ledger says about it."""

    system: str  # "mqlab" | "celery"
    moment: str  # "after-send" (before the ack) | "mid-scan"
    accepted: int
    delivered: int
    lost: int
    duplicates: int
    note: str


@dataclass
class BenchResult:
    rows: list[Row]
    kills: list[KillRow]
    phases: dict[str, dict[str, float]]  # compare: mode -> phase -> seconds
    calibration: dict[str, Any]
    notes: list[str]
    environment: dict[str, Any]
    created: str = field(default_factory=utc_now)

    def to_dict(self) -> dict[str, Any]:
        return {
            **envelope("bench", self.created, self.environment),
            "rows": [r.to_dict() for r in self.rows],
            "kills": [asdict(k) for k in self.kills],
            "phases": self.phases,
            "calibration": self.calibration,
            "notes": self.notes,
        }
