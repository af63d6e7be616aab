"""The virus scan: the slow part of the mail job.

Its latency is injected (`--scan-ms`, `--scan-jitter-ms`, seeded) in one of two
kinds: `sleep` waits like a call to an external scanner (other threads run
meanwhile), `cpu` burns the same time in Python code holding the GIL (threads
of one process queue behind each other; processes do not). The infection check
itself is real: the EICAR test signature.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass
from typing import Literal

ScanKind = Literal["sleep", "cpu"]

# The standard antivirus test file (https://www.eicar.org): harmless, detected by every scanner.
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


@dataclass(frozen=True)
class ScanSettings:
    ms: float = 200.0
    jitter_ms: float = 0.0
    kind: ScanKind = "sleep"
    seed: int = 0


class Scanner:
    """Scans attachments. Thread-safe: the jitter comes from one seeded generator."""

    def __init__(self, settings: ScanSettings) -> None:
        self.settings = settings
        self._rng = random.Random(settings.seed)
        self._lock = threading.Lock()

    def is_infected(self, attachment: bytes) -> bool:
        """Take the scan's time, then report whether the EICAR signature is in the attachment."""
        self._take(self._duration_s())
        return EICAR in attachment

    def _duration_s(self) -> float:
        s = self.settings
        if s.jitter_ms <= 0:
            return s.ms / 1000
        with self._lock:
            jitter = self._rng.uniform(-s.jitter_ms, s.jitter_ms)
        return max(0.0, s.ms + jitter) / 1000

    def _take(self, seconds: float) -> None:
        if seconds <= 0:
            return
        if self.settings.kind == "sleep":
            time.sleep(seconds)
        else:
            burn_cpu(seconds)


def burn_cpu(seconds: float) -> None:
    """Spend `seconds` of this thread's CPU time in Python bytecode (holding the GIL).

    Measured in thread CPU time, not wall time: four threads burning 200 ms each
    need 800 ms of one core's time under the GIL, exactly as real Python work would.
    """
    end = time.thread_time() + seconds
    x = 0
    while time.thread_time() < end:
        for i in range(200):
            x += i * i
