"""The request context asks each question once per request, even concurrently.

The API server is replaced by an httpx MockTransport (a byte pipe) that counts
the reviews and discovery requests it receives.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any, get_type_hints

import httpx
import orjson
import pytest
from jinja2 import Environment
from starlette.requests import Request

from kubelantern.auth import NotSignedIn
from kubelantern.auth.access import Check
from kubelantern.clusters.client import ClusterClient
from kubelantern.clusters.kubeconfig import ClusterConfig
from kubelantern.clusters.store import Cluster, ClusterStore
from kubelantern.settings import Settings
from kubelantern.web.context import cluster_context, request_context
from kubelantern.web.state import AppState

# The class of Cluster.discovery, wherever the layers put its module.
Discovery: Any = get_type_hints(Cluster)["discovery"]

CORE = {
    "kind": "APIGroupDiscoveryList",
    "apiVersion": "apidiscovery.k8s.io/v2",
    "items": [
        {
            "metadata": {"name": ""},
            "versions": [
                {
                    "version": "v1",
                    "resources": [
                        {
                            "resource": "pods",
                            "responseKind": {"group": "", "version": "v1", "kind": "Pod"},
                            "scope": "Namespaced",
                            "singularResource": "pod",
                            "verbs": ["get", "list", "watch"],
                        }
                    ],
                }
            ],
        }
    ],
}


class FakeApp:
    """What ``request.app`` must offer: ``state.kl``."""

    def __init__(self, state: AppState) -> None:
        self.state = type("S", (), {"kl": state})()


def setup(mode: str = "kubeconfig") -> tuple[Counter[str], Cluster, AppState]:
    seen: Counter[str] = Counter()

    async def handler(request: httpx.Request) -> httpx.Response:
        seen[request.url.path] += 1
        await asyncio.sleep(0.01)  # let concurrent askers meet
        if request.url.path == "/api":
            return httpx.Response(200, content=orjson.dumps(CORE))
        if request.url.path == "/apis":
            return httpx.Response(200, content=orjson.dumps({**CORE, "items": []}))
        if request.url.path.endswith("selfsubjectaccessreviews"):
            return httpx.Response(200, json={"status": {"allowed": True}})
        if request.url.path.endswith("selfsubjectrulesreviews"):
            return httpx.Response(200, json={"status": {"resourceRules": []}})
        return httpx.Response(404, json={})

    config = ClusterConfig(name="one", server="https://one.example")
    client = ClusterClient(config, transport=httpx.MockTransport(handler))
    cluster = Cluster("one", config, client, Discovery(client), auth_mode=mode)
    state = AppState(settings=Settings(), clusters=ClusterStore(), jinja=Environment())
    return seen, cluster, state


def request_of(state: AppState, query: bytes = b"") -> Request:
    scope: dict[str, Any] = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "headers": [],
        "query_string": query,
        "app": FakeApp(state),
        "state": {},
    }
    return Request(scope)


def test_concurrent_helpers_share_one_answer_per_question() -> None:
    seen, cluster, state = setup()
    check = Check("list", "pods", namespace="a")

    async def main() -> None:
        request = request_of(state)
        ctx = cluster_context(request, cluster)
        # Another Request object over the same scope finds the same context.
        assert cluster_context(Request(request.scope), cluster) is ctx
        answers = await asyncio.gather(
            *(ctx.can(check) for _ in range(5)),
            *(ctx.resource_rules("a") for _ in range(5)),
            *(ctx.discovery() for _ in range(5)),
        )
        assert all(a.allowed for a in answers[:5])  # type: ignore[union-attr]
        assert (await ctx.resolve("pods")).name == "pods"
        await cluster.client.aclose()

    asyncio.run(main())
    assert seen["/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"] == 1
    assert seen["/apis/authorization.k8s.io/v1/selfsubjectrulesreviews"] == 1
    assert seen["/api"] == 1


def test_each_request_has_its_own_context_and_each_app_its_own_cache() -> None:
    seen, cluster, state = setup()
    _, _, other = setup()
    check = Check("get", "pods", namespace="a", name="p")

    async def main() -> None:
        first, second = request_of(state), request_of(state)
        assert request_context(first) is not request_context(second)
        await cluster_context(first, cluster).can(check)
        await cluster_context(second, cluster).can(check)  # the app's cache answers
        assert seen["/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"] == 1
        await cluster_context(request_of(other), cluster).can(check)  # another app asks
        assert seen["/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"] == 2
        await cluster.client.aclose()

    asyncio.run(main())


def test_not_signed_in_is_raised_each_time_and_refuses_checks() -> None:
    seen, cluster, state = setup(mode="bearer")

    async def main() -> None:
        ctx = cluster_context(request_of(state), cluster)
        for _ in range(2):
            with pytest.raises(NotSignedIn):
                _ = ctx.credentials
        decision = await ctx.can(Check("list", "pods"))
        assert not decision.allowed and "sign in" in decision.reason
        await cluster.client.aclose()

    asyncio.run(main())
    assert not seen  # nothing was asked without credentials


def test_selected_and_known_namespaces_come_from_the_request() -> None:
    _, cluster, state = setup()
    state.settings = Settings(namespaces=("team-a",))
    request = request_of(state, b"namespaces=b,BAD,c,b")
    request.scope["headers"] = [(b"cookie", b"kl_known_ns.one=x%2Cteam-a")]
    ctx = cluster_context(request, cluster)
    assert ctx.selected_namespaces(None) == ["b", "c"]
    assert ctx.selected_namespaces("z") == ["z"]
    assert ctx.known_namespaces == ["team-a", "x"]
