"""Create from YAML against the real control plane: all documents checked, all or nothing."""

from __future__ import annotations

import yaml
from starlette.testclient import TestClient

from tests.conftest import RealCluster
from tests.integration.operate_kit import Kube, deployment, form_token, line_of, unique, writes


def create_url(cluster: RealCluster) -> str:
    return f"/c/{cluster.name}/-/create"


def cm_path(name: str, ns: str = "team-a") -> str:
    return f"/api/v1/namespaces/{ns}/configmaps/{name}"


def widget_path(name: str, ns: str = "team-a") -> str:
    return f"/apis/example.com/v1/namespaces/{ns}/widgets/{name}"


def test_several_documents_any_kind_including_custom_resources(
    admin: TestClient, cluster: RealCluster, kube: Kube
) -> None:
    cm, widget = unique("ops-cm"), unique("ops-widget")
    text = f"""# a comment before the first document
apiVersion: v1
kind: ConfigMap
metadata:
  name: {cm}
data:
  released: 2024-01-01
---
---
apiVersion: example.com/v1
kind: Widget
metadata:
  name: {widget}
spec:
  size: 3
  color: teal
"""
    try:
        r = admin.post(
            create_url(cluster),
            json={"yaml": text, "namespace": "team-a", "dryRun": True},
            headers=writes(admin),
        )
        assert r.status_code == 200, r.text
        checked = r.json()
        assert checked["ok"] and not checked["applied"]
        assert [d["state"] for d in checked["documents"]] == ["valid", "valid"]
        assert [d["line"] for d in checked["documents"]] == [2, 10]
        assert kube.get(cm_path(cm)) is None and kube.get(widget_path(widget)) is None

        r = admin.post(
            create_url(cluster), json={"yaml": text, "namespace": "team-a"}, headers=writes(admin)
        )
        assert r.status_code == 201, r.text
        done = r.json()
        assert done["applied"] and [d["state"] for d in done["documents"]] == ["created"] * 2
        widget_doc = done["documents"][1]
        assert widget_doc["kind"] == "Widget" and widget_doc["namespace"] == "team-a"
        assert (
            widget_doc["url"] == f"/c/{cluster.name}/namespaces/team-a/widgets.example.com/{widget}"
        )
        assert kube.must(cm_path(cm))["data"]["released"] == "2024-01-01"  # not a date
        assert kube.must(widget_path(widget))["spec"] == {"size": 3, "color": "teal"}

        r = admin.post(
            create_url(cluster),
            json={"yaml": text.replace("size: 3", "size: 4"), "namespace": "team-a"},
            headers=writes(admin),
        )
        assert r.status_code == 200, r.text
        # The ConfigMap's document did not change it; the Widget's did.
        assert [d["state"] for d in r.json()["documents"]] == ["unchanged", "configured"]
        assert kube.must(widget_path(widget))["spec"]["size"] == 4
    finally:
        kube.delete(cm_path(cm))
        kube.delete(widget_path(widget))


def test_nothing_is_applied_when_one_document_fails(
    alice: TestClient, cluster: RealCluster, kube: Kube
) -> None:
    cm, dep = unique("ops-cm"), unique("ops-bad")
    bad = deployment(dep)
    bad["spec"]["replicas"] = -1  # type: ignore[index]
    text = (
        f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {cm}\ndata:\n  a: '1'\n---\n"
        + yaml.safe_dump(bad, sort_keys=False)
    )
    r = alice.post(
        create_url(cluster), json={"yaml": text, "namespace": "team-a"}, headers=writes(alice)
    )
    assert r.status_code == 422, r.text
    docs = r.json()["documents"]
    assert docs[0]["state"] == "valid" and "not applied" in docs[0]["message"]
    assert docs[1]["state"] == "invalid"
    (cause,) = docs[1]["causes"]
    assert cause["field"] == "spec.replicas" and cause["line"] == line_of(text, "replicas: -1")
    assert kube.get(cm_path(cm)) is None


def test_unknown_kind_and_wrong_api_version_point_at_their_lines(
    alice: TestClient, cluster: RealCluster
) -> None:
    text = (
        "apiVersion: example.com/v1\nkind: Gizmo\nmetadata:\n  name: g\n---\n"
        "apiVersion: apps/v2\nkind: Deployment\nmetadata:\n  name: d\n---\n"
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n"
    )
    r = alice.post(create_url(cluster), json={"yaml": text}, headers=writes(alice))
    assert r.status_code == 400, r.text
    gizmo, deploy, nameless = r.json()["documents"]
    assert gizmo["title"] == "Unknown kind" and gizmo["line"] == 2
    assert "serves no kind Gizmo in API group example.com" in gizmo["message"]
    assert deploy["title"] == "Wrong apiVersion" and deploy["line"] == 6
    assert "served as apps/v1" in deploy["message"]
    assert nameless["title"] == "Missing name" and nameless["line"] == 13


