"""Two apps in one process share nothing: all mutable state lives on ``AppState``.

Tests (and a plugin's tests) build many apps in one process. Each must have its
own access-review cache, activity panel, drains and shutdown switch, and
shutting one down (its lifespan, or ``kubelantern serve``'s graceful shutdown)
must stop its own drains and streams only.
"""

from __future__ import annotations

import dataclasses
import queue
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import orjson
import pytest
import uvicorn
from starlette.testclient import TestClient

from kubelantern.app import create_app
from kubelantern.lifecycle import GracefulServer, Lifecycle
from kubelantern.web.state import AppState
from tests.conftest import RealCluster, free_port, make_settings, wait_until
from tests.integration.operate_kit import Kube, writes
from tests.kube import pod_manifest

pytestmark = pytest.mark.cluster

NS = "team-a"


def app_state_of(app: Any) -> AppState:
    """The AppState inside the middleware stack."""
    while not hasattr(getattr(app, "state", None), "kl"):
        app = app.app
    state: AppState = app.state.kl
    return state


@pytest.fixture
def blocked_node(kube: Kube) -> Iterator[str]:
    """A kwok node of our own with one pod that a PodDisruptionBudget never lets go."""
    name = f"state-node-{uuid.uuid4().hex[:6]}"
    kube.http.post(
        "/api/v1/nodes",
        json={
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": name,
                "annotations": {"kwok.x-k8s.io/node": "fake"},
                "labels": {"type": "kwok", "kubernetes.io/hostname": name},
            },
            "spec": {"taints": [{"key": "state-test", "value": name, "effect": "NoSchedule"}]},
            "status": {
                "allocatable": {"cpu": "8", "memory": "32Gi", "pods": "110"},
                "capacity": {"cpu": "8", "memory": "32Gi", "pods": "110"},
            },
        },
    ).raise_for_status()
    pod = pod_manifest(name, NS, app=name)
    pod["spec"]["nodeName"] = name  # type: ignore[index]
    pod_path = f"/api/v1/namespaces/{NS}/pods/{name}"
    pdb_path = f"/apis/policy/v1/namespaces/{NS}/poddisruptionbudgets/{name}"
    try:
        kube.http.post(f"/api/v1/namespaces/{NS}/pods", json=pod).raise_for_status()
        kube.http.post(
            f"/apis/policy/v1/namespaces/{NS}/poddisruptionbudgets",
            json={
                "apiVersion": "policy/v1",
                "kind": "PodDisruptionBudget",
                "metadata": {"name": name},
                "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": name}}},
            },
        ).raise_for_status()
        wait_until(
            lambda: kube.must(pdb_path).get("status", {}).get("currentHealthy") == 1,
            60,
            "the PodDisruptionBudget to count the pod",
        )
        yield name
    finally:
        kube.delete(pdb_path)
        kube.delete(pod_path + "?gracePeriodSeconds=0")
        wait_until(lambda: kube.http.get(pod_path).status_code == 404, 30, "the pod to go")
        kube.delete(f"/api/v1/nodes/{name}")


