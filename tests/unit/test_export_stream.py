"""The export streams: one upstream chunk at a time (the API faked as a byte pipe only)."""

from __future__ import annotations

import tracemalloc
from typing import Any

import httpx
import orjson
import pytest
import yaml

from kubelantern.clusters.client import ClusterClient
from kubelantern.clusters.discovery import ResourceType
from kubelantern.clusters.kubeconfig import ClusterConfig
from kubelantern.resources import export
from kubelantern.resources.table import Column

TOTAL, CHUNK = 10_000, 500
PODS = ResourceType("", "v1", "pods", "Pod", True, ("list",))


def pod(i: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": f"pod-{i:05d}",
            "namespace": "big",
            "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:spec": {}}}],
        },
        "spec": {"containers": [{"name": "main", "image": "busybox"}]},
    }


class Api:
    """Table pages of ``total`` pods, CHUNK at a time, as the API server answers them."""

    def __init__(self, total: int = TOTAL) -> None:
        self.requests = 0
        self.total = total

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        start = int(request.url.params.get("continue") or 0)
        limit = int(request.url.params["limit"])
        end = min(start + limit, self.total)
        doc = {
            "kind": "Table",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": {"continue": str(end) if end < self.total else ""},
            "columnDefinitions": [{"name": "Name", "type": "string"}],
            "rows": [{"cells": [f"pod-{i:05d}"], "object": pod(i)} for i in range(start, end)],
        }
        return httpx.Response(200, content=orjson.dumps(doc))


def shape(columns: list[Column]) -> tuple[list[Column], Any]:
    return columns, lambda row: [*row.cells]


async def collect(fmt: str, api: Api, *, first_only: bool = False) -> bytes:
    client = ClusterClient(
        ClusterConfig(name="c", server="https://k8s.test"), transport=httpx.MockTransport(api)
    )
    query = export.ExportQuery(namespaces=["big"], chunk=CHUNK)
    reader = export.ChunkReader(client, PODS, query, None)
    await reader.start()
    out = bytearray()
    async for part in export.stream(reader, fmt, shape=shape):
        out += part
        if first_only and len(out) > 100:
            break
    await client.aclose()
    return bytes(out)


@pytest.mark.anyio
async def test_first_bytes_need_one_upstream_chunk() -> None:
    api = Api()
    await collect("yaml", api, first_only=True)
    assert api.requests == 1


async def peak_memory(total: int) -> tuple[int, int, int]:
    """(peak bytes allocated, bytes sent, upstream requests) of a JSON export of ``total`` pods."""
    api = Api(total)
    client = ClusterClient(
        ClusterConfig(name="c", server="https://k8s.test"), transport=httpx.MockTransport(api)
    )
    reader = export.ChunkReader(client, PODS, export.ExportQuery(["big"], chunk=CHUNK), None)
    tracemalloc.start()
    size = 0
    await reader.start()
    async for part in export.stream(reader, "json", shape=shape):
        size += len(part)  # dropped, as a server sends each part on
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    await client.aclose()
    return peak, size, api.requests


@pytest.mark.anyio
async def test_ten_thousand_pods_stream_without_being_held() -> None:
    small_peak, small_size, _ = await peak_memory(TOTAL // 4)
    peak, size, requests = await peak_memory(TOTAL)
    assert requests == TOTAL // CHUNK
    assert size > 3.5 * small_size
    # Four times the pods, about the same memory: one chunk at a time, never the whole list.
    assert peak < 1.5 * small_peak, (peak, small_peak)


@pytest.mark.anyio
async def test_formats_parse_back() -> None:
    text = (await collect("yaml", Api(1_200))).decode()  # 3 chunks; parsing YAML is slow
    doc = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    assert doc["kind"] == "List" and len(doc["items"]) == 1_200
    assert "managedFields" not in doc["items"][0]["metadata"]
    assert [i["metadata"]["name"] for i in doc["items"][:2]] == ["pod-00000", "pod-00001"]
    js = orjson.loads(await collect("json", Api()))
    assert len(js["items"]) == TOTAL and js["items"][-1]["metadata"]["name"] == "pod-09999"
    tsv = (await collect("tsv", Api())).decode().splitlines()
    assert tsv[0] == "Name" and len(tsv) == TOTAL + 1


def test_suffixes() -> None:
    assert export.suffix_format("pods.yaml") == ("pods", "yaml")
    assert export.suffix_format("deployments.apps.tsv") == ("deployments.apps", "tsv")
    assert export.suffix_format("pods") is None and export.suffix_format(".csv") is None


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
