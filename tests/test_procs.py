"""Ports for the lab's servers."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from mqlab.errors import ChildFailed
from mqlab.processes import proctable
from mqlab.processes.procs import (
    PICK_FROM,
    PORTS_ENV,
    Child,
    _ephemeral_low,
    free_ports,
    mqlab_argv,
    pick_range,
    tcp_open,
)

from .helpers import HOST, wait_until


def test_free_ports_are_distinct_free_and_never_ones_the_kernel_gives_outgoing_connections() -> (
    None
):
    low = _ephemeral_low()
    ports = free_ports(20)
    assert len(set(ports)) == 20
    assert all(PICK_FROM <= port < low for port in ports)
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", port))  # free indeed


def test_mqlab_ports_bounds_where_free_ports_are_picked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PORTS_ENV, "23000-23200")
    assert pick_range() == (23000, 23200)
    assert all(23000 <= port < 23200 for port in free_ports(30))
    for bad in ["", "23000", "a-b", "23200-23000", "80-90000"]:  # not a range: the default
        monkeypatch.setenv(PORTS_ENV, bad)
        assert pick_range() == (PICK_FROM, _ephemeral_low())


def test_each_test_process_of_make_test_picks_ports_from_its_own_range() -> None:
    """tests/conftest.py splits the range between pytest-xdist's processes (one process: no
    split, nothing set)."""
    if os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") == "1":
        assert PORTS_ENV not in os.environ
        return
    low, high = pick_range()  # this process's share; all the shares cover nearly the range
    shares = (high - low) * int(os.environ["PYTEST_XDIST_WORKER_COUNT"])
    assert low >= PICK_FROM and high <= _ephemeral_low()
    assert shares > (_ephemeral_low() - PICK_FROM) * 0.9


def test_a_child_whose_port_another_process_took_is_not_ready_but_failed(tmp_path: Path) -> None:
    """The port answers (someone else took it between our check and the child's bind), but
    the child never listened: it exits, and waiting for it says why, never "ready"."""
    ledger = str(tmp_path / "ledger.db")
    (port,) = free_ports(1)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind((HOST, port))
        taken.listen()
        argv = mqlab_argv("sink", "--port", str(port), "--ledger", ledger)
        sink = Child("sink", argv, tmp_path / "sink.log").start()
        try:
            assert tcp_open(HOST, port)  # what the lab used to take for "ready"
            with pytest.raises(ChildFailed, match="already in use"):
                sink.wait_listening(port, timeout=15)
        finally:
            sink.stop()
    # The same sink on a port of its own: ready, and it is the one listening.
    (port,) = free_ports(1)
    argv = mqlab_argv("sink", "--port", str(port), "--ledger", ledger)
    sink = Child("sink", argv, tmp_path / "sink2.log").start()
    try:
        sink.wait_listening(port, timeout=15)
        assert sink.proc is not None and proctable.listening_pids(port) == [sink.proc.pid]
    finally:
        sink.stop()


def test_a_process_shows_stopped_only_once_every_thread_of_it_is() -> None:
    """`PrivateNode.freeze` waits on this: SIGSTOP only asks, and a thread still running on
    the other core could answer what the test sent next."""
    import signal
    import subprocess
    import sys

    threads = (
        "import threading, time\n"
        "for _ in range(3): threading.Thread(target=time.sleep, args=(60,), daemon=True).start()\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)"
    )
    argv = [sys.executable, "-c", threads]
    with subprocess.Popen(argv, stdout=subprocess.PIPE, text=True) as child:
        try:
            assert child.stdout is not None and child.stdout.readline() == "ready\n"
            assert len(os.listdir(f"/proc/{child.pid}/task")) == 4
            assert not proctable.stopped(child.pid)
            os.kill(child.pid, signal.SIGSTOP)
            wait_until(lambda: proctable.stopped(child.pid), 5, "every thread stopped")
            os.kill(child.pid, signal.SIGCONT)
            wait_until(lambda: not proctable.stopped(child.pid), 5, "its threads running again")
        finally:
            child.kill()
            child.wait(10)
    assert proctable.stopped(child.pid)  # gone counts as stopped: nothing of it runs
