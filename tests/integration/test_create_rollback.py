"""A failed create undoes its updates too: objects it updated are put back as they were.

Against the real API server: the restore is guarded by resourceVersion, so a
change someone else made to the same fields meanwhile is never overwritten (the
race is made deterministic by changing the object from the audit log line the
apply writes), and a restore the API server refuses (a real
ValidatingAdmissionPolicy) is reported per document, as is everything else.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.conftest import RealCluster, wait_until
from tests.integration.operate_kit import (
    Kube,
    a_deployment,
    deploy_path,
    form_token,
    unique,
    writes,
)


def create_url(cluster: RealCluster) -> str:
    return f"/c/{cluster.name}/-/create"


def cm_path(name: str, ns: str = "team-a") -> str:
    return f"/api/v1/namespaces/{ns}/configmaps/{name}"


def cm_doc(name: str, data: dict[str, str], labels: dict[str, str] | None = None) -> str:
    lines = ["apiVersion: v1", "kind: ConfigMap", "metadata:", f"  name: {name}"]
    lines.append("  namespace: team-a")
    if labels:
        lines.append("  labels:")
        lines += [f"    {k}: {v!r}" for k, v in labels.items()]
    lines.append("data:")
    lines += [f"  {k}: {v!r}" for k, v in data.items()]
    return "\n".join(lines) + "\n"


def failing_tail(ns: str) -> str:
    """Two documents that pass the check and fail when applied, after the rest.

    The ConfigMap lives in a namespace the same text creates, so it cannot be
    dry-run before (deferred), and its key is invalid: it fails on apply.
    """
    return (
        f"---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n---\n"
        f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bad\n  namespace: {ns}\n"
        "data:\n  not a valid key!: x\n"
    )


@pytest.fixture
def existing_cm(kube: Kube) -> Iterator[str]:
    """A ConfigMap made by someone else, which the create below updates."""
    name = unique("ops-cm")
    kube.apply(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "team-a", "labels": {"keep": "yes"}},
            "data": {"v": "old", "other": "1"},
        },
        cm_path(name),
    )
    yield name
    kube.delete(cm_path(name))


@contextmanager
def on_audit(verb: str, name: str, action: Callable[[], None]) -> Iterator[None]:
    """Run ``action`` once, right after Kubelantern logs its ``verb`` of ``name``.

    The audit line is written between two documents of one create, so this is
    someone else changing the object at exactly that moment.
    """
    fired: list[bool] = []

    class Hook(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if fired or getattr(record, "verb", None) != verb:
                return
            if getattr(record, "object", None) == name and getattr(record, "result", "") == "ok":
                fired.append(True)
                action()

    hook = Hook()
    audit_log = logging.getLogger("kubelantern.audit")
    level = audit_log.level
    audit_log.setLevel(logging.INFO)  # successful writes are logged at INFO
    audit_log.addHandler(hook)
    try:
        yield
    finally:
        audit_log.removeHandler(hook)
        audit_log.setLevel(level)
    assert fired, f"no audit line for {verb} {name}"


def post(tc: TestClient, cluster: RealCluster, text: str) -> dict[str, Any]:
    # force: the objects were made by field manager test-setup, which owns their fields.
    r = tc.post(create_url(cluster), json={"yaml": text, "force": True}, headers=writes(tc))
    assert r.status_code == 422, r.text
    data: dict[str, Any] = r.json()
    assert not data["applied"] and data["rolledBack"]
    return data


def test_an_updated_object_is_put_back_when_a_later_document_fails(
    admin: TestClient, cluster: RealCluster, kube: Kube, existing_cm: str
) -> None:
    ns, created = unique("ops-ns"), unique("ops-cm")
    before = kube.must(cm_path(existing_cm))
    text = (
        cm_doc(existing_cm, {"v": "new", "added": "x"}, labels={"keep": "yes", "extra": "1"})
        + "---\n"
        + cm_doc(created, {"a": "1"})
        + failing_tail(ns)
    )
    try:
        data = post(admin, cluster, text)
        states = [d["state"] for d in data["documents"]]
        assert states == ["restored", "rolled back", "rolled back", "failed"], data
        assert data["leftApplied"] == []
        assert "put back as it was" in data["documents"][0]["message"]
        after = kube.must(cm_path(existing_cm))
        assert after["data"] == before["data"] == {"v": "old", "other": "1"}
        assert after["metadata"]["labels"] == {"keep": "yes"}
        assert kube.get(cm_path(created)) is None
    finally:
        kube.delete(cm_path(created))
        kube.delete(f"/api/v1/namespaces/{ns}")


def test_the_page_says_every_change_was_undone(
    admin: TestClient, cluster: RealCluster, kube: Kube, existing_cm: str
) -> None:
    ns = unique("ops-ns")
    text = cm_doc(existing_cm, {"v": "new", "other": "1"}) + failing_tail(ns)
    try:
        r = admin.post(
            create_url(cluster),
            data={"yaml": text, "force": "true", "_csrf": form_token(admin)},
            headers={"Accept": "text/html"},
        )
        assert r.status_code == 422, r.text
        assert "every change this request made was undone" in r.text
        assert 'data-state="restored"' in r.text and 'data-state="failed"' in r.text
        assert kube.must(cm_path(existing_cm))["data"]["v"] == "old"
    finally:
        kube.delete(f"/api/v1/namespaces/{ns}")


def test_someone_elses_change_to_the_same_field_is_never_overwritten(
    admin: TestClient, cluster: RealCluster, kube: Kube, existing_cm: str
) -> None:
    ns = unique("ops-ns")
    text = cm_doc(existing_cm, {"v": "new", "other": "1"}) + failing_tail(ns)

    def meanwhile() -> None:
        kube.merge(cm_path(existing_cm), {"data": {"v": "theirs"}})

    try:
        with on_audit("apply", existing_cm, meanwhile):
            data = post(admin, cluster, text)
        doc = data["documents"][0]
        assert doc["state"] == "not restored", data
        assert "someone else changed it meanwhile (data.v)" in doc["message"]
        assert data["leftApplied"] == [1]
        assert kube.must(cm_path(existing_cm))["data"]["v"] == "theirs"
    finally:
        kube.delete(f"/api/v1/namespaces/{ns}")


def test_a_change_elsewhere_in_the_object_is_kept_and_ours_still_undone(
    admin: TestClient, cluster: RealCluster, kube: Kube, existing_cm: str
) -> None:
    ns = unique("ops-ns")
    text = cm_doc(existing_cm, {"v": "new", "other": "1"}) + failing_tail(ns)

    def meanwhile() -> None:
        kube.merge(cm_path(existing_cm), {"metadata": {"annotations": {"theirs": "kept"}}})

    try:
        with on_audit("apply", existing_cm, meanwhile):
            data = post(admin, cluster, text)
        assert data["documents"][0]["state"] == "restored", data
        live = kube.must(cm_path(existing_cm))
        assert live["data"]["v"] == "old"
        assert live["metadata"]["annotations"] == {"theirs": "kept"}
    finally:
        kube.delete(f"/api/v1/namespaces/{ns}")


def test_a_deleted_object_is_reported_not_recreated(
    admin: TestClient, cluster: RealCluster, kube: Kube, existing_cm: str
) -> None:
    ns = unique("ops-ns")
    text = cm_doc(existing_cm, {"v": "new", "other": "1"}) + failing_tail(ns)
    try:
        with on_audit("apply", existing_cm, lambda: kube.delete(cm_path(existing_cm))):
            data = post(admin, cluster, text)
        doc = data["documents"][0]
        assert doc["state"] == "not restored" and "deleted by someone else" in doc["message"]
        assert kube.get(cm_path(existing_cm)) is None
    finally:
        kube.delete(f"/api/v1/namespaces/{ns}")


@contextmanager
def no_going_back(kube: Kube, label: str) -> Iterator[None]:
    """A real ValidatingAdmissionPolicy: ConfigMaps labelled guard=label never go back to old."""
    name = unique("ops-no-going-back")
    base = "/apis/admissionregistration.k8s.io/v1"
    kube.apply(
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicy",
            "metadata": {"name": name},
            "spec": {
                "failurePolicy": "Fail",
                "matchConstraints": {
                    "resourceRules": [
                        {
                            "apiGroups": [""],
                            "apiVersions": ["v1"],
                            "operations": ["UPDATE"],
                            "resources": ["configmaps"],
                        }
                    ]
                },
                "validations": [
                    {
                        "expression": "!(object.data.v == 'old' && oldObject.data.v == 'new')",
                        "message": "v never goes back from new to old",
                    }
                ],
            },
        },
        f"{base}/validatingadmissionpolicies/{name}",
    )
    kube.apply(
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingAdmissionPolicyBinding",
            "metadata": {"name": name},
            "spec": {
                "policyName": name,
                "validationActions": ["Deny"],
                "matchResources": {"objectSelector": {"matchLabels": {"guard": label}}},
            },
        },
        f"{base}/validatingadmissionpolicybindings/{name}",
    )
    probe = unique("ops-probe")
    kube.apply(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": probe, "namespace": "team-a", "labels": {"guard": label}},
            "data": {"v": "new"},
        },
        cm_path(probe),
    )

    def enforced() -> bool:
        r = kube.http.patch(
            cm_path(probe),
            params={"dryRun": "All"},
            json={"data": {"v": "old"}},
            headers={"Content-Type": "application/merge-patch+json"},
        )
        return r.status_code in (403, 422)

    try:
        wait_until(enforced, 60, "the admission policy to be enforced")
        yield
    finally:
        kube.delete(cm_path(probe))
        kube.delete(f"{base}/validatingadmissionpolicybindings/{name}")
        kube.delete(f"{base}/validatingadmissionpolicies/{name}")


def test_a_refused_restore_is_reported_and_the_object_left_updated(
    admin: TestClient, cluster: RealCluster, kube: Kube
) -> None:
    label = unique("g")
    names = [unique("ops-cm"), unique("ops-cm")]
    spaces = [unique("ops-ns"), unique("ops-ns")]
    for name in names:
        kube.apply(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": name, "namespace": "team-a", "labels": {"guard": label}},
                "data": {"v": "old"},
            },
            cm_path(name),
        )

    def text(i: int) -> str:
        return cm_doc(names[i], {"v": "new"}, labels={"guard": label}) + failing_tail(spaces[i])

    try:
        with no_going_back(kube, label):
            data = post(admin, cluster, text(0))
            page = admin.post(
                create_url(cluster),
                data={"yaml": text(1), "force": "true", "_csrf": form_token(admin)},
                headers={"Accept": "text/html"},
            )
        doc = data["documents"][0]
        assert doc["state"] == "not restored", data
        assert "could not be put back" in doc["message"]
        assert "v never goes back from new to old" in doc["message"]
        assert data["leftApplied"] == [1]
        assert kube.must(cm_path(names[0]))["data"]["v"] == "new"
        assert page.status_code == 422, page.text
        assert "not every change could be undone: see documents 1" in page.text
        assert 'data-state="not restored"' in page.text
    finally:
        for name in names:
            kube.delete(cm_path(name))
        for ns in spaces:
            kube.delete(f"/api/v1/namespaces/{ns}")


def test_a_deployment_goes_back_despite_its_controller_writing_status(
    admin: TestClient, cluster: RealCluster, kube: Kube
) -> None:
    ns = unique("ops-ns")
    with a_deployment(kube, "ops-dep", replicas=0) as dep:
        before = kube.must(deploy_path("team-a", dep))
        text = (
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n"
            f"  name: {dep}\n  namespace: team-a\n  labels:\n    app: {dep}\n"
            f"spec:\n  replicas: 0\n  selector:\n    matchLabels:\n      app: {dep}\n"
            f"  template:\n    metadata:\n      labels:\n        app: {dep}\n"
            "    spec:\n      containers:\n      - name: main\n        image: busybox:1.37\n"
        )

        def rolled_out() -> None:
            # The controller's reaction to the new template, before the rollback runs.
            wait_until(
                lambda: (
                    kube.must(deploy_path("team-a", dep))["status"].get("observedGeneration")
                    == before["metadata"]["generation"] + 1
                ),
                30,
                "the deployment controller to see the change",
            )

        try:
            with on_audit("apply", dep, rolled_out):
                data = post(admin, cluster, text + failing_tail(ns))
            assert data["documents"][0]["state"] == "restored", data
            live = kube.must(deploy_path("team-a", dep))
            containers = live["spec"]["template"]["spec"]["containers"]
            assert containers == before["spec"]["template"]["spec"]["containers"]
        finally:
            kube.delete(f"/api/v1/namespaces/{ns}")