def test_two_apps_in_one_process_share_nothing(
    cluster: RealCluster, kube: Kube, blocked_node: str
) -> None:
    settings = make_settings(cluster.kubeconfig("admin"))
    one = TestClient(create_app(settings), raise_server_exceptions=False)
    two = TestClient(create_app(settings), raise_server_exceptions=False)
    first, second = app_state_of(one.app), app_state_of(two.app)
    for part in dataclasses.fields(AppState):
        value = getattr(first, part.name)
        if part.name in ("settings", "desktop") or value is None:
            continue  # the same settings, and plain values
        assert value is not getattr(second, part.name), f"AppState.{part.name} is shared"

    node_url = f"/c/{cluster.name}/nodes/{blocked_node}"
    with two:
        with one:
            # An access review answered for one app (the detail page's buttons)...
            assert one.get(f"{node_url}.json").status_code == 200
            assert len(first.access) > 0
            assert len(second.access) == 0  # ...is not an answer in the other.

            # A drain started in one app: blocked by the budget, so it keeps running.
            r = one.post(
                f"{node_url}/actions/drain",
                json={"force": True, "timeoutSeconds": 600},
                headers=writes(one),
            )
            assert r.status_code == 200, r.text
            drain = first.drains.current(cluster.name, blocked_node)
            assert drain is not None and drain.running
            assert second.drains.current(cluster.name, blocked_node) is None
            assert two.get(f"{node_url}/drain.json").json()["drain"] is None

            # Its audit entry (the cordon) is in one app's activity panel only.
            mine = one.get("/-/activity.json").json()["activity"]
            assert any(e["verb"] == "cordon" and e["name"] == blocked_node for e in mine)
            assert two.get("/-/activity.json").json()["activity"] == []
            assert len(second.audit.activity.recent([(cluster.name, "x")])) == 0

        # One app shut down: its drain is stopped, its switch is off...
        assert drain.task is not None and drain.task.done()
        assert drain.status == "failed" and "shut down" in drain.message
        assert first.lifecycle.shutting_down
        # ...and the other app is untouched.
        assert not second.lifecycle.shutting_down
        assert two.get(f"/c/{cluster.name}/namespaces/{NS}/pods.json").status_code == 200


@contextmanager
def serving(settings: Any) -> Iterator[tuple[str, GracefulServer]]:
    """An app served by ``kubelantern serve``'s server, in a thread of this process."""
    lifecycle = Lifecycle()
    app = create_app(settings, lifecycle=lifecycle)
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    server = GracefulServer(config, lifecycle)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, 30, "the server to start")
        yield f"http://127.0.0.1:{port}", server
    finally:
        server.should_exit = True
        thread.join(30)


@contextmanager
def sse(url: str) -> Iterator[queue.Queue[tuple[str, Any]]]:
    """Read an SSE stream in a thread: (event, data) items, then ("end", None)."""
    events: queue.Queue[tuple[str, Any]] = queue.Queue()

    def reader() -> None:
        try:
            with httpx.stream("GET", url, timeout=120) as resp:
                events.put(("status", resp.status_code))
                name = "message"
                for line in resp.iter_lines():
                    if line.startswith("event: "):
                        name = line[7:]
                    elif line.startswith("data: "):
                        events.put((name, orjson.loads(line[6:])))
                        name = "message"
        except httpx.HTTPError as exc:
            events.put(("error", repr(exc)))
        events.put(("end", None))

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    yield events


def next_event(events: queue.Queue[tuple[str, Any]], *names: str) -> tuple[str, Any]:
    while True:
        name, data = events.get(timeout=60)
        if name in names:
            return name, data


def test_shutting_one_app_down_leaves_the_other_apps_streams_open(
    cluster: RealCluster, kube: Kube
) -> None:
    settings = make_settings(cluster.kubeconfig("admin"))
    watch = f"/c/{cluster.name}/-/watch?resource=pods&namespaces={NS}"
    pod = f"state-live-{uuid.uuid4().hex[:6]}"
    with (
        serving(settings) as (url_one, server_one),
        serving(settings) as (url_two, _),
        sse(url_one + watch) as one,
        sse(url_two + watch) as two,
    ):
        for events in (one, two):
            assert next_event(events, "status") == ("status", 200)
            next_event(events, "ready")
        server_one.should_exit = True  # SIGTERM, as uvicorn sees it
        assert next_event(one, "end", "error") == ("end", None)  # its stream ended cleanly
        kube.http.post(f"/api/v1/namespaces/{NS}/pods", json=pod_manifest(pod, NS))
        try:
            # The other app's stream is still open and still delivers rows.
            name, row = next_event(two, "row", "end")
            while name == "row" and row.get("key") != f"{NS}/{pod}":
                name, row = next_event(two, "row", "end")
            assert name == "row", "the other app's stream ended too"
        finally:
            kube.delete(f"/api/v1/namespaces/{NS}/pods/{pod}?gracePeriodSeconds=0")
