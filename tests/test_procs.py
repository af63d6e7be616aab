"""Ports for the lab's servers."""

from __future__ import annotations

import socket

from mqlab.processes.procs import PICK_FROM, _ephemeral_low, free_ports


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
