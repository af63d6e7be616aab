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
