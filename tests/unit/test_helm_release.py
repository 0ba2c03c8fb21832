"""Helm's storage encoding and the kubeconfig helm runs with (no cluster needed)."""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any

import pytest

from kubelantern import errors
from kubelantern.clusters.client import ClusterClient
from kubelantern.clusters.credentials import BearerToken, Impersonation
from kubelantern.clusters.kubeconfig import ClusterConfig
from kubelantern.helm import runner
from kubelantern.helm.release import chart_files, coalesce, from_secret, manifest_objects


def secret_of(release: dict[str, Any]) -> dict[str, Any]:
    """A release Secret as the API returns it: base64(helm's base64(gzip(JSON)))."""
    helm_text = base64.b64encode(gzip.compress(json.dumps(release).encode()))
    return {"type": "helm.sh/release.v1", "data": {"release": base64.b64encode(helm_text).decode()}}


RELEASE = {
    "name": "web",
    "namespace": "team-a",
    "version": 3,
    "info": {"status": "deployed", "last_deployed": "2026-01-01T00:00:00Z", "notes": "hi"},
    "chart": {
        "metadata": {"name": "demo", "version": "0.2.0", "appVersion": "2.0"},
        "values": {"a": {"b": 1, "c": 2}, "d": 3},
        "templates": [{"name": "templates/cm.yaml", "data": base64.b64encode(b"x").decode()}],
    },
    "config": {"a": {"b": 9}, "d": None},
    "manifest": "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"
    "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: y\n",
}


def test_decodes_a_release_secret() -> None:
    rel = from_secret(secret_of(RELEASE))
    assert (rel.name, rel.namespace, rel.revision, rel.status) == ("web", "team-a", 3, "deployed")
    assert rel.chart == "demo-0.2.0" and rel.app_version == "2.0" and rel.notes == "hi"
    # Helm's coalescing: maps merge, the user's values win, null deletes a default.
    assert rel.computed_values == {"a": {"b": 9, "c": 2}}
    assert coalesce({"a": 1}, {"a": {"b": 1}}) == {"a": 1}
    objs = manifest_objects(rel.manifest, "team-a")
    assert [(o.kind, o.name, o.namespace) for o in objs] == [
        ("ConfigMap", "x", "team-a"),
        ("Namespace", "y", "team-a"),
    ]


def test_damaged_records_are_a_clear_error() -> None:
    with pytest.raises(errors.BadRequest, match="holds no Helm release"):
        from_secret({"data": {}})
    bad = base64.b64encode(base64.b64encode(b"\x1f\x8b\x08garbage")).decode()
    with pytest.raises(errors.BadRequest, match="cannot be decoded"):
        from_secret({"data": {"release": bad}})


def test_chart_is_rebuilt_but_never_outside_its_directory() -> None:
    files = chart_files(RELEASE["chart"])  # type: ignore[arg-type]
    assert files["templates/cm.yaml"] == b"x" and b"name: demo" in files["Chart.yaml"]
    evil = {"metadata": {"name": "e"}, "templates": [{"name": "../../etc/x", "data": ""}]}
    with pytest.raises(errors.BadRequest, match="bad name"):
        chart_files(evil)
    with pytest.raises(errors.BadRequest, match="dependencies"):
        chart_files({"metadata": {"name": "d", "dependencies": [{"name": "sub"}]}})


@pytest.mark.anyio
async def test_helm_kubeconfig_holds_the_persons_identity_only() -> None:
    config = ClusterConfig(
        name="c",
        server="https://api.test",
        ca_data=b"CA",
        token="server-own-token",
        client_cert_data=b"CERT",
        client_key_data=b"KEY",
    )
    # bearer/oidc: the client is anonymous; only the person's token goes in.
    anonymous = ClusterClient(config, anonymous=True)
    doc = await runner.kubeconfig_for(anonymous, BearerToken("person-token"))
    user = doc["users"][0]["user"]
    assert user == {"token": "person-token"}
    assert doc["clusters"][0]["cluster"]["certificate-authority-data"] == "Q0E="
    assert "server-own-token" not in json.dumps(doc)
    # impersonate: the server's identity, acting as the person (RBAC judges the person).
    own = ClusterClient(config)
    imp = Impersonation(own.own_credentials, "alice", ["devs", "ops"])
    user = (await runner.kubeconfig_for(own, imp))["users"][0]["user"]
    assert user["as"] == "alice" and user["as-groups"] == ["devs", "ops"]
    assert user["token"] == "server-own-token"


def test_binary_lookup(tmp_path: Any) -> None:
    assert runner.find_binary(str(tmp_path / "nope")) is None
    exe = tmp_path / "helm"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    assert runner.find_binary(str(exe)) == str(exe)
    assert "not executable" in runner.unavailable_reason(str(tmp_path / "nope"))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_names_that_could_be_flags_never_reach_helm() -> None:
    runner.check_names("team-a", "web.v2")
    for ns, name in [("team-a", "--post-renderer=/bin/sh"), ("-n", "web"), ("team-a", "x" * 54)]:
        with pytest.raises(errors.BadRequest):
            runner.check_names(ns, name)
