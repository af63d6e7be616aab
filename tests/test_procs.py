"""Ports for the lab's servers."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from mqlab.errors import ChildFailed
from mqlab.processes import proctable
from mqlab.processes.procs import PICK_FROM, Child, _ephemeral_low, free_ports, mqlab_argv, tcp_open

from .helpers import HOST


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
