"""`mqlab run sync|thread|broker`, `compare` and `sweep` end to end: real processes, real
HTTP, real SMTP, a result file."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import Result
from .helpers import mqlab_json

Run = Callable[..., Result]


def run(mqlab_result: Run, mode: str, **options: object) -> Result:
    return mqlab_result("run", mode, no_floors=True, **options)


# One sync and one thread run on this workload, shared by the two tests after it (each run
# starts a sink and an app, and costs about a second of CPU).
# A scan long against what a starved process may stall on 2 busy cores (65 ms was seen): the
# thread answer must come before a scan that sync waits for, with room to spare.
SCAN_MS = 150
SHARED = {"requests": 12, "rate": 50, "scan_ms": SCAN_MS, "workers": 2}


@pytest.fixture(scope="module")
def shared_run(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Result]:
    """`mqlab run <mode>` on SHARED: run once per mode for the whole file."""
    done: dict[str, Result] = {}

    def get(mode: str) -> Result:
        if mode not in done:
            out = tmp_path_factory.mktemp(f"run-{mode}")
            before, started = wall_offset(), time.perf_counter()
            done[mode] = mqlab_json(out, "run", mode, no_floors=True, **SHARED)
            # how fast the wall clock gained on the monotonic one meanwhile (see below)
            done[mode]["slew"] = (wall_offset() - before) / (time.perf_counter() - started)
        return done[mode]

    return get


@pytest.mark.parametrize("mode", ["sync", "thread"])
def test_a_run_delivers_every_accepted_signup(
    mode: str, shared_run: Callable[[str], Result]
) -> None:
    data = shared_run(mode)
    s = data["summary"]
    counts = (s["requests"], s["accepted"], s["delivered"], s["lost"], s["duplicates"])
    assert counts == (12, 12, 12, 0, 0)
    assert data["format_version"] == 1 and data["kind"] == "run" and data["mode"] == mode
    assert data["config"]["requests"] == 12 and data["config"]["scan_ms"] == SCAN_MS
    assert data["environment"]["packages"]["pika"]
    assert len(data["samples"]) == 12
    assert sum(row["delivered"] for row in data["timeline"]) == 12
    assert sum(row["accepted"] for row in data["timeline"]) == 12
    for sample in data["samples"]:
        answered = sample["intended"] + sample["response_ms"] / 1000
        if mode == "sync":
            # the user waited for the scan, and was answered only after the mail was sent.
            # The answer is timed on the generator's monotonic clock, the mail on the sink's
            # wall clock: while the machine's clock is slewed (seen: 5 ms a second), the wall
            # clock gains on the other by that rate, which the comparison allows for.
            assert sample["response_ms"] >= SCAN_MS
            drift = max(data["slew"], 0.0) * sample["delivered"]
            assert answered + drift >= sample["delivered"], (answered, drift, sample)
        else:
            # the mail went out after the signup was sent. (Not "after the user read the
            # 202": the pool starts the scan as the answer leaves, and a busy client
            # may read it later than that; the response-time gap is mqlab bench's to judge.)
            assert sample["intended"] < sample["delivered"]


def test_sync_waits_while_thread_answers_at_once(shared_run: Callable[[str], Result]) -> None:
    sync = shared_run("sync")["summary"]
    thread = shared_run("thread")["summary"]
    assert sync["response_ms"]["p50"] >= SCAN_MS
    assert thread["response_ms"]["p50"] < sync["response_ms"]["p50"]
    assert sync["delivered"] == thread["delivered"] == 12


def test_infected_signups_are_counted_as_quarantined(mqlab_result: Run) -> None:
    s = run(mqlab_result, "thread", requests=6, infected=2, rate=0, scan_ms=5)["summary"]
    assert (s["accepted"], s["delivered"], s["quarantined"], s["lost"]) == (6, 4, 2, 0)


def test_sweep_runs_one_point_per_worker_count(mqlab_result: Run) -> None:
    data = mqlab_result("sweep", worker_counts="1,2", modes="thread", scan_ms=20, jobs_per_worker=4)
    assert data["kind"] == "sweep"
    points = [(p["mode"], p["workers"], p["delivered"], p["lost"]) for p in data["points"]]
    assert points == [("thread", 1, 4, 0), ("thread", 2, 8, 0)]
    assert [p["ideal_per_s"] for p in data["points"]] == [50.0, 100.0]


@pytest.mark.broker
def test_compare_runs_the_three_modes_on_one_workload(mqlab_result: Run, tmp_path: Path) -> None:
    kept = tmp_path / "kept"
    data = mqlab_result("compare", requests=10, rate=50, scan_ms=20, workers=2, keep=kept)
    assert data["kind"] == "compare"
    assert [r["mode"] for r in data["runs"]] == ["sync", "thread", "broker"]
    for r in data["runs"]:
        assert (r["summary"]["delivered"], r["summary"]["lost"]) == (10, 0)
        assert r["summary"]["told_truth"] == 10  # each user's answer or status says "sent"
    broker = data["runs"][2]
    assert broker["environment"]["broker_version"]
    assert any(row["queue_depth"] is not None for row in broker["timeline"])
    floors = data["calibration"]["floors"]  # measured before the runs, on the same broker
    assert set(floors) == {"http", "publish", "smtp"}
    assert all(f["ms"]["p50"] > 0 for f in floors.values())
    # --keep, as the README says: each mode's ledger and process logs stay, to count by hand
    folders = sorted(kept.iterdir())
    assert sorted(f.name.split("-")[-2] for f in folders) == ["broker", "sync", "thread"]
    assert all((f / "ledger.db").is_file() and (f / "app.log").is_file() for f in folders)


@pytest.mark.broker
def test_a_flaky_mail_server_loses_nothing_in_broker_mode(mqlab_result: Run) -> None:
    data = run(mqlab_result, "broker", requests=20, rate=100, scan_ms=5, workers=2,
               smtp_fail_rate=0.3, retry_delay_ms=50)  # fmt: skip
    s = data["summary"]
    assert s["lost"] == 0
    assert s["delivered"] + s["dead_lettered"] == s["accepted"] == 20
    assert s["retried"] > 0  # refused mails were retried from the retry queue, and arrived


@pytest.mark.broker
def test_every_broker_user_is_told_the_truth_about_their_signup(mqlab_result: Run) -> None:
    # 2 infected (quarantined, no welcome mail) and mails refused for good by the mail
    # server (dead-lettered, a quarantine notice among them maybe): each user's status says
    # so, and the rest say "sent", as the ledger does.
    data = run(mqlab_result, "broker", requests=16, infected=2, rate=100, scan_ms=5, workers=2,
               smtp_fail_rate=0.2, smtp_fail_kind="permanent")  # fmt: skip
    s = data["summary"]
    assert s["accepted"] == 16 and s["lost"] == 0
    assert s["delivered"] < 14 and s["dead_lettered"] > 0
    told = (s["told_truth"], s["told_wrong"], s["told_queued"], s["never_heard"])
    assert told == (16, 0, 0, 0)


@pytest.mark.parametrize(
    ("mode", "lost", "parked"),
    [("thread", True, False), pytest.param("broker", False, True, marks=pytest.mark.broker)],
)
def test_a_permanent_smtp_failure_is_lost_in_memory_but_parked_by_the_broker(
    mode: str, lost: bool, parked: bool, mqlab_result: Run
) -> None:
    data = run(mqlab_result, mode, requests=20, rate=100, scan_ms=5, workers=2,
               smtp_fail_rate=0.3, smtp_fail_kind="permanent")  # fmt: skip
    s = data["summary"]
    assert s["delivered"] < 20
    assert (s["lost"] > 0) is lost
    assert (s["dead_lettered"] > 0) is parked
    assert s["delivered"] + s["lost"] + s["dead_lettered"] == s["accepted"]


def test_a_request_given_up_on_but_mailed_is_told_failed_sent_anyway() -> None:
    # The client stops waiting after 0.1 s; the sync handler goes on (scan 0.4 s, then
    # SMTP): each user saw a failure, and each got the mail. The run waits for such mails.
    from mqlab.measure import runner
    from mqlab.processes.config import Mode, RunConfig, Workload

    workload = Workload(
        requests=3, rate=0, scan_ms=400, request_timeout=0.1, server_threads=4, drain_timeout=10
    )
    result = runner.run(RunConfig(Mode.sync, workload, floors=False))
    s = result.summary
    assert (s.requests, s.accepted, s.failed, s.sent_anyway) == (3, 0, 3, 3)
    assert (s.delivered, s.lost, s.duplicates) == (0, 0, 0)
    assert all(sample["delivered"] is not None for sample in result.samples)


@pytest.mark.parametrize(("rate", "key"), [(50, "warn.overloaded"), (0, None)])
def test_a_late_generator_is_overload_unless_a_spike_was_asked_for(
    rate: float, key: str | None
) -> None:
    """Every request sent 50 ms late: at a steady rate the machine could not keep up; in a
    spike (rate 0) they waited for a connection by design, and nothing is to be warned of."""
    from mqlab.measure import metrics, runner
    from mqlab.measure.loadgen import Sample
    from mqlab.report.i18n import note_key

    samples = [
        Sample(f"late-{i}", intended=i / 50, sent=i / 50 + 0.05, status=202, response_ms=60.0)
        for i in range(50)
    ]
    warning = runner.generator_warning(metrics.summarize(samples, []), rate)
    if key is None:
        assert warning is None
    else:
        assert warning == "the load generator ran late (p99 50 ms): this machine is overloaded"
        found = note_key(warning)  # the report's English and Korean text for it
        assert found is not None and found[0] == key


def test_a_fault_that_prepares_slowly_still_fires_at_its_point_of_the_load(
    tmp_path: Path,
) -> None:
    """A node fault finds the queue's node before it can fire (rabbitmqctl: 20 s once on busy
    cores), and once the kill came after the last job was delivered. The load waits for the
    fault to be ready; here its preparation takes 3 s once the app answers."""
    import threading
    import time

    from mqlab.measure import runner
    from mqlab.measure.faults import ChaosThread
    from mqlab.measure.lab import Lab
    from mqlab.processes.config import Mode, RunConfig, Workload

    class SlowToPrepare(ChaosThread):
        def prepare(self) -> None:
            assert self.lab is not None
            deadline = time.monotonic() + 30
            while self.lab.app is None and time.monotonic() < deadline:
                time.sleep(0.01)
            threading.Event().wait(3.0)

        def act(self, lab: Lab) -> None:
            self._event("kill", "nothing")  # harms nothing: only when it fired counts

    workload = Workload(requests=10, rate=50, scan_ms=0, workers=1, drain_timeout=10)
    chaos = SlowToPrepare(at=3)  # the 3rd request is sent 0.04 s into the load
    result = runner.run_with_chaos(
        RunConfig(Mode.sync, workload, floors=False), tmp_path, None, None, chaos
    )
    [kill] = result.events
    assert 0 <= kill["t"] < 1.0, kill  # not seconds late: 1.5 s without the wait
    assert result.summary.delivered == 10


def test_the_backlog_of_an_app_killed_halfway_through_its_answer_is_unknown(
    tmp_path: Path,
) -> None:
    """A thread-mode app SIGKILLed while it answers /stats: the headers came, the body did
    not (IncompleteRead). The depth sampler, a thread, died of it once and failed the run's
    test; the backlog is unknown, and sampling goes on."""
    import socket
    import threading

    from mqlab.measure.lab import Lab
    from mqlab.processes.config import Mode, RunConfig, Workload

    lab = Lab(RunConfig(Mode.thread, Workload()), tmp_path, None)
    with socket.create_server(("127.0.0.1", lab.app_port)) as server:

        def half_an_answer() -> None:
            conn, _ = server.accept()
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 76\r\n\r\n")  # and no body

        answering = threading.Thread(target=half_an_answer, daemon=True)
        answering.start()
        assert lab.backlog() is None
        answering.join(timeout=10)
        assert not answering.is_alive()


def wall_offset() -> float:
    """time.time() less time.perf_counter() at one instant (the tighter of a few readings)."""
    pairs = []
    for _ in range(5):
        before = time.perf_counter()
        wall = time.time()
        after = time.perf_counter()
        pairs.append((after - before, wall - (before + after) / 2))
    return min(pairs)[1]
