"""Known result documents (format_version 1) for the chart tests.

Every mode gets clearly different numbers, so a test can tell from the bars
alone whether the chart put them in the right order and at the right height.
"""

from __future__ import annotations

import copy
from typing import Any

Doc = dict[str, Any]

CONFIG: Doc = {
    "mode": "compare",
    "requests": 200,
    "rate": 50,
    "scan_ms": 200,
    "scan_jitter_ms": 0,
    "scan_kind": "sleep",
    "workers": 4,
    "server_threads": 8,
    "drain_timeout": 30,
    "seed": 1,
}
ENVIRONMENT: Doc = {
    "python": "3.11.0",
    "platform": "Linux",
    "cpu_count": 8,
    "packages": {"matplotlib": "3.11"},
    "broker_version": "4.1.0",
}

# response/e2e percentiles per mode: sync waits (hundreds of ms), the others answer at once.
RESPONSE = {
    "sync": {"p50": 210.0, "p95": 260.0, "p99": 300.0, "max": 350.0},
    "thread": {"p50": 2.0, "p95": 3.0, "p99": 5.0, "max": 9.0},
    "broker": {"p50": 4.0, "p95": 6.0, "p99": 9.0, "max": 15.0},
}
E2E = {
    "sync": {"p50": 215.0, "p95": 270.0, "p99": 310.0, "max": 360.0},
    "thread": {"p50": 900.0, "p95": 1700.0, "p99": 1900.0, "max": 2000.0},
    "broker": {"p50": 950.0, "p95": 1800.0, "p99": 2100.0, "max": 2300.0},
}
THROUGHPUT = {"sync": 37.5, "thread": 19.2, "broker": 18.6}


def timeline(mode: str, seconds: int = 12) -> list[Doc]:
    """A spike of 200 jobs in the first 4 s, drained at 20 jobs/s (sync: no backlog)."""
    rows, backlog = [], 0
    for t in range(seconds):
        accepted = 50 if t < 4 else 0
        delivered = accepted if mode == "sync" else min(20, backlog + accepted)
        backlog += accepted - delivered
        depth = None if mode == "sync" else backlog
        rows.append(
            {
                "t": float(t),
                "accepted": accepted,
                "delivered": delivered,
                "backlog": backlog,
                "queue_depth": depth,
            }
        )
    return rows


def run(mode: str) -> Doc:
    summary = {
        "requests": 200,
        "accepted": 200,
        "failed": 0,
        "delivered": 200,
        "lost": 0,
        "duplicates": 0,
        "quarantined": 0,
        "throughput_per_s": THROUGHPUT[mode],
        "duration_s": 10.0,
        "response_ms": dict(RESPONSE[mode]),
        "e2e_ms": dict(E2E[mode]),
    }
    events = (
        [
            {"t": 5.0, "kind": "kill", "target": "worker"},
            {"t": 6.0, "kind": "restart", "target": "worker"},
        ]
        if mode == "broker"
        else []
    )
    return {
        "format_version": 1,
        "kind": "run",
        "mode": mode,
        "created": "2026-11-25T07:34:12Z",
        "config": {**CONFIG, "mode": mode},
        "environment": ENVIRONMENT,
        "summary": summary,
        "samples": [
            {
                "id": 1,
                "intended": 0.0,
                "sent": 0.0,
                "status": 200,
                "response_ms": RESPONSE[mode]["p50"],
                "delivered": True,
            }
        ],
        "timeline": timeline(mode),
        "events": events,
    }


def compare(order: tuple[str, ...] = ("broker", "sync", "thread")) -> Doc:
    """A compare file whose runs are deliberately not in sync, thread, broker order."""
    return {
        "format_version": 1,
        "kind": "compare",
        "created": "2026-11-25T07:34:12Z",
        "config": dict(CONFIG),
        "environment": ENVIRONMENT,
        "runs": [run(mode) for mode in order],
    }


