"""The Kubernetes-backed session store against the real API server: concurrent
sign-outs from two replicas all land (resourceVersion retries), expired ones
are pruned, and a store that cannot be reached refuses sessions but keeps
the browser's cookie."""

from __future__ import annotations

import asyncio
import base64
import secrets
import time
import uuid
from typing import Any

from starlette.responses import PlainTextResponse, Response
from starlette.testclient import TestClient
from starlette.types import Receive, Scope, Send

from kubelantern.auth.config import AuthConfig
from kubelantern.auth.identity import AuthMiddleware
from kubelantern.auth.revocation import KubernetesRevocations
from kubelantern.auth.sessions import CookieCodec, SessionLifetime
from kubelantern.clusters.client import ClusterClient
from kubelantern.clusters.kubeconfig import ClusterConfig, load_files
from tests.conftest import RealCluster
from tests.kube import kube_client

NAMESPACE = "team-a"


def test_two_replicas_revoking_at_once_lose_nothing(cluster: RealCluster) -> None:
    name = f"kl-sessions-{uuid.uuid4().hex[:6]}"
    (config,) = load_files([cluster.kubeconfig("admin")])
    ids = [[secrets.token_urlsafe(16) for _ in range(6)] for _ in range(2)]
    expired = secrets.token_urlsafe(16)

    async def run() -> None:
        stores = [
            KubernetesRevocations(ClusterClient(config), namespace=NAMESPACE, name=name)
            for _ in range(2)
        ]
        try:
            await stores[0].revoke(expired, time.time() - 1)  # creates the Secret
            await asyncio.gather(
                *(stores[i].revoke(sid, time.time() + 600) for i in (0, 1) for sid in ids[i])
            )
            for store in stores:
                store._read_at = None  # read afresh, as another replica would
                for sid in ids[0] + ids[1]:
                    assert await store.is_revoked(sid)
                assert not await store.is_revoked(expired)
                assert not await store.is_revoked(secrets.token_urlsafe(16))
        finally:
            for store in stores:
                await store.aclose()

    admin = kube_client(cluster.kubeconfig("admin"))
    path = f"/api/v1/namespaces/{NAMESPACE}/secrets/{name}"
    try:
        asyncio.run(run())
        data = admin.get(path).raise_for_status().json()["data"]
        assert set(data) == set(ids[0] + ids[1])  # the expired entry was pruned
        assert all(int(base64.b64decode(v)) > time.time() for v in data.values())
    finally:
        admin.delete(path)
        admin.close()


def test_an_unreachable_store_refuses_sessions_but_keeps_the_cookie() -> None:
    down = ClusterConfig(name="gone", server="https://127.0.0.1:9", token="x")
    store = KubernetesRevocations(ClusterClient(down, timeout=2), namespace="ns", name="s")
    config = AuthConfig(default_mode="bearer", bearer_source="form")
    lifetime = SessionLifetime(config.session_max_age, config.session_idle_timeout, store)
    seen: list[dict[str, Any] | None] = []

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["kl_auth"].session)
        await PlainTextResponse("ok")(scope, receive, send)

    def refuse(scope: Scope, err: Exception) -> Response:
        return PlainTextResponse("refused", status_code=403)

    app = AuthMiddleware(inner, config, refuse=refuse, lifetime=lifetime)
    codec = CookieCodec(config.session_key, name="kl_session", max_age=config.session_max_age)
    value = codec.encode(lifetime.start({"token": "t", "user": "u"}))
    r = TestClient(app).get("/", headers={"Cookie": f"kl_session={value}"})  # no lifespan
    assert r.status_code == 200 and seen == [None]  # not signed in while the store is down
    assert "kl_session" not in r.headers.get("set-cookie", "")  # but the cookie is kept
