"""The shared watch cache against the real API server: one upstream watch, many tabs.

The upstream watches are counted where they are held: the API server's own
``apiserver_longrunning_requests`` gauge.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from kubelantern.app import create_app
from kubelantern.cache import Change, Informer, Reader, Subscription, WatchCache
from kubelantern.cache.informer import Event
from kubelantern.clusters.credentials import Credentials, Impersonation
from kubelantern.clusters.kubeconfig import load_files
from kubelantern.clusters.store import Cluster, ClusterStore
from tests.conftest import (
    TEST_CLUSTER,
    RealCluster,
    make_settings,
    run_cluster,
    start_cluster,
    start_server,
    stop_server,
)
from tests.integration.test_live import next_event, sse_events
from tests.kube import kube_client

pytestmark = pytest.mark.cluster

TIMEOUT = 30.0


def open_watches(cluster: RealCluster, resource: str) -> int:
    """Namespace-scoped watches of ``resource`` the API server holds open right now."""
    with kube_client(cluster.kubeconfig()) as kube:
        text = kube.get("/metrics").text
    pattern = re.compile(
        r'^apiserver_longrunning_requests\{[^}]*resource="' + resource + r'"[^}]*'
        r'scope="namespace"[^}]*verb="WATCH"[^}]*\} (?P<v>[0-9.e+]+)$',
        re.M,
    )
    return sum(int(float(m["v"])) for m in pattern.finditer(text))


async def until(check: Callable[[], Awaitable[bool] | bool], what: str) -> None:
    """Wait for a condition (polling), failing after ``TIMEOUT`` seconds."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def next_change(sub: Subscription, name: str) -> Change:
    """The next change of object ``name`` (other events are skipped)."""

    async def find() -> Change:
        while True:
            event: Event = await sub.get()
            if isinstance(event, Change) and event.row.name == name:
                return event

    return await asyncio.wait_for(find(), TIMEOUT)


@pytest.fixture(scope="module")
def namespace(cluster: RealCluster) -> Iterator[str]:
    """A namespace of this module; user dave and the kubelantern SA may view it."""
    name = f"wc-{uuid.uuid4().hex[:8]}"
    with kube_client(cluster.kubeconfig()) as kube:
        kube.post("/api/v1/namespaces", json={"metadata": {"name": name}}).raise_for_status()
        binding = {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "view"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "view",
            },
            "subjects": [
                {"kind": "User", "name": "dave", "apiGroup": "rbac.authorization.k8s.io"},
                {
                    "kind": "ServiceAccount",
                    "name": "kubelantern",
                    "namespace": "kubelantern-system",
                },
            ],
        }
        kube.post(
            f"/apis/rbac.authorization.k8s.io/v1/namespaces/{name}/rolebindings", json=binding
        ).raise_for_status()
    yield name
    with kube_client(cluster.kubeconfig()) as kube:
        kube.delete(f"/api/v1/namespaces/{name}")


def store_for(kubeconfig: str, mode: str = "kubeconfig") -> tuple[ClusterStore, Cluster]:
    store = ClusterStore(timeout=15.0, mode_for=lambda slug, name: mode)
    store.add_all(load_files([kubeconfig]))
    return store, next(iter(store))


def person(cluster: Cluster, user: str) -> Reader:
    """A person behind the sign-in proxy: impersonated on the kubelantern SA's token."""
    creds: Credentials = Impersonation(cluster.client.own_credentials, user)
    return Reader(creds, f"impersonate:{user}")


def create_configmap(cluster: RealCluster, namespace: str, name: str) -> None:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {}}
    with kube_client(cluster.kubeconfig()) as kube:
        kube.post(f"/api/v1/namespaces/{namespace}/configmaps", json=body).raise_for_status()


def run(coro: Callable[[], Awaitable[Any]]) -> Any:
    return asyncio.run(coro())  # type: ignore[arg-type]