def crash_row(
    mode: str,
    fault: str,
    safety: str,
    trial: int,
    accepted: int,
    delivered: int,
    lost: int,
    duplicates: int,
    skipped: bool = False,
    note: str = "",
    failed: int = 0,
    sent_anyway: int = 0,
    told: tuple[int, int, int, int] | None = None,
) -> Doc:
    """`told`: (truth, wrong, "queued" forever, never heard); None: a file from before."""
    heard = {} if told is None else dict(zip(TOLD, told, strict=True))
    return {
        **heard,
        "mode": mode,
        "fault": fault,
        "trial": trial,
        "accepted": accepted,
        "failed": failed,
        "sent_anyway": sent_anyway,
        "delivered": delivered,
        "lost": lost,
        "duplicates": duplicates,
        "quarantined": 0,
        "skipped": skipped,
        "note": note,
        "safety": safety,
        "throughput_per_s": 10.0,
        "response_ms": dict(RESPONSE[mode]),
        "timeline": [] if skipped else timeline(mode),
    }


TOLD = ("told_truth", "told_wrong", "told_queued", "never_heard")


def crash_test() -> Doc:
    """worker-kill: thread loses 37 (twice), broker loses none; sync skipped for app-kill.

    Broker's default rows answered 3 and 2 requests with an error, and mailed 1 of each
    anyway (told failed, sent anyway).
    """
    rows = [
        crash_row("broker", "worker-kill", "default", 1, 100, 100, 0, 2,
                  failed=3, sent_anyway=1, told=(102, 1, 0, 0)),
        crash_row("thread", "worker-kill", "default", 1, 100, 63, 37, 0, told=(63, 0, 0, 37)),
        crash_row("broker", "worker-kill", "auto-ack", 1, 100, 90, 10, 0, told=(90, 0, 10, 0)),
        crash_row("thread", "worker-kill", "default", 2, 100, 63, 37, 0, told=(63, 0, 0, 37)),
        crash_row("broker", "worker-kill", "default", 2, 100, 100, 0, 3,
                  failed=2, sent_anyway=1, told=(101, 1, 0, 0)),
        crash_row("broker", "worker-kill", "auto-ack", 2, 100, 92, 8, 0, told=(92, 0, 8, 0)),
        crash_row(
            "sync",
            "app-kill",
            "default",
            1,
            0,
            0,
            0,
            0,
            skipped=True,
            note="sync has no queue to lose: the user saw the error",
        ),
        crash_row("broker", "app-kill", "default", 1, 100, 100, 0, 0),  # no told: n/a
    ]  # fmt: skip
    events = [
        {
            "mode": "broker",
            "fault": "worker-kill",
            "trial": 1,
            "t": 3.0,
            "kind": "kill",
            "target": "worker",
        },
        {
            "mode": "broker",
            "fault": "worker-kill",
            "trial": 1,
            "t": 5.0,
            "kind": "restart",
            "target": "worker",
        },
        {
            "mode": "thread",
            "fault": "worker-kill",
            "trial": 1,
            "t": 3.0,
            "kind": "kill",
            "target": "app",
        },
    ]
    return {
        "format_version": 1,
        "kind": "crash-test",
        "created": "2026-11-25T07:34:12Z",
        "config": dict(CONFIG),
        "environment": ENVIRONMENT,
        "rows": rows,
        "events": events,
    }


SWEEP_WORKERS = (1, 2, 4, 8)


def sweep() -> Doc:
    """sleep scans scale for both; cpu scans scale for broker processes, not threads (GIL)."""
    points = []
    for w in SWEEP_WORKERS:
        ideal = w * 1000 / 200
        points += [
            {
                "mode": "thread",
                "scan_kind": "sleep",
                "workers": w,
                "throughput_per_s": ideal * 0.95,
                "ideal_per_s": ideal,
            },
            {
                "mode": "thread",
                "scan_kind": "cpu",
                "workers": w,
                "throughput_per_s": 4.8,
                "ideal_per_s": ideal,
            },
            {
                "mode": "broker",
                "scan_kind": "cpu",
                "workers": w,
                "throughput_per_s": ideal * 0.9,
                "ideal_per_s": ideal,
            },
        ]
    config = {k: v for k, v in CONFIG.items() if k not in ("workers", "scan_kind")}
    return {
        "format_version": 1,
        "kind": "sweep",
        "created": "2026-11-25T07:34:12Z",
        "config": config,
        "environment": ENVIRONMENT,
        "points": points,
    }


