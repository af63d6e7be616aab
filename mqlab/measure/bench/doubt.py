"""When a bench row's numbers are not to be judged, and why.

A bench measures the machine as much as mqlab: a generator that sent late, or CPU taken
by other processes meanwhile, spoils a measurement. Such a row says so instead of being
judged. The broker, when it runs on this machine, works for us: its CPU is not "other".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from urllib.parse import urlsplit

from mqlab.measure import calibrate, metrics
from mqlab.measure.results import Summary
from mqlab.processes import proctable

FOREIGN_DOUBT_CORES = 0.5  # others (broker included) took this much CPU: a light run shared it
GENERATOR_DOUBT_CORES = 0.25  # ... and for the generator check, which has no broker
CAPACITY_DOUBT_CORES = 0.25  # a capacity run uses every core: any other load lowers it
GENERATOR_LATE_MS = 20  # a run whose generator sent later than this (p99) is not judged

Meter = Callable[[], calibrate.CpuMeter]  # a fresh CPU meter that counts the broker as ours


STEAL_SAID_CORES = 0.05  # the hypervisor's part of what others took is named from this much


def foreign(cpu: calibrate.CpuMeter | None, limit: float) -> str | None:
    """Why a measurement shared the machine (others took over `limit` cores), or None."""
    if cpu is None or cpu.foreign_cores is None or cpu.foreign_cores <= limit:
        return None
    return shared(cpu.foreign_cores, cpu.steal_cores)


def shared(cores: float, steal: float | None = None) -> str:
    """What others took of the machine, in one clause; with the hypervisor's steal named
    when it was part of it (a virtual machine's cores given to other machines: no process
    here shows it, and "other processes" alone would send the reader looking for one)."""
    if steal is None or steal < STEAL_SAID_CORES:
        return f"other processes took {cores:.2f} cores meanwhile"
    return (
        f"others took {cores:.2f} cores meanwhile, {min(steal, cores):.2f} of them the "
        "hypervisor's (steal: CPU given to other virtual machines)"
    )


def of_run(
    summary: Summary, cpu: calibrate.CpuMeter | None, percentile: str | None = None
) -> str | None:
    """Why a run's numbers are not to be judged, or None."""
    late = summary.generator_late_ms.p99
    if late is not None and late > GENERATOR_LATE_MS:
        return f"generator late (p99 {late:.0f} ms)"
    if percentile is not None:
        reason = metrics.untrusted(asdict(summary)).get(percentile)
        if reason:
            return reason
    return foreign(cpu, FOREIGN_DOUBT_CORES)


def local_broker(url: str) -> list[int]:
    """The pids of a broker on this machine listening at the URL's port (else none)."""
    parts = urlsplit(url)
    if parts.hostname not in ("localhost", "127.0.0.1", "::1"):
        return []
    return proctable.listening_pids(parts.port or 5672)
