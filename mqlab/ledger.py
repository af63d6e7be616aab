"""The sink's ledger: every mail that arrived, on disk, as the ground truth.

SQLite in WAL mode, one committed row per mail *before* the sink answers 250,
so a mail the sender saw accepted is in the ledger even if every other process
is killed a moment later. The runner reads it to count delivered, lost and
duplicated jobs.
"""

from __future__ import annotations

import sqlite3
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
    kind: str  # "welcome" | "quarantine"
    recipient: str
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


def read_arrivals(path: Path) -> list[Arrival]:
    """Every mail in the ledger, in arrival order (read-only; safe while the sink writes)."""
    if not path.exists():
        return []
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        rows = db.execute(
            "SELECT job_id, kind, recipient, arrived FROM mails ORDER BY seq"
        ).fetchall()
    finally:
        db.close()
    return [Arrival(*row) for row in rows]


def count_arrivals(path: Path) -> int:
    if not path.exists():
        return 0
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        (n,) = db.execute("SELECT COUNT(*) FROM mails").fetchone()
    except sqlite3.OperationalError:
        return 0  # the sink has not created the table yet
    finally:
        db.close()
    return int(n)