def test_every_tab_of_everyone_allowed_shares_one_upstream_watch(
    cluster: RealCluster, namespace: str
) -> None:
    async def main() -> None:
        store, c = store_for(cluster.kubeconfig("kubelantern"), mode="impersonate")
        cache = WatchCache(read_identity="service")
        try:
            rt = await c.discovery.resolve("configmaps")
            before = await asyncio.to_thread(open_watches, cluster, "configmaps")
            subs: list[Subscription] = []
            for user in ("bob", "dave"):
                for _ in range(25):
                    sub = await cache.subscribe(c, rt, namespace, person(c, user))
                    assert sub is not None
                    subs.append(sub)
            # alice may not list configmaps here: she is not served from the cache.
            assert await cache.subscribe(c, rt, namespace, person(c, "alice")) is None
            assert await cache.snapshot(c, rt, namespace, person(c, "alice")) is None
            assert cache.upstream_watches() == 1

            async def one_more() -> bool:
                now = await asyncio.to_thread(open_watches, cluster, "configmaps")
                return now == before + 1

            await until(one_more, "the one upstream watch")
            await asyncio.to_thread(create_configmap, cluster, namespace, "shared-1")
            changes = await asyncio.gather(*(next_change(s, "shared-1") for s in subs))
            assert {c.type for c in changes} == {"ADDED"}
            snap = await cache.snapshot(c, rt, namespace, person(c, "bob"))
            assert snap is not None and "shared-1" in {r.name for r in snap.rows}
            assert all(
                "managedFields" not in (r.object or {}).get("metadata", {}) for r in snap.rows
            )
            assert await asyncio.to_thread(open_watches, cluster, "configmaps") == before + 1
        finally:
            await cache.aclose()
            await store.aclose()

    run(main)


def test_without_a_read_identity_each_person_shares_their_own_watch(
    cluster: RealCluster, namespace: str
) -> None:
    async def main() -> None:
        store, c = store_for(cluster.kubeconfig("kubelantern"), mode="impersonate")
        cache = WatchCache(read_identity="person")
        try:
            rt = await c.discovery.resolve("configmaps")
            for user in ("bob", "dave"):
                for _ in range(10):
                    assert await cache.subscribe(c, rt, namespace, person(c, user)) is not None
            assert cache.upstream_watches() == 2
            assert {key[3] for key in cache.informers} == {"impersonate:bob", "impersonate:dave"}
        finally:
            await cache.aclose()
            await store.aclose()

    run(main)


def test_idle_watch_is_closed_after_the_grace_period(cluster: RealCluster, namespace: str) -> None:
    async def main() -> None:
        store, c = store_for(cluster.kubeconfig("admin"))
        cache = WatchCache(idle_grace=0.5)
        reader = Reader(None, "admin")
        try:
            rt = await c.discovery.resolve("configmaps")
            before = await asyncio.to_thread(open_watches, cluster, "configmaps")
            sub = await cache.subscribe(c, rt, namespace, reader)
            assert sub is not None

            async def count() -> int:
                return await asyncio.to_thread(open_watches, cluster, "configmaps")

            async def opened() -> bool:
                return await count() == before + 1

            async def closed() -> bool:
                return await count() == before

            await until(opened, "the upstream watch")
            await asyncio.sleep(1.0)  # longer than the grace: a subscribed watch stays
            assert cache.upstream_watches() == 1
            sub.close()
            await until(lambda: not cache.informers, "the idle informer to be dropped")
            await until(closed, "the upstream watch to close")
        finally:
            await cache.aclose()
            await store.aclose()

    run(main)


def test_snapshot_is_the_whole_list(cluster: RealCluster) -> None:
    async def main() -> None:
        store, c = store_for(cluster.kubeconfig("admin"))
        cache = WatchCache()
        try:
            rt = await c.discovery.resolve("pods")
            snap = await cache.snapshot(c, rt, None, Reader(None, "admin"))
            assert snap is not None
            with kube_client(cluster.kubeconfig()) as kube:
                items = kube.get("/api/v1/pods").json()["items"]
            want = sorted((i["metadata"]["namespace"], i["metadata"]["name"]) for i in items)
            assert [(r.namespace, r.name) for r in snap.rows] == want
            assert [col.name for col in snap.columns][:2] == ["Name", "Ready"]
        finally:
            await cache.aclose()
            await store.aclose()

    run(main)


