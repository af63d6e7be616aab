"""Secrets and exposure: an AMQP password never shows in output, logs or results, and every
server listens on 127.0.0.1 unless --host says otherwise."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from mqlab.cli.core import main
from mqlab.processes.procs import Child, free_port, mqlab_argv

from .helpers import App, Queues, Sink, Workers, wait_until

PASSWORD = "Zebra-Secret-7731"  # distinctive: grep for it


def listening_on(port: int) -> set[str]:
    """The local addresses (dotted IPv4) with a socket in LISTEN state on `port`."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, hexport = local.split(":")
        if state == "0A" and int(hexport, 16) == port:
            found.add(".".join(str(int(address[i : i + 2], 16)) for i in (6, 4, 2, 0)))
    return found


@pytest.mark.broker
def test_a_password_in_the_amqp_url_never_reaches_the_logs(
    broker_url: str,
    tmp_path: Path,
    sink: Sink,
    start_app: Callable[..., App],
) -> None:
    # A real broker that refuses this login: the error paths log the most, so test them.
    host = broker_url.rsplit("@", 1)[1]
    url = f"amqp://mqlab-test:{PASSWORD}@{host}"
    queues = Queues(url)
    app = start_app("broker", sink, *queues.args())
    assert app.post({"email": "a@example.test", "name": "A"})[0] == 503
    workers = Workers(tmp_path, queues)
    try:
        worker = workers.start(sink.port, ready=False)
        # A refused login is not an outage: the worker says so in one line and exits 3.
        wait_until(lambda: not worker.alive, what="the worker to give up on a refused login")
        assert worker.proc is not None and worker.proc.returncode == 3
    finally:
        workers.stop_all()
    app.child.stop()
    logs = {p.name: p.read_text(errors="replace") for p in tmp_path.glob("*.log")}
    assert set(logs) >= {"worker-1.log", f"app-{app.port}.log"}
    for name, text in logs.items():
        assert PASSWORD not in text, name
    assert "mqlab-test:****@" in logs["worker-1.log"]
    assert "mqlab-test:****@" in logs[f"app-{app.port}.log"]


@pytest.mark.broker
def test_results_and_output_hold_the_url_masked(
    broker_url: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    assert ":guest@" in broker_url  # the password is "guest" (so is the user: check user:pass)
    assert (
        main(
            [
                "run",
                "broker",
                "-n",
                "3",
                "--rate",
                "0",
                "--scan-ms",
                "0",
                "--workers",
                "1",
                "--amqp-url",
                broker_url,
                "--out",
                str(tmp_path),
                "--json",
            ]
        )
        == 0
    )
    out, err = capfd.readouterr()
    (result,) = tmp_path.glob("*.json")
    text = result.read_text()
    assert json.loads(text)["summary"]["delivered"] == 3
    for where in (out, err, text):
        assert "guest:guest@" not in where
    assert "guest:****@" in text


def test_a_failed_broker_url_is_reported_masked(capfd: pytest.CaptureFixture[str]) -> None:
    url = f"amqp://mqlab-test:{PASSWORD}@127.0.0.1:{free_port()}/%2F"  # nothing listens there
    assert main(["run", "broker", "-n", "1", "--amqp-url", url]) == 3
    out, err = capfd.readouterr()
    assert PASSWORD not in out + err
    assert "mqlab-test:****@" in err


def test_servers_listen_on_loopback_only_by_default(
    start_app: Callable[..., App], sink: Sink, tmp_path: Path
) -> None:
    app = start_app("sync", sink)
    assert listening_on(app.port) == {"127.0.0.1"}
    assert listening_on(sink.port) == {"127.0.0.1"}
    port = free_port()  # --host is obeyed (another loopback address: nothing gets exposed)
    child = Child(
        "sink",
        mqlab_argv(
            "sink", "--host", "127.0.0.2", "--port", str(port), "--ledger", str(tmp_path / "l2.db")
        ),
        tmp_path / "sink-host.log",
    ).start()
    try:
        child.wait_listening(port, timeout=15, host="127.0.0.2")
        assert listening_on(port) == {"127.0.0.2"}
    finally:
        child.stop()
