"""Result objects and their JSON files: the contract for tables, charts and scripts.

Format history (`format_version`):
  1 - first version: kinds "run", "compare", "crash-test", "sweep" (and, added within
      version 1, "calibration" and "bench": new kinds, no field of the others changed;
      summary fields "dead_lettered", "retried" and "sent_anyway", and crash-test row fields
      "dead_lettered" and "sent_anyway": readers of version 1 treat a missing one as 0;
      timeline row field "in_flight", requests sent and not yet answered: readers treat a
      missing one as unknown and draw the backlog alone; sweep point field "cores", the
      CPU cores the CPU-bound ideal was capped at: a missing one means not capped;
      environment field "cpu_usable", the cores the process may run on: readers fall back
      to "cpu_count"; config field "senders", the mail senders every mode had (sync's
      handler threads included): a file without it served sync with "server_threads";
      config field "queue_type" of run, compare, crash-test and sweep, "classic" or
      "quorum", the type of the broker's queues (None in a run that used no broker):
      readers take a missing one as "classic" (`queue_type`), all there was before;
      kind "lesson", one `mqlab lesson` run: the student's prediction beside the measured
      value, the verdict, and the result document of its core (`mqlab.measure.lesson`);
      summary and crash-test row fields "told_truth", "told_wrong", "told_queued" and
      "never_heard", what the users were told against the ledger (`metrics.told`): readers
      treat a missing one as unknown and show "-"; sample field "outcome", what a 503 said
      of the job ("unknown": the broker may still have it; "not_taken"), else null: a file
      without it counted a 503 "unknown" as told failed, whatever the job's status said).
Every file opens with the same envelope, built by `envelope()` alone: `format_version`,
`kind` (a run's `mode` with it), `created` (UTC), the `config` for the kinds run from one,
and the `environment` (`mqlab.measure.environment`); each kind's own fields follow.
`load()` refuses a version or kind it does not know.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal, get_args

from mqlab.errors import BadInput

FORMAT_VERSION = 1
Kind = Literal["run", "compare", "crash-test", "sweep", "calibration", "bench", "lesson"]
KINDS: tuple[Kind, ...] = get_args(Kind)


def envelope(
    kind: Kind,
    created: str,
    environment: dict[str, Any],
    *,
    config: dict[str, Any] | None = None,
    mode: str | None = None,
) -> dict[str, Any]:
    """The head of every result document; a result's `to_dict` adds its own fields after it.

    A run's `mode` qualifies its kind; `config` precedes `environment` in the kinds run
    from one (all but calibration and bench): the key order the files have always had."""
    head: dict[str, Any] = {"format_version": FORMAT_VERSION, "kind": kind}
    if mode is not None:
        head["mode"] = mode
    head["created"] = created
    if config is not None:
        head["config"] = config
    head["environment"] = environment
    check(head)
    return head


@dataclass(frozen=True)
class Percentiles:
    p50: float | None
    p95: float | None
    p99: float | None
    max: float | None


@dataclass(frozen=True)
class Summary:
    requests: int
    accepted: int
    failed: int
    delivered: int
    lost: int
    duplicates: int
    quarantined: int
    dead_lettered: int
    retried: int
    sent_anyway: int  # failed, yet the welcome mail arrived: "told failed, sent anyway"
    throughput_per_s: float | None
    duration_s: float
    response_ms: Percentiles
    e2e_ms: Percentiles
    generator_late_ms: Percentiles
    # What each user was told, against the ledger (`metrics.told`); None in a file from
    # before these were counted. Every request is one user, so the four add up to requests.
    told_truth: int | None = None  # the final answer or status matched the ledger
    told_wrong: int | None = None  # a final answer or status the ledger contradicts
    told_queued: int | None = None  # accepted, and the status never became final
    never_heard: int | None = None  # accepted, and the app has no status for it (404, none)

    def __post_init__(self) -> None:
        counts = (
            self.accepted,
            self.failed,
            self.delivered,
            self.lost,
            self.duplicates,
            self.quarantined,
            self.dead_lettered,
            self.retried,
            self.sent_anyway,
        )
        if min(counts) < 0:
            raise ValueError(f"negative count in summary: {counts}")
        if self.accepted + self.failed > self.requests:
            raise ValueError("more answers than requests")
        if self.delivered + self.lost > self.accepted:
            raise ValueError("more delivered or lost jobs than accepted ones")
        if self.sent_anyway > self.failed:
            raise ValueError("more jobs sent anyway than failed ones")
        told = (self.told_truth, self.told_wrong, self.told_queued, self.never_heard)
        if all(n is not None for n in told) and sum(n or 0 for n in told) != self.requests:
            raise ValueError(f"what the users were told {told} does not add up to the requests")


@dataclass
class RunResult:
    mode: str
    config: dict[str, Any]
    environment: dict[str, Any]
    summary: Summary
    samples: list[dict[str, Any]]
    timeline: list[dict[str, Any]]
    events: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    created: str = field(default_factory=lambda: utc_now())
    calibration: dict[str, Any] | None = None  # the floors measured before the run

    def to_dict(self) -> dict[str, Any]:
        return {
            **envelope("run", self.created, self.environment, config=self.config, mode=self.mode),
            "summary": asdict(self.summary),
            "calibration": self.calibration,
            "warnings": self.warnings,
            "samples": self.samples,
            "timeline": self.timeline,
            "events": self.events,
        }


def queue_type(config: dict[str, Any]) -> str:
    """The type of the queues a result's broker runs used: "classic" or "quorum" (a file
    written before quorum queues has no such field: its queues were classic)."""
    return str(config.get("queue_type") or "classic")


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def file_stem(kind: str, created: str) -> str:
    """`20261125T073412Z-sync`: sorts by time, names what it holds."""
    return created.replace("-", "").replace(":", "") + "-" + kind


def write(data: dict[str, Any], out_dir: Path, name: str) -> Path:
    """Write a result document as `out_dir/<UTC time>-<name>.json`; never overwrites."""
    check(data)
    stem = file_stem(name, data["created"])
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / f"{stem}.json"
        n = 1
        while path.exists():
            n += 1
            path = out_dir / f"{stem}-{n}.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        tmp.replace(path)
    except OSError as e:  # checked before the run (writable_folder); the disk may still fill
        raise BadInput(f"cannot write the result into {out_dir}: {e.strerror or e}") from None
    return path


def writable_folder(folder: Path) -> Path:
    """`folder` if it is, or can be made, a folder we can write in; else one BadInput line.

    Called when the options are parsed, before a run of a minute finds out it cannot save
    its result. Nothing is left behind: the folder is not created here, only a probe
    folder in its nearest existing ancestor, removed at once.
    """
    existing = folder
    try:
        while not existing.exists() and existing.parent != existing:
            existing = existing.parent
        if not existing.is_dir():
            raise BadInput(f"cannot use {folder} as a folder: {existing} is a file")
        os.rmdir(tempfile.mkdtemp(prefix=".mqlab-probe-", dir=existing))
    except OSError as e:
        where = "" if existing == folder else f" (in {existing})"
        raise BadInput(f"cannot create or write {folder}{where}: {e.strerror or e}") from None
    return folder


def check(data: dict[str, Any]) -> None:
    version = data.get("format_version")
    if version != FORMAT_VERSION:
        raise BadInput(
            f"unsupported result format_version {version!r} (this mqlab reads {FORMAT_VERSION})"
        )
    if data.get("kind") not in KINDS:
        raise BadInput(
            f"unknown result kind {data.get('kind')!r} (expected one of {', '.join(KINDS)})"
        )


def load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BadInput(f"no such result file: {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise BadInput(f"{path} is not a readable mqlab result: {e}") from None
    if not isinstance(data, dict):
        raise BadInput(f"{path} is not a readable mqlab result: not a JSON object")
    check(data)
    return data


def latest(folder: Path, kinds: Sequence[str]) -> Path:
    """The newest result file in `folder` of one of `kinds` (names sort by time)."""
    for path in sorted(folder.glob("*.json"), reverse=True):
        try:
            if load(path)["kind"] in kinds:
                return path
        except BadInput:
            continue  # not ours, or a newer format: look further back
    raise BadInput(f"no {' or '.join(kinds)} result in {folder}/: run 'mqlab compare' first")
