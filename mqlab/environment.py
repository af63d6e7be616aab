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
        "load_avg": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "packages": packages,
        "broker_version": broker_version,
    }
