"""The command line: help for every command, one clear line for bad input."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mqlab.core import main

COMMANDS = ["run", "compare", "crash-test", "chart", "sweep", "serve", "worker", "sink", "broker"]


def mqlab(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mqlab", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_help_lists_every_command() -> None:
    result = mqlab("--help")
    assert result.returncode == 0
    for command in COMMANDS:
        assert command in result.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_explains_itself(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([command, "--help"]) == 0
    assert "--help" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["run", "fast"], "fast"),
        (["run", "sync", "--rate", "-1"], "--rate"),
        (["run", "sync", "--requests", "0"], "--requests"),
        (["run", "sync", "--scan-kind", "gpu"], "gpu"),
        (["run", "sync", "--requests", "2", "--infected", "3"], "--infected"),
        (["serve", "sync", "--port", "70000"], "--port"),
        (["nonsense"], "nonsense"),
    ],
)
def test_bad_input_is_one_line_and_a_nonzero_exit(args: list[str], fragment: str) -> None:
    result = mqlab(*args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("mqlab: error:") and fragment in lines[0]
    assert "Value error" not in lines[0]  # the validator's prefix says nothing to a user
    assert "Traceback" not in result.stderr
