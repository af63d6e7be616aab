"""The broker rows: is broker mode on Redis Streams and NATS JetStream as faithful as on
RabbitMQ? The default workload's broker run on each, on a private server of mqlab's own
with the lesson's strongest durability, held to W ÷ scan like `fidelity.broker`: a lab
whose Redis or NATS worker wasted time between jobs would blame the broker for its own
overhead."""

from __future__ import annotations

from mqlab.amqp.settings import BrokerKind
from mqlab.errors import MqlabError
from mqlab.measure import calibrate, runner
from mqlab.measure.bench.fidelity import fidelity_row
from mqlab.measure.bench.targets import Row, ceiling
from mqlab.processes import brokers
from mqlab.processes.config import Mode, RunConfig, Workload

OTHERS: tuple[BrokerKind, ...] = ("redis", "nats")


def broker_rows(default: Workload, notes: list[str]) -> list[Row]:
    """One `fidelity.<broker>` row per other broker: its saturated throughput ÷ W ÷ scan."""
    top = ceiling(default.workers, default.scan_ms)
    rows = []
    for kind in OTHERS:
        # No URL: the run starts a private server of its own (`runner.broker_for`), a child
        # of this process, so the meter counts its CPU as ours.
        config = RunConfig(Mode.broker, default, None, broker=kind, floors=False)
        try:
            with calibrate.CpuMeter() as cpu:
                s = runner.run(config).summary
        except MqlabError as e:
            notes.append(f"{brokers.NAMES[kind]}: not measured ({e})")
            rows.append(Row(f"fidelity.{kind}", None, "not measured", str(e)))
            continue
        rows.append(fidelity_row(kind, s, top, cpu, f", {s.lost} lost" if s.lost else ""))
    return rows
