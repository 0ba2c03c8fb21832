"""A watch whose resourceVersion expired (410) turns into a 'relist' event.

The API server answers 410 either at once or as an ERROR event in the stream;
both are faked here at the byte level (httpx.MockTransport), not Kubernetes.
"""

from __future__ import annotations

import asyncio

import httpx
import orjson
import pytest

from kubelantern.clusters.client import ClusterClient
from kubelantern.clusters.discovery import Discovery, ResourceType
from kubelantern.clusters.kubeconfig import ClusterConfig
from kubelantern.clusters.store import Cluster
from kubelantern.web.live import Gone, watch_namespace

PODS = ResourceType(group="", version="v1", plural="pods", kind="Pod", namespaced=True)
GONE = {"kind": "Status", "code": 410, "reason": "Expired", "message": "too old resource version"}


def make_cluster(handler: httpx.MockTransport) -> Cluster:
    client = ClusterClient(ClusterConfig(name="c", server="https://k8s.test"), transport=handler)
    return Cluster(slug="c", config=client.config, client=client, discovery=Discovery(client))


async def run_watch(handler: httpx.MockTransport) -> object:
    queue: asyncio.Queue[object] = asyncio.Queue()
    task = asyncio.create_task(
        watch_namespace(make_cluster(handler), PODS, "ns", None, {}, "5", queue)  # type: ignore[arg-type]
    )
    item = await asyncio.wait_for(queue.get(), 5)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return item


@pytest.mark.parametrize("mode", ["status", "event"])
def test_410_becomes_relist(mode: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.params["resourceVersion"] == "5"
        if mode == "status":
            return httpx.Response(410, content=orjson.dumps(GONE))
        line = orjson.dumps({"type": "ERROR", "object": GONE}) + b"\n"
        return httpx.Response(200, content=line)

    assert isinstance(asyncio.run(run_watch(httpx.MockTransport(handler))), Gone)