def with_changes(doc: Doc, **changes: Any) -> Doc:
    """A deep copy of `doc` with top-level keys replaced."""
    out = copy.deepcopy(doc)
    out.update(changes)
    return out


def compare_long() -> Doc:
    """The crowded compare: a spike (rate 0), jitter, big close numbers, a kill mid-run.

    Throughputs and ideals close together, long values ("12,345"), and a queue depth
    that runs right beside the backlog's peak: the cases where labels used to collide.
    """
    doc = compare()
    doc["config"].update(requests=2000, rate=0, scan_jitter_ms=50, workers=16, server_threads=16)
    speeds = {"sync": 78.4, "thread": 79.9, "broker": 80.0}
    for r in doc["runs"]:
        mode = r["mode"]
        r["config"] = {**doc["config"], "mode": mode}
        s = r["summary"]
        s["requests"] = s["accepted"] = s["delivered"] = 2000
        s["throughput_per_s"] = speeds[mode]
        s["response_ms"] = {"p50": 12345.0, "p95": 23456.0, "p99": 24567.0, "max": 25000.0}
        if mode != "sync":
            s["response_ms"] = {"p50": 1234.0, "p95": 2345.0, "p99": 3456.0, "max": 4000.0}
        s["e2e_ms"] = {"p50": 12345.0, "p95": 23456.0, "p99": 24999.0, "max": 25000.0}
        rows = []
        backlog = 0
        for t in range(30):
            accepted = 2000 if t == 0 and mode != "sync" else 0
            delivered = 0 if mode == "sync" else min(80, backlog + accepted)
            backlog += accepted - delivered
            rows.append(
                {
                    "t": float(t),
                    "accepted": accepted if mode != "sync" else 80,
                    "delivered": delivered if mode != "sync" else 80,
                    "backlog": backlog if mode != "sync" else 0,
                    "in_flight": max(0, 2000 - 80 * t) if mode == "sync" else None,
                    "queue_depth": None if mode == "sync" else max(0, backlog - 3),
                }
            )
        r["timeline"] = rows
    return doc


def crash_crowded() -> Doc:
    """Every safety beside the default under two faults, kills and restarts a second apart
    near the backlog's peak, three-digit counts: the crash slides at their fullest."""
    rows: list[Doc] = []
    events: list[Doc] = []
    safeties = ("default", "no-confirm", "transient", "auto-ack", "idempotent")
    for fault, target in (("worker-kill", "worker"), ("app-kill", "app")):
        rows.append(crash_row("thread", fault, "default", 1, 1000, 630, 370, 0, failed=120))
        for safety in safeties:
            lost = 0 if safety in ("default", "idempotent") else 118
            rows.append(
                crash_row(
                    "broker", fault, safety, 1, 1000, 1000 - lost, lost, 12,
                    failed=140, sent_anyway=15,
                )
            )  # fmt: skip
        for mode, safety in [("thread", "default"), *(("broker", s) for s in safeties)]:
            events += [
                {"mode": mode, "fault": fault, "safety": safety, "trial": 1, "t": 3.0,
                 "kind": "kill", "target": target},
                {"mode": mode, "fault": fault, "safety": safety, "trial": 1, "t": 3.5,
                 "kind": "restart", "target": target},
            ]  # fmt: skip
    return {
        "format_version": 1,
        "kind": "crash-test",
        "created": "2026-11-25T07:34:12Z",
        "config": {**CONFIG, "requests": 1000, "rate": 250, "scan_jitter_ms": 50},
        "environment": ENVIRONMENT,
        "rows": rows,
        "events": events,
    }


