"""docker-compose.yml: the documented way to get a broker when none is installed.

There is no Docker engine on every machine the tests run on, so the file is
checked as data (PyYAML), not run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from mqlab.processes import rabbit

COMPOSE = Path(__file__).resolve().parents[1] / "docker-compose.yml"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def service(compose: dict[str, Any]) -> dict[str, Any]:
    svc = compose["services"]["rabbitmq"]
    assert isinstance(svc, dict)
    return svc


def test_image_is_a_management_tag_of_a_current_series(service: dict[str, Any]) -> None:
    repo, _, tag = service["image"].partition(":")
    assert repo == "rabbitmq"
    assert tag.endswith("-management"), "the management UI shows the queue during a run"
    major = int(tag.split(".")[0])
    assert major in (3, 4)
    assert tag != "latest"


def test_ports_are_published_on_loopback_only(service: dict[str, Any]) -> None:
    ports = [str(p) for p in service["ports"]]
    assert "127.0.0.1:5672:5672" in ports
    assert "127.0.0.1:15672:15672" in ports
    for spec in ports:
        assert spec.startswith("127.0.0.1:"), f"{spec} would be reachable from the network"


def test_default_url_points_at_the_published_amqp_port(service: dict[str, Any]) -> None:
    url = urlsplit(rabbit.DEFAULT_URL)
    published = {int(str(spec).split(":")[1]) for spec in service["ports"]}
    assert url.hostname in ("localhost", "127.0.0.1") and url.port in published


def test_healthcheck_pings_the_node(service: dict[str, Any]) -> None:
    check = service["healthcheck"]
    test = check["test"]
    command = " ".join(test) if isinstance(test, list) else str(test)
    assert "rabbitmq-diagnostics" in command and "ping" in command
    for key in ("interval", "timeout", "retries"):
        assert key in check, f"healthcheck needs {key}"
    assert int(check["retries"]) >= 3


def test_data_lives_in_a_declared_named_volume(
    compose: dict[str, Any], service: dict[str, Any]
) -> None:
    mounts = {}
    for v in service["volumes"]:
        source, _, target = str(v).partition(":")
        mounts[target.split(":")[0]] = source
    assert "/var/lib/rabbitmq" in mounts, "durable messages must outlive the container"
    source = mounts["/var/lib/rabbitmq"]
    assert not source.startswith((".", "/")), "a named volume, not a bind mount"
    assert source in (compose.get("volumes") or {}), f"volume {source} is not declared"


def test_hostname_is_fixed(service: dict[str, Any]) -> None:
    # The node name is rabbit@<hostname> and the data dir is keyed by it.
    hostname = service.get("hostname")
    assert isinstance(hostname, str) and hostname
    assert "{{" not in hostname and "$" not in hostname, "must not vary per container"


# --- the three-node cluster (profile `cluster`) --------------------------------------------------

CLUSTER = ("rabbitmq-1", "rabbitmq-2", "rabbitmq-3")


@pytest.fixture(scope="module")
def nodes(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: compose["services"][name] for name in CLUSTER}


def _mounts(svc: dict[str, Any]) -> dict[str, str]:
    """target -> source of a service's volumes (short syntax: source:target[:mode])."""
    out = {}
    for v in svc["volumes"]:
        source, target, *_ = str(v).split(":")
        out[target] = source
    return out


def test_the_cluster_is_three_nodes_behind_a_profile_and_the_single_broker_stays_default(
    compose: dict[str, Any], service: dict[str, Any], nodes: dict[str, dict[str, Any]]
) -> None:
    assert "profiles" not in service, "plain `docker compose up -d` still starts one broker"
    for name, svc in nodes.items():
        assert svc["profiles"] == ["cluster"], name
        assert svc["image"] == service["image"], "the same image as the single broker"
    hostnames = [svc["hostname"] for svc in nodes.values()]
    assert len(set(hostnames)) == 3 and all("$" not in h for h in hostnames)


