"""mqlab.processes.rabbit against real brokers: the system one (read-only) and private nodes.

No mocks. The private node is started from the installed rabbitmq-server; if it
is missing these tests fail, they never skip. Queues are declared on private
nodes only; on the system broker the tests only connect and passive-declare a
queue that does not exist (which creates nothing).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pika
import pika.exceptions
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mqlab.cli.core import main
from mqlab.processes import proctable, rabbit
from mqlab.processes.procs import PICK_FROM, _ephemeral_low, free_port
from mqlab.report import render

ROOT = Path(__file__).resolve().parents[1]
SYSTEM_URL = os.environ.get(rabbit.ENV_VAR) or rabbit.DEFAULT_URL


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (below the ephemeral range: see procs)."""
    return free_port()


def test_a_private_node_gets_ports_the_kernel_never_gives_outgoing_connections(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Its AMQP and distribution ports come from procs.free_ports, like the lab's servers.

    Nothing is started: `create` only picks (any executable stands in for rabbitmq-server)."""
    monkeypatch.setenv(rabbit.SERVER_ENV_VAR, "/bin/true")
    low = _ephemeral_low()
    for _ in range(10):
        node = rabbit.PrivateNode.create()
        node.cleanup()
        assert PICK_FROM <= node.port < low and PICK_FROM <= node.dist_port < low
        assert node.port != node.dist_port


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def unique(prefix: str) -> str:
    return f"mqlab-test-{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep `mqlab broker up` state (and $MQLAB_AMQP_URL) of the machine out of the test."""
    directory = tmp_path / "state"
    monkeypatch.setenv(rabbit.STATE_ENV_VAR, str(directory))
    monkeypatch.delenv(rabbit.ENV_VAR, raising=False)
    return directory


@pytest.fixture(scope="module")
def node() -> Iterator[rabbit.PrivateNode]:
    """One private node shared by the tests of this file (started once, ~2 s), with one
    Erlang scheduler like the node crash-test kills."""
    if rabbit.find_rabbitmq_server() is None:
        pytest.fail(
            "rabbitmq-server is not installed: the broker tests need it "
            "(apt-get install rabbitmq-server)",
            pytrace=False,
        )
    n = rabbit.PrivateNode.create(schedulers=1)
    try:
        n.start()
        yield n
    finally:
        n.cleanup()


# ------------------------------------------------------------------ mask_url

MASKED = [
    ("amqp://guest:guest@localhost:5672/%2F", "amqp://guest:****@localhost:5672/%2F", "guest"),
    (
        "amqps://app:p%40ss%2Fw0rd@mq.example.com:5671/prod?heartbeat=30",
        "amqps://app:****@mq.example.com:5671/prod?heartbeat=30",
        "p%40ss%2Fw0rd",
    ),
    ("amqp://app:pa:ss@host/", "amqp://app:****@host/", "pa:ss"),
    ("amqp://u:p@ss/w#rd?x@host:5672/%2F", "amqp://u:****@host:5672/%2F", "p@ss/w#rd?x"),
    ("amqp://:s3cr3t@host:5672", "amqp://:****@host:5672", "s3cr3t"),
    ("u:hunter2@host:5672", "u:****@host:5672", "hunter2"),
]


@pytest.mark.parametrize(("url", "expected", "password"), MASKED)
def test_mask_url_hides_the_password(url: str, expected: str, password: str) -> None:
    masked = rabbit.mask_url(url)
    assert masked == expected
    if password != "guest":  # "guest" is also the user name, which stays visible
        assert password not in masked


@pytest.mark.parametrize(
    "url",
    [
        "amqp://guest@localhost:5672/%2F",
        "amqp://localhost:5672/%2F",
        "amqp://127.0.0.1",
    ],
)
def test_mask_url_without_password_is_unchanged(url: str) -> None:
    assert rabbit.mask_url(url) == url


@settings(max_examples=300, deadline=None)
@given(password=st.text(min_size=1, max_size=40))
def test_mask_url_never_leaks_any_password(password: str) -> None:
    assert (
        rabbit.mask_url(f"amqp://user:{password}@host:5672/%2F") == "amqp://user:****@host:5672/%2F"
    )


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        ("amqp://guest:guest@127.0.0.1:5673/%2F", False),  # a private node's: no secret
        ("amqp://guest@localhost/%2F", False),
        ("amqp://localhost:5672/%2F", False),
        ("amqp://guest:hunter2@localhost/%2F", True),
        ("amqp://app:guest@x@host/%2F", True),  # the password is "guest@x"
        ("amqp://guest:****@127.0.0.1:5673/%2F", True),  # masked: the real one is unknown
    ],
)
def test_holds_a_secret(url: str, secret: bool) -> None:
    assert rabbit.holds_a_secret(url) is secret


