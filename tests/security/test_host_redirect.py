"""Attack class: a forged ``Host`` header choosing where the sign-in returns.

If the OIDC ``redirect_uri`` (or the provider's post-logout target) were
built from the request's Host, an attacker who gets a victim's browser or a
misrouted request to Kubelantern under their own host name would receive the
authorization code. Mode oidc must be configured with a redirect URL or a
list of allowed hosts (startup refuses otherwise), and an unknown Host gets
400, never a redirect to the provider. Against the real mock provider.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.auth.conftest import AuthStack
from tests.conftest import ServerProcess, free_port, stop_server
from tests.security.sessions_kit import client, csrf, kubeconfig, oidc_args, oidc_sign_in, start

EVIL = "evil.example"


def test_startup_refuses_oidc_without_redirect_url_or_allowed_hosts(
    auth_stack: AuthStack,
) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "kubelantern",
            "serve",
            "--listen",
            f"127.0.0.1:{free_port()}",
            "--kubeconfig",
            str(kubeconfig(auth_stack)),
            *oidc_args(auth_stack),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "--oidc-redirect-url" in lines[0] and "--allowed-hosts" in lines[0]


@pytest.fixture(scope="module")
def by_hosts(auth_stack: AuthStack) -> Iterator[ServerProcess]:
    server = start(
        auth_stack, "security-hosts", *oidc_args(auth_stack), "--allowed-hosts", "127.0.0.1"
    )
    yield server
    stop_server(server)


def redirect_uri(location: str) -> str:
    return parse_qs(urlsplit(location).query)["redirect_uri"][0]


def test_unknown_host_gets_no_redirect(by_hosts: ServerProcess, auth_stack: AuthStack) -> None:
    with client(by_hosts, auth_stack) as c:
        r = c.get("/-/oidc/login", headers={"Host": EVIL})
        assert r.status_code == 400, r.text[:300]
        assert "location" not in r.headers
        assert "--allowed-hosts" in r.text
        ok = c.get("/-/oidc/login")
        assert ok.status_code == 302
        assert redirect_uri(ok.headers["location"]) == f"{by_hosts.url}/-/oidc/callback"


def test_sign_out_does_not_send_the_provider_to_a_forged_host(
    by_hosts: ServerProcess, auth_stack: AuthStack
) -> None:
    with client(by_hosts, auth_stack) as c:
        oidc_sign_in(c, auth_stack, "alice")
        r = c.post("/-/logout", data={"_csrf": csrf(c)}, headers={"Host": EVIL})
        assert r.status_code == 303
        assert EVIL not in r.headers["location"]


def test_configured_redirect_url_wins_over_any_host(auth_stack: AuthStack) -> None:
    fixed = "https://kubelantern.example.com/-/oidc/callback"
    server = start(
        auth_stack, "security-redirect", *oidc_args(auth_stack), "--oidc-redirect-url", fixed
    )
    try:
        with client(server, auth_stack) as c:
            for host in (EVIL, "127.0.0.1"):
                r = c.get("/-/oidc/login", headers={"Host": host})
                assert r.status_code == 302
                assert redirect_uri(r.headers["location"]) == fixed
    finally:
        stop_server(server)
