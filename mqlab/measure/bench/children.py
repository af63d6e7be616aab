"""The child processes a bench row starts beside mqlab's own: the scripts in `bench/`.

The Celery peer and the raw pika ceiling are not part of the mqlab package: they live in
the source tree's top-level `bench/` folder (`celery_peer.py`, `raw_ceiling.py`), so the
bench runs from a source checkout. Each is given mqlab's SMTP sink to send to.
"""

from __future__ import annotations

from pathlib import Path

from mqlab.errors import BadInput
from mqlab.processes.procs import Child, mqlab_argv

BENCH_DIR = Path(__file__).resolve().parents[3] / "bench"
HOST = "127.0.0.1"


def script(name: str) -> str:
    """The path of a script in `bench/`, or one BadInput line outside a source checkout."""
    path = BENCH_DIR / name
    if not path.exists():
        raise BadInput(f"mqlab bench needs {path} (run it from a source checkout of mqlab)")
    return str(path)


def sink(work: Path, port: int) -> Child:
    """mqlab's SMTP sink on `port`, keeping its ledger and log in `work`."""
    return Child(
        "SMTP sink",
        mqlab_argv("sink", "--port", str(port), "--ledger", str(work / "ledger.db"), "--quiet"),
        work / "sink.log",
    )