def test_every_node_publishes_its_own_ports_on_loopback_only(
    service: dict[str, Any], nodes: dict[str, dict[str, Any]]
) -> None:
    published = [str(p) for p in service["ports"]]
    for svc in nodes.values():
        ports = [str(p) for p in svc["ports"]]
        assert any(p.endswith(":5672") for p in ports), "AMQP"
        for spec in ports:
            assert spec.startswith("127.0.0.1:"), f"{spec} would be reachable from the network"
        published += ports
    host_ports = [spec.split(":")[1] for spec in published]
    assert len(host_ports) == len(set(host_ports)), "no two services on one host port"


def test_every_node_has_a_health_check_and_a_declared_volume_of_its_own(
    compose: dict[str, Any], nodes: dict[str, dict[str, Any]]
) -> None:
    data = []
    for name, svc in nodes.items():
        check = svc["healthcheck"]
        assert "rabbitmq-diagnostics" in " ".join(check["test"]), name
        assert int(check["retries"]) >= 3
        source = _mounts(svc)["/var/lib/rabbitmq"]
        assert source in (compose.get("volumes") or {}), f"{name}: volume {source} not declared"
        data.append(source)
    assert len(set(data)) == 3, "a node's data is its own"


def test_the_nodes_share_one_cookie_and_join_each_other(nodes: dict[str, dict[str, Any]]) -> None:
    cookies = {str(svc["environment"]["RABBITMQ_ERLANG_COOKIE"]) for svc in nodes.values()}
    assert len(cookies) == 1 and "" not in cookies, "one cookie, the same on every node"
    configs = set()
    for name, svc in nodes.items():
        mounts = _mounts(svc)
        conf = [src for target, src in mounts.items() if target.startswith("/etc/rabbitmq/")]
        assert len(conf) == 1, f"{name} mounts the cluster's rabbitmq.conf"
        configs.add(conf[0])
    assert len(configs) == 1
    path = COMPOSE.parent / configs.pop()
    settings = dict(
        (k.strip(), v.strip())
        for k, _, v in (
            line.partition("=")
            for line in path.read_text().splitlines()
            if line.strip() and not line.lstrip().startswith("#")
        )
    )
    assert settings["cluster_formation.peer_discovery_backend"] == "classic_config"
    peers = {v for k, v in settings.items() if k.startswith("cluster_formation.classic_config.")}
    assert peers == {f"rabbit@{svc['hostname']}" for svc in nodes.values()}
    # nodes 2 and 3 wait for node 1 to be healthy: they join it, not form clusters of their own
    for name in CLUSTER[1:]:
        assert nodes[name]["depends_on"]["rabbitmq-1"]["condition"] == "service_healthy"


@pytest.mark.parametrize(("name", "port"), [("redis", 6379), ("nats", 4222)])
def test_redis_and_nats_stand_behind_a_profile_durable_on_a_volume_on_loopback(
    compose: dict[str, Any], name: str, port: int
) -> None:
    from mqlab.processes import brokers

    svc = compose["services"][name]
    assert svc["profiles"] == ["streams"], "plain `docker compose up -d` starts RabbitMQ only"
    assert [str(p) for p in svc["ports"]] == [f"127.0.0.1:{port}:{port}"]
    default = {"redis": brokers.DEFAULT_URLS["redis"], "nats": brokers.DEFAULT_URLS["nats"]}
    assert urlsplit(default[name]).port == port  # serve and worker find it there
    (source,) = _mounts(svc).values()
    assert source in (compose.get("volumes") or {}), f"{name}: volume {source} not declared"
    assert int(svc["healthcheck"]["retries"]) >= 3
    command = " ".join(svc["command"])
    durable = "--appendonly yes --appendfsync always" if name == "redis" else "-js -sd /data"
    assert durable in command, "the lesson's durable setting, its data on the volume"
