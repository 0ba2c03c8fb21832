"""Follow a pod's logs in Chromium and see a line appended afterwards arrive."""

from __future__ import annotations

import uuid

from playwright.sync_api import Page, expect

from tests.conftest import RealCluster, ServerProcess
from tests.streamkit import append_log, web_pods


def test_follow_logs_and_see_a_new_line(
    page: Page, server: ServerProcess, cluster: RealCluster
) -> None:
    pod = web_pods(cluster)[0]
    page.goto(f"{server.url}/c/{cluster.name}/namespaces/team-a/pods/{pod}/logs")
    status = page.locator("[data-log-status]")
    expect(status).to_have_text("following")
    view = page.locator("[data-log-view]")
    expect(view).to_contain_text("kubelantern testenv pod log line")
    line = f"kl-browser-{uuid.uuid4().hex[:8]}"
    append_log(cluster, line)
    expect(view.locator(".ln").last).to_have_text(line)

    # Search highlights the match; pause holds new lines back until resumed.
    page.locator("[data-log-search]").fill(line)
    expect(view.locator("mark")).to_have_text(line)
    expect(page.locator("[data-log-matches]")).to_have_text("1 matching line")
    page.get_by_role("button", name="Pause").click()
    later = f"kl-browser-{uuid.uuid4().hex[:8]}"
    append_log(cluster, later)
    expect(status).to_have_text("paused · 1 new")
    expect(view).not_to_contain_text(later)
    page.get_by_role("button", name="Resume").click()
    expect(view.locator(".ln").last).to_have_text(later)


def test_aggregated_logs_show_pod_prefixes(
    page: Page, server: ServerProcess, cluster: RealCluster
) -> None:
    page.goto(
        f"{server.url}/c/{cluster.name}/namespaces/team-a/deployments.apps/web/logs?tailLines=1"
    )
    prefixes = page.locator("[data-log-view] .src")
    expect(prefixes).to_have_count(len(web_pods(cluster)))
    expect(prefixes.first).to_contain_text("/nginx")
