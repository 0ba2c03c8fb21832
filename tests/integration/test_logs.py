"""Logs against the real control plane: kwok's kubelet serves every container's log
from one file (testenv/cluster pod-log appends to it), through the real apiserver."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator

import httpx
import orjson
import pytest
from starlette.testclient import TestClient

from tests.conftest import RealCluster, ServerProcess, wait_until
from tests.kube import kube_client
from tests.streamkit import append_log, open_streams, sse_events

NS = "team-a"
DEPLOY = "logs-agg"
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z ")


def deployment(replicas: int) -> dict[str, object]:
    labels = {"app": DEPLOY}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": DEPLOY, "namespace": NS, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {"name": "app", "image": "busybox"},
                        {"name": "sidecar", "image": "busybox"},
                    ],
                    "tolerations": [{"operator": "Exists"}],
                },
            },
        },
    }


@pytest.fixture(scope="module")
def agg_pods(cluster: RealCluster) -> Iterator[list[str]]:
    """A two-container Deployment of 2 pods of our own, Running, deleted afterwards."""
    kube = kube_client(cluster.kubeconfig("admin"))
    path = f"/apis/apps/v1/namespaces/{NS}/deployments"
    kube.delete(f"{path}/{DEPLOY}")
    wait_until(lambda: kube.get(f"{path}/{DEPLOY}").status_code == 404, 30, "old deployment gone")
    kube.post(path, json=deployment(2)).raise_for_status()
    names: list[str] = []

    def running() -> bool:
        pods = kube.get(
            f"/api/v1/namespaces/{NS}/pods", params={"labelSelector": f"app={DEPLOY}"}
        ).json()["items"]
        live = [
            p
            for p in pods
            if p["status"].get("phase") == "Running" and not p["metadata"].get("deletionTimestamp")
        ]
        names[:] = sorted(p["metadata"]["name"] for p in live)
        return len(live) == 2 and len(pods) == 2

    wait_until(running, 60, "2 running pods of the logs deployment")
    yield names
    kube.delete(f"{path}/{DEPLOY}", params={"propagationPolicy": "Background"})
    kube.close()


@pytest.fixture(scope="module")
def pod(agg_pods: list[str]) -> str:
    return agg_pods[0]


def logs_url(cluster: RealCluster, pod: str, what: str = "") -> str:
    return f"/c/{cluster.name}/namespaces/{NS}/pods/{pod}/logs{what}"


def marker(n: int = 3) -> list[str]:
    tag = uuid.uuid4().hex[:8]
    return [f"kl-logs-{tag}-{i}" for i in range(n)]


def test_page_json_lists_containers_and_urls(
    admin: TestClient, cluster: RealCluster, pod: str
) -> None:
    data = admin.get(logs_url(cluster, pod) + ".json").json()
    assert [c["name"] for c in data["containers"]] == ["app", "sidecar"]
    assert data["container"] == "app"  # the first app container, as kubectl picks
    assert data["options"]["follow"] is True and data["options"]["tailLines"] == 500
    assert data["access"]["logs"]["allowed"] is True
    assert data["streamUrl"].startswith(logs_url(cluster, pod, "/stream?container=app"))
    assert "follow=1" in data["streamUrl"]
    assert "follow=0" in data["downloadUrl"]


def test_page_html(admin: TestClient, cluster: RealCluster, pod: str) -> None:
    page = admin.get(logs_url(cluster, pod), params={"container": "sidecar", "timestamps": "1"})
    assert page.status_code == 200
    assert "data-log-view" in page.text and "data-stream-url=" in page.text
    assert '<option value="sidecar" selected>' in page.text
    assert 'name="timestamps" value="1" checked' in page.text
    assert "/-/static/dist/logs.js" in page.text


def test_tail_lines_show_the_newest(admin: TestClient, cluster: RealCluster, pod: str) -> None:
    lines = marker(3)
    append_log(cluster, *lines)
    text = admin.get(logs_url(cluster, pod, "/download"), params={"tailLines": "2"}).text
    assert text.splitlines() == lines[1:]


def test_download_is_plain_text_attachment(
    admin: TestClient, cluster: RealCluster, pod: str
) -> None:
    r = admin.get(logs_url(cluster, pod, "/download"), params={"container": "sidecar"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    assert f'filename="{pod}_sidecar.log"' in r.headers["content-disposition"]


def test_timestamps(admin: TestClient, cluster: RealCluster, pod: str) -> None:
    (line,) = marker(1)
    append_log(cluster, line)
    text = admin.get(
        logs_url(cluster, pod, "/download"), params={"tailLines": "1", "timestamps": "1"}
    ).text
    assert RFC3339.match(text) and text.rstrip().endswith(line)


def test_previous_instance(admin: TestClient, cluster: RealCluster, pod: str) -> None:
    text = admin.get(logs_url(cluster, pod, "/download"), params={"previous": "1"}).text
    assert "previous container log line" in text
    assert "kl-logs-" not in text


def test_since_seconds_passes_through(admin: TestClient, cluster: RealCluster, pod: str) -> None:
    (line,) = marker(1)
    append_log(cluster, line)
    text = admin.get(
        logs_url(cluster, pod, "/download"), params={"sinceSeconds": "600", "tailLines": "all"}
    ).text
    assert line in text


def test_sse_without_follow(admin: TestClient, cluster: RealCluster, pod: str) -> None:
    (line,) = marker(1)
    append_log(cluster, line)
    r = admin.get(
        logs_url(cluster, pod, "/stream"),
        params={"container": "sidecar", "tailLines": "1", "follow": "0"},
    )
    assert r.headers["content-type"].startswith("text/event-stream")
    events = sse_events(r.text)
    assert [e for e, _ in events] == ["ready", "line", "notice", "end"]
    assert events[0][1]["sources"] == [{"pod": pod, "container": "sidecar"}]
    assert events[1][1] == {"t": line, "s": 0}
    assert events[2][1]["level"] == "info"


def test_aggregated_logs_prefix_each_pod(
    admin: TestClient, cluster: RealCluster, agg_pods: list[str]
) -> None:
    (line,) = marker(1)
    append_log(cluster, line)
    url = f"/c/{cluster.name}/namespaces/{NS}/deployments.apps/{DEPLOY}/logs"
    data = admin.get(url + ".json").json()
    assert data["aggregated"] is True and data["pods"] == agg_pods
    assert [c["name"] for c in data["containers"]] == ["app", "sidecar"]
    text = admin.get(url + "/download", params={"tailLines": "1", "container": "sidecar"}).text
    assert sorted(text.splitlines()) == sorted(f"[{p}/sidecar] {line}" for p in agg_pods)
    events = sse_events(admin.get(url + "/stream", params={"tailLines": "1", "follow": "0"}).text)
    sources = events[0][1]["sources"]
    assert [s["pod"] for s in sources] == agg_pods
    got = sorted(d["s"] for e, d in events if e == "line")
    assert got == [0, 1]


def test_job_logs_find_the_jobs_pod(admin: TestClient, cluster: RealCluster) -> None:
    data = admin.get(f"/c/{cluster.name}/namespaces/{NS}/jobs.batch/migrate/logs.json").json()
    assert len(data["pods"]) == 1 and data["pods"][0].startswith("migrate-")


def test_kinds_without_pods_are_refused(admin: TestClient, cluster: RealCluster) -> None:
    r = admin.get(f"/c/{cluster.name}/namespaces/{NS}/configmaps/web-config/logs.json")
    assert r.status_code == 400
    assert "ConfigMap has no logs" in r.json()["error"]["message"]


def test_bad_input_is_a_clear_400(admin: TestClient, cluster: RealCluster, pod: str) -> None:
    r = admin.get(logs_url(cluster, pod) + ".json", params={"tailLines": "lots"})
    assert r.status_code == 400 and "tailLines" in r.json()["error"]["message"]
    r = admin.get(logs_url(cluster, pod) + ".json", params={"container": "nope"})
    assert r.status_code == 400
    assert "has no container 'nope'; it has app, sidecar" in r.json()["error"]["message"]


def test_bob_may_read_logs(
    client_for: Callable[[str], TestClient], cluster: RealCluster, pod: str
) -> None:
    bob = client_for("bob")
    data = bob.get(logs_url(cluster, pod) + ".json").json()
    assert data["access"]["logs"]["allowed"] is True
    assert (
        bob.get(logs_url(cluster, pod, "/download"), params={"tailLines": "1"}).status_code == 200
    )


def test_alice_is_refused_in_team_b(
    client_for: Callable[[str], TestClient], cluster: RealCluster
) -> None:
    alice = client_for("alice")
    with kube_client(cluster.kubeconfig("admin")) as kube:
        items = kube.get("/api/v1/namespaces/team-b/pods").json()["items"]
    name = items[0]["metadata"]["name"]
    base = f"/c/{cluster.name}/namespaces/team-b/pods/{name}/logs"
    page = alice.get(base + ".json")
    assert page.status_code == 403
    assert page.json()["error"]["refused"] == "get pods in namespace team-b"
    download = alice.get(
        base + "/download", params={"container": "api"}, headers={"Accept": "application/json"}
    )
    assert download.status_code == 403
    assert download.json()["error"]["refused"] == "get pods/log in namespace team-b"
    # The stream tells the browser why inside the stream (EventSource cannot read a 403).
    events = sse_events(alice.get(base + "/stream", params={"container": "api"}).text)
    notice = next(d for e, d in events if e == "notice")
    assert notice["status"] == 403 and "forbidden" in notice["message"]


# --- through a real `kubelantern serve` process -----------------------------------


def test_follow_sees_a_new_line_and_closes_upstream(
    server: ServerProcess, cluster: RealCluster, pod: str
) -> None:
    """The SSE stream relays a line appended after it started; leaving closes the upstream."""
    before = open_streams(cluster, "log")
    (line,) = marker(1)
    url = server.url + logs_url(cluster, pod, "/stream")
    params = {"container": "app", "tailLines": "0", "follow": "1"}
    with (
        httpx.Client(timeout=httpx.Timeout(10, read=20)) as http,
        http.stream("GET", url, params=params) as r,
    ):
        lines = r.iter_lines()
        assert next(lines).startswith("retry:")
        assert next(lines) == "event: ready"
        wait_until(lambda: open_streams(cluster, "log") > before, 15, "the upstream log stream")
        append_log(cluster, line)
        seen = []
        deadline = time.monotonic() + 20
        for text in lines:
            seen.append(text)
            if line in text or time.monotonic() > deadline:
                break
        assert seen[-1] == f'data: {{"t":"{line}","s":0}}'
    wait_until(lambda: open_streams(cluster, "log") <= before, 15, "the upstream to be closed")


def test_following_a_workload_picks_up_new_pods(
    server: ServerProcess, cluster: RealCluster, agg_pods: list[str]
) -> None:
    """Scaling up while following: the new pod is announced, then its lines arrive."""
    (line,) = marker(1)
    url = f"{server.url}/c/{cluster.name}/namespaces/{NS}/deployments.apps/{DEPLOY}/logs/stream"
    params = {"container": "app", "tailLines": "0", "follow": "1"}
    scale = f"/apis/apps/v1/namespaces/{NS}/deployments/{DEPLOY}/scale"
    with (
        kube_client(cluster.kubeconfig("admin")) as kube,
        httpx.Client(timeout=httpx.Timeout(10, read=30)) as http,
        http.stream("GET", url, params=params) as r,
    ):
        lines = r.iter_lines()
        assert next(lines).startswith("retry:")
        assert next(lines) == "event: ready"
        kube.patch(
            scale,
            content=b'{"spec":{"replicas":3}}',
            headers={"Content-Type": "application/merge-patch+json"},
        ).raise_for_status()
        try:
            new: dict[str, object] = {}
            deadline = time.monotonic() + 60
            event = ""
            for text in lines:
                if text.startswith("event: "):
                    event = text[7:]
                elif event == "source" and text.startswith("data: "):
                    new = orjson.loads(text[6:])
                    break
                assert time.monotonic() < deadline, "no new pod announced"
            assert new["pod"] not in agg_pods and new["container"] == "app" and new["s"] == 2
            wait_until(lambda: open_streams(cluster, "log") >= 3, 30, "the new pod's stream")
            append_log(cluster, line)
            for text in lines:
                if f'"t":"{line}","s":2' in text:
                    break
                assert time.monotonic() < deadline, "the new pod's line did not arrive"
        finally:
            kube.patch(
                scale,
                content=b'{"spec":{"replicas":2}}',
                headers={"Content-Type": "application/merge-patch+json"},
            )
