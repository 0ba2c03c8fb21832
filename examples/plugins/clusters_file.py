"""Clusters from a registry file, for teams that keep a list of clusters in git.

    kubelantern serve --plugins-dir examples/plugins \\
        --plugin-setting clusters_file.path=/etc/kubelantern/clusters.yaml

The file lists kubeconfig files (every context, or one) and clusters given as
server + token; relative paths are relative to the file::

    clusters:
      - kubeconfig: kubeconfigs/prod.yaml      # every context of it
      - kubeconfig: kubeconfigs/dev.yaml
        context: dev-eu                        # only this one
      - name: staging
        server: https://staging.example.com:6443
        token_file: tokens/staging             # or token: ...
        ca_file: ca/staging.crt                # or insecure: true

The file is read again on each refresh (``POST /-/plugins/refresh``); a
cluster no longer listed is removed. A file that cannot be read is reported
and the clusters it gave before stay.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import yaml

from kubelantern import ClusterConfig, Kubelantern, Setting, hookimpl, load_kubeconfig

NAME = "clusters_file"


@hookimpl
def register_plugin_settings() -> list[Setting]:
    return [Setting("path", "The registry file (YAML) listing the clusters.", "")]


def _read(path: Path) -> bytes:
    return path.read_bytes()


def entry_configs(entry: dict[str, Any], base: Path) -> list[ClusterConfig]:
    """The clusters of one entry of the file."""
    if "kubeconfig" in entry:
        return load_kubeconfig(str(base / entry["kubeconfig"]), context=entry.get("context"))
    name, server = entry.get("name"), entry.get("server")
    if not name or not server:
        raise ValueError(f"an entry needs kubeconfig, or name and server: {entry!r}")
    token = entry.get("token")
    if entry.get("token_file"):
        token = (base / entry["token_file"]).read_text().strip()
    ca = _read(base / entry["ca_file"]) if entry.get("ca_file") else None
    return [
        ClusterConfig(
            name=str(name),
            server=str(server).rstrip("/"),
            token=token,
            ca_data=ca,
            insecure_skip_tls_verify=bool(entry.get("insecure", False)),
            namespace=entry.get("namespace"),
        )
    ]


def read_registry(path: Path) -> list[ClusterConfig]:
    doc = yaml.safe_load(path.read_text()) or {}
    configs: list[ClusterConfig] = []
    for entry in doc.get("clusters") or []:
        for config in entry_configs(entry, path.parent):
            configs.append(config)
    return configs


@hookimpl
async def register_clusters(kl: Kubelantern) -> list[ClusterConfig] | None:
    path = kl.plugin_settings(NAME).get("path")
    if not path:
        return None  # not configured: provide nothing, remove nothing
    return await asyncio.to_thread(read_registry, Path(path).expanduser())
