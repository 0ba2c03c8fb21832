"""Open redirects: the login's ``next=`` and the OIDC login's return address.

A sign-in link that sends people on to another site after they signed in is
a phishing tool. Every ``next`` below must end on Kubelantern's own origin:
in the typed-token login (the form and the redirect after it) and in the own
OIDC login through the real mock provider (the return after the callback).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from starlette.testclient import TestClient

from kubelantern.app import create_app
from kubelantern.settings import Settings
from tests.auth.conftest import AuthStack, kubelantern_kubeconfig
from tests.auth.test_auth_oidc import OIDC, browser, oidc_server  # noqa: F401 - fixture
from tests.conftest import ServerProcess
from tests.security.conftest import is_local_redirect

NEXTS = (
    "https://evil.example/",
    "//evil.example/",
    "///evil.example/",
    "/\\evil.example/",
    "\\\\evil.example/",
    "/\t/evil.example/",
    "/%09/evil.example/",
    " //evil.example/",
    "https:evil.example",
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "http://127.0.0.1.evil.example/",
)


@pytest.fixture(scope="module")
def token_login(auth_stack: AuthStack) -> Iterator[TestClient]:
    kubeconfig = auth_stack.tmp / "security-token.kubeconfig"
    doc = kubelantern_kubeconfig(auth_stack.cluster)
    doc["contexts"] = [c for c in doc["contexts"] if c["name"] == OIDC]
    kubeconfig.write_text(yaml.safe_dump(doc))
    kubeconfig.chmod(0o600)
    settings = Settings(
        kubeconfig=(str(kubeconfig),),
        auth_mode="bearer",
        bearer_source="form",
        session_secret_file=str(Path(auth_stack.tmp) / "session.secret"),
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


@pytest.mark.parametrize("target", NEXTS)
def test_the_token_login_returns_only_to_kubelantern(
    token_login: TestClient, auth_stack: AuthStack, target: str
) -> None:
    base = str(token_login.base_url)
    token_login.cookies.clear()
    page = token_login.get("/-/login", params={"next": target})
    assert page.status_code == 200
    for value in re.findall(r'name="next" value="([^"]*)"', page.text):
        assert is_local_redirect(html.unescape(value), base), value
    r = token_login.post(
        "/-/login",
        data={
            "token": auth_stack.oidc.token("bob"),
            "next": target,
            "_csrf": token_login.cookies["kl_csrf"],
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:300]
    assert is_local_redirect(r.headers["location"], base), r.headers["location"]


@pytest.mark.parametrize("target", NEXTS[:6])
def test_the_oidc_login_returns_only_to_kubelantern(
    oidc_server: ServerProcess,  # noqa: F811 - the imported fixture
    auth_stack: AuthStack,
    target: str,
) -> None:
    with browser(oidc_server, auth_stack) as client:
        auth_stack.oidc.queue("bob")
        r = client.get("/-/oidc/login", params={"next": target}, follow_redirects=False)
        hops = 0
        while r.is_redirect and hops < 10:
            location = r.headers["location"]
            if location.startswith(oidc_server.url) or location.startswith("/"):
                assert is_local_redirect(location, oidc_server.url + "/"), location
            r = client.get(r.next_request.url if r.next_request else location)
            hops += 1
        assert str(r.url).startswith(oidc_server.url + "/"), r.url
        assert "evil.example" not in str(r.url)
