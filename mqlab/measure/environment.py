"""What machine and software produced a result: stored with every result file."""

from __future__ import annotations

import os
import platform
from importlib import metadata
from typing import Any

PACKAGES = (
    "mqlab",
    "pika",
    "aiosmtpd",
    "httptools",
    "pycurl",
    "typer",
    "rich",
    "matplotlib",
    "numpy",
)


def describe(broker_version: str | None = None) -> dict[str, Any]:
    packages: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            packages[name] = None
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "cpu_usable": usable_cores(),  # what CPU-bound ideals are capped at
        "load_avg": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "packages": packages,
        "broker_version": broker_version,
    }


def usable_cores() -> int | None:
    """The cores this process may run on (a container or `taskset` may allow fewer than
    the machine has): a CPU-bound scan can use no more than these at once."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count()
