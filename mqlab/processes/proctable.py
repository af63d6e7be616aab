"""The process table as Linux /proc shows it: who is whose child, in which process group,
using how much CPU, listening where. Where there is no /proc the answers say so (None, [])."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

PROC = "/proc"
GONE = ("Z", "X")  # zombie, dead: no longer a live process


@dataclass(frozen=True)
class Proc:
    """One line of /proc/<pid>/stat, the fields mqlab reads."""

    pid: int
    ppid: int
    pgid: int
    state: str
    cpu_ticks: int  # user + system, its own and its waited-for children's

    @property
    def live(self) -> bool:
        return self.state not in GONE


def available() -> bool:
    return os.path.exists(f"{PROC}/self/stat")


def table() -> dict[int, Proc] | None:
    """{pid: Proc} of every process now, or None where there is no /proc."""
    if not available():
        return None
    procs = {}
    for entry in os.listdir(PROC):
        if entry.isdigit() and (proc := _stat(int(entry))) is not None:
            procs[proc.pid] = proc
    return procs


def _stat(pid: int) -> Proc | None:
    fields = _fields(f"{PROC}/{pid}/stat")
    if fields is None:
        return None  # gone since it was listed
    try:
        return Proc(
            pid, int(fields[1]), int(fields[2]), fields[0], sum(int(v) for v in fields[11:15])
        )
    except (ValueError, IndexError):
        return None


def _fields(path: str) -> list[str] | None:
    """The fields of a process's or thread's `stat` file from its state on: after the command
    name in parentheses (which may hold spaces and parentheses). None if it is gone."""
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            return f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def children(pid: int) -> list[int]:
    """The child processes of `pid` (any state), in pid order."""
    return sorted(p.pid for p in (table() or {}).values() if p.ppid == pid)


def descendants(roots: Iterable[int], procs: dict[int, Proc]) -> list[int]:
    """`roots` (those still in `procs`) and all their descendants, in pid order."""
    kids: dict[int, list[int]] = {}
    for p in procs.values():
        kids.setdefault(p.ppid, []).append(p.pid)
    found, todo = set(), list(roots)
    while todo:
        pid = todo.pop()
        if pid in procs and pid not in found:
            found.add(pid)
            todo += kids.get(pid, [])
    return sorted(found)


def stopped(pid: int) -> bool:
    """Whether every thread of `pid` is stopped (SIGSTOP), or it is gone."""
    try:
        threads = os.listdir(f"{PROC}/{pid}/task")
    except OSError:
        return True
    for tid in threads:
        fields = _fields(f"{PROC}/{pid}/task/{tid}/stat")  # None: that thread ended
        if fields and fields[0] not in ("T", "t", *GONE):
            return False
    return True


def has_env(pid: int, entry: bytes) -> bool:
    """Whether `entry` (b"NAME=value") is in the environment `pid` started with."""
    try:
        return entry in Path(f"{PROC}/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return False


def machine_ticks() -> tuple[int, int, int] | None:
    """(all CPU ticks, idle + iowait ticks, steal ticks) of the whole machine so far, from
    /proc/stat. Steal: time a virtual machine was ready to run and the hypervisor ran
    another instead."""
    try:
        with open(f"{PROC}/stat", encoding="ascii") as f:
            values = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    return sum(values), values[3] + values[4], values[7] if len(values) > 7 else 0


def listening_pids(port: int) -> list[int]:
    """The local processes listening on TCP `port` ([] if none or unknown)."""
    inodes = _listening_sockets(port)
    pids = []
    for entry in os.listdir(PROC) if inodes else []:
        if entry.isdigit() and _holds(int(entry), inodes):
            pids.append(int(entry))
    return pids


def listens_on(pid: int, port: int) -> bool:
    """True if process `pid` itself holds the socket listening on TCP `port`: not another
    process that took the port first (a child that could not bind it exits, but the port
    answers all the same)."""
    inodes = _listening_sockets(port)
    return bool(inodes) and _holds(pid, inodes)


def _holds(pid: int, inodes: set[str]) -> bool:
    try:
        fds = os.listdir(f"{PROC}/{pid}/fd")
    except OSError:
        return False  # gone, or not ours to look into
    return any(_fd_target(f"{PROC}/{pid}/fd/{fd}") in inodes for fd in fds)


def _listening_sockets(port: int) -> set[str]:
    """The sockets (as /proc/<pid>/fd shows them) listening on TCP `port`."""
    inodes = set()
    for tcp in (f"{PROC}/net/tcp", f"{PROC}/net/tcp6"):
        try:
            with open(tcp, encoding="ascii") as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()  # local address, ..., state (0A: listening), ..., inode
            if len(fields) > 9 and fields[3] == "0A" and fields[1].endswith(f":{port:04X}"):
                inodes.add(f"socket:[{fields[9]}]")
    return inodes


def _fd_target(path: str) -> str | None:
    """What an open file descriptor points to, or None if it was closed since it was listed
    (a busy process, a broker after a restart, opens and closes files all the time)."""
    try:
        return os.readlink(path)
    except OSError:
        return None
