"""Port-forward's choices: which pod, which port, which local ports are refused."""

from __future__ import annotations

import errno
from typing import Any

import pytest

from kubelantern import errors
from kubelantern.streams.portforward import (
    check_local_port,
    container_port,
    pick_pod,
    port_refusal,
)


def pod(name: str, created: str, ready: bool = True, phase: str = "Running") -> dict[str, Any]:
    return {
        "metadata": {"name": name, "creationTimestamp": created},
        "spec": {"containers": [{"name": "c", "ports": [{"name": "http", "containerPort": 8080}]}]},
        "status": {
            "phase": phase,
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        },
    }


def test_pick_pod_prefers_ready_and_newest() -> None:
    pods = [
        pod("old", "2026-01-01T00:00:00Z"),
        pod("new", "2026-01-02T00:00:00Z"),
        pod("newest-unready", "2026-01-03T00:00:00Z", ready=False),
        pod("pending", "2026-01-04T00:00:00Z", phase="Pending"),
    ]
    chosen = pick_pod(pods)
    assert chosen is not None and chosen["metadata"]["name"] == "new"
    assert pick_pod([pod("x", "t", ready=False)]) is None


def test_container_port_resolves_names() -> None:
    p = pod("p", "t")
    assert container_port(p, 80) == 80
    assert container_port(p, "9090") == 9090
    assert container_port(p, "http") == 8080
    with pytest.raises(errors.BadRequest, match="no container port named 'grpc'"):
        container_port(p, "grpc")


@pytest.mark.parametrize("port", [0, 1024, 8080, 65535])
def test_allowed_local_ports(port: int) -> None:
    check_local_port(port)


@pytest.mark.parametrize(
    ("port", "why"), [(80, "privileged"), (1, "privileged"), (70000, "not a port")]
)
def test_refused_local_ports(port: int, why: str) -> None:
    with pytest.raises(errors.BadRequest, match=why):
        check_local_port(port)


def test_bind_errors_say_why() -> None:
    in_use = port_refusal(8080, OSError(errno.EADDRINUSE, "Address already in use"))
    assert in_use.status == 409 and "in use" in in_use.message
    denied = port_refusal(8080, OSError(errno.EACCES, "Permission denied"))
    assert "privileged" in denied.message
