"""`mqlab crash-test`: kill the app, a worker, the broker, and count what was lost.

Each trial is an ordinary run (same load, same ledger accounting) with one fault
injected by a `ChaosThread` (a `runner.Chaos` that acts on a thread of its own):
- app-kill: SIGKILL the app once `kill_at` of the requests were sent, start a new one;
- worker-kill: a worker SIGKILLs itself right after the SMTP server accepted a mail
  and before its ack (a failpoint: the worst moment), and a replacement starts;
- broker-restart: SIGKILL a private RabbitMQ node mqlab started for this test, and
  start it again. Never a broker mqlab did not start. On Redis and NATS, a private server
  per trial, one row per durability setting of its disk (`brokers.durabilities`);
- node-kill, node-loss: SIGKILL the node of a private three-node cluster that holds the
  queue, one row per queue type (classic, quorum): see `nodekill`.
A fault that cannot be staged becomes a skipped row with the reason, never a crash
of the test itself. A request that died with the app may have been mailed all the same
(sync: killed after the send, before the answer): it counts as sent anyway, not delivered.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pika.exceptions

from mqlab.amqp.settings import BrokerKind, QueueType
from mqlab.errors import MqlabError
from mqlab.measure import environment
from mqlab.measure.faults import AppKill, BrokerRestart, ChaosThread, WorkerKill
from mqlab.measure.results import RunResult, envelope, utc_now
from mqlab.measure.runner import Broker, Progress, broker_for, run_with_chaos, workdir
from mqlab.processes import brokers, rabbit
from mqlab.processes.brokers import Restartable
from mqlab.processes.config import Mode, RunConfig, Safety, Workload

NODE_FAULTS = ("node-kill", "node-loss")
FAULTS = ("app-kill", "worker-kill", "broker-restart", *NODE_FAULTS)
QUEUE_TYPES: tuple[QueueType, ...] = ("classic", "quorum")  # a node fault's rows
APPLIES = {Mode.sync: ("app-kill",), Mode.thread: ("app-kill",), Mode.broker: FAULTS}

# Each lesson flag turns one safety off (or, for idempotent, one on).
SAFETIES: dict[str, Safety] = {
    "default": Safety(),
    "no-confirm": Safety(confirm=False),
    "transient": Safety(durable=False),
    "auto-ack": Safety(auto_ack=True),
    "idempotent": Safety(idempotent=True),
}


@dataclass(frozen=True)
class CrashConfig:
    workload: Workload
    modes: Sequence[Mode] = tuple(Mode)
    faults: Sequence[str] = FAULTS
    trials: int = 1
    kill_at: float = 0.5
    safeties: Sequence[str] = ("default",)  # broker rows run once per safety setting
    amqp_url: str | None = None
    keep: Path | None = None  # keep each trial's ledger and logs here
    queue_type: QueueType = "classic"  # the broker rows' queues
    node_queue_types: Sequence[QueueType] = QUEUE_TYPES  # a node fault's rows
    broker: BrokerKind = "rabbitmq"  # redis, nats: on private servers of mqlab's own
    # redis, nats: broker-restart's rows, one per durability setting of the private server
    # (empty: every setting the lesson has, `brokers.durabilities`)
    durabilities: Sequence[str] = ()


@dataclass
class CrashResult:
    config: dict[str, Any]
    environment: dict[str, Any]
    rows: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    created: str = field(default_factory=utc_now)

    def to_dict(self) -> dict[str, Any]:
        return {
            **envelope("crash-test", self.created, self.environment, config=self.config),
            "rows": self.rows,
            "events": self.events,
        }


@dataclass(frozen=True)
class Case:
    mode: Mode
    fault: str
    safety: str
    trial: int
    queue_type: QueueType | None = None  # a node fault's rows: each queue type; else the config's
    durability: str | None = None  # redis, nats broker-restart: the private server's setting

    @property
    def label(self) -> str:
        safety = "" if self.safety == "default" else f" --{self.safety}"
        kind = f" {self.queue_type}" if self.queue_type else ""
        durability = f" {self.durability}" if self.durability else ""
        return f"{self.mode.value} {self.fault}{kind}{durability}{safety} #{self.trial}"


def cases(config: CrashConfig) -> list[Case]:
    out: list[Case] = []
    for mode in config.modes:
        safeties = config.safeties if mode is Mode.broker else ("default",)
        for fault in config.faults:
            if fault not in APPLIES[mode]:
                continue
            kinds = config.node_queue_types if fault in NODE_FAULTS else (None,)
            if fault == "broker-restart" and config.broker != "rabbitmq":
                settings = config.durabilities or brokers.durabilities(config.broker)
                for durability in settings:  # what the lesson compares: the server's disk
                    for trial in range(1, config.trials + 1):
                        out.append(Case(mode, fault, "default", trial, durability=durability))
                continue
            for safety in safeties:
                for trial in range(1, config.trials + 1):
                    out.extend(Case(mode, fault, safety, trial, kind) for kind in kinds)
    return out


ProgressFor = Callable[[str], AbstractContextManager[Progress]]


def crash_test(
    config: CrashConfig,
    progress_for: ProgressFor | None = None,
    cluster: rabbit.Cluster | None = None,
) -> CrashResult:
    """Every case of `config`, one row each. The node faults run on `cluster` if given (a
    private one the caller owns, e.g. a test's), else on one started for this call."""
    from mqlab.measure import nodekill

    todo = cases(config)
    result = CrashResult(config=_config_dict(config), environment=environment.describe())
    needs_shared = any(
        c.mode is Mode.broker and c.fault not in ("broker-restart", *NODE_FAULTS) for c in todo
    )
    needs_private = config.broker == "rabbitmq" and any(c.fault == "broker-restart" for c in todo)
    needs_cluster = cluster is None and any(c.fault in NODE_FAULTS for c in todo)
    with contextlib.ExitStack() as stack:
        shared = _shared_broker(stack, config) if needs_shared else None
        private = _private_node(stack, config.keep) if needs_private else None
        nodes = nodekill.private_cluster(stack) if needs_cluster else cluster
        for case in todo:
            mended = nodekill.mend(nodes) if isinstance(nodes, rabbit.Cluster) else None
            if mended is not None and case.fault in NODE_FAULTS:
                result.rows.append(_skipped(case, mended))
                continue
            bar = progress_for(case.label) if progress_for else contextlib.nullcontext(None)
            with bar as report:
                row, events = _trial(config, case, (shared, private, nodes), report)
            result.rows.append(row)
            result.events += events
    return result


def _shared_broker(stack: contextlib.ExitStack, config: CrashConfig) -> Broker | str:
    """The broker for app-kill and worker-kill rows, or the reason there is none."""
    try:
        broker = stack.enter_context(
            broker_for(
                RunConfig(Mode.broker, config.workload, config.amqp_url, broker=config.broker)
            )
        )
    except MqlabError as e:
        return str(e)
    return broker if broker is not None else "no broker"


def _private_node(stack: contextlib.ExitStack, keep: Path | None) -> rabbit.PrivateNode | str:
    """A RabbitMQ node of mqlab's own, the only kind a crash test may kill; its log goes
    to `keep` with the trials' own, when the node is done (what it did on its restarts)."""
    try:
        # One Erlang scheduler: a restart's boot otherwise takes every core for ~1.5 s, and
        # the load generator beside it sent 20-200 ms late on 2 cores; with one, 1-3 ms.
        node = rabbit.PrivateNode.create(schedulers=1)
        stack.callback(node.cleanup)
        if keep is not None:
            stack.callback(_keep_logs, node, keep)  # before the cleanup deletes them
        node.start()
    except rabbit.BrokerUnavailable as e:
        return f"no private RabbitMQ node could be started: {e}"
    return node


def _keep_logs(node: rabbit.PrivateNode, keep: Path) -> None:
    keep.mkdir(parents=True, exist_ok=True)
    for path in node.logs:
        with contextlib.suppress(OSError):
            shutil.copyfile(path, keep / f"broker-{path.name}")


Sources = tuple[
    Broker | str | None, rabbit.PrivateNode | str | None, rabbit.Cluster | str | None
]  # the shared broker, broker-restart's private node, the node faults' cluster


def _trial(
    config: CrashConfig, case: Case, sources: Sources, report: Progress | None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    shared, private, cluster = sources
    run_config = RunConfig(
        case.mode,
        config.workload,
        cluster.url if isinstance(cluster, rabbit.Cluster) and case.queue_type else config.amqp_url,
        queue_type=case.queue_type or config.queue_type,
        broker=config.broker,
        # A memory-only NATS server has no file store: its rows run with memory streams.
        safety=(
            replace(SAFETIES[case.safety], durable=False)
            if case.durability == "memory"
            else SAFETIES[case.safety]
        ),
    )
    if case.queue_type == "quorum" and not run_config.safety.durable:
        return _skipped(case, "no row: a quorum queue is always durable (--transient)"), []
    if case.durability is not None:  # redis, nats: a private server with this setting
        return _on_private_server(config, case, run_config, report)
    broker: Broker | None = None
    node: rabbit.PrivateNode | rabbit.Cluster | None = None
    if case.mode is Mode.broker:
        source = {"broker-restart": private, "node-kill": cluster, "node-loss": cluster}.get(
            case.fault, shared
        )
        if isinstance(source, str) or source is None:
            return _skipped(case, source or "no broker"), []
        if isinstance(source, rabbit.PrivateNode | rabbit.Cluster):
            node = source
            broker = Broker(node.url, node.version, started_by_mqlab=True)
        else:
            broker = source
    return _measure(config, case, run_config, broker, node, report)


def _on_private_server(
    config: CrashConfig, case: Case, run_config: RunConfig, report: Progress | None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A Redis or NATS broker-restart row: a server of mqlab's own, started for this trial
    with the row's durability setting, SIGKILLed mid-load and started again."""
    try:
        with brokers.private_server(config.broker, durability=case.durability) as server:
            broker = Broker(server.url, None, started_by_mqlab=True, kind=config.broker)
            return _measure(config, case, run_config, broker, server, report)
    except MqlabError as e:
        return _skipped(case, f"no private {config.broker} server: {e}"), []


def _measure(
    config: CrashConfig,
    case: Case,
    run_config: RunConfig,
    broker: Broker | None,
    node: Restartable | rabbit.Cluster | None,
    report: Progress | None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    chaos = _chaos(case, config, node)
    try:
        name = f"{case.mode.value}-{case.fault}-{case.durability or case.safety}-{case.trial}"
        with workdir(config.keep, name) as tmp:
            run = run_with_chaos(run_config, tmp, broker, report, chaos)
    except MqlabError as e:
        return _skipped(case, f"the trial could not run: {e}"), []
    except (pika.exceptions.AMQPError, OSError) as e:  # a crash is a row, not the end of the test
        return _skipped(case, f"the trial could not run: {type(e).__name__}: {e}"), []
    except brokers.stream_errors() as e:  # redis, nats: as pika's, a row
        return _skipped(case, f"the trial could not run: {type(e).__name__}: {e}"), []
    row = _row(case, run, chaos)
    if case.fault in NODE_FAULTS:
        from mqlab.measure import nodekill

        row.update(nodekill.row_extras(run, chaos))
    events = [
        {
            "mode": case.mode.value,
            "fault": case.fault,
            "safety": case.safety,
            "trial": case.trial,
            **({"queue_type": case.queue_type} if case.queue_type else {}),
            **e,
        }
        for e in run.events
    ]
    return row, events


def _row(case: Case, run: RunResult, chaos: ChaosThread) -> dict[str, Any]:
    s = run.summary
    return {
        **_durability(case),
        "mode": case.mode.value,
        "fault": case.fault,
        "safety": case.durability or case.safety,
        "trial": case.trial,
        "accepted": s.accepted,
        "failed": s.failed,
        "sent_anyway": s.sent_anyway,
        "delivered": s.delivered,
        "lost": s.lost,
        "duplicates": s.duplicates,
        "quarantined": s.quarantined,
        "dead_lettered": s.dead_lettered,
        "told_truth": s.told_truth,
        "told_wrong": s.told_wrong,
        "told_queued": s.told_queued,
        "never_heard": s.never_heard,
        "skipped": False,
        "note": chaos.note,
        "throughput_per_s": s.throughput_per_s,
        "response_ms": {
            "p50": s.response_ms.p50,
            "p95": s.response_ms.p95,
            "p99": s.response_ms.p99,
            "max": s.response_ms.max,
        },
        "timeline": run.timeline,
        "warnings": run.warnings,
    }


def _durability(case: Case) -> dict[str, Any]:
    """A redis or nats broker-restart row is told apart by its server's durability, shown
    where a RabbitMQ row shows its safety flag."""
    return {"durability": case.durability} if case.durability else {}


def _skipped(case: Case, why: str) -> dict[str, Any]:
    return {
        **({"queue_type": case.queue_type} if case.queue_type else {}),
        **_durability(case),
        "mode": case.mode.value,
        "fault": case.fault,
        "safety": case.durability or case.safety,
        "trial": case.trial,
        "accepted": 0,
        "failed": 0,
        "sent_anyway": 0,
        "delivered": 0,
        "lost": 0,
        "duplicates": 0,
        "quarantined": 0,
        "dead_lettered": 0,
        "skipped": True,
        "note": why,
        "throughput_per_s": None,
        "response_ms": {"p50": None, "p95": None, "p99": None, "max": None},
        "timeline": [],
        "warnings": [],
    }


def _config_dict(config: CrashConfig) -> dict[str, Any]:
    from dataclasses import asdict

    return {
        **asdict(config.workload),
        "senders": config.workload.workers,  # in every mode (runner.fair)
        "modes": [m.value for m in config.modes],
        "faults": list(config.faults),
        "trials": config.trials,
        "kill_at": config.kill_at,
        "safeties": list(config.safeties),
        "queue_type": config.queue_type,  # a file without it: classic
        "broker": config.broker,  # a file without it: rabbitmq
        "amqp_url": rabbit.mask_url(
            config.amqp_url or "(private servers)"
            if config.broker != "rabbitmq"
            else rabbit.resolve_url(config.amqp_url)
        ),
    }


def _chaos(
    case: Case, config: CrashConfig, node: Restartable | rabbit.Cluster | None
) -> ChaosThread:
    w = config.workload
    at = min(w.requests - 1, max(0, int(w.requests * config.kill_at)))
    if case.fault == "app-kill":
        return AppKill(at)
    if case.fault == "worker-kill":
        return WorkerKill(max(1, int(w.requests * config.kill_at / w.workers)))
    if isinstance(node, rabbit.Cluster):
        from mqlab.measure.nodekill import NodeFault

        return NodeFault(at, node, lose=case.fault == "node-loss")
    assert node is not None
    what = (
        "RabbitMQ node" if config.broker == "rabbitmq" else f"{brokers.NAMES[config.broker]} server"
    )
    return BrokerRestart(at, node, what)