def test_api_server_restart_resumes_or_relists(cluster: RealCluster) -> None:
    """The second test cluster goes down and comes back with a new etcd: tabs follow."""
    second: RealCluster = start_cluster(f"{TEST_CLUSTER}-b")

    async def main() -> None:
        store, c = store_for(second.kubeconfig("admin"))
        cache = WatchCache()
        try:
            rt = await c.discovery.resolve("configmaps")
            sub = await cache.subscribe(c, rt, "default", Reader(None, "admin"))
            assert sub is not None
            (informer,) = cache.informers.values()
            await asyncio.to_thread(run_cluster, "down", "--name", second.name)
            await asyncio.to_thread(run_cluster, "up", "--name", second.name)
            back = time.monotonic()
            name = f"after-restart-{uuid.uuid4().hex[:6]}"
            await asyncio.to_thread(create_configmap, second, "default", name)
            change = await next_change(sub, name)
            assert change.type == "ADDED"
            # etcd was reset: the old position is refused and the list made again.
            assert informer.lists >= 2
            print(f"change after restart reached the tab {time.monotonic() - back:.2f} s after up")
        finally:
            await cache.aclose()
            await store.aclose()

    run(main)


# ---- through the app: list pages and live streams served from the cache -------------


def make_configmaps(cluster: RealCluster, namespace: str, prefix: str, count: int) -> None:
    for n in range(count):
        create_configmap(cluster, namespace, f"{prefix}-{n:02d}")


def test_sorting_a_cached_list_sorts_the_whole_list(cluster: RealCluster, namespace: str) -> None:
    make_configmaps(cluster, namespace, "sort", 7)
    settings = make_settings(cluster.kubeconfig("admin"))
    cached_settings = make_settings(cluster.kubeconfig("admin"), watch_cache=True)
    url = f"/c/{cluster.name}/namespaces/{namespace}/configmaps.json"
    with (
        TestClient(create_app(settings)) as upstream,
        TestClient(create_app(cached_settings)) as cached,
    ):
        everything = upstream.get(url, params={"limit": 500}).json()
        names = [r["name"] for r in everything["rows"]]
        first = cached.get(url, params={"limit": 3, "sort": "-Name"}).json()
        assert [r["name"] for r in first["rows"]] == sorted(names, reverse=True)[:3]
        token = first["continue"]
        assert token and token in first["nextUrl"]
        second = cached.get(url, params={"limit": 3, "sort": "-Name", "continue": token}).json()
        assert [r["name"] for r in second["rows"]] == sorted(names, reverse=True)[3:6]
        # Unsorted, filtered and plain pages answer as the API server's list does.
        for params in ({"limit": 3}, {"q": "sort-0"}, {"limit": 500}):
            mine, theirs = cached.get(url, params=params).json(), upstream.get(url, params=params)
            theirs_doc = theirs.json()
            assert set(mine) == set(theirs_doc)
            assert [r["name"] for r in mine["rows"]] == [r["name"] for r in theirs_doc["rows"]]
            assert mine["columns"] == theirs_doc["columns"]
            assert mine["remainingItemCount"] == theirs_doc["remainingItemCount"]
            assert bool(mine["nextUrl"]) == bool(theirs_doc["nextUrl"])
        page = cached.get(url.removesuffix(".json"), params={"sort": "-Name"})
        assert page.status_code == 200 and "sort-06" in page.text


def test_a_person_without_list_permission_is_not_served_from_the_cache(
    cluster: RealCluster, namespace: str
) -> None:
    # alice may not list configmaps in this namespace; the cache must not show them.
    settings = make_settings(cluster.kubeconfig("alice"), watch_cache=True)
    with TestClient(create_app(settings), raise_server_exceptions=False) as alice:
        resp = alice.get(f"/c/{cluster.name}/namespaces/{namespace}/configmaps.json")
        assert resp.status_code == 403
        assert resp.json()["error"]["resource"] == "configmaps"
        watch = alice.get(
            f"/c/{cluster.name}/-/watch.json?resource=configmaps&namespaces={namespace}"
        )
        assert watch.status_code == 403


