"""The error mapping of the cluster client, over a fake byte pipe (httpx.MockTransport)."""

from __future__ import annotations

import httpx
import orjson
import pytest

from kubelantern import errors
from kubelantern.clusters.client import ClusterClient
from kubelantern.clusters.kubeconfig import ClusterConfig


def client(handler: httpx.MockTransport) -> ClusterClient:
    return ClusterClient(ClusterConfig(name="c", server="https://k8s.test"), transport=handler)


def status(code: int, reason: str, message: str) -> httpx.Response:
    body = {"kind": "Status", "status": "Failure", "code": code, "reason": reason}
    return httpx.Response(code, content=orjson.dumps({**body, "message": message}))


async def _request(code: int, cls: type[errors.ApiError]) -> None:
    c = client(httpx.MockTransport(lambda req: status(code, "R", "msg")))
    with pytest.raises(cls) as info:
        await c.request("GET", "/api/v1/pods", verb="list", resource="pods", namespace="x")
    assert info.value.status == code
    assert info.value.message == "msg"
    assert (info.value.verb, info.value.resource, info.value.namespace) == ("list", "pods", "x")
    await c.aclose()


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        (401, errors.Unauthorized),
        (403, errors.Forbidden),
        (404, errors.NotFound),
        (409, errors.Conflict),
        (410, errors.Gone),
        (422, errors.Invalid),
        (500, errors.ApiError),
    ],
)
def test_status_maps_to_error(code: int, cls: type[errors.ApiError]) -> None:
    import anyio

    anyio.run(_request, code, cls)


def test_connection_refused_is_unavailable() -> None:
    import anyio

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async def go() -> None:
        c = client(httpx.MockTransport(refuse))
        with pytest.raises(errors.ClusterUnavailable, match=r"cannot reach https://k8s\.test"):
            await c.request("GET", "/version")

    anyio.run(go)


def test_timeout_is_cluster_timeout() -> None:
    import anyio

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    async def go() -> None:
        c = client(httpx.MockTransport(slow))
        with pytest.raises(errors.ClusterTimeout) as info:
            await c.request("GET", "/version")
        assert info.value.status == 504

    anyio.run(go)
