"""What a scenario gives back to the HTTP layer, and the shape every scenario has."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from mqlab.job.signup import Job


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any] = field(default_factory=dict)
    headers: tuple[tuple[str, str], ...] = ()  # e.g. Retry-After on a 503


class Signup(Protocol):
    """One way of handling a valid signup: `scenarios/sync.py`, `thread.py`, `broker.py`"""

    mode: str

    def handle(self, job: Job) -> Answer:
        """Called on an HTTP handler thread; its Answer is what the user sees."""
        ...

    def backlog(self) -> int | None:
        """Jobs accepted but not finished in this process (None: this mode keeps no queue here)."""
        ...

    def close(self) -> None:
        """Graceful shutdown: finish or hand back what is in flight."""
        ...
