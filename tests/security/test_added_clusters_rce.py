"""Attack: remote code execution through a pasted kubeconfig's exec plugin (issue 11, 1).

A kubeconfig's ``exec`` user is a command the server runs. Before issue 11,
anyone (signed in or not) could paste one into ``POST /-/clusters/add`` of a
plain ``kubelantern serve`` and the command ran at once and at every start.
"""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
from starlette.testclient import TestClient

from kubelantern.app import create_app
from kubelantern.settings import Settings
from tests.conftest import start_server, stop_server
from tests.security.clusters_kit import kubeconfig


def exec_kubeconfig(marker: Path) -> str:
    """A kubeconfig whose credential plugin would create ``marker``."""
    user = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": sys.executable,
            "args": ["-c", f"open({str(marker)!r}, 'w').write('pwned')"],
        }
    }
    return kubeconfig("evil", "https://127.0.0.1:1", user=user)


def test_plain_serve_refuses_anonymous_adding_and_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    srv = start_server("--clusters-file", str(tmp_path / "clusters.yaml"))
    try:
        with httpx.Client(base_url=srv.url, timeout=30) as http:
            http.get("/")  # the CSRF cookie, as a browser would have it
            csrf = http.cookies["kl_csrf"]
            assert http.get("/-/clusters/add").status_code == 403
            resp = http.post(
                "/-/clusters/add",
                data={"kubeconfig": exec_kubeconfig(marker), "_csrf": csrf},
                headers={"Accept": "application/json"},
            )
            assert resp.status_code == 403
            assert "switched off" in resp.json()["error"]["message"]
            assert "Add cluster" not in http.get("/").text
            assert http.get("/clusters.json").json()["clusters"] == []
    finally:
        stop_server(srv)
    assert not marker.exists()
    assert not (tmp_path / "clusters.yaml").exists()


def test_a_cluster_admin_cannot_paste_an_exec_plugin_either(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    settings = Settings(
        add_clusters="on",
        cluster_admins=("*",),
        added_cluster_allow=("loopback",),
        clusters_file=str(tmp_path / "clusters.yaml"),
    )
    with TestClient(create_app(settings, clusters=[]), raise_server_exceptions=False) as tc:
        tc.get("/")
        resp = tc.post(
            "/-/clusters/add",
            data={"kubeconfig": exec_kubeconfig(marker), "_csrf": tc.cookies["kl_csrf"]},
        )
        assert resp.status_code == 400
        assert "credential plugin" in resp.text and "--added-cluster-allow exec" in resp.text
        assert tc.get("/clusters.json").json()["clusters"] == []
    assert not marker.exists()


def test_a_stored_exec_cluster_is_not_run_at_start_once_refused(tmp_path: Path) -> None:
    """A clusters file written under a looser policy is checked again at every start."""
    marker = tmp_path / "pwned"
    stored = tmp_path / "clusters.yaml"
    allowed = Settings(
        add_clusters="on",
        cluster_admins=("*",),
        added_cluster_allow=("exec", "loopback"),
        clusters_file=str(stored),
    )
    with TestClient(create_app(allowed, clusters=[])) as tc:
        tc.get("/")
        resp = tc.post(
            "/-/clusters/add",
            data={"kubeconfig": exec_kubeconfig(marker), "_csrf": tc.cookies["kl_csrf"]},
            headers={"Accept": "application/json"},
        )
        assert resp.status_code == 200, resp.text
    assert marker.exists()  # the test can fail: with exec allowed, the plugin does run
    marker.unlink()
    strict = Settings(
        add_clusters="on",
        cluster_admins=("*",),
        added_cluster_allow=("loopback",),
        clusters_file=str(stored),
    )
    with TestClient(create_app(strict, clusters=[])) as tc:
        assert tc.get("/clusters.json").json()["clusters"] == []
    assert not marker.exists()
