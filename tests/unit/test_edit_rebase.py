"""Stale edits: refused when someone changed what the person changed, kept otherwise."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubelantern.clusters.kubeconfig import ClusterConfig
from kubelantern.clusters.store import ClusterStore
from kubelantern.operate import apply
from kubelantern.operate.edit import apply_merge_patch, merge_patch, rebase
from kubelantern.operate.yamldoc import to_yaml

ORIGINAL: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "resourceVersion": "10", "labels": {"app": "web"}},
    "spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "m", "image": "a:1"}]}}},
    "status": {"readyReplicas": 1},
}
CLUSTER = ClusterStore().add(ClusterConfig(name="c", server="https://127.0.0.1:1"))


def changed(obj: dict[str, Any], rv: str, **edits: Any) -> dict[str, Any]:
    new = copy.deepcopy(obj)
    new["metadata"]["resourceVersion"] = rv
    for path, value in edits.items():
        *parents, last = path.split("__")
        target = new
        for p in parents:
            target = target.setdefault(p, {})
        target[last] = value
    return new


def test_merge_patch_round_trip() -> None:
    after = changed(ORIGINAL, "11", spec__replicas=2, metadata__labels={"tier": "x"})
    patch = merge_patch(ORIGINAL, after)
    assert patch["metadata"] == {"resourceVersion": "11", "labels": {"app": None, "tier": "x"}}
    assert apply_merge_patch(ORIGINAL, patch) == after


def test_same_version_applies_the_text_as_it_is() -> None:
    edited = changed(ORIGINAL, "10", spec__replicas=3)
    assert rebase(ORIGINAL, edited, "10", None, CLUSTER) == ("10", edited)


def test_status_only_change_is_not_stale() -> None:
    live = changed(ORIGINAL, "12", status={"readyReplicas": 0})
    edited = changed(ORIGINAL, "10", spec__replicas=3)
    rv, body = rebase(live, edited, "10", to_yaml(ORIGINAL), CLUSTER)
    assert rv == "12" and body["spec"]["replicas"] == 3


def test_unrelated_change_is_kept() -> None:
    live = changed(ORIGINAL, "12", metadata__annotations={"by": "controller"})
    edited = changed(ORIGINAL, "10", spec__replicas=3)
    rv, body = rebase(live, edited, "10", to_yaml(ORIGINAL), CLUSTER)
    assert rv == "12"
    assert body["spec"]["replicas"] == 3 and body["metadata"]["annotations"] == {"by": "controller"}


def test_overlapping_change_is_stale_unless_overwritten() -> None:
    containers = [{"name": "m", "image": "a:2"}]
    live = changed(ORIGINAL, "12", spec__template={"spec": {"containers": containers}})
    mine = [{"name": "m", "image": "a:3"}]
    edited = changed(ORIGINAL, "10", spec__template={"spec": {"containers": mine}})
    with pytest.raises(apply.StaleEdit) as caught:
        rebase(live, edited, "10", to_yaml(ORIGINAL), CLUSTER)
    data = caught.value.to_dict()
    assert data["status"] == 409 and data["stale"] and data["resourceVersion"] == "12"
    assert "image: a:2" in data["liveYaml"]
    rv, body = rebase(live, edited, "10", to_yaml(ORIGINAL), CLUSTER, overwrite=True)
    assert rv == "12" and body["spec"]["template"]["spec"]["containers"] == mine


def test_no_original_means_any_change_is_stale() -> None:
    live = changed(ORIGINAL, "12")
    with pytest.raises(apply.StaleEdit):
        rebase(live, ORIGINAL, "10", None, CLUSTER)
    assert rebase(live, ORIGINAL, None, None, CLUSTER) == (None, ORIGINAL)  # no RV: no check
