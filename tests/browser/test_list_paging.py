"""Paging a list in Chromium: next, previous, rows per page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import RealCluster, ServerProcess

pytestmark = [pytest.mark.cluster, pytest.mark.browser]


def test_next_previous_and_page_size(
    page: Page, server: ServerProcess, cluster: RealCluster
) -> None:
    page.goto(f"{server.url}/c/{cluster.name}/namespaces/monitoring/pods?limit=2")
    rows = page.locator("table.grid tbody tr")
    expect(rows).to_have_count(2)
    first = rows.evaluate_all("rs => rs.map(r => r.dataset.name)")
    expect(page.locator("[data-page-info]")).to_contain_text("Rows 1\u20132 of")
    page.get_by_role("link", name="Next page").click()
    expect(page.locator("[data-page-info]")).to_contain_text("Rows 3\u2013")
    page.get_by_role("link", name="Previous page").click()
    expect(page.locator("[data-page-info]")).to_contain_text("Rows 1\u20132 of")
    assert rows.evaluate_all("rs => rs.map(r => r.dataset.name)") == first
    page.get_by_label("Rows per page").select_option("20")
    expect(page).to_have_url(re.compile(r"limit=20"))
    expect(page.locator("[data-page-next]")).to_have_count(0)
    expect(page.locator("[data-page-info]")).to_contain_text("Rows 1\u2013")
