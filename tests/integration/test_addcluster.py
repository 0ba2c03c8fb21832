"""Clusters added at run time: paste a kubeconfig or URL + CA + token; rename; remove."""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from starlette.testclient import TestClient

from kubelantern.app import create_app
from kubelantern.settings import Settings
from tests.conftest import RealCluster

# Adding is off by default outside desktop mode: these tests switch it on for a
# single-user server (everyone who gets in is a cluster admin) whose test cluster
# listens on 127.0.0.1 (loopback, refused unless allowed).
ON: dict[str, object] = {
    "add_clusters": "on",
    "cluster_admins": ("*",),
    "added_cluster_allow": ("loopback",),
}


@contextlib.contextmanager
def client(tmp_path: Path, **kwargs: object) -> Iterator[TestClient]:
    """The app in its lifespan: a request outside it would leave connections on a dead loop."""
    options = {**ON, **kwargs}
    settings = Settings(clusters_file=str(tmp_path / "clusters.yaml"), **options)  # type: ignore[arg-type]
    with TestClient(create_app(settings, clusters=[]), raise_server_exceptions=False) as tc:
        tc.get("/")  # CSRF cookie
        yield tc


def post(tc: TestClient, url: str, **form: str) -> object:
    return tc.post(
        url,
        data={**form, "_csrf": tc.cookies["kl_csrf"]},
        headers={"Accept": "application/json"},
    )


def test_paste_kubeconfig_browse_rename_remove(tmp_path: Path, cluster: RealCluster) -> None:
    pasted = Path(cluster.kubeconfig("bob")).read_text()
    with client(tmp_path) as tc:
        tc.get("/")
        resp = post(tc, "/-/clusters/add", kubeconfig=pasted)
        added = resp.json()["added"]  # type: ignore[attr-defined]
        assert [a["name"] for a in added] == [cluster.name]
        assert added[0]["reachable"] is True and added[0]["credentialsOk"] is True
        pods = tc.get(f"/c/{cluster.name}/namespaces/team-a/pods.json")
        assert pods.status_code == 200 and pods.json()["rows"]
        # Persisted with owner-only permissions: it holds credentials.
        stored = tmp_path / "clusters.yaml"
        assert stored.stat().st_mode & 0o777 == 0o600
        assert yaml.safe_load(stored.read_text())["clusters"][0]["name"] == cluster.name
        renamed = post(tc, f"/-/clusters/{cluster.name}/rename", name="staging")
        assert renamed.json()["renamed"] == "staging"  # type: ignore[attr-defined]
        assert tc.get("/c/staging/namespaces/team-a/pods.json").status_code == 200
        assert tc.get(f"/c/{cluster.name}/pods.json").status_code == 404
    # A new process finds the added cluster again.
    with client(tmp_path) as tc:
        names = [c["name"] for c in tc.get("/clusters.json").json()["clusters"]]
        assert names == ["staging"]
        assert post(tc, "/-/clusters/staging/remove").json()["removed"] == "staging"  # type: ignore[attr-defined]
        assert tc.get("/clusters.json").json()["clusters"] == []
    assert yaml.safe_load((tmp_path / "clusters.yaml").read_text())["clusters"] == []


def test_add_by_url_ca_and_token(tmp_path: Path, cluster: RealCluster) -> None:
    sa = yaml.safe_load(Path(cluster.kubeconfig("kubelantern")).read_text())
    ca = base64.b64decode(sa["clusters"][0]["cluster"]["certificate-authority-data"]).decode()
    with client(tmp_path) as tc:
        resp = post(
            tc,
            "/-/clusters/add",
            name="by-token",
            server=sa["clusters"][0]["cluster"]["server"],
            ca=ca,
            token=sa["users"][0]["user"]["token"],
        )
        (added,) = resp.json()["added"]  # type: ignore[attr-defined]
        assert added["name"] == "by-token" and added["reachable"] is True
        assert "token" not in (tmp_path / "clusters.yaml").read_text().split("by-token")[0]


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"kubeconfig": "clusters: [unclosed"}, "not valid YAML"),
        ({"kubeconfig": "apiVersion: v1\nkind: Config\n"}, "has no contexts"),
        ({"name": "x", "server": "http://plain", "token": "t"}, "must start with https://"),
        (
            {"name": "x", "server": "https://127.0.0.1", "ca": "nope", "token": "t"},
            "PEM certificate",
        ),
    ],
)
def test_bad_input_is_explained(tmp_path: Path, form: dict[str, str], message: str) -> None:
    with client(tmp_path) as tc:
        resp = tc.post("/-/clusters/add", data={**form, "_csrf": tc.cookies["kl_csrf"]})
        assert resp.status_code == 400
        assert message in resp.text
        assert tc.get("/clusters.json").json()["clusters"] == []


def test_kubeconfig_clusters_cannot_be_removed(tmp_path: Path, cluster: RealCluster) -> None:
    settings = Settings(
        kubeconfig=(cluster.kubeconfig(),),
        clusters_file=str(tmp_path / "c.yaml"),
        **ON,  # type: ignore[arg-type]
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as tc:
        tc.get("/")
        resp = post(tc, f"/-/clusters/{cluster.name}/remove")
        assert resp.status_code == 400  # type: ignore[attr-defined]
        assert "kubeconfig file" in resp.json()["error"]["message"]  # type: ignore[attr-defined]


@pytest.mark.parametrize("in_cluster", [True, False])
def test_adding_is_off_outside_desktop_mode_unless_enabled(in_cluster: bool) -> None:
    settings = Settings(in_cluster=in_cluster, add_clusters="auto")
    with TestClient(create_app(settings, clusters=[])) as tc:
        assert tc.get("/-/clusters/add").status_code == 403
        assert "Add cluster" not in tc.get("/").text


def test_desktop_mode_adds_by_default(tmp_path: Path, cluster: RealCluster) -> None:
    """Its lone user owns the machine: adding is on, loopback and exec are allowed."""
    settings = Settings(clusters_file=str(tmp_path / "clusters.yaml"))
    app = create_app(settings, clusters=[], local_token="key")
    with TestClient(app, raise_server_exceptions=False) as tc:
        tc.get("/?token=key")  # the per-run key becomes the cookie
        assert "Add cluster" in tc.get("/").text
        resp = post(tc, "/-/clusters/add", kubeconfig=Path(cluster.kubeconfig("bob")).read_text())
        (added,) = resp.json()["added"]  # type: ignore[attr-defined]
        assert added["reachable"] is True and added["credentialsOk"] is True
        rows = tc.get("/clusters.json").json()["clusters"]
        assert rows[0]["addedBy"] == "desktop" and rows[0]["canManage"] is True


def test_on_without_cluster_admins_stops_the_start(tmp_path: Path) -> None:
    from kubelantern.clusters.kubeconfig import KubeconfigError

    with pytest.raises(KubeconfigError, match="--cluster-admins"):
        create_app(Settings(add_clusters="on", clusters_file=str(tmp_path / "c.yaml")), clusters=[])
