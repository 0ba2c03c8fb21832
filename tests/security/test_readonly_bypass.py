"""Attack class: read-only bypass through the kubeconfig context name.

An operator protects a cluster by the name they know, often the context name
(``team:prod/eu``, an EKS ARN). Its URL name is a slug of it (``team-prod-eu``)
and a display name may hide it: every write must still be refused, against
the real API server, and nothing may change there.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from kubelantern.app import create_app
from kubelantern.clusters.kubeconfig import load_files
from tests.conftest import RealCluster, make_settings
from tests.integration.operate_kit import Kube, unique, writes

CONTEXT = "team:prod/eu"
SLUG = "team-prod-eu"


@pytest.fixture(scope="module", params=["context", "display", "slug"])
def protected(request: pytest.FixtureRequest, cluster: RealCluster) -> Iterator[TestClient]:
    """The admin's cluster as context ``team:prod/eu``, shown as "Production EU",
    made read-only by each of its three names in turn."""
    (config,) = load_files([cluster.kubeconfig("admin")])
    config = dataclasses.replace(config, name=CONTEXT)
    by = {"context": CONTEXT, "display": "Production EU", "slug": SLUG}[request.param]
    settings = make_settings(
        cluster.kubeconfig("admin"),
        read_only_clusters=(by,),
        cluster_names=(f"{CONTEXT}=Production EU",),
    )
    with TestClient(create_app(settings, clusters=[config])) as tc:
        yield tc


def test_writes_refused_by_every_name_of_the_cluster(
    protected: TestClient, cluster: RealCluster
) -> None:
    tc = protected
    listed = tc.get("/clusters.json").json()
    assert any(SLUG in str(row) and "Production EU" in str(row) for row in listed["clusters"])
    name = unique("ro-bypass")
    doc = f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}, namespace: team-a}}\n"
    c = f"/c/{SLUG}"
    for path, body in (
        (f"{c}/-/create", {"yaml": doc}),
        (f"{c}/namespaces/team-a/deployments.apps/web/actions/scale", {"replicas": 0}),
        (f"{c}/namespaces/team-a/deployments.apps/web/actions/delete", {}),
    ):
        r = tc.post(path, json=body, headers=writes(tc))
        assert r.status_code == 403, (path, r.text[:300])
        assert r.json()["error"]["title"] == "Read-only"
    with (
        pytest.raises(WebSocketDisconnect),
        tc.websocket_connect(f"{c}/namespaces/team-a/pods/any/exec"),
    ):
        pass
    page = tc.get(f"{c}/namespaces/team-a/deployments.apps/web")
    assert page.status_code == 200 and "data-read-only" in page.text
    kube = Kube(cluster)
    try:
        assert kube.get(f"/api/v1/namespaces/team-a/configmaps/{name}") is None
        web = kube.get("/apis/apps/v1/namespaces/team-a/deployments/web")
        assert web is not None and web["spec"]["replicas"] == 3
    finally:
        kube.close()
