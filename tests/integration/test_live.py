"""Live lists over SSE from the real server process: rows appear, change, disappear."""

from __future__ import annotations

import queue
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import orjson

from tests.conftest import RealCluster, ServerProcess, wait_until
from tests.kube import kube_client, pod_manifest


@contextmanager
def sse_events(url: str, **headers: str) -> Iterator[queue.Queue[tuple[str, dict[str, object]]]]:
    """Read an SSE stream in a thread; yield a queue of (event, data)."""
    events: queue.Queue[tuple[str, dict[str, object]]] = queue.Queue()
    stop = threading.Event()

    def reader() -> None:
        with httpx.stream("GET", url, headers=headers, timeout=60) as resp:
            events.put(("status", {"code": resp.status_code}))
            name = "message"
            for line in resp.iter_lines():
                if stop.is_set():
                    return
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: "):
                    events.put((name, orjson.loads(line[6:])))
                    name = "message"

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    try:
        yield events
    finally:
        stop.set()


def next_event(
    events: queue.Queue[tuple[str, dict[str, object]]], name: str, key: str | None = None
) -> dict[str, object]:
    """The next event of that name (and key), within 30 s."""
    while True:
        ev, data = events.get(timeout=30)
        if ev == name and (key is None or data.get("key") == key):
            return data


def test_rows_appear_change_and_disappear(server: ServerProcess, cluster: RealCluster) -> None:
    listing = httpx.get(f"{server.url}/c/{cluster.name}/namespaces/team-b/pods.json").json()
    url = server.url + listing["watchUrl"]
    with sse_events(url) as events, kube_client(cluster.kubeconfig()) as kube:
        assert next_event(events, "status")["code"] == 200
        next_event(events, "ready")
        kube.post("/api/v1/namespaces/team-b/pods", json=pod_manifest("live-1", "team-b"))
        try:
            added = next_event(events, "row", "team-b/live-1")
            assert 'data-name="live-1"' in str(added["html"])
            kube.patch(
                "/api/v1/namespaces/team-b/pods/live-1",
                content=b'{"metadata":{"labels":{"changed":"yes"}}}',
                headers={"Content-Type": "application/merge-patch+json"},
            )
            assert next_event(events, "row", "team-b/live-1")["type"] == "MODIFIED"
        finally:
            kube.delete("/api/v1/namespaces/team-b/pods/live-1?gracePeriodSeconds=0")
        next_event(events, "delete", "team-b/live-1")


def test_reconnect_resumes_from_last_event_id(server: ServerProcess, cluster: RealCluster) -> None:
    listing = httpx.get(f"{server.url}/c/{cluster.name}/namespaces/team-b/pods.json").json()
    with kube_client(cluster.kubeconfig()) as kube:
        # A change made while no stream is open...
        kube.post("/api/v1/namespaces/team-b/pods", json=pod_manifest("live-2", "team-b"))
        try:
            url = server.url + listing["watchUrl"]
            # ...is delivered when the browser reconnects with the list's resourceVersion.
            with sse_events(url, **{"Last-Event-ID": listing["resourceVersion"]}) as events:
                next_event(events, "row", "team-b/live-2")
        finally:
            kube.delete("/api/v1/namespaces/team-b/pods/live-2?gracePeriodSeconds=0")


def test_detail_watch_reports_changes(server: ServerProcess, cluster: RealCluster) -> None:
    url = (
        f"{server.url}/c/{cluster.name}/-/watch?resource=configmaps&namespaces=team-b&name=live-cm"
    )
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "live-cm"}, "data": {}}
    with kube_client(cluster.kubeconfig()) as kube:
        kube.post("/api/v1/namespaces/team-b/configmaps", json=body)
        try:
            with sse_events(url) as events:
                next_event(events, "ready")
                kube.patch(
                    "/api/v1/namespaces/team-b/configmaps/live-cm",
                    content=b'{"data":{"k":"v"}}',
                    headers={"Content-Type": "application/merge-patch+json"},
                )
                assert next_event(events, "changed", "team-b/live-cm")["type"] == "MODIFIED"
                kube.delete("/api/v1/namespaces/team-b/configmaps/live-cm")
                next_event(events, "deleted", "team-b/live-cm")
        finally:
            kube.delete("/api/v1/namespaces/team-b/configmaps/live-cm")


def test_forbidden_watch_is_refused_before_streaming(
    cluster: RealCluster,
) -> None:
    from tests.conftest import start_server, stop_server

    srv = start_server("--kubeconfig", cluster.kubeconfig("bob"))
    try:
        resp = httpx.get(
            f"{srv.url}/c/{cluster.name}/-/watch.json?resource=secrets&namespaces=team-a"
        )
        assert resp.status_code == 403
        assert resp.json()["error"]["resource"] == "secrets"
    finally:
        stop_server(srv)


def open_watches(cluster: RealCluster, resource: str) -> int:
    """Namespace-scoped watches of ``resource`` the API server has open right now."""
    with kube_client(cluster.kubeconfig()) as kube:
        text = kube.get("/metrics").text
    pattern = re.compile(
        r'^apiserver_longrunning_requests\{[^}]*resource="' + resource + r'"[^}]*'
        r'scope="namespace"[^}]*verb="WATCH"[^}]*\} (?P<v>[0-9.e+]+)$',
        re.M,
    )
    return sum(int(float(m["v"])) for m in pattern.finditer(text))


def test_closing_the_tab_closes_the_upstream_watch(
    server: ServerProcess, cluster: RealCluster
) -> None:
    before = open_watches(cluster, "serviceaccounts")
    url = f"{server.url}/c/{cluster.name}/-/watch?resource=serviceaccounts&namespaces=team-b"
    with sse_events(url) as events:
        next_event(events, "ready")
        wait_until(lambda: open_watches(cluster, "serviceaccounts") > before, 30, "the watch")
    wait_until(lambda: open_watches(cluster, "serviceaccounts") == before, 30, "the watch to close")
