"""The command line: help for every command, one clear line for bad input."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer

from mqlab.cli.core import main
from mqlab.errors import BadInput

from .helpers import started_processes_and_connections

COMMANDS = ["run", "compare", "crash-test", "chart", "sweep", "serve", "worker", "sink", "broker"]


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in COMMANDS:
        assert command in out


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_explains_itself(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([command, "--help"]) == 0
    assert f"Usage: mqlab {command} " in capsys.readouterr().out  # its own help, not the app's


@pytest.mark.parametrize("command", ["serve", "worker", "sink"])
def test_a_lab_process_parses_with_the_apps_own_command_and_loads_no_other(command: str) -> None:
    """The lab starts hundreds of these: `mqlab worker` parses with the same command as
    `mqlab --help` shows, and imports no other command's module (it starts in less CPU)."""
    from mqlab.cli.app import app
    from mqlab.cli.core import app_for

    whole = typer.main.get_command(app).commands[command]  # type: ignore[attr-defined]
    alone = typer.main.get_command(app_for(["--traceback", command])).commands  # type: ignore[attr-defined]
    assert list(alone) == [command]
    assert alone[command].help == whole.help
    assert "run" in typer.main.get_command(app_for(["--help", command])).commands  # type: ignore[attr-defined]

    def described(params: list[Any]) -> list[tuple[Any, ...]]:
        return [(p.opts, p.default, getattr(p, "help", None)) for p in params]

    assert described(alone[command].params) == described(whole.params)
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from mqlab.cli.core import app_for; "
            f"app_for([{command!r}]); print(' '.join(sorted(sys.modules)))",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.split()
    others = {
        "mqlab.cli.app",
        "mqlab.cli.measure",
        "mqlab.cli.stress",
        "mqlab.cli.lesson",
        "mqlab.cli.cluster",
        "mqlab.measure.lab",
    }
    assert others.isdisjoint(loaded), others & set(loaded)


