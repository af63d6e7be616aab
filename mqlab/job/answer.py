"""What a scenario gives back to the HTTP layer, and the shape every scenario has."""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeGuard

from mqlab.job.signup import Job


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any] = field(default_factory=dict)
    headers: tuple[tuple[str, str], ...] = ()  # e.g. Retry-After on a 503


class Signup(Protocol):
    """One way of handling a valid signup on a handler thread: `scenarios/sync.py`, `thread.py`,
    `broker_redis.py`, `broker_nats.py` (RabbitMQ's `broker.py` is a `LoopSignup`)"""

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


class LoopSignup(Protocol):
    """A signup whose handler waits without blocking (`scenarios/broker.py`, for the broker's
    confirm): its methods are coroutines on the HTTP server's event loop, so a signup that
    waits holds no thread. `start` runs before the first request, `close` after the last
    answer."""

    mode: str

    async def start(self) -> None: ...

    async def handle(self, job: Job) -> Answer:
        """Its Answer is what the user sees. It must never block the loop."""
        ...

    def backlog(self) -> int | None: ...

    async def close(self) -> None: ...


def on_loop(signup: Signup | LoopSignup) -> TypeGuard[LoopSignup]:
    """Whether `signup` is handled on the event loop (its `handle` is a coroutine)."""
    return inspect.iscoroutinefunction(signup.handle)
