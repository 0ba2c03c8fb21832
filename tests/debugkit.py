"""A pod of a test's own in team-a, running on a kwok node, for debug containers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from tests.conftest import wait_until
from tests.integration.operate_kit import Kube, unique


def pod_path(name: str, ns: str = "team-a") -> str:
    return f"/api/v1/namespaces/{ns}/pods/{name}"


@contextmanager
def a_running_pod(kube: Kube, prefix: str = "ops-debug") -> Iterator[str]:
    name = unique(prefix)
    pod = {
        "metadata": {"name": name},
        "spec": {
            "nodeName": "kwok-node-0",
            "tolerations": [{"operator": "Exists"}],
            "containers": [{"name": "main", "image": "busybox:1.36"}],
        },
    }
    kube.http.post("/api/v1/namespaces/team-a/pods", json=pod).raise_for_status()
    try:
        wait_until(
            lambda: (kube.must(pod_path(name)).get("status") or {}).get("phase") == "Running",
            timeout=60,
            what="the pod runs",
        )
        yield name
    finally:
        kube.delete(pod_path(name), gracePeriodSeconds="0")
