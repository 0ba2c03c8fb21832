"""The watch cache's access check: one review for many askers, failures not remembered.

The API server's SelfSubjectAccessReview answers are bytes from httpx.MockTransport.
"""

from __future__ import annotations

import asyncio

import httpx
import orjson

from kubelantern.cache.gate import AccessGate
from kubelantern.clusters.client import ClusterClient
from kubelantern.clusters.discovery import ResourceType
from kubelantern.clusters.kubeconfig import ClusterConfig

PODS = ResourceType(
    group="", version="v1", plural="pods", kind="Pod", namespaced=True, verbs=("list", "watch")
)


def test_many_tabs_at_once_send_one_review_per_verb() -> None:
    asked: list[dict[str, object]] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        asked.append(orjson.loads(request.content)["spec"]["resourceAttributes"])
        await asyncio.sleep(0.05)  # the answer takes a moment: every asker is waiting
        return httpx.Response(200, content=orjson.dumps({"status": {"allowed": True}}))

    async def main() -> list[bool]:
        config = ClusterConfig(name="c", server="https://k8s.test")
        client = ClusterClient(config, transport=httpx.MockTransport(handler))
        gate = AccessGate(ttl=30)
        return await asyncio.gather(
            *(gate.allows("c", client, PODS, "ns", None, "alice") for _ in range(200))
        )

    assert all(asyncio.run(main()))
    assert sorted(str(a["verb"]) for a in asked) == ["list", "watch"]
    assert {a["resource"] for a in asked} == {"pods"}


def test_a_failed_review_is_not_remembered() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls <= 2:
            return httpx.Response(503, content=b'{"kind":"Status","code":503}')
        return httpx.Response(200, content=orjson.dumps({"status": {"allowed": True}}))

    async def main() -> tuple[bool, bool]:
        config = ClusterConfig(name="c", server="https://k8s.test")
        client = ClusterClient(config, transport=httpx.MockTransport(handler))
        gate = AccessGate(ttl=30)
        first = await gate.allows("c", client, PODS, "ns", None, "alice")
        return first, await gate.allows("c", client, PODS, "ns", None, "alice")

    assert asyncio.run(main()) == (False, True)
