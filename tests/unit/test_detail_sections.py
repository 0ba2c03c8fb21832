"""Pure parts of the detail sections and overview: quantities, selectors, requests,
rollout words, secret redaction. The same code is exercised against the real control
plane in tests/integration/test_detail*.py; these cover the cases the seed lacks."""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

import pytest

from kubelantern.resources.quantity import format_bytes, format_cpu, parse_quantity
from kubelantern.resources.relations import pod_requests, pod_status, selector_string
from kubelantern.resources.sections.config import LAST_APPLIED, redact_secret, reveal
from kubelantern.resources.sections.pods import describe_probe
from kubelantern.resources.sections.workloads import (
    daemonset_rollout,
    deployment_rollout,
    statefulset_rollout,
)
from kubelantern.web.views.overview import Listing, capacity_part


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("100m", Decimal("0.1")),
        ("2", Decimal(2)),
        ("128Mi", Decimal(128 * 2**20)),
        ("1k", Decimal(1000)),
        ("2e3", Decimal(2000)),
        ("1.5Gi", Decimal(3 * 2**29)),
        ("junk", Decimal(0)),
        ("", Decimal(0)),
    ],
)
def test_parse_quantity(text: str, value: Decimal) -> None:
    assert parse_quantity(text) == value


def test_format_quantities() -> None:
    assert format_cpu(Decimal("1.3")) == "1300m"
    assert format_cpu(Decimal(64)) == "64"
    assert format_cpu(Decimal("0.05")) == "50m"
    assert format_bytes(Decimal(2**31)) == "2Gi"
    assert format_bytes(Decimal(3 * 2**29)) == "1.5Gi"
    assert format_bytes(Decimal(512)) == "512"


def test_selector_string() -> None:
    sel = {
        "matchLabels": {"app": "web"},
        "matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["a", "b"]},
            {"key": "canary", "operator": "DoesNotExist"},
            {"key": "zone", "operator": "Exists"},
        ],
    }
    assert selector_string(sel) == "app=web,tier in (a,b),!canary,zone"
    assert selector_string({}) == ""
    assert selector_string(None) is None


def container(cpu: str, memory: str, **extra: Any) -> dict[str, Any]:
    return {"resources": {"requests": {"cpu": cpu, "memory": memory}}, **extra}


def test_pod_requests_count_init_containers_and_sidecars() -> None:
    pod = {
        "spec": {
            "initContainers": [
                container("100m", "64Mi", restartPolicy="Always"),  # sidecar: runs throughout
                container("2", "1Gi"),  # the largest init container
            ],
            "containers": [container("250m", "128Mi"), container("250m", "128Mi")],
            "overhead": {"cpu": "10m"},
        }
    }
    got = pod_requests(pod)
    # max(0.5 + 0.1 sidecar, 2 + 0.1 sidecar) + 10m overhead
    assert got["cpu"] == Decimal("2.11")
    assert got["memory"] == Decimal(2**30 + 64 * 2**20)


def test_pod_status_words() -> None:
    init_failed = {
        "status": {
            "phase": "Pending",
            "initContainerStatuses": [
                {"state": {"terminated": {"exitCode": 1, "reason": "Error"}}}
            ],
        }
    }
    assert pod_status(init_failed) == "Init:Error"
    crash = {
        "status": {
            "phase": "Running",
            "containerStatuses": [{"state": {"waiting": {"reason": "CrashLoopBackOff"}}}],
        }
    }
    assert pod_status(crash) == "CrashLoopBackOff"
    deleting = {"metadata": {"deletionTimestamp": "2024-01-01T00:00:00Z"}, "status": {}}
    assert pod_status(deleting) == "Terminating"


def test_deployment_rollout_in_progress() -> None:
    d: dict[str, Any] = {
        "metadata": {"name": "web", "generation": 2},
        "spec": {"replicas": 3},
        "status": {"observedGeneration": 2, "replicas": 4, "updatedReplicas": 1},
    }
    assert deployment_rollout(d)["message"] == (
        'Waiting for deployment "web" rollout to finish: '
        "1 out of 3 new replicas have been updated..."
    )
    d["status"].update(updatedReplicas=3, availableReplicas=2)
    assert "1 old replicas are pending termination" in deployment_rollout(d)["message"]
    d["status"].update(replicas=3)
    assert "2 of 3 updated replicas are available" in deployment_rollout(d)["message"]
    d["metadata"]["generation"] = 3
    assert deployment_rollout(d) == {
        "message": "Waiting for deployment spec update to be observed...",
        "done": False,
    }


def test_daemonset_and_statefulset_rollout() -> None:
    ds = {
        "metadata": {"name": "ne", "generation": 1},
        "spec": {"updateStrategy": {"type": "OnDelete"}},
        "status": {"observedGeneration": 1},
    }
    assert daemonset_rollout(ds)["done"] is None
    sts: dict[str, Any] = {
        "metadata": {"name": "db", "generation": 1},
        "spec": {"replicas": 3, "updateStrategy": {"type": "RollingUpdate"}},
        "status": {"observedGeneration": 1, "readyReplicas": 1},
    }
    assert statefulset_rollout(sts)["message"] == "Waiting for 2 pods to be ready..."
    sts["status"].update(
        readyReplicas=3, updatedReplicas=3, currentRevision="db-1", updateRevision="db-1"
    )
    assert statefulset_rollout(sts) == {
        "message": "statefulset rolling update complete 3 pods at revision db-1...",
        "done": True,
    }


def test_describe_probe() -> None:
    probe = {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 5}
    assert describe_probe(probe) == (
        "http-get http://:8080/healthz delay=0s timeout=1s period=5s #success=1 #failure=3"
    )


def test_secret_redaction_covers_last_applied() -> None:
    secret: dict[str, Any] = {
        "kind": "Secret",
        "metadata": {"name": "s", "annotations": {LAST_APPLIED: '{"data":{"k":"c2VjcmV0"}}'}},
        "data": {
            "k": base64.b64encode(b"secret").decode(),
            "bin": base64.b64encode(b"\xff\x00").decode(),
        },
    }
    shown = redact_secret(secret)
    assert shown["data"] == {"k": "<hidden: 6 bytes>", "bin": "<hidden: 2 bytes>"}
    assert "c2VjcmV0" not in str(shown)
    assert secret["data"]["k"] == "c2VjcmV0"  # the original is not modified
    assert reveal(secret, "k") == {
        "key": "k",
        "size": 6,
        "binary": False,
        "value": "secret",
        "base64": None,
    }
    binary = reveal(secret, "bin")
    assert binary is not None and binary["binary"] is True and binary["value"] is None
    assert reveal(secret, "missing") is None


def test_capacity_is_not_shown_for_a_namespace_limited_view() -> None:
    nodes, pods = Listing(), Listing()
    nodes.items = [{"status": {"allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"}}}]
    pods.namespaces = ["team-a"]
    part = capacity_part(nodes, pods)
    assert part["forbidden"] is True and "all namespaces" in part["error"]
    pods.namespaces = None
    pods.items = [
        {"spec": {"containers": [container("500m", "1Gi")]}, "status": {"phase": "Running"}}
    ]
    pods.items.append(
        {"spec": {"containers": [container("1", "1Gi")]}, "status": {"phase": "Succeeded"}}
    )
    part = capacity_part(nodes, pods)
    assert part["resources"]["cpu"] == {"requested": "500m", "allocatable": "4", "percent": 12.5}
    assert part["resources"]["pods"]["requested"] == "1"
