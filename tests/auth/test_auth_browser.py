"""Chromium end to end: open OAuth2 Proxy's URL, sign in at the provider, use Kubelantern.

The mock provider shows a page with one button per user, like a real sign-in
page; the browser clicks alice or bob there.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.auth.conftest import BEARER, IMPERSONATE, AuthStack
from tests.browser.conftest import CHROMIUM, FLAGS


@pytest.fixture(scope="module")
def auth_browser() -> Iterator[Browser]:
    # Module scope: closed before tests/browser starts its own Playwright.
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(auth_browser: Browser) -> Iterator[Page]:
    # The mock provider's certificate comes from a CA made per run; the browser only
    # clicks through it. oauth2-proxy, kube-apiserver and Kubelantern verify it.
    context = auth_browser.new_context(ignore_https_errors=True)
    pg = context.new_page()
    pg.set_default_timeout(15000)
    yield pg
    context.close()


def sign_in_at_provider(page: Page, stack: AuthStack, path: str, user: str) -> None:
    page.goto(stack.proxy_url + path)
    expect(page.locator("h1")).to_have_text("Sign in to the mock provider")
    page.get_by_role("button", name=user, exact=True).click()
    page.wait_for_url(stack.proxy_url + path)


def test_alice_signs_in_and_sees_team_a_but_not_team_b(page: Page, auth_stack: AuthStack) -> None:
    sign_in_at_provider(page, auth_stack, f"/c/{BEARER}/namespaces/team-a/pods", "alice")
    expect(page.locator("[data-user-name]")).to_have_text("alice")
    expect(page.locator('tr[data-namespace="team-a"][data-name^="web-"]').first).to_be_visible()

    page.goto(auth_stack.proxy_url + f"/c/{BEARER}/namespaces/team-b/pods")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Forbidden")
    expect(alert).to_contain_text("You may not list pods in namespace team-b")

    page.goto(auth_stack.proxy_url + "/-/whoami")
    row = page.locator(f'tr[data-cluster="{IMPERSONATE}"]')
    expect(row.locator("[data-user]")).to_have_text("alice")


def test_bob_has_view_rights_and_no_edit_buttons(page: Page, auth_stack: AuthStack) -> None:
    path = f"/c/{BEARER}/namespaces/team-a/deployments.apps/web"
    sign_in_at_provider(page, auth_stack, path, "bob")
    expect(page.locator("[data-user-name]")).to_have_text("bob")
    expect(page.locator("h1")).to_contain_text("web")
    expect(page.locator('[data-action="edit"]')).to_have_count(0)
    page.goto(auth_stack.proxy_url + f"/c/{BEARER}/namespaces/team-b/pods")
    expect(page.locator("tbody tr").first).to_be_visible()


def test_sign_out_from_the_app_bar(page: Page, auth_stack: AuthStack) -> None:
    sign_in_at_provider(page, auth_stack, "/-/whoami", "alice")
    page.locator("[data-appbar-user]").get_by_role("button", name="Sign out").click()
    # Kubelantern clears its session, OAuth2 Proxy its cookie: the provider asks again.
    expect(page.locator("h1")).to_have_text("Sign in to the mock provider")
