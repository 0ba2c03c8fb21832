"""The example plugins (examples/plugins/) against the real control plane, as several users.

They are loaded the way an operator would load them, with ``--plugins-dir``;
every cluster call they make carries the user's own credentials, so admin,
alice (edit in team-a) and bob (view everywhere) each get what RBAC gives them.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from starlette.testclient import TestClient

from kubelantern.testing import csrf_headers, make_app
from tests.conftest import RealCluster, start_server, stop_server
from tests.integration.operate_kit import Kube, deploy_path, deployment, unique
from tests.integration.test_live import next_event, sse_events

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "plugins"
COST = "Cost/month (USD)"
App = Callable[..., TestClient]


@pytest.fixture(scope="module")
def app(cluster: RealCluster) -> Iterator[App]:
    """An app with the examples for a user (and settings), built once per combination."""
    clients: dict[tuple[str, tuple[str, ...]], TestClient] = {}

    def get(user: str, *settings: str) -> TestClient:
        key = (user, settings)
        if key not in clients:
            tc = make_app(
                kubeconfig=cluster.kubeconfig(user),
                plugins_dir=(str(EXAMPLES),),
                plugin_setting=settings,
            )
            tc.__enter__()
            clients[key] = tc
        return clients[key]

    yield get
    for tc in clients.values():
        tc.__exit__(None, None, None)


def with_requests(name: str, cpu: str, memory: str, replicas: int) -> dict[str, Any]:
    obj = deployment(name, replicas=replicas)
    container = obj["spec"]["template"]["spec"]["containers"][0]
    container["resources"] = {"requests": {"cpu": cpu, "memory": memory}}
    return obj


def cells_by_name(data: dict[str, Any], column: str) -> dict[str, Any]:
    index = [c["name"] for c in data["columns"]].index(column)
    return {row["name"]: row["cells"][index] for row in data["rows"]}


# ---- cost: a list column ---------------------------------------------------------------


def test_cost_column_from_requests_and_replicas(app: App, cluster: RealCluster) -> None:
    url = f"/c/{cluster.name}/namespaces/team-a/deployments.apps"
    data = app("admin").get(url + ".json").json()
    names = [c["name"] for c in data["columns"]]
    assert names.index(COST) == names.index("Age") - 1
    # web: 3 replicas x (0.1 core x 25 + 128 MiB x 3.5/GiB) = 7.5 + 1.3125
    assert cells_by_name(data, COST)["web"] == 8.81
    page = app("admin").get(url).text
    assert f'data-sort-key="{COST}"' in page
    assert "<td>8.81</td>" in page
    statefulsets = app("admin").get(f"/c/{cluster.name}/namespaces/team-a/statefulsets.apps.json")
    assert cells_by_name(statefulsets.json(), COST)["db"] == 0.0  # no requests
    pods = app("admin").get(f"/c/{cluster.name}/namespaces/team-a/pods.json").json()
    assert COST not in [c["name"] for c in pods["columns"]]


def test_cost_prices_are_settings(app: App, cluster: RealCluster) -> None:
    tc = app("alice", "cost.cpu_per_core_month=100", "cost.currency=EUR")
    data = tc.get(f"/c/{cluster.name}/namespaces/team-a/deployments.apps.json").json()
    assert cells_by_name(data, "Cost/month (EUR)")["web"] == 31.31  # 30 + 1.3125
    settings = tc.get("/-/plugins/cost.json").json()["plugin"]["settings"]
    assert {s["name"]: s["source"] for s in settings}["currency"] == "plugin_setting"


def test_cost_column_sorts(app: App, cluster: RealCluster, kube: Kube) -> None:
    name = unique("ops-cost")
    kube.apply(with_requests(name, "2", "1Gi", 2), deploy_path("team-a", name))
    try:
        query = urllib.parse.urlencode({"sort": f"-{COST}"})
        url = f"/c/{cluster.name}/namespaces/team-a/deployments.apps.json?{query}"
        data = app("admin").get(url).json()
        costs = cells_by_name(data, COST)
        assert costs[name] == 107.0  # 2 x (2 x 25 + 1 x 3.5)
        ordered = [row["name"] for row in data["rows"]]
        assert ordered.index(name) < ordered.index("web")
    finally:
        kube.delete(deploy_path("team-a", name))


def test_live_rows_carry_the_cost_column(cluster: RealCluster, kube: Kube) -> None:
    server = start_server(
        "--kubeconfig", cluster.kubeconfig("admin"), "--plugins-dir", str(EXAMPLES)
    )
    name = unique("ops-live-cost")
    try:
        listing = httpx.get(
            f"{server.url}/c/{cluster.name}/namespaces/team-a/deployments.apps.json"
        ).json()
        with sse_events(server.url + listing["watchUrl"]) as events:
            assert next_event(events, "status")["code"] == 200
            next_event(events, "ready")
            kube.apply(with_requests(name, "500m", "512Mi", 4), deploy_path("team-a", name))
            row = next_event(events, "row", f"team-a/{name}")
            assert "<td>57.0</td>" in str(row["html"])  # 4 x (0.5 x 25 + 0.5 x 3.5)
    finally:
        kube.delete(deploy_path("team-a", name))
        stop_server(server)


# ---- widgets: a page for a custom resource -------------------------------------------------


def test_widgets_dashboard_and_its_json_twin(app: App, cluster: RealCluster) -> None:
    url = f"/-/p/widgets/c/{cluster.name}"
    data = app("admin").get(url + ".json").json()
    assert data["count"] == 3 and data["totalSize"] == 16
    assert data["byColor"] == {"blue": 1, "green": 1, "red": 1}
    assert data["byPhase"] == {"Pending": 1, "Ready": 2}
    page = app("admin").get(url)
    assert page.status_code == 200
    assert "data-count><strong>3</strong>" in page.text
    assert f'href="/c/{cluster.name}/namespaces/team-b/widgets.example.com/green"' in page.text
    assert '<link rel="stylesheet" href="/-/p/widgets/static/widgets.css"' in page.text
    assert 'class="sidebar"' in page.text  # the cluster's sidebar, as on its own pages
    assert app("admin").get("/-/p/widgets/static/widgets.css").status_code == 200
    one = app("admin").get(url + ".json?namespace=team-a").json()
    assert [w["name"] for w in one["widgets"]] == ["big-red", "small-blue"]


def test_widgets_dashboard_in_the_sidebar(app: App, cluster: RealCluster) -> None:
    page = app("admin").get(f"/c/{cluster.name}/namespaces/team-a/pods").text
    custom = page.split("<h3>Custom: example.com</h3>")[1].split("</ul>")[0]
    assert custom.index("Widgets dashboard") < custom.index("Widgets<")  # position 0
    assert f'href="/-/p/widgets/c/{cluster.name}"' in custom
    denied = app("alice").get(f"/c/{cluster.name}/namespaces/team-a/pods").text
    entry = denied.split(f'href="/-/p/widgets/c/{cluster.name}"')[0].rsplit("<li", 1)[1]
    assert 'class="denied"' in entry  # alice may not list widgets: the lock


def test_widgets_dashboard_refuses_with_the_users_rights(app: App, cluster: RealCluster) -> None:
    r = app("alice").get(f"/-/p/widgets/c/{cluster.name}.json?namespace=team-a")
    assert r.status_code == 403
    assert 'cannot list resource "widgets"' in r.json()["refused"]
    page = app("alice").get(f"/-/p/widgets/c/{cluster.name}").text
    assert "data-refused" in page and "Pick a namespace" in page


# ---- dashboards: a detail section -----------------------------------------------------------


def web_pod(tc: TestClient, cluster: RealCluster) -> str:
    url = f"/c/{cluster.name}/namespaces/team-a/pods.json?labelSelector=app%3Dweb"
    return str(tc.get(url).json()["rows"][0]["name"])


def test_dashboard_links_on_a_pod(app: App, cluster: RealCluster) -> None:
    tc = app("bob")
    pod = web_pod(tc, cluster)
    url = f"/c/{cluster.name}/namespaces/team-a/pods/{pod}"
    page = tc.get(url).text
    assert page.index('id="metadata"') < page.index('id="dashboards"') < page.index('id="events"')
    grafana = (
        f"https://grafana.example.com/d/k8s-pod?var-cluster={cluster.name}"
        f"&amp;var-namespace=team-a&amp;var-pod={pod}"
    )
    assert f'href="{grafana}"' in page
    sections = tc.get(url + ".json").json()["pluginSections"]
    assert sections[0]["id"] == "dashboards" and sections[0]["after"] == "metadata"
    assert [link["title"] for link in sections[0]["data"]["links"]] == ["Grafana", "Logs"]
    deployment_page = tc.get(f"/c/{cluster.name}/namespaces/team-a/deployments.apps/web").text
    assert 'id="dashboards"' not in deployment_page


def test_dashboard_links_are_a_setting(app: App, cluster: RealCluster) -> None:
    tc = app("bob", "dashboards.links=Runbook=https://runbooks.example.com/{namespace}/{app}")
    pod = web_pod(tc, cluster)
    data = tc.get(f"/c/{cluster.name}/namespaces/team-a/pods/{pod}.json").json()
    links = data["pluginSections"][0]["data"]["links"]
    assert links == [{"title": "Runbook", "url": "https://runbooks.example.com/team-a/web"}]


# ---- annotate: an object action with a confirmation -------------------------------------------


def test_annotate_asks_first_then_runs_as_the_user(
    app: App, cluster: RealCluster, kube: Kube
) -> None:
    name = unique("ops-stamp")
    kube.apply(deployment(name), deploy_path("team-a", name))
    tc = app("alice")
    url = f"/c/{cluster.name}/namespaces/team-a/deployments.apps/{name}"
    try:
        offered = {a["name"]: a for a in tc.get(url + ".json").json()["actions"]}
        assert offered["annotate.stamp"]["allowed"] is True
        assert (
            offered["annotate.stamp"]["confirm"]
            == f"Annotate Deployment {name} with the current time?"
        )
        page = tc.get(url).text
        assert f'hx-confirm="Annotate Deployment {name} with the current time?"' in page
        assert 'data-action="annotate.stamp"' in page
        r = tc.post(
            url + "/actions/annotate.stamp",
            json={},
            headers={**csrf_headers(tc), "Accept": "application/json"},
        )
        assert r.status_code == 200, r.text
        assert r.json()["message"].startswith(f"Annotated Deployment {name} with ")
        annotations = kube.must(deploy_path("team-a", name))["metadata"]["annotations"]
        assert annotations["kubelantern.example/touched-at"] == r.json()["time"]
        fragment = tc.post(
            url + "/actions/annotate.stamp",
            data={"_csrf": csrf_headers(tc)["X-CSRF-Token"]},
            headers={"HX-Request": "true"},
        )
        assert fragment.status_code == 200 and "Annotated Deployment" in fragment.text
        activity = tc.get("/-/activity.json").json()
        assert any(
            e["verb"] == "annotate.stamp" and e["name"] == name for e in activity["activity"]
        )
    finally:
        kube.delete(deploy_path("team-a", name))


def test_annotate_is_refused_to_bob_with_a_clear_message(
    app: App, cluster: RealCluster, kube: Kube
) -> None:
    name = unique("ops-stamp-bob")
    kube.apply(deployment(name), deploy_path("team-a", name))
    tc = app("bob")
    url = f"/c/{cluster.name}/namespaces/team-a/deployments.apps/{name}"
    try:
        offered = {a["name"]: a for a in tc.get(url + ".json").json()["actions"]}
        reason = "RBAC does not let you patch deployments.apps in namespace team-a"
        assert offered["annotate.stamp"]["allowed"] is False
        assert offered["annotate.stamp"]["reason"] == reason
        assert 'data-denied="annotate.stamp"' in tc.get(url).text
        r = tc.post(
            url + "/actions/annotate.stamp",
            json={},
            headers={**csrf_headers(tc), "Accept": "application/json"},
        )
        assert r.status_code == 403
        assert r.json()["error"]["message"] == reason
        meta = kube.must(deploy_path("team-a", name))["metadata"]
        assert "kubelantern.example/touched-at" not in (meta.get("annotations") or {})
    finally:
        kube.delete(deploy_path("team-a", name))


def test_no_plugin_action_on_a_read_only_cluster(cluster: RealCluster) -> None:
    with make_app(
        kubeconfig=cluster.kubeconfig("admin"), plugins_dir=(str(EXAMPLES),), read_only=True
    ) as tc:
        url = f"/c/{cluster.name}/namespaces/team-a/deployments.apps/web"
        assert tc.get(url + ".json").json()["actions"] == []
        r = tc.post(
            url + "/actions/annotate.stamp",
            json={},
            headers={**csrf_headers(tc), "Accept": "application/json"},
        )
        assert r.status_code == 403 and r.json()["error"]["title"] == "Read-only"


# ---- clusters_file: a cluster provider ---------------------------------------------------------


def test_clusters_from_a_registry_file(cluster: RealCluster, tmp_path: Path) -> None:
    sa = yaml.safe_load(Path(cluster.kubeconfig("kubelantern")).read_text())
    server = sa["clusters"][0]["cluster"]["server"]
    ca = sa["clusters"][0]["cluster"].get("certificate-authority-data")
    (tmp_path / "ca.crt").write_bytes(__import__("base64").b64decode(ca))
    (tmp_path / "sa.token").write_text(sa["users"][0]["user"]["token"])
    registry = tmp_path / "clusters.yaml"
    both = {
        "clusters": [
            {"kubeconfig": cluster.kubeconfig("admin")},
            {
                "name": "registry-sa",
                "server": server,
                "token_file": "sa.token",
                "ca_file": "ca.crt",
            },
        ]
    }
    registry.write_text(yaml.safe_dump(both))
    with make_app(
        plugins_dir=(str(EXAMPLES),), plugin_setting=(f"clusters_file.path={registry}",)
    ) as tc:
        listed = {c["name"]: c for c in tc.get("/clusters.json").json()["clusters"]}
        assert set(listed) == {cluster.name, "registry-sa"}
        assert listed["registry-sa"]["source"] == "plugin clusters_file"
        deployments = tc.get(f"/c/{cluster.name}/namespaces/team-a/deployments.apps.json")
        assert deployments.status_code == 200 and "web" in cells_by_name(deployments.json(), "Name")
        version = tc.get("/c/registry-sa/").status_code
        assert version == 200  # the token works (the overview degrades where RBAC says no)
        registry.write_text(yaml.safe_dump({"clusters": both["clusters"][:1]}))
        r = tc.post(
            "/-/plugins/refresh", headers={**csrf_headers(tc), "Accept": "application/json"}
        )
        assert r.json()["refreshed"] == {
            "added": [],
            "removed": ["registry-sa"],
            "kept": [cluster.name],
        }
        assert tc.get("/c/registry-sa/").status_code == 404
        registry.unlink()  # unreadable: reported, and the clusters it gave stay
        r = tc.post(
            "/-/plugins/refresh", headers={**csrf_headers(tc), "Accept": "application/json"}
        )
        assert r.json()["refreshed"]["removed"] == []
        assert [c["name"] for c in tc.get("/clusters.json").json()["clusters"]] == [cluster.name]
        problems = tc.get("/-/plugins.json").json()["problems"]
        assert problems[-1]["plugin"] == "clusters_file"
        assert "FileNotFoundError" in problems[-1]["message"]
