"""Helpers for the write tests (edit, create, actions, audit): objects of their own.

Every test works on objects it creates under a unique ``ops-`` name in team-a
(never the seeded ones other tests count), made by admin through the API
server directly with field manager ``test-setup``, and deletes them after.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from starlette.testclient import TestClient

from tests.conftest import RealCluster, wait_until
from tests.kube import kube_client

SETUP_MANAGER = "test-setup"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def writes(tc: TestClient) -> dict[str, str]:
    """Headers for a JSON write: the CSRF token (from a first GET) and Accept JSON."""
    if "kl_csrf" not in tc.cookies:
        tc.get("/clusters.json")
    return {"X-CSRF-Token": tc.cookies["kl_csrf"], "Accept": "application/json"}


def form_token(tc: TestClient) -> str:
    writes(tc)
    return str(tc.cookies["kl_csrf"])


class Kube:
    """Admin access to the API server, for setting up and checking."""

    def __init__(self, cluster: RealCluster, user: str = "admin") -> None:
        self.http: httpx.Client = kube_client(cluster.kubeconfig(user))

    def close(self) -> None:
        self.http.close()

    def apply(self, obj: dict[str, Any], path: str) -> dict[str, Any]:
        r = self.http.patch(
            path,
            params={"fieldManager": SETUP_MANAGER, "force": "true"},
            json=obj,
            headers={"Content-Type": "application/apply-patch+yaml"},
        )
        r.raise_for_status()
        data: dict[str, Any] = r.json()
        return data

    def get(self, path: str) -> dict[str, Any] | None:
        r = self.http.get(path)
        if r.status_code == 404:
            return None
        r.raise_for_status()
        data: dict[str, Any] = r.json()
        return data

    def must(self, path: str) -> dict[str, Any]:
        obj = self.get(path)
        assert obj is not None, f"{path} does not exist"
        return obj

    def merge(self, path: str, patch: dict[str, Any]) -> dict[str, Any]:
        r = self.http.patch(
            path, json=patch, headers={"Content-Type": "application/merge-patch+json"}
        )
        r.raise_for_status()
        data: dict[str, Any] = r.json()
        return data

    def delete(self, path: str, **params: str) -> None:
        r = self.http.delete(path, params=params)
        if r.status_code not in (200, 202, 404):
            r.raise_for_status()

    def wait_gone(self, path: str, timeout: float = 30) -> None:
        wait_until(lambda: self.get(path) is None, timeout, f"{path} to be deleted")


def deploy_path(ns: str, name: str = "") -> str:
    return f"/apis/apps/v1/namespaces/{ns}/deployments" + (f"/{name}" if name else "")


def deployment(
    name: str, ns: str = "team-a", replicas: int = 1, image: str = "busybox:1.36"
) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "main", "image": image}]},
            },
        },
    }


@contextmanager
def a_deployment(kube: Kube, prefix: str, **kwargs: Any) -> Iterator[str]:
    """A Deployment of our own in team-a for the duration of a test."""
    name = unique(prefix)
    kube.apply(deployment(name, **kwargs), deploy_path("team-a", name))
    try:
        yield name
    finally:
        kube.delete(deploy_path("team-a", name))


def line_of(text: str, needle: str) -> int:
    """1-based line of the first line of ``text`` that contains ``needle``."""
    for number, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in text")
