"""Helpers of the logs and terminal tests: append to the pods' log, read SSE, watch the
API server's own count of open log/exec streams."""

from __future__ import annotations

import re
from typing import Any

import orjson

from tests.conftest import RealCluster, run_cluster
from tests.kube import kube_client

LONGRUNNING = re.compile(
    r'^apiserver_longrunning_requests\{[^}]*subresource="(?P<sub>[a-z]+)"[^}]*verb="CONNECT"'
    r"[^}]*\} (?P<value>[0-9.e+]+)$",
    re.M,
)


def append_log(cluster: RealCluster, *lines: str) -> None:
    """Append lines to the file kwok serves as every pod's log (testenv/cluster pod-log)."""
    run_cluster("pod-log", "--name", cluster.name, *lines, timeout=60)


def open_streams(cluster: RealCluster, subresource: str) -> int:
    """How many ``pods/<subresource>`` connections the API server has open right now."""
    with kube_client(cluster.kubeconfig("admin")) as kube:
        text = kube.get("/metrics").text
    return sum(
        int(float(m["value"])) for m in LONGRUNNING.finditer(text) if m["sub"] == subresource
    )


def sse_events(text: str) -> list[tuple[str, Any]]:
    """(event, data) of a complete SSE body; comments and retry lines are skipped."""
    out = []
    for block in text.split("\n\n"):
        event, data = "message", None
        for line in block.splitlines():
            if line.startswith("event: "):
                event = line[len("event: ") :]
            elif line.startswith("data: "):
                data = orjson.loads(line[len("data: ") :])
        if data is not None:
            out.append((event, data))
    return out


def web_pods(cluster: RealCluster) -> list[str]:
    with kube_client(cluster.kubeconfig("admin")) as kube:
        items = kube.get(
            "/api/v1/namespaces/team-a/pods", params={"labelSelector": "app=web"}
        ).json()["items"]
    return sorted(p["metadata"]["name"] for p in items)