def test_many_live_tabs_make_one_upstream_watch(cluster: RealCluster, namespace: str) -> None:
    srv = start_server("--kubeconfig", cluster.kubeconfig("admin"), "--watch-cache")
    try:
        before = open_watches(cluster, "configmaps")
        listing = httpx.get(f"{srv.url}/c/{cluster.name}/namespaces/{namespace}/configmaps.json")
        url = srv.url + listing.json()["watchUrl"]
        with contextlib.ExitStack() as stack:
            tabs = [stack.enter_context(sse_events(url)) for _ in range(8)]
            for tab in tabs:
                next_event(tab, "ready")
            assert open_watches(cluster, "configmaps") == before + 1
            create_configmap(cluster, namespace, "live-shared")
            for tab in tabs:
                assert next_event(tab, "row", f"{namespace}/live-shared")["type"] == "ADDED"
    finally:
        stop_server(srv)


def test_access_is_asked_again_when_the_answer_expires(
    cluster: RealCluster, namespace: str
) -> None:
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": "erin-view"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": [{"kind": "User", "name": "erin", "apiGroup": "rbac.authorization.k8s.io"}],
    }
    bindings = f"/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/rolebindings"
    with kube_client(cluster.kubeconfig()) as kube:
        kube.post(bindings, json=binding).raise_for_status()

    async def main() -> None:
        store, c = store_for(cluster.kubeconfig("kubelantern"), mode="impersonate")
        cache = WatchCache(read_identity="service", gate_ttl=0.5)
        try:
            rt = await c.discovery.resolve("configmaps")
            erin = person(c, "erin")
            assert await cache.subscribe(c, rt, namespace, erin) is not None
            assert await cache.still_allowed(c, rt, namespace, erin)
            with kube_client(cluster.kubeconfig()) as kube:
                kube.delete(f"{bindings}/erin-view").raise_for_status()

            async def refused() -> bool:
                return not await cache.still_allowed(c, rt, namespace, erin)

            await until(refused, "the expired answer to be asked again")
            assert await cache.snapshot(c, rt, namespace, erin) is None  # upstream as erin
        finally:
            await cache.aclose()
            await store.aclose()

    run(main)


def api_forgot_position_one(cluster: RealCluster, path: str) -> bool:
    """Whether a watch from resourceVersion 1 is answered 410 (the API server forgot it)."""
    params = {"watch": "1", "resourceVersion": "1", "timeoutSeconds": "1"}
    with kube_client(cluster.kubeconfig()) as kube, kube.stream("GET", path, params=params) as resp:
        first = next(iter(resp.iter_lines()), "")
    return resp.status_code == 410 or '"code":410' in first


def test_an_expired_position_relists_once_not_in_a_loop(cluster: RealCluster) -> None:
    """Node leases change every few seconds, so the API server forgets old positions (410).

    A control plane younger than its watch cache's window still knows position 1;
    tests/unit/test_cache_informer.py replays the 410 bytes for that case.
    """
    leases = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases"
    if not api_forgot_position_one(cluster, leases):
        pytest.skip("this API server still remembers resourceVersion 1 (a young cluster)")

    async def main() -> None:
        store, c = store_for(cluster.kubeconfig("admin"))
        rt = await c.discovery.resolve("leases.coordination.k8s.io")
        informer = Informer(c.slug, c.client, rt, "kube-node-lease", None, watch_timeout=1)
        informer.start()
        try:
            await informer.wait_synced(TIMEOUT)
            assert informer.lists == 1

            def expire() -> bool:
                if informer.lists == 1:
                    informer.rv = "1"  # as if the last change seen were ages ago
                return informer.lists >= 2

            await until(expire, "the 410 and the relist")
            watches = informer.watches
            await until(lambda: informer.watches >= watches + 3, "three more watches")
            assert informer.lists == 2  # one relist, then watching from the fresh position
            assert informer.rows and informer.error is None
        finally:
            await informer.stop()
            await store.aclose()

    run(main)
