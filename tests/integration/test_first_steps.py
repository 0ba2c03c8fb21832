"""What a person with little access sees first: "Create" only if they may
create something, and a start in a namespace instead of a wall of "Not permitted".

bob reads everything and may change nothing; alice may edit in team-a only and
may not list namespaces; admin may do everything.
"""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.conftest import RealCluster

pytestmark = pytest.mark.cluster

CREATE = 'data-action="create"'


def test_view_only_user_gets_no_create_button(
    bob: TestClient, admin: TestClient, cluster: RealCluster
) -> None:
    for path in ("/", "/namespaces/team-a/pods", "/namespaces/team-a/deployments.apps/web"):
        page = bob.get(f"/c/{cluster.name}{path}")
        assert page.status_code == 200, path
        assert CREATE not in page.text, path
        assert CREATE in admin.get(f"/c/{cluster.name}{path}").text, path


def test_create_shows_where_alice_may_create(alice: TestClient, cluster: RealCluster) -> None:
    page = alice.get(f"/c/{cluster.name}/namespaces/team-a/configmaps")
    assert CREATE in page.text
    assert "/-/create?namespace=team-a" in page.text


def test_no_namespace_access_starts_with_where_do_you_work(
    alice: TestClient, admin: TestClient, cluster: RealCluster
) -> None:
    alice.cookies.clear()
    page = alice.get(f"/c/{cluster.name}/").text
    assert "data-start-here" in page and 'name="namespaces"' in page
    assert alice.get(f"/c/{cluster.name}/.json").json()["needsNamespace"] is True
    assert "data-start-here" not in admin.get(f"/c/{cluster.name}/").text
    assert admin.get(f"/c/{cluster.name}/.json").json()["needsNamespace"] is False


def test_named_namespace_fills_the_overview(alice: TestClient, cluster: RealCluster) -> None:
    alice.cookies.clear()
    data = alice.get(f"/c/{cluster.name}/.json", params={"namespaces": "team-a"}).json()
    assert data["needsNamespace"] is False
    assert data["pods"]["namespaces"] == ["team-a"] and data["pods"]["total"] >= 3
    assert data["pods"]["forbidden"] is False
    page = alice.get(f"/c/{cluster.name}/", params={"namespaces": "team-a"}).text
    assert "data-start-here" not in page
    assert "Only namespace team-a" in page
