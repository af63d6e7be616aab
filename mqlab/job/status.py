"""What became of a job, as the user can ask for it: its state changes (events) and a bounded
table of them (`Board`).

The states: queued -> scanning -> sent, with `retrying` (a mail server said "try later") in
between, and four final ones: sent, quarantined (the scan found a virus), dead (broker mode:
parked in `<queue>.dead` with its reason) and dropped (thread mode gave up; nothing keeps it).

Events may arrive out of order (the app says "queued" on one connection, a worker says
"scanning" on another) or twice (a worker that died before its ack runs the job again), so a
job's history is kept sorted by time, duplicates (the same event id) are ignored, and the
first final state stays the state: a mail that was sent stays sent, whatever a second run
of the same job says later.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mqlab.job.signup import is_job_id

STATES = ("queued", "scanning", "retrying", "sent", "quarantined", "dead", "dropped")
FINAL = frozenset({"sent", "quarantined", "dead", "dropped"})
MAX_DETAIL = 300  # characters of an event's detail (a dead-letter reason, an SMTP reply)
MAX_JOBS = 20_000  # a Board forgets the oldest finished jobs first beyond this
MAX_HISTORY = 32  # events kept per job (the first, and the latest): a job retried 100 times

MAX_EVENT_BYTES = 4096  # one event on the wire
MAX_BATCH = 64  # events in one message (`batch_to_bytes`)

_RANK = {state: i for i, state in enumerate(STATES)}  # a tie in time: queued before scanning...


@dataclass(frozen=True)
class Event:
    """One state change of one job. `at`: seconds since the epoch, on the clock of the
    process that saw it happen. `id`: unique, so that a copy seen twice counts once."""

    job: str
    state: str
    at: float
    detail: str = ""
    id: str = field(default_factory=lambda: os.urandom(8).hex())

    @classmethod
    def now(cls, job: str, state: str, detail: str = "") -> Event:
        return cls(job, state, time.time(), detail[:MAX_DETAIL])

    def to_bytes(self) -> bytes:
        return json.dumps(self._fields()).encode("utf-8")

    def _fields(self) -> dict[str, Any]:
        fields = {"job": self.job, "state": self.state, "at": self.at, "detail": self.detail}
        return {**fields, "id": self.id}

    @classmethod
    def from_bytes(cls, body: bytes) -> Event:
        """An event read off the broker, checked (ValueError if it is not one): anyone who
        may publish to the exchange could put anything there."""
        if len(body) > MAX_EVENT_BYTES:
            raise ValueError(f"a status event is at most {MAX_EVENT_BYTES} bytes")
        return cls._from_json(json.loads(body))

    @classmethod
    def many_from_bytes(cls, body: bytes) -> list[Event]:
        """The events of one message: one event, or a batch (a JSON array of up to
        MAX_BATCH of them, as `batch_to_bytes` writes). ValueError if any is not an event."""
        if not body.lstrip().startswith(b"["):
            return [cls.from_bytes(body)]
        if len(body) > MAX_BATCH * MAX_EVENT_BYTES:
            raise ValueError(f"a batch of status events is at most {MAX_BATCH} events")
        data: Any = json.loads(body)
        if not isinstance(data, list) or len(data) > MAX_BATCH:
            raise ValueError(f"not a JSON array of at most {MAX_BATCH} events")
        return [cls._from_json(item) for item in data]

    @classmethod
    def _from_json(cls, data: Any) -> Event:
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        job, state, at = data.get("job"), data.get("state"), data.get("at")
        detail, event_id = data.get("detail", ""), data.get("id")
        if not isinstance(job, str) or not is_job_id(job):
            raise ValueError("no valid job id")
        if state not in STATES:
            raise ValueError(f"unknown state {state!r}")
        if isinstance(at, bool) or not isinstance(at, (int, float)) or not math.isfinite(at):
            raise ValueError("no time")
        if not isinstance(detail, str) or not isinstance(event_id, str) or len(event_id) > 64:
            raise ValueError("bad detail or id")
        return cls(job, state, float(at), detail[:MAX_DETAIL], event_id)

    def to_json(self) -> dict[str, Any]:
        """For an HTTP answer: the time as seconds since the epoch and as ISO 8601 (UTC)."""
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(self.at))
        millis = int(self.at * 1000) % 1000
        return {
            "state": self.state,
            "at": round(self.at, 6),
            "time": f"{stamp}.{millis:03d}Z",
            "detail": self.detail,
        }

    @property
    def final(self) -> bool:
        return self.state in FINAL


def batch_to_bytes(events: Sequence[Event]) -> bytes:
    """Several events as one message (at most MAX_BATCH): a JSON array of them."""
    if not 0 < len(events) <= MAX_BATCH:
        raise ValueError(f"a batch holds 1 to {MAX_BATCH} events")
    return json.dumps([e._fields() for e in events]).encode("utf-8")


def not_published(log: logging.Logger, batch: Sequence[Event], error: BaseException) -> None:
    """One line for state changes lost on their way to the broker (they are fire and forget:
    the jobs go on)."""
    first = batch[0]
    log.warning(
        "status of job %s (%s) and %d more not published: %r",
        first.job,
        first.state,
        len(batch) - 1,
        error,
    )


@dataclass(frozen=True)
class Status:
    """A job as the user sees it: its state and its history (sorted by time)."""

    job: str
    state: str
    history: tuple[Event, ...]

    @property
    def final(self) -> bool:
        return self.state in FINAL

    def to_json(self) -> dict[str, Any]:
        return {
            "job_id": self.job,
            "state": self.state,
            "final": self.final,
            "history": [e.to_json() for e in self.history],
        }


Watcher = Callable[[Event], None]


class _Job:
    __slots__ = ("history", "ids", "watchers")

    def __init__(self) -> None:
        self.history: list[Event] = []
        self.ids: set[str] = set()
        self.watchers: list[Watcher] = []

    def status(self, job: str) -> Status:
        finals = [e for e in self.history if e.final]
        state = (finals[0] if finals else self.history[-1]).state
        return Status(job, state, tuple(self.history))


class Board:
    """Every job's state, in memory, bounded: at most `max_jobs` jobs (beyond it, the jobs
    that finished longest ago are forgotten first, then the oldest unfinished ones) and
    `max_history` events each. Thread-safe; watchers are called on the thread that added
    the event, after the lock is released, and must not block."""

    def __init__(self, max_jobs: int = MAX_JOBS, max_history: int = MAX_HISTORY) -> None:
        self.max_jobs, self.max_history = max_jobs, max_history
        self._jobs: OrderedDict[str, _Job] = OrderedDict()  # least recently changed first
        self._finished: OrderedDict[str, None] = OrderedDict()  # in the order they finished
        self._lock = threading.Lock()
        self.forgotten = 0

    def record(self, job: str, state: str, detail: str = "") -> Event:
        """A state change seen here, now."""
        event = Event.now(job, state, detail)
        self.add(event)
        return event

    def add(self, event: Event) -> bool:
        """An event, from here or from the broker; False if it was seen already."""
        with self._lock:
            entry = self._jobs.get(event.job)
            if entry is None:
                entry = self._jobs[event.job] = _Job()
            elif event.id in entry.ids:
                return False
            self._jobs.move_to_end(event.job)
            entry.ids.add(event.id)
            _insert(entry.history, event)
            if len(entry.history) > self.max_history:
                dropped = entry.history.pop(1)  # keep the first (when it was queued)
                entry.ids.discard(dropped.id)
            if event.final and event.job not in self._finished:
                self._finished[event.job] = None
            watchers = list(entry.watchers)
            self._forget()
        for watcher in watchers:
            watcher(event)
        return True

    def get(self, job: str) -> Status | None:
        with self._lock:
            entry = self._jobs.get(job)
            return None if entry is None else entry.status(job)

    def watch(self, job: str, watcher: Watcher) -> tuple[Status | None, Callable[[], None]]:
        """The job's status now and, atomically, `watcher` called with every event added
        after it; call the returned function to stop. (None, a no-op) for an unknown job."""
        with self._lock:
            entry = self._jobs.get(job)
            if entry is None:
                return None, lambda: None
            entry.watchers.append(watcher)
            status = entry.status(job)

        def unwatch() -> None:
            with self._lock, contextlib.suppress(ValueError):  # removed already
                entry.watchers.remove(watcher)

        return status, unwatch

    def __len__(self) -> int:
        with self._lock:
            return len(self._jobs)

    @property
    def unfinished(self) -> int:
        """Jobs with no final state yet: someone may be waiting for their next one."""
        with self._lock:
            return len(self._jobs) - len(self._finished)

    def _forget(self) -> None:
        while len(self._jobs) > self.max_jobs:
            if self._finished:
                job, _ = self._finished.popitem(last=False)
                self._jobs.pop(job, None)
            else:
                self._jobs.popitem(last=False)
            self.forgotten += 1


def _insert(history: list[Event], event: Event) -> None:
    """In time order (ties: in the order of STATES); the usual case, the newest, at the end."""
    key = (event.at, _RANK[event.state])
    i = len(history)
    while i > 0 and (history[i - 1].at, _RANK[history[i - 1].state]) > key:
        i -= 1
    history.insert(i, event)
