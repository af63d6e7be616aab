"""The fidelity rows: are mqlab's own numbers right on this machine?

Each mode's result is held to what arithmetic says it should be, from parts measured
alone: a saturated thread or broker run to W ÷ scan mails per second, the broker's answer
to a publish plus an HTTP round trip (paced as the run made those calls), and a light
sync run's answer to the scan plus one SMTP send.
"""

from __future__ import annotations

from dataclasses import replace

from mqlab.measure import calibrate, runner
from mqlab.measure.bench import doubt
from mqlab.measure.bench.targets import Row, ceiling, ms, ratio
from mqlab.measure.results import Summary
from mqlab.processes.config import Mode, RunConfig, Workload


def throughput_rows(
    default: Workload, runs: dict[str, Summary], cpu: calibrate.CpuMeter
) -> list[Row]:
    """The default compare's thread and broker throughput ÷ W ÷ scan."""
    top = ceiling(default.workers, default.scan_ms)
    return [fidelity_row(mode, runs[mode], top, cpu) for mode in ("thread", "broker")]


def fidelity_row(
    key: str, s: Summary, top: float, cpu: calibrate.CpuMeter | None, more: str = ""
) -> Row:
    """A run's throughput ÷ `top`, the W ÷ scan it could reach at most; `more` ends the
    detail (the brokers' rows say what was lost)."""
    return Row(
        f"fidelity.{key}",
        ratio(s.throughput_per_s, top),
        f"{s.throughput_per_s or 0:.2f} of {top:.1f} mails/s{more}",
        doubt.of_run(s, cpu),
    )


def accept_row(
    accept: Summary,
    cal: calibrate.Calibration,
    paced: calibrate.Calibration,
    compare_cpu: calibrate.CpuMeter,
    paced_cpu: calibrate.CpuMeter,
) -> Row:
    """The broker run's p50 answer ÷ (publish + HTTP) paced like the run; unpaced beside it."""
    http, publish = paced.floor("http"), paced.floor("publish")
    floor_sum = (publish.p50 + http.p50) if publish and http else None
    unpaced = [cal.floor("publish"), cal.floor("http")]
    back_to_back = sum(f.p50 for f in unpaced if f) if all(unpaced) else None
    unpaced_ratio = ratio(accept.response_ms.p50, back_to_back) or 0.0
    return Row(
        "fidelity.accept",
        ratio(accept.response_ms.p50, floor_sum),
        f"{ms(accept.response_ms.p50)} vs {ms(floor_sum)} paced 50/s "
        f"(×{unpaced_ratio:.2f} of {ms(back_to_back)} unpaced)",
        doubt.of_run(accept, compare_cpu, percentile="response_ms.p50")
        or doubt.foreign(paced_cpu, doubt.FOREIGN_DOUBT_CORES),
    )


LIGHT_REQUESTS, LIGHT_RATE = 30, 5.0  # the sync row's light load


def sync_row(url: str, default: Workload, meter: doubt.Meter) -> Row:
    """A sync run at light load (30 requests, 5/s): its p50 answer ÷ (scan + SMTP), the SMTP
    floor paced as the run sends (one mail every 200 ms), not at 50/s: on a small VM a mail
    after a quiet spell costs more (bench/README.md, "The floors are paced")."""
    light = replace(default, requests=LIGHT_REQUESTS, rate=LIGHT_RATE)
    with meter() as cpu:
        sync = runner.run(RunConfig(Mode.sync, light, url, floors=False)).summary
    with calibrate.rig() as r:
        smtp = calibrate.smtp_floor(r.smtp_port, LIGHT_REQUESTS, pace_s=1 / LIGHT_RATE)
    expected = light.scan_ms + smtp.p50
    return Row(
        "fidelity.sync",
        ratio(sync.response_ms.p50, expected),
        f"{ms(sync.response_ms.p50)} vs {ms(expected)}, SMTP paced {LIGHT_RATE:g}/s",
        doubt.of_run(sync, cpu, percentile="response_ms.p50"),
    )
