"""What `mqlab calibrate` measured, as the JSON document it saves (kind "calibration").

`calibrate` does the measuring; these are its results: each `Floor` (one part of the path,
timed alone), the `Schedule` (does the load generator send when it meant to?), and the
`Calibration` that holds them, with what could not be measured and why.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from mqlab.measure.metrics import LATE_OK_MS
from mqlab.measure.results import Percentiles, envelope, utc_now


@dataclass(frozen=True)
class Floor:
    """One part of the path, timed alone: `samples` calls one after the other."""

    name: str  # "http" | "publish" | "smtp"
    samples: int
    ms: Percentiles
    every_ms: float | None = None  # paced: one call every this many ms; None: back to back

    @property
    def p50(self) -> float:
        assert self.ms.p50 is not None
        return self.ms.p50


@dataclass(frozen=True)
class Schedule:
    """The load generator against the empty server: does it send when it meant to?"""

    rate: float
    requests: int
    failed: int
    sent_per_s: float | None  # the rate actually held: requests sent per second, first to last
    late_ms: Percentiles  # sent - intended
    response_ms: Percentiles  # answered - intended
    foreign_cores: float | None = None  # CPU other processes took meanwhile (see CpuMeter)

    @property
    def holds(self) -> bool:
        p99 = self.late_ms.p99
        return self.failed == 0 and p99 is not None and p99 <= LATE_OK_MS


@dataclass
class Calibration:
    floors: list[Floor]
    schedule: Schedule | None = None
    notes: list[str] = field(default_factory=list)  # what could not be measured, and why
    environment: dict[str, Any] = field(default_factory=dict)
    created: str = field(default_factory=utc_now)

    def floor(self, name: str) -> Floor | None:
        return next((f for f in self.floors if f.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            **envelope("calibration", self.created, self.environment),
            "floors": {
                f.name: {"samples": f.samples, "every_ms": f.every_ms, "ms": asdict(f.ms)}
                for f in self.floors
            },
            "schedule": None
            if self.schedule is None
            else {**asdict(self.schedule), "late_ok_ms": LATE_OK_MS, "holds": self.schedule.holds},
            "notes": self.notes,
        }