def test_forbidden_namespace_is_refused_per_document(
    alice: TestClient, bob: TestClient, cluster: RealCluster, kube: Kube
) -> None:
    cm = unique("ops-cm")
    text = f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {cm}\n"
    r = alice.post(
        create_url(cluster), json={"yaml": text, "namespace": "team-b"}, headers=writes(alice)
    )
    assert r.status_code == 403, r.text
    (doc,) = r.json()["documents"]
    assert doc["state"] == "refused" and 'cannot patch resource "configmaps"' in doc["message"]
    assert 'in the namespace "team-b"' in doc["message"]
    r = bob.post(
        create_url(cluster), json={"yaml": text, "namespace": "team-a"}, headers=writes(bob)
    )
    assert r.status_code == 403
    assert kube.get(cm_path(cm, "team-b")) is None and kube.get(cm_path(cm)) is None


def test_malformed_duplicate_and_oversized_input(alice: TestClient, cluster: RealCluster) -> None:
    r = alice.post(
        create_url(cluster),
        json={"yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n\tdata: 1\n"},
        headers=writes(alice),
    )
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["reason"] == "InvalidYaml" and err["line"] == 5
    dup = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  name: y\n"
    r = alice.post(create_url(cluster), json={"yaml": dup}, headers=writes(alice))
    assert r.status_code == 400
    assert (
        r.json()["error"]["line"] == 5
        and "already defined on line 4" in r.json()["error"]["message"]
    )
    r = alice.post(
        create_url(cluster),
        content=b"#" * (1024 * 1024 + 1),
        headers={**writes(alice), "Content-Type": "application/yaml"},
    )
    assert r.status_code == 413
    r = alice.post(create_url(cluster), json={"yaml": "  \n"}, headers=writes(alice))
    assert r.status_code == 400 and "no document" in r.json()["error"]["message"]


def test_namespace_and_its_objects_in_one_text(
    admin: TestClient, cluster: RealCluster, kube: Kube
) -> None:
    ns = unique("ops-ns")
    text = (
        f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n---\n"
        f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: {ns}\n"
    )
    try:
        r = admin.post(
            create_url(cluster), json={"yaml": text, "dryRun": True}, headers=writes(admin)
        )
        assert r.status_code == 200, r.text
        assert [d["state"] for d in r.json()["documents"]] == ["valid", "deferred"]
        r = admin.post(create_url(cluster), json={"yaml": text}, headers=writes(admin))
        assert r.status_code == 201, r.text
        assert [d["state"] for d in r.json()["documents"]] == ["created", "created"]
        assert kube.must(cm_path("settings", ns))
    finally:
        kube.delete(f"/api/v1/namespaces/{ns}")


def test_a_failure_after_others_applied_rolls_back_what_was_created(
    admin: TestClient, cluster: RealCluster, kube: Kube
) -> None:
    ns, cm = unique("ops-ns"), unique("ops-cm")
    # The ConfigMap in the new namespace is deferred (not dry-run), and invalid:
    # it fails on apply, after the namespace and the first ConfigMap were created.
    text = (
        f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {cm}\n  namespace: team-a\n---\n"
        f"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n---\n"
        f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bad\n  namespace: {ns}\n"
        "data:\n  not a valid key!: x\n"
    )
    try:
        r = admin.post(create_url(cluster), json={"yaml": text}, headers=writes(admin))
        assert r.status_code == 422, r.text
        docs = r.json()["documents"]
        assert [d["state"] for d in docs] == ["rolled back", "rolled back", "failed"]
        assert docs[2]["causes"][0]["line"] == line_of(text, "not a valid key")
        assert kube.get(cm_path(cm)) is None
        namespace = kube.get(f"/api/v1/namespaces/{ns}")
        assert namespace is None or namespace["status"]["phase"] == "Terminating"
    finally:
        kube.delete(cm_path(cm))
        kube.delete(f"/api/v1/namespaces/{ns}")


def test_create_page_and_form_post(alice: TestClient, cluster: RealCluster, kube: Kube) -> None:
    page = alice.get(create_url(cluster) + "?namespace=team-a")
    assert page.status_code == 200
    assert 'data-editor="create"' in page.text and 'value="team-a"' in page.text
    cm = unique("ops-cm")
    text = f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {cm}\n"
    try:
        r = alice.post(
            create_url(cluster),
            data={"yaml": text, "namespace": "team-a", "_csrf": form_token(alice)},
            headers={"Accept": "text/html"},
        )
        assert r.status_code == 201, r.text
        assert 'data-state="created"' in r.text
        assert f'href="/c/{cluster.name}/namespaces/team-a/configmaps/{cm}"' in r.text
    finally:
        kube.delete(cm_path(cm))
