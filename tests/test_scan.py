"""The virus scan: a real EICAR check, and the two kinds of slowness."""

from __future__ import annotations

import threading
import time

from mqlab.job.scan import EICAR, Scanner, ScanSettings


def test_eicar_is_found_and_clean_files_pass() -> None:
    scanner = Scanner(ScanSettings(ms=0))
    assert scanner.is_infected(b"prefix " + EICAR + b" suffix")
    assert not scanner.is_infected(b"a perfectly fine CV")


def test_a_sleep_scan_takes_at_least_its_time() -> None:
    scanner = Scanner(ScanSettings(ms=30))
    start = time.perf_counter()
    scanner.is_infected(b"")
    assert time.perf_counter() - start >= 0.030


def test_jitter_is_seeded_and_stays_in_its_band() -> None:
    a = Scanner(ScanSettings(ms=50, jitter_ms=20, seed=7))
    b = Scanner(ScanSettings(ms=50, jitter_ms=20, seed=7))
    da = [a._duration_s() for _ in range(50)]
    assert da == [b._duration_s() for _ in range(50)]
    assert all(0.030 <= d <= 0.070 for d in da)
    assert len(set(da)) > 1


def test_cpu_scans_on_threads_queue_behind_the_gil() -> None:
    """Two threads burning 40 ms of CPU each cannot finish in less than 80 ms of wall time.

    A scan that merely waited 40 ms of wall time would let them finish together (~40 ms).
    """
    scanner = Scanner(ScanSettings(ms=40, kind="cpu"))
    threads = [threading.Thread(target=scanner.is_infected, args=(b"",)) for _ in range(2)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert time.perf_counter() - start >= 0.080
