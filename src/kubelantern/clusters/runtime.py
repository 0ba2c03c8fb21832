"""Clusters added at run time from the UI, and where they are kept.

Adding is on by default only in desktop mode (``--add-clusters``). Locally
they are written to the user's config directory
(``$XDG_CONFIG_HOME/kubelantern/clusters.yaml``, mode 0600, because a
kubeconfig holds credentials); with ``--in-cluster`` they live in that
replica's memory (or in ``--clusters-file`` if one is set). Each entry is a
small kubeconfig of its own, so the same loader reads it as any other
kubeconfig, plus who added it and whether it is shared.
"""

from __future__ import annotations

import base64
import dataclasses
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kubelantern.clusters.addpolicy import AddPolicy
from kubelantern.clusters.kubeconfig import ClusterConfig, KubeconfigError, parse_documents

MAX_KUBECONFIG_BYTES = 256 * 1024


def default_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config")
    return Path(base) / "kubelantern" / "clusters.yaml"


@dataclass
class RuntimeEntry:
    """One added cluster: its own kubeconfig document and the name shown."""

    name: str
    kubeconfig: dict[str, Any]
    # Who added it (their user name; "" if unknown), and whether a cluster admin
    # shared it with everyone. Unshared, only its owner and cluster admins see it.
    owner: str = ""
    shared: bool = False

    def config(self) -> ClusterConfig:
        configs = parse_documents([("added in the UI", self.kubeconfig)])
        if not configs:
            raise KubeconfigError(f"added cluster {self.name!r} has no context")
        return dataclasses.replace(configs[0], name=self.name, source="added in the UI")


def _items(doc: dict[str, Any], section: str) -> list[dict[str, Any]]:
    items = doc.get(section) or []
    kind = section[:-1]
    if not isinstance(items, list) or not all(
        isinstance(i, dict) and isinstance(i.get(kind) or {}, dict) for i in items
    ):
        raise KubeconfigError(f"'{section}' must be a list of mappings with a {kind!r} mapping")
    return items


def parse_pasted_kubeconfig(text: str, policy: AddPolicy) -> list[RuntimeEntry]:
    """Every context of a pasted kubeconfig, each as a self-contained entry.

    Each entry is checked against ``policy`` before anything reads a file,
    runs a command or opens a connection.
    """
    if len(text.encode()) > MAX_KUBECONFIG_BYTES:
        raise KubeconfigError("that kubeconfig is larger than 256 KiB")
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise KubeconfigError(f"not valid YAML: {exc}") from exc
    if not isinstance(doc, dict) or not doc.get("contexts"):
        raise KubeconfigError("not a kubeconfig: it has no contexts")
    entries = []
    if not isinstance(doc["contexts"], list):
        raise KubeconfigError("'contexts' must be a list")
    for ctx in doc["contexts"]:
        if not isinstance(ctx, dict) or "name" not in ctx:
            raise KubeconfigError("every context needs a name")
        name = str(ctx["name"])
        body = ctx.get("context") or {}
        if not isinstance(body, dict):
            raise KubeconfigError(f"context {name!r} is not a mapping")
        clusters = [c for c in _items(doc, "clusters") if c.get("name") == body.get("cluster")]
        users = [u for u in _items(doc, "users") if u.get("name") == body.get("user")]
        single = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": clusters,
            "users": users,
            "contexts": [ctx],
            "current-context": name,
        }
        policy.check_document(single)
        entries.append(RuntimeEntry(name=name, kubeconfig=single))
    for entry in entries:
        entry.config()  # reads embedded data only: files were refused unless allowed
    return entries


def entry_from_token(
    name: str, server: str, ca_pem: str, token: str, policy: AddPolicy
) -> RuntimeEntry:
    """A cluster given as server URL + CA + bearer token."""
    if not server.startswith("https://"):
        raise KubeconfigError("the server URL must start with https://")
    if not token.strip():
        raise KubeconfigError("a token is needed")
    cluster: dict[str, Any] = {"server": server.rstrip("/")}
    if ca_pem.strip():
        if "BEGIN CERTIFICATE" not in ca_pem:
            raise KubeconfigError("the CA must be a PEM certificate (-----BEGIN CERTIFICATE-----)")
        cluster["certificate-authority-data"] = base64.b64encode(ca_pem.strip().encode()).decode()
    policy.check_server(server)  # last: it resolves the host name
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": cluster}],
        "users": [{"name": name, "user": {"token": token.strip()}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "current-context": name,
    }
    return RuntimeEntry(name=name, kubeconfig=doc)


class RuntimeClusters:
    """The added clusters, persisted to ``path`` when one is given."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.entries: dict[str, RuntimeEntry] = {}
        if path is not None and path.exists():
            doc = yaml.safe_load(path.read_text()) or {}
            for item in doc.get("clusters") or []:
                entry = RuntimeEntry(
                    name=str(item["name"]),
                    kubeconfig=item["kubeconfig"],
                    owner=str(item.get("owner") or ""),
                    shared=bool(item.get("shared", False)),
                )
                self.entries[entry.name] = entry

    def save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        doc = {
            "clusters": [
                {"name": e.name, "owner": e.owner, "shared": e.shared, "kubeconfig": e.kubeconfig}
                for e in self.entries.values()
            ]
        }
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".clusters-")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w") as fh:
                yaml.safe_dump(doc, fh, sort_keys=False)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def add(self, entry: RuntimeEntry) -> None:
        self.entries[entry.name] = entry
        self.save()

    def remove(self, name: str) -> None:
        self.entries.pop(name, None)
        self.save()

    def rename(self, old: str, new: str) -> RuntimeEntry:
        entry = self.entries.pop(old)
        entry.name = new
        self.entries[new] = entry
        self.save()
        return entry
