"""The sink's ledger: every mail that arrived, on disk, as the ground truth.

SQLite in WAL mode, one committed row per mail *before* the sink answers 250,
so a mail the sender saw accepted is in the ledger even if every other process
is killed a moment later. The runner reads it to count delivered, lost and
duplicated jobs. Mails the sink refused on purpose (`--smtp-fail-rate`) get a row
too, of kind "refused", so retries can be counted; `read_arrivals` leaves them
out unless asked.

Also here: `ProcessedJobs`, the record an idempotent worker keeps of what it sent.

A path that cannot hold either (a missing folder, a read-only place, a file that is
not SQLite or is another program's database) is `BadInput`: one line and exit 2
before the sink or the worker starts serving, not a traceback on the first mail.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from mqlab.errors import BadInput
from mqlab.job.signup import Job

_SCHEMA = """
CREATE TABLE IF NOT EXISTS mails (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    recipient TEXT NOT NULL,
    arrived REAL NOT NULL
)
"""
_COLUMNS = ("seq", "job_id", "kind", "recipient", "arrived")
BUSY_TIMEOUT_S = 10.0  # how long an opening or a write waits for another process's lock


@dataclass(frozen=True)
class Arrival:
    job_id: str
    kind: str  # "welcome" | "quarantine" | "refused" (an attempt the sink turned away)
    recipient: str  # every envelope recipient, comma-separated (one, unless something broke)
    arrived: float  # wall clock, seconds since the epoch


def open_db(
    path: Path, what: str, table: str, schema: str, columns: set[str]
) -> sqlite3.Connection:
    """`path` as a WAL-mode SQLite file holding `table` (created if absent), or BadInput.

    The file must be ours: a database with other tables and not this one, or this table
    without `columns`, is someone else's file. One write (undone) shows a read-only file or
    folder now rather than at the first mail."""
    if path.is_dir():
        raise BadInput(f"{what} {path} is a folder, not a file")
    if not path.parent.is_dir():
        raise BadInput(f"{what} {path}: folder {path.parent} does not exist")
    try:
        db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, check_same_thread=False)
    except sqlite3.Error as e:
        raise BadInput(f"cannot use {path} as {what}: {e}") from None
    try:
        # Read first, change nothing yet: someone else's file is left as it was.
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        tables.discard("sqlite_sequence")  # SQLite's own (AUTOINCREMENT)
        found = {r[1] for r in db.execute(f"PRAGMA table_info({table})")}
        if (tables and table not in tables) or (found and not columns <= found):
            listed = ", ".join(sorted(tables))
            raise BadInput(f"{path} is not {what}: it is a database with the tables {listed}")
        _wal(db)
        # NORMAL in WAL mode: a committed row survives any process crash (not a power cut).
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute(schema)
        db.commit()
        # SQLite opens a file it cannot write read-only, silently: write once and undo it.
        db.execute("BEGIN IMMEDIATE")
        db.execute("CREATE TABLE mqlab_write_probe (x)")
        db.execute("ROLLBACK")
    except sqlite3.Error as e:
        db.close()
        raise BadInput(f"cannot use {path} as {what}: {e}") from None
    except BaseException:
        db.close()
        raise
    return db


def _wal(db: sqlite3.Connection) -> None:
    """Switch `db` to WAL mode. Processes that open a new file at once (a run's workers start
    side by side) race to switch it, and SQLite refuses the losers at once with "database is
    locked", without the busy wait it gives a write: 15 of 240 openings in 60 races of 4.
    They try again, within BUSY_TIMEOUT_S, until the winner has switched it."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


class Ledger:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = open_db(path, "the sink's ledger", "mails", _SCHEMA, set(_COLUMNS))

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


class Seen(Enum):
    """What `ProcessedJobs` knows of a job id."""

    NEW = "new"  # never sent
    SAME = "same"  # sent, with this very payload: a redelivery or a client's honest retry
    OTHER = "other"  # sent with another payload: the id was reused by someone else


class ProcessedJobs:
    """`mqlab worker --idempotent`: the jobs whose mail the SMTP server accepted, by id, each
    with its payload's digest (`Job.digest`).

    One SQLite file (WAL) shared by every worker on the machine. A worker records a job
    right after the SMTP server accepted its mail and before the ack; a redelivered job
    (its worker died between the send and the ack) is then found here and skipped. It
    narrows the duplicate window to nothing for crashes; two workers holding the same job
    at the same moment could still both send. The digest tells a retry (same payload) from
    an id reused by another signup (another payload), which must not be skipped silently.
    A file of the earlier format (ids only) gains the digest column; its rows count as SAME.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        schema = (
            "CREATE TABLE IF NOT EXISTS processed "
            "(job_id TEXT PRIMARY KEY, at REAL NOT NULL, digest TEXT)"
        )
        self._db = open_db(
            path, "the processed-jobs database", "processed", schema, {"job_id", "at"}
        )
        columns = {r[1] for r in self._db.execute("PRAGMA table_info(processed)")}
        if "digest" not in columns:  # written by an earlier mqlab
            with self._db:
                self._db.execute("ALTER TABLE processed ADD COLUMN digest TEXT")
        self._lock = threading.Lock()

    def seen(self, job: Job) -> Seen:
        with self._lock:
            row = self._db.execute("SELECT digest FROM processed WHERE job_id = ?", (job.id,))
            found = row.fetchone()
        if found is None:
            return Seen.NEW
        return Seen.SAME if found[0] in (None, job.digest()) else Seen.OTHER

    def add(self, job: Job) -> None:
        with self._lock, self._db:
            self._db.execute(
                "INSERT OR IGNORE INTO processed (job_id, at, digest) VALUES (?, ?, ?)",
                (job.id, time.time(), job.digest()),
            )

    def close(self) -> None:
        self._db.close()
