"""`mqlab run sync|thread` end to end: real processes, real HTTP, real SMTP, a result file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mqlab.core import main
from mqlab.results import load


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> dict:  # type: ignore[type-arg]
    assert main(["run", *args, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    return load(Path(out["file"]))


@pytest.mark.parametrize("mode", ["sync", "thread"])
def test_a_run_delivers_every_accepted_signup(
    mode: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = run_cli(capsys, mode, "--requests", "12", "--rate", "100", "--scan-ms", "20",
                   "--workers", "2", "--out", str(tmp_path))
    s = data["summary"]
    assert (s["requests"], s["accepted"], s["delivered"], s["lost"], s["duplicates"]) == (
        12, 12, 12, 0, 0)
    assert data["format_version"] == 1 and data["kind"] == "run" and data["mode"] == mode
    assert data["config"]["requests"] == 12 and data["config"]["scan_ms"] == 20
    assert data["environment"]["packages"]["pika"]
    assert len(data["samples"]) == 12
    assert sum(row["delivered"] for row in data["timeline"]) == 12
    assert sum(row["accepted"] for row in data["timeline"]) == 12
    for sample in data["samples"]:
        answered = sample["intended"] + sample["response_ms"] / 1000
        if mode == "sync":
            # the user waited for the scan, and was answered only after the mail was sent
            assert sample["response_ms"] >= 20
            assert answered >= sample["delivered"]
        else:
            # answered before the mail was sent: the scan alone takes 20 ms after the answer
            assert answered < sample["delivered"]


def test_sync_waits_while_thread_answers_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--requests", "8", "--rate", "50", "--scan-ms", "40", "--workers", "2",
            "--out", str(tmp_path)]
    sync = run_cli(capsys, "sync", *args)["summary"]
    thread = run_cli(capsys, "thread", *args)["summary"]
    assert sync["response_ms"]["p50"] >= 40
    assert thread["response_ms"]["p50"] < sync["response_ms"]["p50"]
    assert sync["delivered"] == thread["delivered"] == 8


def test_infected_signups_are_counted_as_quarantined(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = run_cli(capsys, "thread", "--requests", "6", "--infected", "2", "--rate", "0",
                   "--scan-ms", "5", "--out", str(tmp_path))
    s = data["summary"]
    assert (s["accepted"], s["delivered"], s["quarantined"], s["lost"]) == (6, 4, 2, 0)
