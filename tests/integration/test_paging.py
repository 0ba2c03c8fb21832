"""List paging against the real API server: forward, back, totals, page size."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.conftest import RealCluster

pytestmark = pytest.mark.cluster

JSON = {"Accept": "application/json"}


def get(tc: TestClient, url: str) -> dict[str, Any]:
    r = tc.get(url, headers=JSON)
    assert r.status_code == 200, r.text
    data: dict[str, Any] = r.json()
    return data


def names(data: dict[str, Any]) -> list[str]:
    return [r["name"] for r in data["rows"]]


def test_forward_and_back_with_totals(admin: TestClient, cluster: RealCluster) -> None:
    base = f"/c/{cluster.name}/namespaces/monitoring/pods"
    everything = names(get(admin, base + "?limit=500"))
    assert len(everything) >= 3  # node-exporter on each node, prometheus

    pages: list[dict[str, Any]] = [get(admin, base + "?limit=2")]
    while pages[-1]["paging"]["nextUrl"]:
        pages.append(get(admin, pages[-1]["paging"]["nextUrl"]))
    assert [n for p in pages for n in names(p)] == everything
    for number, page in enumerate(pages, 1):
        paging = page["paging"]
        assert paging["page"] == number and paging["pageSize"] == 2
        assert paging["firstItem"] == 2 * number - 1
        assert paging["total"] == len(everything)  # remainingItemCount, or the last page
        assert bool(paging["prevUrl"]) == (number > 1)

    back = pages[-1]
    for expected in reversed(pages[:-1]):
        back = get(admin, back["paging"]["prevUrl"])
        assert names(back) == names(expected)
        assert back["paging"]["page"] == expected["paging"]["page"]


def test_page_html_has_previous_total_and_size(admin: TestClient, cluster: RealCluster) -> None:
    base = f"/c/{cluster.name}/namespaces/monitoring/pods"
    first = admin.get(base + "?limit=2").text
    assert "data-page-next" in first and "data-page-prev" not in first
    assert 'name="limit"' in first and '<option value="2" selected>2</option>' in first
    assert "Rows 1&ndash;2 of" in first
    second = get(admin, base + "?limit=2")["paging"]["nextUrl"]
    page = admin.get(second).text
    assert "data-page-prev" in page and "Rows 3&ndash;" in page


def test_a_filtered_list_has_no_total(admin: TestClient, cluster: RealCluster) -> None:
    data = get(admin, f"/c/{cluster.name}/namespaces/monitoring/pods?limit=1&q=node-exporter")
    assert data["paging"]["total"] is None and data["paging"]["firstItem"] is None
    assert data["paging"]["page"] == 1


def test_bad_history_is_refused(admin: TestClient, cluster: RealCluster) -> None:
    r = admin.get(
        f"/c/{cluster.name}/namespaces/monitoring/pods.json",
        params={"limit": "2", "continue": "abc", "prev": "<script>"},
    )
    assert r.status_code == 400
    assert "prev" in r.json()["error"]["message"]
