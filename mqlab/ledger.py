"""The sink's ledger: every mail that arrived, on disk, as the ground truth.

SQLite in WAL mode, one committed row per mail *before* the sink answers 250,
so a mail the sender saw accepted is in the ledger even if every other process
is killed a moment later. The runner reads it to count delivered, lost and
duplicated jobs. Mails the sink refused on purpose (`--smtp-fail-rate`) get a row
too, of kind "refused", so retries can be counted; `read_arrivals` leaves them
out unless asked.

Also here: `ProcessedJobs`, the record an idempotent worker keeps of what it sent.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS mails (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    recipient TEXT NOT NULL,
    arrived REAL NOT NULL
)
"""


@dataclass(frozen=True)
class Arrival:
    job_id: str
    kind: str  # "welcome" | "quarantine" | "refused" (an attempt the sink turned away)
    recipient: str  # every envelope recipient, comma-separated (one, unless something broke)
    arrived: float  # wall clock, seconds since the epoch


class Ledger:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = sqlite3.connect(path, timeout=10, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: a committed row survives any process crash (not a power cut).
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(_SCHEMA)
        self._db.commit()

    def record(self, arrival: Arrival) -> None:
        with self._db:
            self._db.execute(
                "INSERT INTO mails (job_id, kind, recipient, arrived) VALUES (?, ?, ?, ?)",
                (arrival.job_id, arrival.kind, arrival.recipient, arrival.arrived),
            )

    def close(self) -> None:
        self._db.close()


REFUSED = "refused"


def read_arrivals(path: Path, include_refused: bool = False) -> list[Arrival]:
    """Every mail in the ledger, in arrival order (read-only; safe while the sink writes).

    Refused attempts (kind "refused") only with `include_refused`: they never arrived.
    """
    if not path.exists():
        return []
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        rows = db.execute(
            "SELECT job_id, kind, recipient, arrived FROM mails WHERE ? OR kind != ? ORDER BY seq",
            (include_refused, REFUSED),
        ).fetchall()
    except sqlite3.OperationalError:
        return []  # the sink has not created the table yet
    finally:
        db.close()
    return [Arrival(*row) for row in rows]


def count_arrivals(path: Path) -> int:
    """Mails that arrived (refused attempts not counted)."""
    if not path.exists():
        return 0
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        (n,) = db.execute("SELECT COUNT(*) FROM mails WHERE kind != ?", (REFUSED,)).fetchone()
    except sqlite3.OperationalError:
        return 0  # the sink has not created the table yet
    finally:
        db.close()
    return int(n)


class ProcessedJobs:
    """`mqlab worker --idempotent`: the ids of the jobs whose mail the SMTP server accepted.

    One SQLite file (WAL) shared by every worker on the machine. A worker records a job
    right after the SMTP server accepted its mail and before the ack; a redelivered job
    (its worker died between the send and the ack) is then found here and skipped. It
    narrows the duplicate window to nothing for crashes; two workers holding the same job
    at the same moment could still both send.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = sqlite3.connect(path, timeout=10, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # a committed row survives a process kill
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS processed (job_id TEXT PRIMARY KEY, at REAL NOT NULL)"
        )
        self._db.commit()
        self._lock = threading.Lock()

    def seen(self, job_id: str) -> bool:
        with self._lock:
            row = self._db.execute("SELECT 1 FROM processed WHERE job_id = ?", (job_id,))
            return row.fetchone() is not None

    def add(self, job_id: str) -> None:
        with self._lock, self._db:
            self._db.execute(
                "INSERT OR IGNORE INTO processed (job_id, at) VALUES (?, ?)", (job_id, time.time())
            )

    def close(self) -> None:
        self._db.close()
