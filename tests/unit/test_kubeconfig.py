from __future__ import annotations

import base64
from pathlib import Path

import pytest
import yaml

from kubelantern.clusters.kubeconfig import KubeconfigError, load_files


def write(path: Path, doc: dict[str, object]) -> str:
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def kubeconfig(name: str, server: str, **user: object) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": {"server": server}}],
        "users": [{"name": name, "user": user}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name, "namespace": "ns"}}],
        "current-context": name,
    }


def test_first_definition_wins_across_files(tmp_path: Path) -> None:
    a = write(tmp_path / "a", kubeconfig("dev", "https://a:6443", token="t-a"))
    b = write(tmp_path / "b", kubeconfig("dev", "https://b:6443", token="t-b"))
    c = write(tmp_path / "c", kubeconfig("prod", "https://c:6443/", token="t-c"))
    configs = load_files([a, b, c])
    assert [(x.name, x.server) for x in configs] == [
        ("dev", "https://a:6443"),
        ("prod", "https://c:6443"),
    ]
    assert configs[0].token == "t-a"
    assert configs[0].namespace == "ns"


def test_relative_files_and_data(tmp_path: Path) -> None:
    (tmp_path / "ca.crt").write_bytes(b"CA")
    doc = kubeconfig("x", "https://x", **{"client-key-data": base64.b64encode(b"KEY").decode()})
    doc["clusters"][0]["cluster"]["certificate-authority"] = "ca.crt"  # type: ignore[index]
    configs = load_files([write(tmp_path / "cfg", doc)])
    assert configs[0].ca_data == b"CA"
    assert configs[0].client_key_data == b"KEY"


def test_tokens_never_in_repr(tmp_path: Path) -> None:
    cfg = load_files([write(tmp_path / "c", kubeconfig("x", "https://x", token="s3cret"))])[0]
    assert "s3cret" not in repr(cfg)


def test_context_filter_and_errors(tmp_path: Path) -> None:
    path = write(tmp_path / "c", kubeconfig("x", "https://x"))
    assert [c.name for c in load_files([path], context="x")] == ["x"]
    with pytest.raises(KubeconfigError, match="context 'nope' not found"):
        load_files([path], context="nope")
    with pytest.raises(KubeconfigError, match="cannot read kubeconfig"):
        load_files([str(tmp_path / "missing")])
    (tmp_path / "bad").write_text("clusters: [unclosed")
    with pytest.raises(KubeconfigError, match="not valid YAML"):
        load_files([str(tmp_path / "bad")])
