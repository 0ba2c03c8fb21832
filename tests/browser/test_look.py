"""The look in Chromium: icons, favicon, status chips, table of contents, widths, themes, axe.

Screenshots of the main pages at 1440, 1024 and 390 px, light and dark, go to
the artefact folder (``KUBELANTERN_TEST_ARTEFACTS``, default
``test-artefacts/`` in the checkout) for a person to look at; the assertions
check what can be checked: nothing asked for answers 404, nothing overflows the
window sideways, and axe-core (from frontend/node_modules) finds no serious or
critical accessibility violation.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import RealCluster, ServerProcess

pytestmark = [pytest.mark.cluster, pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
ARTEFACTS = Path(os.environ.get("KUBELANTERN_TEST_ARTEFACTS", ROOT / "test-artefacts"))
WIDTHS = (1440, 1024, 390)


def pages(cluster: str) -> dict[str, str]:
    c = f"/c/{cluster}"
    return {
        "clusters": "/",
        "overview": f"{c}/",
        "pods": f"{c}/namespaces/team-a/pods",
        "deployment": f"{c}/namespaces/team-a/deployments.apps/web",
        "configmap": f"{c}/namespaces/team-a/configmaps/web-config",
    }


def open_page(browser: Browser, width: int, theme: str, *, bypass_csp: bool = False) -> Page:
    context = browser.new_context(
        viewport={"width": width, "height": 900},
        color_scheme="dark" if theme == "dark" else "light",
        bypass_csp=bypass_csp,
    )
    page = context.new_page()
    page.set_default_timeout(15000)
    return page


def test_icons_favicon_and_chips(page: Page, server: ServerProcess, cluster: RealCluster) -> None:
    missing: list[str] = []
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    page.goto(f"{server.url}/c/{cluster.name}/namespaces/team-a/pods")
    expect(page.locator('tr[data-name="broken"]')).to_be_visible()
    # The browser's own request for the icon is answered.
    assert page.evaluate("fetch('/favicon.ico').then(r => r.status)") == 200
    icon = page.locator("head link[rel=icon]")
    assert icon.get_attribute("type") == "image/svg+xml"
    # Icons come from the inline sprite and are drawn (a size, no missing symbol).
    sidebar_icon = page.locator('.sidebar a[data-kind="pods"] svg.icon')
    expect(sidebar_icon).to_be_visible()
    box = sidebar_icon.bounding_box()
    assert box is not None and box["width"] >= 10
    assert page.evaluate("document.querySelector('#i-box') !== null")
    # A failing pod's status is a red chip that also says so in words and shape.
    chip = page.locator('tr[data-name="broken"] .status[data-tone="bad"]')
    expect(chip).to_have_text("ImagePullBackOff")
    expect(chip.locator("use")).to_have_attribute("href", "#i-circle-x")
    colour = chip.evaluate("el => getComputedStyle(el).color")
    ok = page.locator('tr[data-name^="web-"] .status[data-tone="ok"]').first
    assert colour != ok.evaluate("el => getComputedStyle(el).color")
    assert missing == []


def test_detail_page_table_of_contents(
    page: Page, server: ServerProcess, cluster: RealCluster
) -> None:
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{server.url}/c/{cluster.name}/namespaces/team-a/deployments.apps/web")
    toc = page.get_by_role("navigation", name="On this page")
    expect(toc).to_be_visible()
    expect(toc.get_by_role("link", name="Metadata")).to_have_attribute("href", "#metadata")
    expect(toc.get_by_role("link", name="YAML")).to_be_visible()
    toc.get_by_role("link", name="Events").click()
    expect(page).to_have_url(
        f"{server.url}/c/{cluster.name}/namespaces/team-a/deployments.apps/web#events"
    )
    expect(page.locator("#events")).to_be_in_viewport()


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("width", WIDTHS)
def test_screenshots_fit_the_width(
    browser: Browser, server: ServerProcess, cluster: RealCluster, width: int, theme: str
) -> None:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    page = open_page(browser, width, theme)
    try:
        for name, path in pages(cluster.name).items():
            page.goto(server.url + path)
            expect(page.locator("main h1").first).to_be_visible()
            dark = page.evaluate("getComputedStyle(document.body).colorScheme")
            assert dark == theme, name
            page.screenshot(path=str(ARTEFACTS / f"{name}-{width}-{theme}.png"), full_page=True)
            # The page itself never scrolls sideways (wide tables scroll in main).
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 1, f"{name} at {width}px is {overflow}px too wide"
    finally:
        page.context.close()


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_axe_finds_no_serious_violations(
    browser: Browser, server: ServerProcess, cluster: RealCluster, theme: str
) -> None:
    assert AXE.is_file(), "axe-core is a devDependency of frontend/: run make frontend"
    # axe is injected as a script tag: this context alone lets it past the CSP.
    page = open_page(browser, 1440, theme, bypass_csp=True)
    problems: list[str] = []
    try:
        for name, path in pages(cluster.name).items():
            page.goto(server.url + path)
            expect(page.locator("main h1").first).to_be_visible()
            page.add_script_tag(path=str(AXE))
            result = page.evaluate(
                "axe.run(document, {resultTypes: ['violations']}).then(r => r.violations"
                ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
                ".map(v => v.id + ': ' + v.nodes.slice(0, 3)"
                ".map(n => n.target.join(' ')).join(' | ')))"
            )
            problems += [f"{name} ({theme}): {p}" for p in result]
    finally:
        page.context.close()
    assert problems == [], "\n".join(problems)
