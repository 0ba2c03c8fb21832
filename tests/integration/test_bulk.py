"""Bulk delete and restart: each object decided by the API server, each audited.

alice may edit in team-a only; bob may only read.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from kubelantern.app import create_app
from tests.conftest import RealCluster, make_settings
from tests.integration.operate_kit import (
    Kube,
    a_deployment,
    deploy_path,
    form_token,
    unique,
    writes,
)

pytestmark = pytest.mark.cluster


def cm_path(ns: str, name: str) -> str:
    return f"/api/v1/namespaces/{ns}/configmaps/{name}"


@pytest.fixture
def configmaps(kube: Kube) -> Iterator[list[tuple[str, str]]]:
    """Two ConfigMaps in team-a and one in team-b, deleted after the test if still there."""
    made = [
        ("team-a", unique("ops-bulk")),
        ("team-a", unique("ops-bulk")),
        ("team-b", unique("ops-bulk")),
    ]
    for ns, name in made:
        kube.apply(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}},
            cm_path(ns, name),
        )
    yield made
    for ns, name in made:
        kube.delete(cm_path(ns, name))


def bulk(tc: TestClient, cluster: RealCluster, **form: Any) -> Any:
    return tc.post(
        f"/c/{cluster.name}/-/bulk",
        data={"_csrf": form_token(tc), **form},
        headers={"Accept": "application/json"},
    )


def test_bulk_delete_has_a_result_per_object(
    alice: TestClient, cluster: RealCluster, kube: Kube, configmaps: list[tuple[str, str]]
) -> None:
    keys = [f"{ns}/{name}" for ns, name in configmaps]
    r = bulk(alice, cluster, action="delete", resource="configmaps", key=keys)
    assert r.status_code == 200, r.text
    data = r.json()
    by_name = {e["name"]: e for e in data["results"]}
    (a1, _), (a2, _), (b, _) = [(n, ns) for ns, n in configmaps]
    assert by_name[a1]["result"] == by_name[a2]["result"] == "ok"
    assert by_name[b]["result"] == "refused" and by_name[b]["status"] == 403
    assert "team-b" in by_name[b]["message"]
    assert data["ok"] == 2 and data["notOk"] == 1
    for ns, name in configmaps[:2]:
        kube.wait_gone(cm_path(ns, name))
    assert kube.get(cm_path(*configmaps[2])) is not None

    activity = alice.get("/-/activity.json").json()["activity"]
    mine = {(e["name"], e["verb"], e["result"]) for e in activity}
    assert {(a1, "delete", "ok"), (a2, "delete", "ok"), (b, "delete", "refused")} <= mine


def test_bulk_restart_and_the_result_page(
    alice: TestClient, cluster: RealCluster, kube: Kube
) -> None:
    with a_deployment(kube, "ops-bulk") as one, a_deployment(kube, "ops-bulk") as two:
        page = alice.post(
            f"/c/{cluster.name}/-/bulk",
            data={
                "_csrf": form_token(alice),
                "action": "restart",
                "resource": "deployments.apps",
                "key": [f"team-a/{one}", f"team-a/{two}"],
            },
        )
        assert page.status_code == 200, page.text
        assert page.text.count('data-result="ok"') == 2
        assert f'href="/c/{cluster.name}/namespaces/team-a/deployments.apps"' in page.text
        for name in (one, two):
            template = kube.must(deploy_path("team-a", name))["spec"]["template"]
            assert "kubectl.kubernetes.io/restartedAt" in template["metadata"]["annotations"]


def test_view_only_user_is_refused_object_by_object(
    bob: TestClient, cluster: RealCluster, kube: Kube, configmaps: list[tuple[str, str]]
) -> None:
    r = bulk(
        bob,
        cluster,
        action="delete",
        resource="configmaps",
        key=[f"{ns}/{n}" for ns, n in configmaps],
    )
    assert r.status_code == 200
    assert {e["result"] for e in r.json()["results"]} == {"refused"}
    for ns, name in configmaps:
        assert kube.get(cm_path(ns, name)) is not None


def test_bad_requests_are_refused_before_anything_happens(
    alice: TestClient, cluster: RealCluster, configmaps: list[tuple[str, str]]
) -> None:
    ns, name = configmaps[0]
    assert (
        bulk(
            alice, cluster, action="scale", resource="configmaps", key=[f"{ns}/{name}"]
        ).status_code
        == 400
    )
    assert (
        bulk(
            alice, cluster, action="restart", resource="configmaps", key=[f"{ns}/{name}"]
        ).status_code
        == 400
    )
    assert bulk(alice, cluster, action="delete", resource="configmaps").status_code == 400
    assert (
        bulk(alice, cluster, action="delete", resource="configmaps", key=[name]).status_code == 400
    )
    # Without the CSRF token nothing is done.
    r = alice.post(
        f"/c/{cluster.name}/-/bulk",
        data={"action": "delete", "resource": "configmaps", "key": [f"{ns}/{name}"]},
        headers={"Accept": "application/json"},
    )
    assert r.status_code == 403


def test_json_body_works_too(
    alice: TestClient, cluster: RealCluster, kube: Kube, configmaps: list[tuple[str, str]]
) -> None:
    ns, name = configmaps[0]
    r = alice.post(
        f"/c/{cluster.name}/-/bulk",
        json={
            "action": "delete",
            "resource": "configmaps",
            "objects": [{"namespace": ns, "name": name}],
        },
        headers=writes(alice),
    )
    assert r.status_code == 200, r.text
    assert r.json()["results"][0]["result"] == "ok"
    kube.wait_gone(cm_path(ns, name))


def test_list_page_offers_ticks_menu_and_bulk_buttons(
    alice: TestClient, bob: TestClient, cluster: RealCluster
) -> None:
    page = alice.get(f"/c/{cluster.name}/namespaces/team-a/deployments.apps").text
    assert 'id="bulk-form"' in page and 'data-bulk-action="restart"' in page
    assert "data-select-row" in page and 'value="team-a/web"' in page
    assert "data-row-menu" in page and 'data-row-action="delete"' in page
    cms = alice.get(f"/c/{cluster.name}/namespaces/team-a/configmaps").text
    assert 'data-bulk-action="delete"' in cms and 'data-bulk-action="restart"' not in cms


def test_read_only_refuses_bulk_actions(
    cluster: RealCluster, kube: Kube, configmaps: list[tuple[str, str]]
) -> None:
    app = create_app(make_settings(cluster.kubeconfig("admin"), read_only=True))
    with TestClient(app, raise_server_exceptions=False) as admin_ro:
        ns, name = configmaps[0]
        r = bulk(admin_ro, cluster, action="delete", resource="configmaps", key=[f"{ns}/{name}"])
        assert r.status_code == 403, r.text
        assert (
            'id="bulk-form"'
            not in admin_ro.get(f"/c/{cluster.name}/namespaces/{ns}/configmaps").text
        )
    assert kube.get(cm_path(ns, name)) is not None
