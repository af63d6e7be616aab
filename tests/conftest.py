"""Fixtures that start the real parts: SMTP sink, app servers, a RabbitMQ broker.

No mocks: every fixture is a real process on 127.0.0.1, on a free port, with a
timeout on every wait. A missing broker is an error, never a skip.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from mqlab.processes import rabbit
from mqlab.processes.procs import Child, free_port, http_ok, mqlab_argv, tcp_open

from .helpers import HOST, App, Queues, Result, Sink, Workers, flags


@pytest.fixture
def start_sink(tmp_path: Path) -> Iterator[Callable[..., Sink]]:
    children: list[Child] = []

    def start(*extra: str) -> Sink:
        port = free_port()
        ledger = tmp_path / f"ledger-{port}.db"
        argv = mqlab_argv("sink", "--port", str(port), "--ledger", str(ledger), *extra)
        child = Child("sink", argv, tmp_path / f"sink-{port}.log").start()
        children.append(child)
        child.wait_ready(lambda: tcp_open(HOST, port), timeout=15)
        return Sink(child, port, ledger)

    yield start
    for c in children:
        c.stop()


@pytest.fixture
def sink(start_sink: Callable[..., Sink]) -> Sink:
    return start_sink()


@pytest.fixture
def start_app(tmp_path: Path) -> Iterator[Callable[..., App]]:
    children: list[Child] = []

    def start(mode: str, sink: Sink | None, *extra: str) -> App:
        port = free_port()
        smtp = ["--smtp-port", str(sink.port)] if sink and mode != "broker" else []  # it publishes
        argv = mqlab_argv("serve", mode, "--port", str(port), *smtp, *extra)
        child = Child(f"app {mode}", argv, tmp_path / f"app-{port}.log").start()
        children.append(child)
        child.wait_ready(lambda: http_ok(f"http://{HOST}:{port}/health"), timeout=15)
        return App(child, port)

    yield start
    for c in children:
        c.stop()


# Fixtures that give a test a RabbitMQ: a test using one (directly or through another
# fixture) is marked `broker` at collection, so `-m "not broker"` (make check) never needs
# one. A test that starts a broker another way carries the mark itself.
BROKER_FIXTURES = frozenset({"broker_url"})


def _gives_a_private_node(fixturedefs: Sequence[Any]) -> bool:
    """A fixture whose function is annotated to return or yield a `rabbit.PrivateNode`."""
    returns = (str(getattr(d.func, "__annotations__", {}).get("return", "")) for d in fixturedefs)
    return any("PrivateNode" in annotation for annotation in returns)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests that need a broker (the private-node fixtures are module-scoped:
    `make test` runs with `--dist loadfile`, so each file's node starts in one worker)."""
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        if info is None:
            continue
        defs = [d for ds in info.name2fixturedefs.values() for d in ds]
        if BROKER_FIXTURES & set(item.fixturenames) or _gives_a_private_node(defs):
            item.add_marker(pytest.mark.broker)


@pytest.fixture(scope="session")
def broker_url() -> Iterator[str]:
    """A real RabbitMQ: the one at $MQLAB_AMQP_URL or the default, else a private node.

    If neither can be had, every test using this fails with the reason (never skips).
    """
    try:
        with rabbit.ensure_broker(None) as handle:
            yield handle.url
    except rabbit.BrokerUnavailable as e:
        pytest.fail(f"no RabbitMQ for the broker tests: {e}", pytrace=False)


@pytest.fixture
def mqlab_result(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """Run an mqlab command in-process (the real CLI, the real processes behind it) with
    `--json`, and return the result file it wrote, loaded and checked."""
    from mqlab.cli.core import main
    from mqlab.measure.results import load

    def run(*args: str, **options: object) -> Result:
        argv = [*args, *flags(out=tmp_path / "results", json=True, **options)]
        assert main(argv) == 0, capsys.readouterr().err
        return load(Path(json.loads(capsys.readouterr().out)["file"]))

    return run


@pytest.fixture
def queues(broker_url: str) -> Iterator[Queues]:
    """A queue, exchange, retry and dead-letter queue of this test's own, deleted after it."""
    q = Queues(broker_url)
    yield q
    q.delete()


@pytest.fixture
def workers(tmp_path: Path, queues: Queues) -> Iterator[Workers]:
    """Worker processes on the test's queue, stopped after it."""
    w = Workers(tmp_path, queues)
    yield w
    w.stop_all()


@pytest.fixture(scope="module")
def node() -> Iterator[rabbit.PrivateNode]:
    """A private RabbitMQ node for one test file: ours to kill, freeze and alarm."""
    try:
        private = rabbit.PrivateNode.create()
        private.start()
    except rabbit.BrokerUnavailable as e:
        pytest.fail(f"cannot start a private RabbitMQ node: {e}", pytrace=False)
    yield private
    private.cleanup()
