"""Open in browser, in Chromium: the Service page's "Open" shows the application in a
new tab, its scripts run, but in an opaque origin that cannot touch Kubelantern's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import RealCluster, ServerProcess
from tests.proxykit import Target, base, proxied_target

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def target(cluster: RealCluster) -> Iterator[Target]:
    with proxied_target(cluster) as t:
        yield t


def test_open_runs_the_app_sandboxed(
    page: Page, server: ServerProcess, cluster: RealCluster, target: Target
) -> None:
    page.goto(f"{server.url}/c/{cluster.name}/namespaces/{target.ns}/services/{target.service}")
    button = page.locator('#service-ports a[data-action="open-port"][data-port="80"]')
    expect(button).to_be_visible()
    with page.context.expect_page() as opened:
        button.click()
    app = opened.value
    app.wait_for_load_state()
    expect(app.locator("#app")).to_have_text("proxied app")
    assert app.url == f"{server.url}{base(cluster, target)}/"
    expect(app).to_have_title("script ran")  # allow-scripts
    # No allow-same-origin: the page's origin is opaque, Kubelantern's cookies unreachable.
    assert app.evaluate("() => window.origin") == "null"
    assert (
        app.evaluate("() => { try { return document.cookie } catch (e) { return e.name } }")
        == "SecurityError"
    )
    assert not [c for c in page.context.cookies() if c["name"] == "stolen"]
    # Its links stay under the proxy prefix.
    href = app.locator("#next").get_attribute("href")
    assert href == f"{base(cluster, target)}/page"
