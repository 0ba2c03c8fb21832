"""A broken kubeconfig context is one broken row, never a broken page (issue 11, 11).

Before issue 11 one context whose exec credential plugin was not installed
made ``/`` answer 500 for every cluster (and desktop mode landed on that 500
right after its key redirect). Also here: exec plugins of the operator's
kubeconfig get a minimal environment, never the server's whole one.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import httpx
import yaml

from tests.conftest import RealCluster, start_server, stop_server


def with_exec_context(cluster: RealCluster, tmp_path: Path, name: str, command: str) -> Path:
    """The admin kubeconfig plus a context whose user runs ``command``."""
    doc = yaml.safe_load(Path(cluster.kubeconfig("admin")).read_text())
    real = doc["clusters"][0]
    doc["clusters"].append({"name": name, "cluster": real["cluster"]})
    doc["users"].append(
        {
            "name": name,
            "user": {
                "exec": {
                    "apiVersion": "client.authentication.k8s.io/v1",
                    "command": command,
                    "args": [str(tmp_path / "env.json")],
                    "env": [{"name": "PLUGIN_OWN", "value": "kept"}],
                }
            },
        }
    )
    doc["contexts"].append({"name": name, "context": {"cluster": name, "user": name}})
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_a_missing_exec_plugin_is_one_broken_row(cluster: RealCluster, tmp_path: Path) -> None:
    kc = with_exec_context(cluster, tmp_path, "broken", "kubelantern-no-such-plugin")
    srv = start_server("--kubeconfig", str(kc))
    try:
        page = httpx.get(srv.url + "/", timeout=60)
        assert page.status_code == 200
        assert "Credentials unavailable" in page.text
        rows = {
            c["name"]: c
            for c in httpx.get(srv.url + "/clusters.json", timeout=60).json()["clusters"]
        }
        assert rows["broken"]["broken"] == "Credentials unavailable"
        assert "kubelantern-no-such-plugin" in rows["broken"]["error"]
        assert rows[cluster.name]["reachable"] is True and rows[cluster.name]["credentialsOk"]
        # The broken cluster's own pages explain; the others work.
        broken = httpx.get(srv.url + "/c/broken/namespaces/default/pods.json", timeout=60)
        assert broken.status_code == 502
        assert "Credentials unavailable" in broken.json()["error"]["title"]
        ok = httpx.get(f"{srv.url}/c/{cluster.name}/namespaces/team-a/pods.json", timeout=60)
        assert ok.status_code == 200
        assert httpx.get(srv.url + "/-/search?q=team", timeout=60).status_code == 200
    finally:
        stop_server(srv)


def test_unusable_contexts_are_broken_rows_not_a_failed_start(
    cluster: RealCluster, tmp_path: Path
) -> None:
    """A missing certificate file or a context without a server: only those are broken."""
    doc = yaml.safe_load(Path(cluster.kubeconfig("admin")).read_text())
    real = doc["clusters"][0]["cluster"]
    doc["clusters"] += [
        {"name": "gone", "cluster": {"server": real["server"], "certificate-authority": "/no/ca"}},
    ]
    doc["contexts"] += [
        {"name": "no-ca", "context": {"cluster": "gone", "user": doc["users"][0]["name"]}},
        {"name": "no-server", "context": {"cluster": "nowhere", "user": "nobody"}},
    ]
    kc = tmp_path / "kubeconfig"
    kc.write_text(yaml.safe_dump(doc))
    srv = start_server("--kubeconfig", str(kc))
    try:
        page = httpx.get(srv.url + "/", timeout=60)
        assert page.status_code == 200 and "Kubeconfig context broken" in page.text
        data = httpx.get(srv.url + "/clusters.json", timeout=60).json()["clusters"]
        rows = {c["name"]: c for c in data}
        assert "/no/ca" in rows["no-ca"]["error"]
        assert "no server" in rows["no-server"]["error"]
        assert rows[cluster.name]["reachable"] is True
    finally:
        stop_server(srv)


PLUGIN = """#!{python}
import json, os, sys
with open(sys.argv[1], "w") as fh:
    json.dump(dict(os.environ), fh)
print(json.dumps({{"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
                  "status": {{"token": "not-a-valid-token"}}}}))
"""


def test_exec_plugins_get_a_minimal_environment(cluster: RealCluster, tmp_path: Path) -> None:
    plugin = tmp_path / "plugin"
    plugin.write_text(PLUGIN.format(python=sys.executable))
    plugin.chmod(0o755)
    kc = with_exec_context(cluster, tmp_path, "plugged", str(plugin))
    env = {"SERVER_SECRET": "must-not-leak", "AWS_ROLE_ARN": "arn:aws:iam::1:role/x"}
    srv = start_server("--kubeconfig", str(kc), "--exec-credential-env", "AWS_*", env=env)
    try:
        httpx.get(srv.url + "/c/plugged/namespaces/default/pods.json", timeout=60)
    finally:
        stop_server(srv)
    seen = json.loads((tmp_path / "env.json").read_text())
    assert "SERVER_SECRET" not in seen
    assert not any(k.startswith("KUBELANTERN_") for k in seen)
    assert seen["PLUGIN_OWN"] == "kept"  # the kubeconfig's own env: entries
    assert seen["AWS_ROLE_ARN"] == env["AWS_ROLE_ARN"]  # named with --exec-credential-env
    assert "PATH" in seen
    info = json.loads(seen["KUBERNETES_EXEC_INFO"])
    assert info["kind"] == "ExecCredential"


def test_desktop_mode_lands_on_the_clusters_page(cluster: RealCluster, tmp_path: Path) -> None:
    """Desktop mode's first page, right after the key redirect, works with a broken context."""
    from starlette.testclient import TestClient

    from kubelantern.app import create_app
    from kubelantern.settings import Settings

    kc = with_exec_context(cluster, tmp_path, "broken", "kubelantern-no-such-plugin")
    settings = Settings(kubeconfig=(str(kc),), clusters_file=str(tmp_path / "added.yaml"))
    app = create_app(settings, local_token="key")
    with TestClient(app, raise_server_exceptions=False) as tc:
        first = tc.get("/?token=key")  # follows the 303 to / with the cookie
        assert first.status_code == 200
        assert "Credentials unavailable" in first.text and cluster.name in first.text