def test_help_paragraphs_are_wrapped_once_by_the_terminal(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # wide enough that the terminal breaks no line
    assert main(["crash-test", "--help"]) == 0
    lines = capsys.readouterr().out.splitlines()
    # the docstring breaks this sentence after "so the" in the source; --help must not
    assert any("beside the default rows, so the table shows both the loss" in x for x in lines)


# --- the error boundary: one line and an exit code, or the stack with --traceback -------------


@pytest.fixture
def buggy_command() -> Iterator[str]:
    """A command whose code has a bug, added to the real app for one test."""
    from mqlab.cli.app import app

    def bug() -> None:
        raise ZeroDivisionError("a bug in a command")

    app.command("test-bug")(bug)
    try:
        yield "test-bug"
    finally:
        app.registered_commands = [c for c in app.registered_commands if c.callback is not bug]


def test_a_bug_is_one_internal_error_line_and_exit_1(
    buggy_command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([buggy_command]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("mqlab: error: internal error"), err
    assert "ZeroDivisionError: a bug in a command" in err[0] and "--traceback" in err[0]


def test_with_traceback_a_bug_shows_its_stack(buggy_command: str) -> None:
    with pytest.raises(ZeroDivisionError, match="a bug in a command"):
        main(["--traceback", buggy_command])


def test_with_traceback_an_expected_error_shows_its_stack_too(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="no such result file"):
        main(["--traceback", "chart", str(tmp_path / "missing.json")])


def test_traceback_is_a_global_option_in_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "--traceback" in capsys.readouterr().out


def test_no_broker_is_one_line_and_exit_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`mqlab broker up` on a port someone else listens on: refused before anything starts."""
    from mqlab.processes import rabbit

    monkeypatch.setenv(rabbit.STATE_ENV_VAR, str(tmp_path / "state"))
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen(1)
        port = other.getsockname()[1]
        assert main(["broker", "up", "--port", str(port)]) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("mqlab: error:"), err
    assert "RabbitMQ" in err[0]


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
        # an option the mode has no use for would be silently ignored: refused instead
        (["serve", "broker", "--workers", "8"], "--workers"),
        (["serve", "broker", "--scan-ms", "50"], "--scan-ms"),
        (["serve", "broker", "--smtp-port", "2526", "--seed", "3"], "--smtp-port, --seed"),
        (["serve", "sync", "--workers", "8"], "--workers"),
        (["serve", "sync", "--amqp-url", "amqp://x"], "--amqp-url"),
        (["serve", "thread", "--no-confirm"], "--no-confirm"),
        # no row to run: a result with nothing in it, that chart would then refuse
        (["crash-test", "--modes", "sync", "--faults", "worker-kill"], "no fault"),
        (["crash-test", "--modes", "sync,thread", "--faults", "broker-restart"], "no fault"),
        (["sweep", "--worker-counts", "0,2"], "--worker-counts"),
    ],
)
def test_bad_input_is_one_line_and_a_nonzero_exit(
    args: list[str], fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args) == 2  # in-process: the same boundary `python -m mqlab` runs (see below)
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("mqlab: error:") and fragment in lines[0]
    assert "Value error" not in lines[0]  # the validator's prefix says nothing to a user


# Every option that names a folder to write: a bad one is refused before anything starts.
FOLDER_OPTIONS = [
    ["run", "sync", "--out"],
    ["run", "sync", "--keep"],
    ["compare", "--out"],
    ["compare", "--keep"],
    ["crash-test", "--out"],
    ["crash-test", "--keep"],
    ["sweep", "--out"],
    ["calibrate", "--out"],
    ["bench", "--out"],
    ["chart", "--latest", "-o"],
]


@pytest.mark.parametrize("where", ["under-a-file", "/proc", "/sys"])
@pytest.mark.parametrize("option", FOLDER_OPTIONS, ids=" ".join)
def test_an_unwritable_folder_is_one_line_and_exit_2_at_once(
    option: list[str], where: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    folder = {"under-a-file": a_file / "results", "/proc": Path("/proc/mqlab-results"),
              "/sys": Path("/sys/mqlab-results")}[where]  # fmt: skip
    with started_processes_and_connections() as started:
        code = main([*option, str(folder)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and err[0].startswith("mqlab: error:"), err
    assert str(folder) in err[0] and option[-1] in err[0]
    assert started == []  # refused while parsing: no sink, app or broker was started or reached
    assert not folder.exists()


def test_a_read_only_folder_is_refused_before_the_run(tmp_path: Path) -> None:
    # root may write anywhere, so as root the command runs as nobody (uid 65534)
    base = Path(tempfile.mkdtemp(prefix="mqlab-ro-"))
    try:
        base.chmod(0o755)
        readonly = base / "ro"
        readonly.mkdir(mode=0o555)
        readonly.chmod(0o555)
        as_nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        argv = [sys.executable, "-m", "mqlab", "run", "sync", "--out", str(readonly / "results")]
        result = subprocess.run(
            [*(as_nobody if os.geteuid() == 0 else []), *argv],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            cwd=base,
        )
        assert result.returncode == 2, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "--out" in lines[0] and "ermission denied" in lines[0]
        assert not list(readonly.iterdir())
    finally:
        (base / "ro").chmod(0o755)
        shutil.rmtree(base)


def test_a_writable_folder_is_not_created_by_the_check(tmp_path: Path) -> None:
    from mqlab.measure.results import writable_folder

    folder = tmp_path / "new" / "results"
    assert writable_folder(folder) == folder
    assert not (tmp_path / "new").exists()  # the run creates it when it saves
    assert not list(tmp_path.iterdir())  # and the probe left nothing behind


# --- one definition per option -------------------------------------------------------------


def _commands() -> dict[str, Any]:
    """Every command of the real app, by its full name ("broker up"), as click sees it."""
    from mqlab.cli.app import app

    found: dict[str, Any] = {}

    def walk(command: Any, name: str) -> None:
        for sub_name, sub in getattr(command, "commands", {}).items():
            walk(sub, f"{name} {sub_name}".strip())
        if not hasattr(command, "commands"):
            found[name] = command

    walk(typer.main.get_command(app), "")
    return found


def _definition(option: Any) -> tuple[Any, ...]:
    """What must be the same wherever an option appears: spellings, type, range, default."""
    return (
        tuple(sorted(option.opts + option.secondary_opts)),
        _type(option.type),  # int, float, a range with its bounds, choices, ...
        option.multiple,
        option.is_flag,
        option.default,
        option.envvar,
    )


def _type(param_type: Any) -> tuple[str, tuple[tuple[str, str], ...]]:
    """A parameter type and its plain settings (a range's bounds, the choices)."""
    plain = (int, float, str, bool, tuple, list, type(None))
    settings = sorted((k, repr(v)) for k, v in vars(param_type).items() if isinstance(v, plain))
    return type(param_type).__name__, tuple(settings)


# The same name on purpose for different things; each entry says why.
DIFFERENT_ON_PURPOSE = {
    "--port": "each server its own port (serve: HTTP 8000, sink: SMTP 2525, broker up: 5673)",
    "--queue": "broker status shows several queues; serve and worker use one",
    "--out": "chart writes beside each result unless told; the others write to results/",
    "--modes": "crash-test takes any mode; a sweep of sync would scale nothing",
    "--rate": "calibrate's is its schedule check, 1000/s by default",
    "--requests": "calibrate's is its schedule check, at least 10",
    "--drain-timeout": "a sweep point sends everything at once: it waits longer",
}


def test_every_option_has_one_definition_wherever_it_appears() -> None:
    seen: dict[str, dict[tuple[Any, ...], list[str]]] = {}
    for name, command in _commands().items():
        for param in command.params:
            if param.param_type_name == "option" and param.name != "help":
                seen.setdefault(param.opts[0], {}).setdefault(_definition(param), []).append(name)
    shared = {flag: defs for flag, defs in seen.items() if sum(map(len, defs.values())) > 1}
    drifted = {
        flag: defs
        for flag, defs in shared.items()
        if len(defs) > 1 and flag not in DIFFERENT_ON_PURPOSE
    }
    assert not drifted, drifted
    assert "--retry-delay-ms" in shared and "--max-retries" in shared  # the walk sees them
    for flag in DIFFERENT_ON_PURPOSE:  # an entry that no longer differs goes
        assert len(shared[flag]) > 1, flag


@pytest.mark.parametrize("mode", ["sync", "thread", "broker"])
def test_the_lab_starts_its_children_with_command_lines_the_cli_takes(
    mode: str, tmp_path: Path
) -> None:
    """Each child's argv, as the lab builds it, parsed by the real commands: every flag
    exists, serve gets only what its mode takes, and run's --max-retries and
    --retry-delay-ms reach the workers."""
    from mqlab.amqp.settings import AmqpSettings
    from mqlab.cli.live import refuse_what_the_mode_ignores
    from mqlab.measure.lab import Lab
    from mqlab.processes.config import Mode, RunConfig, Safety, Workload

    run = _commands()["run"].make_context(
        "run", [mode, "--workers", "3", "--max-retries", "7", "--retry-delay-ms", "250"]
    )
    workload = Workload(**{k: run.params[k] for k in ("workers", "max_retries", "retry_delay_ms")})
    amqp = AmqpSettings(url="amqp://u:p@127.0.0.1:1/%2F") if mode == "broker" else None
    lab = Lab(RunConfig(Mode(mode), workload, safety=Safety(confirm=False)), tmp_path, amqp)
    children = [lab.sink_argv(), lab.app_argv(), *([lab.worker_argv()] if amqp else [])]
    parsed = {}
    for argv in children:
        name = argv[3]  # python -m mqlab NAME ...
        ctx = _commands()[name].make_context(name, argv[4:])
        if name == "serve":
            refuse_what_the_mode_ignores(ctx, Mode(mode))  # would raise BadInput
        parsed[name] = ctx.params
    assert parsed["sink"]["quiet"] and parsed["serve"]["quiet"]
    assert parsed["serve"]["workers"] == (3 if mode == "thread" else 4)  # 4: not given
    if mode == "broker":
        assert parsed["serve"]["no_confirm"] is True
        assert (parsed["worker"]["max_retries"], parsed["worker"]["retry_delay_ms"]) == (7, 250)


FINALIZING = """
import sys, time
from mqlab.cli.app import app
from mqlab.cli.core import main

class Slow:
    def __del__(self) -> None:
        print("finalizing", flush=True)
        time.sleep(5)

def finalizing() -> None:
    Slow()  # dropped at once: its finalizer runs now, 5 s unless a signal ends it
    for _ in range(200):
        time.sleep(0.05)
    print("ran on", flush=True)

app.command("finalizing")(finalizing)
sys.exit(main(["finalizing"]))
"""


def test_a_sigterm_that_lands_in_a_finalizer_still_ends_the_command() -> None:
    # Python drops an exception raised in a __del__ ("Exception ignored in"): a SIGTERM that
    # came while a redis client was collected let `mqlab run` go on for good.
    import select
    import signal

    child = subprocess.Popen(
        [sys.executable, "-c", FINALIZING],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert select.select([child.stdout], [], [], 15)[0], "the command never started"
        assert child.stdout.readline() == "finalizing\n"
        child.send_signal(signal.SIGTERM)
        out, err = child.communicate(timeout=8)
    finally:
        child.kill()
        child.wait(timeout=5)
    assert child.returncode == 143, (out, err)
    assert "ran on" not in out
    assert err.strip() == "mqlab: error: terminated"


def test_a_command_puts_back_the_unraisable_hook_it_found(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # pytest's own hook collects exceptions ignored in finalizers: a command run in a test
    # process once put Python's default in its place, and those went unseen after it.
    before = sys.unraisablehook
    assert main(["--help"]) == 0
    assert sys.unraisablehook is before
