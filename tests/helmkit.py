"""Render the Helm chart and apply objects to the test API server, for the deploy tests.

Helm is the real binary, built from the Go module proxy by ``testenv/build helm``
(cached in ~/.cache/kubelantern/bin). Objects are applied with server-side
apply, so the API server's own validation (``fieldValidation=Strict``: unknown
fields are errors, not silently dropped) and admission judge every one.
"""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.conftest import ROOT, no_go_binaries

CHART = ROOT / "deploy" / "helm" / "kubelantern"
KUBE_VERSION = "1.37.2"
FIELD_MANAGER = "kubelantern-chart-test"


@functools.cache
def helm_binary() -> str:
    """Build helm once (a no-op when cached) and return its path."""
    no_go_binaries("helm")
    proc = subprocess.run(
        [str(ROOT / "testenv" / "build"), "--print-dir", "helm"],
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"testenv/build helm failed:\n{proc.stderr[-3000:]}")
    return str(Path(proc.stdout.strip().splitlines()[-1]) / "helm")


def helm_template(
    values: dict[str, Any],
    tmp: Path,
    *,
    release: str = "kubelantern",
    namespace: str = "kubelantern",
) -> subprocess.CompletedProcess[str]:
    values_file = tmp / f"values-{release}.yaml"
    values_file.write_text(yaml.safe_dump(values))
    return subprocess.run(
        [
            helm_binary(),
            "template",
            release,
            str(CHART),
            "--namespace",
            namespace,
            "--kube-version",
            KUBE_VERSION,
            "-f",
            str(values_file),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def render(
    values: dict[str, Any],
    tmp: Path,
    *,
    release: str = "kubelantern",
    namespace: str = "kubelantern",
) -> list[dict[str, Any]]:
    """The chart's objects for ``values``; a render error fails with helm's message."""
    proc = helm_template(values, tmp, release=release, namespace=namespace)
    assert proc.returncode == 0, proc.stderr
    return [doc for doc in yaml.safe_load_all(proc.stdout) if doc]


def by_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def config_file(objects: list[dict[str, Any]]) -> str:
    """Kubelantern's config file as the chart's ConfigMap carries it."""
    (cm,) = by_kind(objects, "ConfigMap")
    text: str = cm["data"]["kubelantern.yaml"]
    return text


class Resources:
    """kind -> (URL path of the collection, namespaced), from the server's discovery."""

    def __init__(self, kube: httpx.Client) -> None:
        self.kube = kube
        self._cache: dict[tuple[str, str], tuple[str, bool]] = {}

    def _discover(self, api_version: str) -> None:
        base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        doc = self.kube.get(base).raise_for_status().json()
        for res in doc["resources"]:
            if "/" not in res["name"]:
                self._cache[(api_version, res["kind"])] = (
                    f"{base}/{res['name']}",
                    res["namespaced"],
                )

    def collection(self, obj: dict[str, Any]) -> str:
        key = (obj["apiVersion"], obj["kind"])
        if key not in self._cache:
            self._discover(obj["apiVersion"])
        path, namespaced = self._cache[key]
        if namespaced:
            group_path, _, plural = path.rpartition("/")
            return f"{group_path}/namespaces/{obj['metadata']['namespace']}/{plural}"
        return path


def apply(
    kube: httpx.Client, resources: Resources, obj: dict[str, Any], *, dry_run: bool
) -> httpx.Response:
    """Server-side apply of one object (created if absent); strict field validation."""
    params = {"fieldManager": FIELD_MANAGER, "force": "true", "fieldValidation": "Strict"}
    if dry_run:
        params["dryRun"] = "All"
    url = f"{resources.collection(obj)}/{obj['metadata']['name']}"
    return kube.patch(
        url,
        params=params,
        content=yaml.safe_dump(obj).encode(),
        headers={"Content-Type": "application/apply-patch+yaml"},
    )


def delete(kube: httpx.Client, resources: Resources, obj: dict[str, Any]) -> None:
    url = f"{resources.collection(obj)}/{obj['metadata']['name']}"
    response = kube.delete(url)
    assert response.status_code in (200, 202, 404), response.text
