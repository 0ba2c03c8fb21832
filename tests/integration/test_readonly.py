"""The read-only switches remove every write path on the server, whatever RBAC allows."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from kubelantern.app import create_app
from kubelantern.clusters.kubeconfig import load_files
from tests.conftest import RealCluster, make_settings
from tests.integration.operate_kit import Kube, deploy_path, writes

WEB = "namespaces/team-a/deployments.apps/web"


@pytest.fixture(scope="module")
def read_only(cluster: RealCluster) -> Iterator[TestClient]:
    app = create_app(make_settings(cluster.kubeconfig("admin"), read_only=True))
    with TestClient(app, raise_server_exceptions=False) as tc:
        yield tc


@pytest.fixture(scope="module")
def one_read_only(cluster: RealCluster) -> Iterator[TestClient]:
    """Two clusters (the same API server under two names); only "spare" is read-only."""
    (config,) = load_files([cluster.kubeconfig("admin")])
    spare = dataclasses.replace(config, name="spare")
    settings = make_settings(cluster.kubeconfig("admin"), read_only_clusters=("spare",))
    with TestClient(create_app(settings, clusters=[config, spare])) as tc:
        yield tc


def test_global_switch_refuses_every_write_and_hides_buttons(
    read_only: TestClient, cluster: RealCluster
) -> None:
    c = f"/c/{cluster.name}"
    page = read_only.get(f"{c}/{WEB}")
    assert page.status_code == 200
    assert "data-read-only" in page.text
    assert 'data-action="' not in page.text and "data-denied" not in page.text
    assert read_only.get(f"{c}/{WEB}.json").json()["actions"] == []
    edit = read_only.get(f"{c}/{WEB}/edit.json").json()
    assert edit["canApply"] is False and "read-only" in edit["reason"]
    yaml_text = edit["yaml"]
    for path, body in (
        (f"{c}/{WEB}/review", {"yaml": yaml_text}),
        (f"{c}/{WEB}/apply", {"yaml": yaml_text}),
        (f"{c}/{WEB}/actions/scale", {"replicas": 0}),
        (f"{c}/{WEB}/actions/delete", {}),
        (f"{c}/nodes/kwok-node-0/actions/drain", {}),
        (f"{c}/-/create", {"yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"}),
    ):
        r = read_only.post(path, json=body, headers=writes(read_only))
        assert r.status_code == 403, path
        err = r.json()["error"]
        assert err["title"] == "Read-only" and "--read-only" in err["message"]
    socket = f"{c}/namespaces/team-a/pods/any/exec"
    with pytest.raises(WebSocketDisconnect) as refused, read_only.websocket_connect(socket):
        pass
    assert refused.value.code == 1008


def test_nothing_changed_under_the_switch(read_only: TestClient, cluster: RealCluster) -> None:
    kube = Kube(cluster)
    try:
        assert kube.must(deploy_path("team-a", "web"))["spec"]["replicas"] == 3
    finally:
        kube.close()


def test_per_cluster_switch(one_read_only: TestClient, cluster: RealCluster) -> None:
    tc = one_read_only
    spare = tc.get(f"/c/spare/{WEB}").text
    assert "data-read-only" in spare and 'data-action="edit"' not in spare
    main = tc.get(f"/c/{cluster.name}/{WEB}").text
    assert 'data-action="edit"' in main and 'data-action="create"' in main
    text = tc.get(f"/c/{cluster.name}/{WEB}/edit.json").json()["yaml"]
    r = tc.post(f"/c/spare/{WEB}/review", json={"yaml": text, "original": text}, headers=writes(tc))
    assert r.status_code == 403 and "spare is read-only" in r.json()["error"]["message"]
    r = tc.post(
        f"/c/{cluster.name}/{WEB}/review", json={"yaml": text, "original": text}, headers=writes(tc)
    )
    assert r.status_code == 200, r.text  # a dry run on the writable cluster
