"""Fixtures that start the real parts: SMTP sink, app servers, a RabbitMQ broker.

No mocks: every fixture is a real process on 127.0.0.1, on a free port, with a
timeout on every wait. A missing broker is an error, never a skip.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from mqlab.processes import rabbit
from mqlab.processes.procs import PORTS_ENV, Child, free_port, http_ok, mqlab_argv, pick_range

from .helpers import HOST, App, Queues, Result, Sink, Workers, flags, sink_on


def pytest_configure(config: pytest.Config) -> None:
    """Each test process of `make test` (pytest-xdist) picks free ports from a range of its
    own, which the lab's children inherit: two processes never pick the same port at once."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")  # gw0, gw1, ...
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if worker.startswith("gw") and count > 1:
        low, high = pick_range()
        share = (high - low) // count
        start = low + int(worker[2:]) * share
        os.environ[PORTS_ENV] = f"{start}-{start + share}"


def sink_starter(folder: Path, children: list[Child]) -> Callable[..., Sink]:
    """`start(*extra)`: a sink child on a free port, its ledger and log in `folder`."""

    def start(*extra: str) -> Sink:
        return sink_on(free_port(), folder, *extra, children=children)

    return start


def app_starter(folder: Path, children: list[Child]) -> Callable[..., App]:
    """`start(mode, sink, *extra)`: an app child (`mqlab serve`) on a free port, answering."""

    def start(mode: str, sink: Sink | None, *extra: str) -> App:
        port = free_port()
        smtp = ["--smtp-port", str(sink.port)] if sink and mode != "broker" else []  # it publishes
        argv = mqlab_argv("serve", mode, "--port", str(port), *smtp, *extra)
        child = Child(f"app {mode}", argv, folder / f"app-{port}.log").start()
        children.append(child)
        child.wait_listening(port, lambda: http_ok(f"http://{HOST}:{port}/health"), timeout=15)
        return App(child, port)

    return start


@pytest.fixture
def start_sink(tmp_path: Path) -> Iterator[Callable[..., Sink]]:
    children: list[Child] = []
    yield sink_starter(tmp_path, children)
    for c in children:
        c.stop()


@pytest.fixture
def sink(request: pytest.FixtureRequest, start_sink: Callable[..., Sink]) -> Sink:
    """A sink of the test's own; in a file marked `one_sink`, the file's one sink as this test
    sees it: only the mails that arrive during it (`Sink.fresh`)."""
    if request.node.get_closest_marker("one_sink") is not None:
        shared: Sink = request.getfixturevalue("shared_sink")
        return shared.fresh()
    return start_sink()


@pytest.fixture
def start_app(tmp_path: Path) -> Iterator[Callable[..., App]]:
    children: list[Child] = []
    yield app_starter(tmp_path, children)
    for c in children:
        c.stop()


@pytest.fixture(scope="module")
def module_processes(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Callable[..., Sink], Callable[..., App]]]:
    """(start_sink, start_app) whose children live until the end of the test file: for the
    tests of a file that can share one sink or app (each start costs about 0.2 s of CPU).
    A test on a shared sink sees only the mails that arrive during it (`Sink.fresh`)."""
    folder = tmp_path_factory.mktemp("shared")
    children: list[Child] = []
    yield sink_starter(folder, children), app_starter(folder, children)
    for c in children:
        c.stop()


@pytest.fixture(scope="module")
def shared_sink(module_processes: tuple[Callable[..., Sink], Callable[..., App]]) -> Sink:
    """One sink for the tests of a file (see `sink`)."""
    return module_processes[0]()


# Fixtures that give a test a RabbitMQ: a test using one (directly or through another
# fixture) is marked `broker` at collection, so `-m "not broker"` (make check) never needs
# one. A test that starts a broker another way carries the mark itself.
BROKER_FIXTURES = frozenset({"broker_url"})


def _gives_a_private_node(fixturedefs: Sequence[Any]) -> bool:
    """A fixture whose function is annotated to return or yield a `rabbit.PrivateNode`."""
    returns = (str(getattr(d.func, "__annotations__", {}).get("return", "")) for d in fixturedefs)
    return any("PrivateNode" in annotation for annotation in returns)


# `make test` hands whole files to its test processes (`--dist loadfile`) in collection order
# (`--no-loadscope-reorder`: xdist would otherwise start the files with the most tests first,
# and the long files, which have few, last, to run alone at the end). The longest go first:
# the seconds each took in a `make test` on 2 cores (2026-12-01, 17:45, junit times); the
# others follow by name. Keep it current: a long file that starts late is the suite's tail.
LONGEST_FILES = {
    "test_cluster.py": 80,
    "test_crash.py": 59,
    "test_freeze.py": 55,
    "test_brokers.py": 54,
    "test_nats.py": 42,
    "test_run.py": 39,
    "test_outage.py": 39,
    "test_status.py": 37,
    "test_page.py": 33,
    "test_rabbit.py": 26,
    "test_redis.py": 24,
    "test_loadgen.py": 17,
    "test_worker.py": 16,
    "test_chart_layout.py": 16,
    "test_slides.py": 13,
    "test_slow_clients.py": 12,
    "test_calibrate.py": 11,
    "test_hostile.py": 10,
    "test_chart.py": 10,
    "test_sink.py": 9,
    "test_cli.py": 7,
    "test_broker.py": 7,
    "test_crash_flags.py": 7,
    "test_lesson.py": 6,
    "test_told.py": 6,
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests that need a broker (the private-node fixtures are module-scoped:
    `make test` runs with `--dist loadfile`, so each file's node starts in one worker), and
    put the longest files first (a stable sort: each file's tests stay in their order)."""
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        if info is None:
            continue
        defs = [d for ds in info.name2fixturedefs.values() for d in ds]
        if BROKER_FIXTURES & set(item.fixturenames) or _gives_a_private_node(defs):
            item.add_marker(pytest.mark.broker)
    items.sort(key=lambda item: -LONGEST_FILES.get(item.path.name, 0))


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
    """A queue, exchange, retry and dead-letter queue of this test's own, deleted after it.
    Ask for it before `start_app`: fixtures end in reverse order, and an app still running
    when its status stream is deleted declares it again (left on the broker for good)."""
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
