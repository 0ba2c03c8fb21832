"""Shared fixtures of the security tests: attacks tried against the real stack.

Each attack class of ``docs/security.md`` has a test here or, where an older
test already covers it, is listed below so it is not tested twice:

* forged identity headers (not from the trusted proxy), client
  ``Impersonate-*`` headers, ``system:`` users and groups, headers sent through
  the proxy: ``tests/auth/test_auth_proxy.py`` (real OAuth2 Proxy, real API
  server) and ``tests/unit/test_auth_identity.py`` (that nothing reaches a
  cluster);
* CSRF: ``tests/unit/test_csrf.py`` (missing or wrong token, foreign
  ``Origin``), ``tests/auth/test_auth_proxy.py`` (cross-site POST through the
  proxy), and here ``test_csrf.py`` (every write route of the real server);
* tampered session and proxy cookies, forged OIDC callbacks:
  ``tests/auth/test_auth_oidc.py``, ``tests/auth/test_auth_proxy.py``;
* open redirects, traversal, script injection (Chromium), token leaks,
  malformed input: the ``test_*.py`` files of this folder.

Everything runs against the real control plane of ``tests/conftest.py`` (RBAC:
alice edits team-a only, bob views) and, for sign-in, the real OAuth2 Proxy +
OIDC provider of ``tests/auth/conftest.py``. Objects made here carry unique
``sec-`` names and are deleted afterwards.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from urllib.parse import urljoin, urlsplit

import pytest
from playwright.sync_api import Browser, Dialog, Page, sync_playwright

from tests.browser.conftest import CHROMIUM, FLAGS
from tests.conftest import RealCluster
from tests.integration.operate_kit import Kube

# A JSON Web Token (an OIDC ID token, a ServiceAccount token): must never leak.
JWT = re.compile(r"eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]{8,}")

# Marks that only a running script could leave: every payload sets window.__pwned.
XSS_MARK = "__pwned"
XSS_PAYLOADS = (
    f"<script>window.{XSS_MARK}=1</script>",
    f'"><img src=x onerror="window.{XSS_MARK}=2">',
    f"<svg onload=window.{XSS_MARK}=3>",
    f"javascript:window.{XSS_MARK}=4",
    "'};window." + XSS_MARK + "=5;//",
    f"</textarea><script>window.{XSS_MARK}=6</script>",
)


def unique(prefix: str = "sec") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def is_local_redirect(location: str, base: str) -> bool:
    """Whether a browser following ``location`` from ``base`` stays on ``base``'s origin.

    Browsers drop tabs and newlines and treat a backslash as a slash, so those
    are normalised the same way before the URL is resolved.
    """
    cleaned = re.sub(r"[\t\n\r]", "", location).replace("\\", "/")
    target = urlsplit(urljoin(base, cleaned))
    origin = urlsplit(base)
    return (target.scheme, target.netloc) == (origin.scheme, origin.netloc)


@pytest.fixture(scope="module")
def kube(cluster: RealCluster) -> Iterator[Kube]:
    """The admin's API client, to arrange objects and check the cluster."""
    k = Kube(cluster)
    yield k
    k.close()


@pytest.fixture(scope="module")
def security_browser() -> Iterator[Browser]:
    """Debian's Chromium, per module (closed before tests/browser starts its own Playwright)."""
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(security_browser: Browser) -> Iterator[Page]:
    """A fresh browser context; dialogs (alert/confirm) fail the test instead of blocking."""
    context = security_browser.new_context(ignore_https_errors=True)
    pg = context.new_page()
    pg.set_default_timeout(15000)
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    pg.on("dialog", on_dialog)
    yield pg
    context.close()
    assert not dialogs, f"a script opened dialogs: {dialogs}"
