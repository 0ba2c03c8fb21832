"""Which pods a drain evicts, skips, or refuses to start for (as kubectl drain)."""

from __future__ import annotations

from typing import Any

from kubelantern.operate.drain import Options, classify


def pod(name: str, owner: str | None = "ReplicaSet", **extra: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "ns", "uid": name}
    if owner:
        meta["ownerReferences"] = [{"kind": owner, "name": "o", "controller": True}]
    meta.update(extra.pop("meta", {}))
    return {"metadata": meta, "spec": extra.pop("spec", {}), "status": extra.pop("status", {})}


def test_daemonset_and_mirror_pods_are_skipped() -> None:
    pods = [
        pod("web"),
        pod("agent", owner="DaemonSet"),
        pod("static", owner=None, meta={"annotations": {"kubernetes.io/config.mirror": "x"}}),
    ]
    plan, blockers = classify(pods, Options())
    assert [(p.name, p.state) for p in plan] == [
        ("web", "pending"),
        ("agent", "skipped"),
        ("static", "skipped"),
    ]
    assert "DaemonSet" in plan[1].reason and blockers == []


def test_unmanaged_and_emptydir_pods_block_unless_asked() -> None:
    pods = [
        pod("bare", owner=None),
        pod("scratch", spec={"volumes": [{"name": "tmp", "emptyDir": {}}]}),
        pod("done", owner=None, status={"phase": "Succeeded"}),
    ]
    _, blockers = classify(pods, Options())
    assert len(blockers) == 2
    assert "ns/bare is not managed by a controller" in blockers[0]
    assert "ns/scratch has emptyDir data" in blockers[1]
    plan, blockers = classify(pods, Options(force=True, delete_emptydir_data=True))
    assert blockers == [] and all(p.state == "pending" for p in plan)
