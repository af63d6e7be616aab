"""Fixtures that start the real parts: SMTP sink, app servers, a RabbitMQ broker.

No mocks: every fixture is a real process on 127.0.0.1, on a free port, with a
timeout on every wait. A missing broker is an error, never a skip.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mqlab import rabbit
from mqlab.ledger import Arrival, read_arrivals
from mqlab.procs import Child, free_port, http_ok, mqlab_argv, tcp_open

HOST = "127.0.0.1"


class Sink:
    def __init__(self, child: Child, port: int, ledger: Path) -> None:
        self.child, self.port, self.ledger = child, port, ledger

    def arrivals(self) -> list[Arrival]:
        return read_arrivals(self.ledger)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Arrival]:
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.arrivals()
            if len(got) >= count:
                return got
            time.sleep(0.02)
        raise AssertionError(f"expected {count} mails in the sink, got {len(self.arrivals())}")


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


class App:
    def __init__(self, child: Child, port: int) -> None:
        self.child, self.port = child, port

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def post(
        self,
        body: bytes | dict[str, Any],
        path: str = "/signup",
        headers: dict[str, str] | None = None,
        method: str = "POST",
    ) -> tuple[int, dict[str, Any]]:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        req = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        try:
            with urllib.request.urlopen(req, timeout=15) as r:
                return int(r.status), json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            return int(e.code), json.loads(e.read() or b"{}")


@pytest.fixture
def start_app(tmp_path: Path) -> Iterator[Callable[..., App]]:
    children: list[Child] = []

    def start(mode: str, sink: Sink | None, *extra: str) -> App:
        port = free_port()
        smtp = ["--smtp-port", str(sink.port)] if sink else []
        argv = mqlab_argv("serve", mode, "--port", str(port), *smtp, *extra)
        child = Child(f"app {mode}", argv, tmp_path / f"app-{port}.log").start()
        children.append(child)
        child.wait_ready(lambda: http_ok(f"http://{HOST}:{port}/health"), timeout=15)
        return App(child, port)

    yield start
    for c in children:
        c.stop()


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


Result = dict[str, Any]


def flags(**options: object) -> list[str]:
    """requests=12, scan_ms=20, no_floors=True -> --requests 12 --scan-ms 20 --no-floors"""
    out: list[str] = []
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        if value is True:
            out.append(flag)
        elif value is not False and value is not None:
            out += [flag, str(value)]
    return out


@pytest.fixture
def mqlab_result(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """Run an mqlab command in-process (the real CLI, the real processes behind it) with
    `--json`, and return the result file it wrote, loaded and checked."""
    from mqlab.core import main
    from mqlab.results import load

    def run(*args: str, **options: object) -> Result:
        argv = [*args, *flags(out=tmp_path / "results", json=True, **options)]
        assert main(argv) == 0, capsys.readouterr().err
        return load(Path(json.loads(capsys.readouterr().out)["file"]))

    return run
