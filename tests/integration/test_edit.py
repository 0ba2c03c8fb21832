"""The YAML editor against the real control plane: review, dry run, apply, conflicts, staleness.

alice may edit in team-a only; bob may read everything and change nothing.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from tests.conftest import RealCluster
from tests.integration.operate_kit import (
    SETUP_MANAGER,
    Kube,
    a_deployment,
    deploy_path,
    form_token,
    line_of,
    writes,
)


@pytest.fixture
def dep(kube: Kube) -> Iterator[str]:
    with a_deployment(kube, "ops-edit") as name:
        yield name


def base(cluster: RealCluster, name: str, ns: str = "team-a") -> str:
    return f"/c/{cluster.name}/namespaces/{ns}/deployments.apps/{name}"


def load(tc: TestClient, url: str) -> dict[str, object]:
    r = tc.get(url + "/edit.json")
    assert r.status_code == 200, r.text
    data: dict[str, object] = r.json()
    return data


def test_editor_page_and_json_twin(alice: TestClient, cluster: RealCluster, dep: str) -> None:
    url = base(cluster, dep)
    page = alice.get(url + "/edit")
    assert page.status_code == 200
    assert 'data-editor="edit"' in page.text and "dist/editor.js" in page.text
    assert "kind: Deployment" in page.text and "managedFields" not in page.text
    data = load(alice, url)
    assert data["canApply"] is True and data["reason"] == ""
    assert f"name: {dep}" in str(data["yaml"])
    assert data["resourceVersion"]
    assert data["applyUrl"] == url + "/apply"


def test_bob_gets_a_read_only_editor(bob: TestClient, cluster: RealCluster, dep: str) -> None:
    url = base(cluster, dep)
    data = load(bob, url)
    assert data["canApply"] is False
    assert "RBAC does not let you patch deployments.apps" in str(data["reason"])
    page = bob.get(url + "/edit").text
    assert "data-editor-apply disabled" in page
    detail = bob.get(url).text
    assert 'data-action="edit"' not in detail and 'data-denied="edit"' in detail


def test_review_shows_diff_conflicts_and_changes_nothing(
    alice: TestClient, cluster: RealCluster, kube: Kube, dep: str
) -> None:
    url = base(cluster, dep)
    data = load(alice, url)
    text = str(data["yaml"]).replace("replicas: 1", "replicas: 2", 1)
    r = alice.post(
        url + "/review",
        json={"yaml": text, "resourceVersion": data["resourceVersion"], "original": data["yaml"]},
        headers=writes(alice),
    )
    assert r.status_code == 200, r.text
    review = r.json()
    assert review["result"] == "valid"
    assert "-  replicas: 1" in review["diff"] and "+  replicas: 2" in review["diff"]
    assert "+  replicas: 2" in review["serverDiff"]  # the API server's dry-run result
    # The setup wrote spec.replicas with another field manager: applying needs force.
    assert review["needsForce"] is True
    (conflict,) = review["conflicts"]
    assert conflict["manager"] == SETUP_MANAGER and conflict["field"] == ".spec.replicas"
    assert conflict["line"] == line_of(text, "replicas: 2")
    assert kube.must(deploy_path("team-a", dep))["spec"]["replicas"] == 1


def test_apply_conflict_then_force(
    alice: TestClient, cluster: RealCluster, kube: Kube, dep: str
) -> None:
    url = base(cluster, dep)
    data = load(alice, url)
    text = str(data["yaml"]).replace("replicas: 1", "replicas: 2", 1)
    body = {"yaml": text, "resourceVersion": data["resourceVersion"], "original": data["yaml"]}
    r = alice.post(url + "/apply", json=body, headers=writes(alice))
    assert r.status_code == 409, r.text
    err = r.json()["error"]
    assert err["title"] == "Conflict with other field managers"
    assert SETUP_MANAGER in err["message"] and "force" in err["message"]
    (cause,) = err["causes"]
    assert cause["reason"] == "FieldManagerConflict" and cause["line"] == line_of(
        text, "replicas: 2"
    )
    assert kube.must(deploy_path("team-a", dep))["spec"]["replicas"] == 1

    r = alice.post(url + "/apply", json={**body, "force": True}, headers=writes(alice))
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["result"] == "applied"
    assert "replicas: 2" in done["liveYaml"] and done["resourceVersion"] != data["resourceVersion"]
    live = kube.must(deploy_path("team-a", dep))
    assert live["spec"]["replicas"] == 2
    managers = {m["manager"] for m in live["metadata"]["managedFields"]}
    assert "kubelantern" in managers


def test_stale_edit_is_refused_then_applied_on_top(
    alice: TestClient, cluster: RealCluster, kube: Kube, dep: str
) -> None:
    url = base(cluster, dep)
    data = load(alice, url)
    image = {
        "spec": {"template": {"spec": {"containers": [{"name": "main", "image": "busybox:1.37"}]}}}
    }
    kube.merge(deploy_path("team-a", dep), image)  # someone changes what alice edits
    text = str(data["yaml"]).replace("image: busybox:1.36", "image: busybox:1.38")
    body = {"yaml": text, "resourceVersion": data["resourceVersion"], "original": data["yaml"]}
    for endpoint in ("/review", "/apply"):
        r = alice.post(url + endpoint, json=body, headers=writes(alice))
        assert r.status_code == 409, r.text
        err = r.json()["error"]
        assert err["stale"] is True and err["title"] == "Changed meanwhile"
        assert "image: busybox:1.37" in err["liveYaml"]
    live = kube.must(deploy_path("team-a", dep))
    assert live["spec"]["template"]["spec"]["containers"][0]["image"] == "busybox:1.37"
    # Without the text it started from, any change of the object is stale.
    r = alice.post(url + "/apply", json={**body, "original": ""}, headers=writes(alice))
    assert r.status_code == 409 and r.json()["error"]["stale"] is True
    # The person saw the change and wants theirs to win (force: the setup manager
    # owns the image).
    on_top = {**body, "overwrite": True, "force": True}
    r = alice.post(url + "/apply", json=on_top, headers=writes(alice))
    assert r.status_code == 200, r.text
    live = kube.must(deploy_path("team-a", dep))
    assert live["spec"]["template"]["spec"]["containers"][0]["image"] == "busybox:1.38"


def test_unrelated_change_meanwhile_is_kept_not_reverted(
    alice: TestClient, cluster: RealCluster, kube: Kube, dep: str
) -> None:
    url = base(cluster, dep)
    data = load(alice, url)
    kube.merge(deploy_path("team-a", dep), {"metadata": {"labels": {"added": "meanwhile"}}})
    text = str(data["yaml"]).replace("replicas: 1", "replicas: 2", 1)
    body = {"yaml": text, "resourceVersion": data["resourceVersion"], "original": data["yaml"]}
    r = alice.post(url + "/apply", json={**body, "force": True}, headers=writes(alice))
    assert r.status_code == 200, r.text
    live = kube.must(deploy_path("team-a", dep))
    assert live["spec"]["replicas"] == 2
    assert live["metadata"]["labels"]["added"] == "meanwhile"


def test_dry_run_validation_errors_point_at_lines(
    alice: TestClient, cluster: RealCluster, dep: str
) -> None:
    url = base(cluster, dep)
    data = load(alice, url)
    text = (
        str(data["yaml"])
        .replace("replicas: 1", "replicas: -1", 1)
        .replace("image: busybox:1.36", "image: ''")
    )
    r = alice.post(
        url + "/review", json={"yaml": text, "original": data["yaml"]}, headers=writes(alice)
    )
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    causes = {c["field"]: c for c in err["causes"]}
    assert causes["spec.replicas"]["line"] == line_of(text, "replicas: -1")
    assert "greater than or equal to 0" in causes["spec.replicas"]["message"]
    assert causes["spec.template.spec.containers[0].image"]["line"] == line_of(text, "image: ''")


def test_schema_errors_from_apply_point_at_lines(
    alice: TestClient, cluster: RealCluster, dep: str
) -> None:
    url = base(cluster, dep)
    original = str(load(alice, url)["yaml"])
    text = original.replace("replicas: 1", "replicas: two", 1).replace(
        "image: busybox:1.36", "image: busybox:1.36\n        imagePullPolicyy: Always"
    )
    r = alice.post(
        url + "/review", json={"yaml": text, "original": original}, headers=writes(alice)
    )
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["title"] == "Invalid"
    by_field = {c["field"]: c for c in err["causes"]}
    assert by_field[".spec.replicas"]["line"] == line_of(text, "replicas: two")
    unknown = next(c for f, c in by_field.items() if f.endswith(".imagePullPolicyy"))
    assert unknown["line"] == line_of(text, "imagePullPolicyy")
    assert "not declared in schema" in unknown["message"]


def test_malformed_yaml_has_line_and_column(
    alice: TestClient, cluster: RealCluster, dep: str
) -> None:
    url = base(cluster, dep)
    text = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: [oops\n"
    r = alice.post(url + "/review", json={"yaml": text}, headers=writes(alice))
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["reason"] == "InvalidYaml" and err["line"] == 5 and err["column"] == 1
    # The no-JavaScript form gets the editor back with its text and the message.
    page = alice.post(
        url + "/review",
        data={"yaml": text, "_csrf": form_token(alice)},
        headers={"Accept": "text/html"},
    )
    assert page.status_code == 400
    assert "name: [oops" in page.text and "Invalid YAML" in page.text


def test_editing_another_object_or_kind_is_refused(
    alice: TestClient, cluster: RealCluster, dep: str
) -> None:
    url = base(cluster, dep)
    text = str(load(alice, url)["yaml"])
    renamed = text.replace(f"name: {dep}", "name: someone-else", 1)
    r = alice.post(url + "/review", json={"yaml": renamed}, headers=writes(alice))
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["title"] == "Name changed" and err["line"] == line_of(renamed, "name: someone-else")
    two = text + "---\n" + text
    r = alice.post(url + "/review", json={"yaml": two}, headers=writes(alice))
    assert r.status_code == 400 and "exactly one object" in r.json()["error"]["message"]
    wrong = text.replace("apiVersion: apps/v1", "apiVersion: apps/v9")
    r = alice.post(url + "/review", json={"yaml": wrong}, headers=writes(alice))
    assert r.status_code == 400
    assert r.json()["error"]["title"] == "Wrong apiVersion"
    assert r.json()["error"]["line"] == line_of(wrong, "apiVersion: apps/v9")


def test_oversized_body_is_refused(alice: TestClient, cluster: RealCluster, dep: str) -> None:
    big = "a: " + "x" * (1 << 20) + "\n"
    r = alice.post(
        base(cluster, dep) + "/apply",
        content=big.encode(),
        headers={**writes(alice), "Content-Type": "application/yaml"},
    )
    assert r.status_code == 413
    assert "1024 KiB" in r.json()["error"]["message"]


def test_alice_is_refused_in_team_b_and_bob_everywhere(
    alice: TestClient, bob: TestClient, cluster: RealCluster, kube: Kube, dep: str
) -> None:
    api = kube.must(deploy_path("team-b", "api"))
    replicas = api["spec"]["replicas"] + 1
    text = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n  namespace: team-b\n"
        f"spec:\n  replicas: {replicas}\n"
    )
    r = alice.post(
        base(cluster, "api", "team-b") + "/apply", json={"yaml": text}, headers=writes(alice)
    )
    assert r.status_code == 403
    assert r.json()["error"]["refused"]
    url = base(cluster, dep)
    data = load(bob, url)
    text = str(data["yaml"]).replace("replicas: 1", "replicas: 3", 1)
    body = {"yaml": text, "original": data["yaml"], "force": True}
    r = bob.post(url + "/apply", json=body, headers=writes(bob))
    assert r.status_code == 403
    assert 'User "bob" cannot patch resource "deployments"' in r.json()["error"]["message"]
    assert kube.must(deploy_path("team-b", "api"))["spec"]["replicas"] == api["spec"]["replicas"]
    assert kube.must(deploy_path("team-a", dep))["spec"]["replicas"] == 1


def test_form_review_and_apply_without_javascript(
    alice: TestClient, cluster: RealCluster, kube: Kube, dep: str
) -> None:
    url = base(cluster, dep)
    data = load(alice, url)
    text = str(data["yaml"]).replace("app: " + dep, "app: " + dep + "\n    tier: web", 1)
    form = {
        "yaml": text,
        "resourceVersion": str(data["resourceVersion"]),
        "original": str(data["yaml"]),
        "_csrf": form_token(alice),
    }
    page = alice.post(url + "/review", data=form, headers={"Accept": "text/html"})
    assert page.status_code == 200, page.text
    assert "What would change" in page.text and "+    tier: web" in page.text
    page = alice.post(url + "/apply", data=form, headers={"Accept": "text/html"})
    assert page.status_code == 200, page.text
    assert 'data-editor-result="applied"' in page.text
    assert kube.must(deploy_path("team-a", dep))["metadata"]["labels"]["tier"] == "web"
