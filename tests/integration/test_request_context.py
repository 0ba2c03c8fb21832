"""One request works out its context once (``kubelantern.web.context``).

Each page below is rendered by the real app against the real API server while
the functions that pick credentials, name the identity, list the known
namespaces, fetch discovery and ask access/rules reviews are wrapped to count
their calls. Before the request context an overview page picked its
credentials seven times; now each runs once per page (and each review is
asked once per question).
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any, get_type_hints

import pytest
from starlette.testclient import TestClient

from kubelantern import auth
from kubelantern.auth.access import AccessCache, Check
from kubelantern.clusters.store import Cluster
from kubelantern.web import context
from tests.conftest import RealCluster

# The class of Cluster.discovery, wherever the layers put its module.
Discovery: Any = get_type_hints(Cluster)["discovery"]

pytestmark = pytest.mark.cluster

Calls = Counter[object]


def _wrap_everywhere(
    monkeypatch: pytest.MonkeyPatch, original: Callable[..., Any], counter: Calls, key: str
) -> None:
    """Count calls of ``original`` under every name a Kubelantern module holds it by."""

    def counted(*args: Any, **kwargs: Any) -> Any:
        counter[key] += 1
        return original(*args, **kwargs)

    for name, module in list(sys.modules.items()):
        if not name.startswith("kubelantern") or module is None:
            continue
        for attr, value in list(vars(module).items()):
            if value is original:
                monkeypatch.setattr(module, attr, counted)


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[Calls]:
    counter: Calls = Counter()
    _wrap_everywhere(monkeypatch, auth.credentials_for, counter, "credentials_for")
    _wrap_everywhere(monkeypatch, auth.identity_key, counter, "identity_key")
    _wrap_everywhere(monkeypatch, context.known_namespaces, counter, "known_namespaces")

    discovery_get = Discovery.get
    rules = AccessCache.resource_rules
    can = AccessCache.can

    async def counted_discovery(self: Any, *args: Any, **kwargs: Any) -> Any:
        counter["discovery"] += 1
        return await discovery_get(self, *args, **kwargs)

    async def counted_rules(
        self: AccessCache, cluster: Cluster, creds: Any, identity: str, namespace: str
    ) -> Any:
        counter[("rules", cluster.slug, namespace)] += 1
        return await rules(self, cluster, creds, identity, namespace)

    async def counted_can(
        self: AccessCache, cluster: Cluster, creds: Any, identity: str, check: Check
    ) -> Any:
        counter[("can", cluster.slug, check)] += 1
        return await can(self, cluster, creds, identity, check)

    monkeypatch.setattr(Discovery, "get", counted_discovery)
    monkeypatch.setattr(AccessCache, "resource_rules", counted_rules)
    monkeypatch.setattr(AccessCache, "can", counted_can)
    yield counter


def _once_each(counter: Calls) -> None:
    assert counter["credentials_for"] == 1, counter
    assert counter["identity_key"] <= 1, counter
    assert counter["known_namespaces"] <= 1, counter
    assert counter["discovery"] == 1, counter
    repeated = {k: n for k, n in counter.items() if isinstance(k, tuple) and n > 1}
    assert not repeated, f"reviews asked more than once in one request: {repeated}"


@pytest.mark.parametrize(
    "page",
    [
        "/",  # the overview: probe, nodes, pods, events, sidebar, namespace chooser
        "/namespaces/team-a/pods",  # a list with its sidebar
        "/pods",  # a list of all namespaces (the chooser remembers none)
        "/namespaces/team-a/configmaps/kube-root-ca.crt",  # a detail page with its actions
        "/namespaces/team-a/configmaps/kube-root-ca.crt.json",  # its JSON twin
    ],
)
@pytest.mark.parametrize("user", ["admin", "alice"])
def test_each_page_works_out_its_context_once(
    client_for: Callable[[str], TestClient],
    cluster: RealCluster,
    calls: Calls,
    user: str,
    page: str,
) -> None:
    tc = client_for(user)
    calls.clear()
    r = tc.get(f"/c/{cluster.name}{page}")
    # alice may list pods in team-a only: her cluster-wide list is the refusal page.
    assert r.status_code == (403 if (user, page) == ("alice", "/pods") else 200), r.text
    _once_each(calls)
    if page == "/":
        assert any(k[0] == "rules" for k in calls if isinstance(k, tuple))  # the sidebar asked
    if page.endswith("kube-root-ca.crt"):
        assert any(k[0] == "can" for k in calls if isinstance(k, tuple))  # the buttons asked


def test_the_counting_sees_a_second_lookup(
    admin: TestClient, cluster: RealCluster, calls: Calls
) -> None:
    """The wrappers do count: two pages are two contexts, so everything runs twice."""
    calls.clear()
    for _ in range(2):
        assert admin.get(f"/c/{cluster.name}/namespaces/team-a/pods").status_code == 200
    assert calls["credentials_for"] == 2 and calls["discovery"] == 2
    with pytest.raises(AssertionError):
        _once_each(calls)
