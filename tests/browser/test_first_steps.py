"""alice may not list namespaces: her first page asks where she works, then remembers it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import RealCluster, ServerProcess, start_server, stop_server

pytestmark = [pytest.mark.cluster, pytest.mark.browser]


@pytest.fixture(scope="module")
def as_alice(cluster: RealCluster) -> Iterator[ServerProcess]:
    srv = start_server("--kubeconfig", cluster.kubeconfig("alice"))
    yield srv
    stop_server(srv)


def test_start_here_then_remembered(
    page: Page, as_alice: ServerProcess, cluster: RealCluster
) -> None:
    page.goto(f"{as_alice.url}/c/{cluster.name}/")
    start = page.locator("[data-start-here]")
    expect(start).to_be_visible()
    expect(page.locator('[data-action="create"]')).to_have_count(0)
    start.get_by_label("Namespace").fill("team-a")
    start.get_by_role("button", name="Start there").click()
    expect(page.locator("#pods [data-scope]")).to_contain_text("team-a")
    expect(page.locator("[data-start-here]")).to_have_count(0)
    expect(page.locator('[data-action="create"]')).to_be_visible()
    # Next visit without the query: the chooser remembered team-a.
    page.goto(f"{as_alice.url}/c/{cluster.name}/")
    expect(page.locator("#pods [data-scope]")).to_contain_text("team-a")
    expect(page.locator("#ns-select option", has_text="team-a")).to_have_count(1)