def compare_late() -> Doc:
    """A steady-rate compare whose generator fell behind at p95 and p99 of every mode, so
    those bars carry the "behind schedule" mark under their values."""
    doc = compare()
    for r in doc["runs"]:
        p99 = r["summary"]["response_ms"]["p99"]
        r["summary"]["generator_late_ms"] = {"p50": 0.1, "p95": p99, "p99": p99, "max": p99}
    return doc


def node_row(
    fault: str,
    queue_type: str,
    trial: int,
    accepted: int,
    failed: int,
    lost: int,
    recovery_s: float | None,
    told: tuple[int, int, int, int],
    sent_anyway: int = 0,
) -> Doc:
    """A node fault's row: 600 signups, the node holding the queue killed."""
    row = crash_row(
        "broker", fault, "default", trial, accepted, accepted - lost, lost, 0,
        failed=failed, sent_anyway=sent_anyway, told=told,
    )  # fmt: skip
    return {**row, "queue_type": queue_type, "node": "mqlab-cluster1-23225@localhost",
            "recovery_s": recovery_s}  # fmt: skip


def crash_nodes() -> Doc:
    """node-kill over three trials (classic refuses signups until its node is back, or to
    the end of the load; quorum barely notices) and node-loss once (classic loses 138 jobs
    with the disk, their users are told "queued" forever), as measured on the 2-core VM."""
    rows = []
    events: list[Doc] = []
    classic_back = (None, 9.8, None)
    for trial in (1, 2, 3):
        rows += [
            node_row("node-kill", "classic", trial, 183, 417, 0, classic_back[trial - 1],
                     (600, 0, 0, 0)),
            node_row("node-kill", "quorum", trial, 588, 12, 0, (0.4, 0.3, 0.5)[trial - 1],
                     (599, 1, 0, 0), sent_anyway=1),
        ]  # fmt: skip
    rows += [
        node_row("node-loss", "classic", 1, 500, 100, 138, 2.3, (462, 0, 138, 0)),
        node_row("node-loss", "quorum", 1, 590, 10, 0, 0.3, (600, 0, 0, 0)),
    ]
    node = "mqlab-cluster1-23225@localhost"
    for row in rows:
        where = {k: row[k] for k in ("mode", "fault", "safety", "trial", "queue_type")}
        kinds = ("kill", "restart") if row["fault"] == "node-kill" else (
            "kill", "disk-lost", "forgotten")  # fmt: skip
        events += [
            {**where, "t": 3.0 + 0.01 * i + 7 * (kind == "restart"), "kind": kind, "target": node}
            for i, kind in enumerate(kinds)
        ]
    return {
        "format_version": 1,
        "kind": "crash-test",
        "created": "2026-11-25T07:34:12Z",
        "config": {**CONFIG, "requests": 600, "rate": 40, "queue_type": "classic"},
        "environment": ENVIRONMENT,
        "rows": rows,
        "events": events,
    }


def compare_price() -> Doc:
    """`mqlab compare --modes broker --queue-types classic,quorum`: the broker twice on one
    cluster, each run with the confirm floor measured on its own queue type before it."""
    doc = compare(order=("broker",))
    classic = doc["runs"][0]
    quorum = copy.deepcopy(classic)
    for run, kind, p50 in ((classic, "classic", 1.32), (quorum, "quorum", 2.53)):
        run["config"]["queue_type"] = kind
        ms = {"p50": p50, "p95": p50 * 2.4, "p99": p50 * 4.1, "max": p50 * 6}
        run["calibration"] = {"floors": {"publish": {"samples": 20, "every_ms": 20, "ms": ms}}}
    quorum["summary"]["response_ms"] = {"p50": 5.2, "p95": 9.1, "p99": 14.0, "max": 20.0}
    quorum["summary"]["throughput_per_s"] = 17.9
    doc["runs"].append(quorum)
    doc["config"].update(queue_type="classic", queue_types=["classic", "quorum"])
    return doc
