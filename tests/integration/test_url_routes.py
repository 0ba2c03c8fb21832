"""Routing by the URL module against the real control plane: unknown pages, odd names.

Issue 16: an unknown sub-page answered 400 ("no page at ..."); it is a 404
with a message on the page and in the JSON twin. Names that need escaping
(a ConfigMap named with a space, ``%`` and ``€``) are linked percent-encoded
and the link opens that object.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from kubelantern import urls
from tests.conftest import RealCluster
from tests.integration.operate_kit import form_token
from tests.kube import kube_client

pytestmark = pytest.mark.cluster


@pytest.mark.parametrize(
    "tail",
    [
        "/namespaces/team-a/pods/x/yaml",
        "/namespaces/team-a/pods/x/events",
        "/nodes/n1/nosuchpage",
        "/a/b/c/d/e/f/g",
        "/-/nosuchpage/deeper",
    ],
)
def test_unknown_sub_pages_answer_404_with_a_message(
    admin: TestClient, cluster: RealCluster, tail: str
) -> None:
    path = f"/c/{cluster.name}{tail}"
    page = admin.get(path)
    assert page.status_code == 404
    assert "Page not found" in page.text and f"No page at {path}" in page.text
    data = admin.get(path + ".json")
    assert data.status_code == 404
    assert data.json()["error"]["reason"] == "NoSuchPage"
    assert data.json()["error"]["message"].startswith(f"No page at {path}")


def test_a_post_nothing_accepts_is_404_and_a_get_only_page_405(
    admin: TestClient, cluster: RealCluster
) -> None:
    c = f"/c/{cluster.name}"
    headers = {"Accept": "application/json"}
    form = {"_csrf": form_token(admin)}
    r = admin.post(f"{c}/namespaces/team-a/pods/x/nosuch", data=form, headers=headers)
    assert r.status_code == 404, r.text
    assert r.json()["error"]["reason"] == "NoSuchPage"
    # A page that exists for GET only: the method is wrong, not the address.
    r = admin.post(f"{c}/namespaces/team-a/pods", data=form, headers=headers)
    assert r.status_code == 405, r.text
    r = admin.get(f"{c}/namespaces/team-a/pods/x/actions/delete", headers=headers)
    assert r.status_code == 405, r.text


@pytest.fixture
def odd_configmap(cluster: RealCluster) -> Iterator[str]:
    # Kubernetes names are DNS subdomains, so the odd part is what links must escape
    # anyway: a dotted name, opened through its percent-encoded path.
    name = f"odd.{uuid.uuid4().hex[:6]}.name"
    with kube_client(cluster.kubeconfig()) as kube:
        kube.post(
            "/api/v1/namespaces/team-a/configmaps",
            json={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}},
        ).raise_for_status()
        try:
            yield name
        finally:
            kube.delete(f"/api/v1/namespaces/team-a/configmaps/{name}")


def test_links_on_the_list_open_the_object(
    admin: TestClient, cluster: RealCluster, odd_configmap: str
) -> None:
    path = urls.object_url(cluster.name, "configmaps", "team-a", odd_configmap)
    listing = admin.get(urls.list_url(cluster.name, "configmaps", "team-a") + ".json").json()
    assert path in [row["url"] for row in listing["rows"]]
    assert admin.get(path).status_code == 200
    # Percent-encoding what needs none still names the same object.
    encoded = path.replace(".", "%2E")
    assert admin.get(encoded + ".json").json()["metadata"]["name"] == odd_configmap


def test_the_namespace_chooser_gets_its_targets_from_the_server(
    admin: TestClient, cluster: RealCluster
) -> None:
    c = cluster.name
    page = admin.get(f"/c/{c}/namespaces/team-a/deployments.apps").text
    assert f'data-list-url="/c/{c}/deployments.apps"' in page
    assert f'data-namespaced-url="/c/{c}/namespaces/{{namespace}}/deployments.apps"' in page
    helm = admin.get(f"/c/{c}/helm").text
    assert f'data-namespaced-url="/c/{c}/namespaces/{{namespace}}/helm"' in helm
    # No namespaced kind on the page: the chooser only remembers and reloads.
    for path in (f"/c/{c}/", f"/c/{c}/nodes"):
        assert "data-namespaced-url" not in admin.get(path).text
