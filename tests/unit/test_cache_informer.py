"""The informer's reactions to what the API server sends, byte for byte.

Answers the real API server gives only in rare states (410 Gone on a watch,
an etcd compaction) are replayed here through httpx.MockTransport; the
ordinary paths are tested against the real API server in
tests/integration/test_watch_cache.py.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import orjson
import pytest

from kubelantern.cache.informer import Change, Event, Informer, Progress, Resync, Subscription
from kubelantern.clusters.client import ClusterClient
from kubelantern.clusters.discovery import ResourceType
from kubelantern.clusters.kubeconfig import ClusterConfig
from kubelantern.resources.table import Row

PODS = ResourceType(
    group="", version="v1", plural="pods", kind="Pod", namespaced=True, verbs=("list", "watch")
)
GONE = {"kind": "Status", "code": 410, "reason": "Expired", "message": "too old resource version"}
COLUMNS = [{"name": "Name", "type": "string"}, {"name": "Status", "type": "string"}]


def table_row(name: str, status: str, rv: str) -> dict[str, Any]:
    meta = {
        "name": name,
        "namespace": "ns",
        "resourceVersion": rv,
        "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:spec": {}}}],
    }
    return {"cells": [name, status], "object": {"kind": "PartialObjectMetadata", "metadata": meta}}


def table(rows: list[dict[str, Any]], rv: str) -> bytes:
    doc = {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": rv},
        "columnDefinitions": COLUMNS,
        "rows": rows,
    }
    return orjson.dumps(doc)


def watch_line(kind: str, row: dict[str, Any]) -> bytes:
    obj = {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {}, "rows": [row]}
    return orjson.dumps({"type": kind, "object": obj}) + b"\n"


class FakeServer:
    """Byte answers in order: lists at rv 10 then 20; the first watch answers 410."""

    def __init__(self, gone_as: str) -> None:
        self.gone_as = gone_as
        self.lists: list[str] = []
        self.watches: list[str] = []
        self.hold = asyncio.Event()

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        if "watch" not in params:
            self.lists.append(params.get("continue", ""))
            if len(self.lists) == 1:
                rows = [table_row("a", "Running", "8"), table_row("b", "Running", "9")]
                return httpx.Response(200, content=table(rows, "10"))
            rows = [table_row("a", "Failed", "15")]  # b was deleted, a changed
            return httpx.Response(200, content=table(rows, "20"))
        rv = params["resourceVersion"]
        self.watches.append(rv)
        if rv == "10":
            if self.gone_as == "status":
                return httpx.Response(410, content=orjson.dumps(GONE))
            return httpx.Response(200, content=orjson.dumps({"type": "ERROR", "object": GONE}))
        if rv == "20":
            return httpx.Response(200, content=watch_line("ADDED", table_row("c", "Pending", "21")))
        await self.hold.wait()  # later watches stay open, quiet
        return httpx.Response(200, content=b"")


def make_informer(server: FakeServer, queue_size: int = 64) -> Informer:
    config = ClusterConfig(name="c", server="https://k8s.test")
    client = ClusterClient(config, transport=httpx.MockTransport(server))
    return Informer("c", client, PODS, "ns", None, queue_size=queue_size)


async def events_until(sub: Subscription, name: str) -> list[Event]:
    seen: list[Event] = []
    while True:
        event = await asyncio.wait_for(sub.get(), 5)
        seen.append(event)
        if isinstance(event, Change) and event.row.name == name:
            return seen


@pytest.mark.parametrize("gone_as", ["status", "event"])
def test_410_relists_exactly_once_and_sends_the_difference(gone_as: str) -> None:
    async def main() -> None:
        server = FakeServer(gone_as)
        informer = make_informer(server)
        sub = informer.subscribe()  # before the start: it sees every change
        informer.start()
        try:
            await informer.wait_synced(5)
            seen = await events_until(sub, "c")
            changes = [(e.type, e.row.name) for e in seen if isinstance(e, Change)]
            assert changes == [("DELETED", "b"), ("MODIFIED", "a"), ("ADDED", "c")]
            assert any(isinstance(e, Progress) and e.rv == "20" for e in seen)
            assert len(server.lists) == 2  # one relist, not a loop
            assert server.watches[:3] == ["10", "20", "21"]
            assert sorted(informer.rows) == ["ns/a", "ns/c"]
            assert informer.rows["ns/a"].cells == ["a", "Failed"]
            meta = (informer.rows["ns/a"].object or {})["metadata"]
            assert "managedFields" not in meta and meta["resourceVersion"] == "15"
        finally:
            server.hold.set()
            await informer.stop()

    asyncio.run(main())


def test_a_reconnecting_tab_replays_what_it_missed_or_resyncs() -> None:
    async def main() -> None:
        server = FakeServer("status")
        informer = make_informer(server)
        first_tab = informer.subscribe()
        informer.start()
        try:
            await informer.wait_synced(5)
            await events_until(first_tab, "c")
            replayed = informer.subscribe(since="20")
            first = await asyncio.wait_for(replayed.get(), 5)
            assert isinstance(first, Change) and first.row.name == "c"
            # Position 10 is older than the relist: the tab must reload its list.
            stale = await asyncio.wait_for(informer.subscribe(since="10").get(), 5)
            assert isinstance(stale, Resync)
        finally:
            server.hold.set()
            await informer.stop()

    asyncio.run(main())


def test_a_slow_tab_is_told_to_resync_and_never_blocks_the_informer() -> None:
    async def main() -> None:
        server = FakeServer("status")
        informer = make_informer(server, queue_size=2)
        slow = Subscription(informer, 2)
        fast = Subscription(informer, 100)
        row = Row(name="x", namespace="ns", cells=[])
        for n in range(5):
            change = Change("MODIFIED", row, str(n))
            slow.put(change)
            fast.put(change)
        assert isinstance(await slow.get(), Resync)
        assert [(await fast.get()) for _ in range(5)][-1] == Change("MODIFIED", row, "4")

    asyncio.run(main())