# -------------------------------------------------------------- resolve_url


def test_resolve_url_precedence(state_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert rabbit.resolve_url(None) == rabbit.DEFAULT_URL
    monkeypatch.setenv(rabbit.ENV_VAR, "amqp://env:pw@envhost/%2F")
    assert rabbit.resolve_url(None) == "amqp://env:pw@envhost/%2F"
    assert rabbit.resolve_url("amqp://arg@arghost/%2F") == "amqp://arg@arghost/%2F"


# --------------------------------------------------------- server_version


@pytest.mark.broker
def test_server_version_of_the_running_broker() -> None:
    # The broker mqlab would use: $MQLAB_AMQP_URL or the default (here the system
    # service), else a private node.
    with rabbit.ensure_broker(os.environ.get(rabbit.ENV_VAR)) as handle:
        version = rabbit.server_version(handle.url)
        assert version is not None and version == handle.version
        assert re.fullmatch(r"\d+\.\d+\.\d+.*", version)


def test_server_version_of_a_closed_port_is_none_quickly() -> None:
    t0 = time.monotonic()
    assert rabbit.server_version(f"amqp://guest:guest@127.0.0.1:{closed_port()}/%2F") is None
    assert time.monotonic() - t0 < 3.0


def test_server_version_of_a_silent_listener_is_none_within_the_timeout() -> None:
    with socket.socket() as silent:  # accepts TCP, never says a word of AMQP
        silent.bind(("127.0.0.1", 0))
        silent.listen(5)
        url = f"amqp://guest:guest@127.0.0.1:{silent.getsockname()[1]}/%2F"
        t0 = time.monotonic()
        assert rabbit.server_version(url, timeout=1.0) is None
        assert time.monotonic() - t0 < 3.0


@pytest.mark.broker
def test_rabbitmq_server_is_installed() -> None:
    path = rabbit.find_rabbitmq_server()
    assert path is not None and Path(path).is_file()


# ------------------------------------------------- the crash-test lesson


@pytest.mark.broker
def test_confirmed_persistent_messages_survive_sigkill_and_restart(
    node: rabbit.PrivateNode,
) -> None:
    durable, transient = unique("durable"), unique("transient")
    bodies = [f"welcome mail {i}".encode() for i in range(5)]
    conn = pika.BlockingConnection(pika.URLParameters(node.url))
    try:
        ch = conn.channel()
        ch.confirm_delivery()  # basic_publish now returns only once the broker has it on disk
        ch.queue_declare(durable, durable=True)
        ch.queue_declare(transient, durable=False)
        for body in bodies:
            ch.basic_publish(
                "", durable, body, pika.BasicProperties(delivery_mode=2), mandatory=True
            )
        ch.basic_publish("", transient, b"lost", mandatory=True)
    finally:
        conn.close()
    assert rabbit.queue_depths(node.url, [durable, transient]) == {durable: 5, transient: 1}

    node.kill()  # SIGKILL: no graceful shutdown, nothing flushed on the way out
    assert not node.running
    assert not port_open(node.port)
    assert rabbit.server_version(node.url, timeout=1.0) is None

    node.restart()  # same port, node name and data dir
    assert node.running
    assert rabbit.queue_depth(node.url, transient) is None  # a non-durable queue is gone
    conn = pika.BlockingConnection(pika.URLParameters(node.url))
    try:
        ch = conn.channel()
        got = []
        for _ in bodies:
            _, props, body = ch.basic_get(durable, auto_ack=True)
            assert props is not None and props.delivery_mode == 2
            got.append(body)
        assert got == bodies
        ch.queue_delete(durable)
    finally:
        conn.close()


def beam_args(node: rabbit.PrivateNode) -> list[str]:
    """The command line of the Erlang VM (beam.smp) of `node`: the process on its AMQP port."""
    (pid,) = proctable.listening_pids(node.port)
    args = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    assert args[0].endswith("beam.smp"), args[0]
    return args


def test_a_node_can_be_held_to_one_scheduler(node: rabbit.PrivateNode) -> None:
    """crash-test's node boots on one core: its restart must leave the other to the lab."""
    args = beam_args(node)
    assert args[args.index("-S") + 1] == "1:1"
    other = rabbit.PrivateNode.create()
    other.cleanup()  # never started: this only removes its temp data dir
    default = other._environment()["RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS"]
    assert "+S" not in default  # other nodes: Erlang's default, one scheduler per core


# ------------------------------------------------------------ queue depth


@pytest.mark.broker
def test_queue_depth_of_a_missing_queue_is_none_and_creates_nothing(
    node: rabbit.PrivateNode,
) -> None:
    missing = unique("missing")
    assert rabbit.queue_depth(node.url, missing) is None
    assert rabbit.queue_depth(node.url, missing) is None
    conn = pika.BlockingConnection(pika.URLParameters(node.url))
    try:
        with pytest.raises(pika.exceptions.ChannelClosedByBroker) as e:
            conn.channel().queue_declare(missing, passive=True)
        assert e.value.reply_code == 404
    finally:
        conn.close()


@pytest.mark.broker
def test_queue_depth_on_the_system_broker_never_declares(state_dir: Path) -> None:
    assert rabbit.queue_depth(SYSTEM_URL, unique("absent")) is None


@pytest.mark.broker
def test_queue_depths_uses_one_connection_for_several_queues(node: rabbit.PrivateNode) -> None:
    full, missing, empty = unique("full"), unique("missing"), unique("empty")
    conn = pika.BlockingConnection(pika.URLParameters(node.url))
    try:
        ch = conn.channel()
        ch.confirm_delivery()
        ch.queue_declare(full, auto_delete=False)
        ch.queue_declare(empty)
        for _ in range(3):
            ch.basic_publish("", full, b"x", mandatory=True)
        depths = rabbit.queue_depths(node.url, [full, missing, empty])
        assert depths == {full: 3, missing: None, empty: 0}
        ch.queue_delete(full)
        ch.queue_delete(empty)
    finally:
        conn.close()


def test_queue_depth_when_no_broker_answers_is_none() -> None:
    t0 = time.monotonic()
    url = f"amqp://guest:guest@127.0.0.1:{closed_port()}/%2F"
    assert rabbit.queue_depth(url, "anything") is None
    assert rabbit.queue_depths(url, ["a", "b"]) == {"a": None, "b": None}
    assert time.monotonic() - t0 < 3.0


# ----------------------------------------------------------- ensure_broker


def test_ensure_broker_with_a_dead_explicit_url_raises_one_masked_line(state_dir: Path) -> None:
    url = f"amqp://mqlab:S3cr3t-pw@127.0.0.1:{closed_port()}/%2F"
    with pytest.raises(rabbit.BrokerUnavailable) as e, rabbit.ensure_broker(url):
        pass
    message = str(e.value)
    assert "S3cr3t" not in message
    assert rabbit.mask_url(url) in message
    assert "docker compose up -d" in message
    assert "MQLAB_AMQP_URL" in message and "rabbitmq-server" in message
    assert "\n" not in message


def test_ensure_broker_with_a_dead_url_from_the_environment_raises(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(rabbit.ENV_VAR, f"amqp://u:Env-Secret@127.0.0.1:{closed_port()}/%2F")
    with pytest.raises(rabbit.BrokerUnavailable) as e, rabbit.ensure_broker():
        pass
    assert "Env-Secret" not in str(e.value)


@pytest.mark.broker
def test_ensure_broker_uses_an_answering_broker_untouched(
    node: rabbit.PrivateNode, state_dir: Path
) -> None:
    with rabbit.ensure_broker(node.url) as handle:
        assert handle.url == node.url
        assert handle.started_by_mqlab is False
        assert handle.node is None
        assert handle.version == node.version
    assert node.running  # never stopped by ensure_broker


@pytest.mark.broker
def test_ensure_broker_starts_and_removes_a_private_node_when_nothing_answers(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = f"amqp://guest:guest@127.0.0.1:{closed_port()}/%2F"
    monkeypatch.setattr(rabbit.urls, "DEFAULT_URL", dead)  # where resolve_url reads it
    with pytest.raises(rabbit.BrokerUnavailable), rabbit.ensure_broker(allow_private=False):
        pass
    with rabbit.ensure_broker() as handle:
        assert handle.started_by_mqlab is True
        assert handle.node is not None
        assert rabbit.server_version(handle.url) == handle.version
        private = handle.node
        assert private.data_dir.is_dir()
    assert not private.running
    assert not port_open(private.port)
    assert not private.data_dir.exists()


# ------------------------------------------- mqlab broker up | status | down


@pytest.mark.broker
def test_broker_up_outlives_the_process_and_broker_down_stops_it(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = closed_port()
    up = subprocess.run(
        [
            sys.executable,
            "-c",
            f"from mqlab.processes import rabbit; print(rabbit.broker_up({port}).url)",
        ],
        cwd=ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert up.returncode == 0, up.stderr
    url = up.stdout.strip()
    try:
        assert url == f"amqp://guest:guest@127.0.0.1:{port}/%2F"
        assert rabbit.server_version(url) is not None  # alive after `mqlab broker up` exited
        assert (state_dir / "broker.json").is_file()
        assert rabbit.resolve_url(None) == url  # `mqlab run broker` finds it

        again = rabbit.broker_up(port)  # already up: same node, nothing new started
        assert again.url == url and again.started_by_mqlab and again.node is not None
        assert again.node.pgid is not None

        capsys.readouterr()
        render.print_broker_up(again.url, again.version)  # what `mqlab broker up` prints
        (line,) = [x for x in capsys.readouterr().out.splitlines() if "export" in x]
        exported = line.split(f"export {rabbit.ENV_VAR}=", 1)[1].split()[0]
        assert exported == url  # the real URL, ready to paste: guest is no secret
        assert rabbit.server_version(exported) == again.version

        status = rabbit.broker_status(None, ["mqlab-test-nonexistent"])
        assert status["reachable"] is True and status["started_by_mqlab"] is True
        assert status["url"] == f"amqp://guest:****@127.0.0.1:{port}/%2F"
        assert status["version"] and status["queues"] == {"mqlab-test-nonexistent": None}
    finally:
        stopped = rabbit.broker_down()
    assert stopped is True
    assert not port_open(port)
    assert rabbit.broker_down() is False  # nothing recorded any more
    assert rabbit.resolve_url(None) == rabbit.DEFAULT_URL
    assert (state_dir / "broker").is_dir()  # data kept: durable queues survive down/up


def test_broker_status_of_an_unreachable_url(state_dir: Path) -> None:
    url = f"amqp://u:Status-Secret@127.0.0.1:{closed_port()}/%2F"
    status = rabbit.broker_status(url, ["q1"])
    assert status == {
        "url": f"amqp://u:****@127.0.0.1:{url.rsplit(':', 1)[1].split('/')[0]}/%2F",
        "reachable": False,
        "version": None,
        "started_by_mqlab": False,
        "queues": {"q1": None},
        "error": "connection refused",
    }


@pytest.mark.parametrize(
    "url",
    [
        "amqp://app:Up-S3cret@mq.example.com:5672/%2F",  # a password of its own: a secret
        "amqp://guest:****@127.0.0.1:5673/%2F",  # already masked: the password is unknown
    ],
)
def test_broker_up_never_prints_a_secret_or_a_masked_url_to_export(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    render.print_broker_up(url, "3.12.0")
    out = capsys.readouterr().out
    assert "Up-S3cret" not in out
    assert rabbit.mask_url(url) in out and "--amqp-url" in out
    assert "export" not in out  # pasting a masked URL would only fail to log in


def wrong_password_url() -> tuple[str, str]:
    """The system broker's URL with a password it refuses (a refused login changes nothing),
    and that password."""
    host, port = rabbit.urls.endpoint(SYSTEM_URL)
    password = f"Wrong-{uuid.uuid4().hex[:8]}"
    return f"amqp://guest:{password}@{host}:{port}/%2F", password


@pytest.mark.broker
def test_broker_status_with_a_wrong_password_says_the_login_was_refused(state_dir: Path) -> None:
    url, password = wrong_password_url()
    status = rabbit.broker_status(url, ["q1"])
    assert status["reachable"] is False
    assert status["error"] == "login refused (wrong user or password?)"
    assert password not in str(status)


@pytest.mark.parametrize(
    ("listener", "reason"),
    [
        pytest.param(
            "wrong password", "login refused (wrong user or password?)", marks=pytest.mark.broker
        ),
        ("closed port", "connection refused"),
        ("silent", "no answer within 2 s"),
    ],
)
def test_mqlab_broker_status_shows_why_it_is_unreachable(
    listener: str, reason: str, state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 18: "reachable: no" used to come without a reason."""
    with socket.socket() as silent:  # accepts TCP, never answers AMQP
        silent.bind(("127.0.0.1", 0))
        silent.listen(5)
        password = f"Status-{uuid.uuid4().hex[:8]}"
        port = {"closed port": closed_port(), "silent": silent.getsockname()[1]}.get(listener)
        if port is None:
            url, password = wrong_password_url()
        else:
            url = f"amqp://guest:{password}@127.0.0.1:{port}/%2F"
        assert main(["broker", "status", "--amqp-url", url]) == 0
    out = capsys.readouterr().out
    (row,) = [line for line in out.splitlines() if "reachable" in line]
    assert "no" in row and reason in row, out
    assert password not in out and rabbit.mask_url(url) in out


@pytest.mark.broker
def test_broker_up_on_a_port_in_use_fails_and_leaves_that_broker_alone(state_dir: Path) -> None:
    with socket.socket() as other:  # someone else's service on the port
        other.bind(("127.0.0.1", 0))
        other.listen(5)
        port = other.getsockname()[1]
        with pytest.raises(rabbit.BrokerUnavailable, match="already in use"):
            rabbit.broker_up(port)
        assert port_open(port)
    assert not (state_dir / "broker.json").exists()


def test_broker_down_never_signals_a_process_that_is_not_its_node(state_dir: Path) -> None:
    stranger = subprocess.Popen(["sleep", "60"], start_new_session=True)
    try:
        state_dir.mkdir(parents=True)
        (state_dir / "broker.json").write_text(
            '{"url": "amqp://guest:guest@127.0.0.1:1/%2F", "port": 1, "dist_port": 2, '
            '"nodename": "mqlab-1@localhost", "data_dir": "/nonexistent", '
            f'"server": "rabbitmq-server", "pid": {stranger.pid}, "pgid": {stranger.pid}}}'
        )
        assert rabbit.resolve_url(None) == rabbit.DEFAULT_URL  # not taken for our node
        assert rabbit.broker_down() is False
        assert stranger.poll() is None, "broker_down signalled a stranger"
        assert not (state_dir / "broker.json").exists()  # the stale record is dropped
    finally:
        stranger.kill()
        stranger.wait()
