"""CSRF on every state-changing route of the real app, plugins' routes included.

``tests/unit/test_csrf.py`` checks the middleware on one route. Here every
route of the app the operator runs (with the example plugins loaded) that
accepts a method other than GET/HEAD/OPTIONS is tried without a token, with a
wrong token and from another site, against the real API server: each answer
is 403, and the test object is untouched. A route added later is covered
without touching this test.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.testclient import TestClient

from kubelantern.app import create_app
from kubelantern.operate import actions
from tests.conftest import RealCluster, make_settings
from tests.integration.operate_kit import Kube
from tests.security.conftest import unique

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "plugins"
SAFE = {"GET", "HEAD", "OPTIONS"}


def write_routes(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, str]]:
    for route in routes:
        if isinstance(route, Mount):
            yield from write_routes(list(route.routes or []), prefix + route.path)
        elif isinstance(route, Route) and not isinstance(route, WebSocketRoute):
            for method in sorted(set(route.methods or ()) - SAFE):
                yield method, prefix + route.path


def router(asgi: Any) -> Starlette:
    """The Starlette app inside the middleware layers (each keeps the next as ``app``)."""
    while not isinstance(asgi, Starlette):
        asgi = asgi.app
    return asgi


@pytest.fixture(scope="module")
def app(cluster: RealCluster) -> Iterator[TestClient]:
    settings = make_settings(cluster.kubeconfig("admin"), plugins_dir=(str(EXAMPLES),))
    with TestClient(create_app(settings), raise_server_exceptions=False) as tc:
        yield tc


def fill(path: str, cluster: str, name: str) -> str:
    """Path parameters filled so the route would act on our ConfigMap if CSRF let it."""
    values = {"cluster": cluster, "namespace": "team-a", "resource": "configmaps", "name": name}

    def one(m: re.Match[str]) -> str:
        return values.get(m.group(1), "x")

    return re.sub(r"\{(\w+)(?::\w+)?\}", one, path)


def test_every_write_route_refuses_requests_without_a_valid_token(
    app: TestClient, cluster: RealCluster, kube: Kube
) -> None:
    name = unique("sec-csrf")
    path = f"/api/v1/namespaces/team-a/configmaps/{name}"
    before = kube.apply(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"a": "1"}},
        path,
    )
    routes = sorted(set(write_routes(router(app.app).routes)))
    assert ("POST", "/-/logout") in routes
    # One route takes every POST under /c/{cluster}/: its sub-paths, every action included.
    obj = f"namespaces/team-a/configmaps/{name}"
    tails = ["-/create", f"{obj}/review", f"{obj}/apply"]
    tails += [f"{obj}/actions/{action}" for action in actions.HANDLERS]
    tails += ["namespaces/team-a/configmaps/x/actions/widgets.anything"]  # a plugin's action
    routes = [
        (method, route.replace("{rest:path}", tail) if "{rest:path}" in route else route)
        for method, route in routes
        for tail in (tails if "{rest:path}" in route else [""])
    ]
    try:
        app.get("/clusters.json")
        token = app.cookies["kl_csrf"]
        attempts = {
            "no token": {},
            "wrong token": {"X-CSRF-Token": "0" * len(token)},
            "other site": {"X-CSRF-Token": token, "Origin": "https://evil.example"},
        }
        for method, route in routes:
            url = fill(route, cluster.name, name)
            for why, headers in attempts.items():
                r = app.request(
                    method,
                    url,
                    headers={**headers, "Accept": "application/json"},
                    json={"yaml": "data: {a: '2'}", "replicas": 0},
                )
                assert r.status_code == 403, f"{method} {route} ({why}): {r.status_code}"
        after = kube.must(path)
        assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    finally:
        kube.delete(path)
