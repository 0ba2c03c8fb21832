"""Kubelantern's own OIDC login (mode oidc, no proxy), and the typed-in token form.

The OIDC tests run a real ``kubelantern serve`` against the mock provider and
the API server that trusts it; the token-form tests use the in-process app
against the same API server.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from starlette.testclient import TestClient

from kubelantern.app import create_app
from kubelantern.settings import Settings
from tests.auth.conftest import CLIENT_ID, AuthStack, kubelantern_kubeconfig, start_kubelantern
from tests.conftest import ServerProcess, stop_server, wait_until

JWT = re.compile(r"eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+")
OIDC = "bearer"  # the context name in kubelantern_kubeconfig (admin certificate: must not be used)


@pytest.fixture(scope="module")
def oidc_server(auth_stack: AuthStack) -> Iterator[ServerProcess]:
    tmp = auth_stack.tmp
    kubeconfig = tmp / "oidc.kubeconfig"
    doc = kubelantern_kubeconfig(auth_stack.cluster)
    doc["contexts"] = [c for c in doc["contexts"] if c["name"] == OIDC]
    kubeconfig.write_text(yaml.safe_dump(doc))
    kubeconfig.chmod(0o600)
    server = start_kubelantern(
        tmp,
        "kubelantern-oidc",
        "--kubeconfig",
        str(kubeconfig),
        "--auth-mode",
        "oidc",
        "--oidc-issuer",
        auth_stack.oidc.issuer,
        "--oidc-client-id",
        CLIENT_ID,
        "--oidc-client-secret-file",
        str(tmp / "client.secret"),
        "--oidc-ca-file",
        str(auth_stack.oidc.ca_file),
        "--oidc-scopes",
        "openid email profile groups",
        "--allowed-hosts",
        "127.0.0.1",
        "--session-secret-file",
        str(tmp / "session.secret"),
    )
    yield server
    stop_server(server)


def browser(server: ServerProcess, stack: AuthStack) -> httpx.Client:
    return stack.track(httpx.Client(base_url=server.url, verify=stack.oidc.ssl, timeout=30))


def sign_in(server: ServerProcess, stack: AuthStack, user: str, id_ttl: str = "") -> httpx.Client:
    client = browser(server, stack)
    stack.oidc.queue(user, id_ttl)
    r = client.get(f"/c/{OIDC}/namespaces/team-a/pods", follow_redirects=True)
    assert r.status_code in (200, 403), r.text[:300]
    return client


def whoami(client: httpx.Client) -> dict[str, object]:
    row: dict[str, object] = client.get("/-/whoami.json").json()["clusters"][0]
    return row


def test_not_signed_in_goes_to_the_own_login_and_back(
    oidc_server: ServerProcess, auth_stack: AuthStack
) -> None:
    client = browser(oidc_server, auth_stack)
    r = client.get(f"/c/{OIDC}/namespaces/team-a/pods?limit=3")
    assert r.status_code == 302
    assert r.headers["location"] == (
        "/-/oidc/login?next=%2Fc%2Fbearer%2Fnamespaces%2Fteam-a%2Fpods%3Flimit%3D3"
    )
    js = client.get(f"/c/{OIDC}/namespaces/team-a/pods.json")
    assert js.status_code == 401 and js.json()["signIn"].startswith("/-/oidc/login?next=")
    auth_stack.oidc.queue("alice")
    r = client.get(r.headers["location"], follow_redirects=True)
    assert r.status_code == 200
    assert r.url.path == f"/c/{OIDC}/namespaces/team-a/pods" and r.url.query == b"limit=3"
    assert "data-user-name>alice<" in r.text
    assert not JWT.search(r.text)  # no token in the page
    row = whoami(client)
    assert row["user"] == "alice" and row["mode"] == "oidc"
    assert client.get(f"/c/{OIDC}/namespaces/team-b/pods").status_code == 403


def test_session_cookie_is_encrypted_httponly_and_chunked(
    oidc_server: ServerProcess, auth_stack: AuthStack
) -> None:
    client = browser(oidc_server, auth_stack)
    auth_stack.oidc.queue("carol")
    r = client.get("/-/oidc/login", params={"next": "/-/whoami"})
    r = client.get(r.headers["location"])  # the provider
    r = client.get(r.headers["location"])  # our callback
    assert r.status_code == 303 and r.headers["location"] == "/-/whoami"
    set_cookies = r.headers.get_list("set-cookie")
    session = [c for c in set_cookies if c.startswith("kl_session")]
    assert session and all("HttpOnly" in c and "SameSite=Lax" in c for c in session)
    assert not any(JWT.search(c) for c in set_cookies)  # encrypted: no JWT visible
    assert whoami(client)["user"] == "carol"


def test_tokens_are_refreshed_before_they_expire(
    oidc_server: ServerProcess, auth_stack: AuthStack
) -> None:
    client = sign_in(oidc_server, auth_stack, "alice", id_ttl="6s")
    signed_in = time.time()
    first = client.cookies.get("kl_session")
    path = f"/c/{OIDC}/namespaces/team-a/pods.json"

    def refreshed_and_past_first_expiry() -> bool:
        assert client.get(path).status_code == 200
        return time.time() > signed_in + 8 and client.cookies.get("kl_session") != first

    wait_until(refreshed_and_past_first_expiry, 30, "a refresh and the first token's expiry")
    assert whoami(client)["user"] == "alice"


def tamper(client: httpx.Client, name: str) -> None:
    for cookie in client.cookies.jar:
        if cookie.name == name and cookie.value:
            middle = len(cookie.value) // 2
            flipped = "A" if cookie.value[middle] != "A" else "B"
            cookie.value = cookie.value[:middle] + flipped + cookie.value[middle + 1 :]


def test_a_tampered_session_cookie_signs_you_out(
    oidc_server: ServerProcess, auth_stack: AuthStack
) -> None:
    client = sign_in(oidc_server, auth_stack, "alice")
    assert whoami(client)["user"] == "alice"
    tamper(client, "kl_session")
    r = client.get(f"/c/{OIDC}/namespaces/team-a/pods")
    assert r.status_code == 302 and r.headers["location"].startswith("/-/oidc/login")
    assert any(
        c.startswith("kl_session=;") and "Max-Age=0" in c for c in r.headers.get_list("set-cookie")
    )
    assert whoami(client)["signedIn"] is False


def test_a_malformed_unrelated_cookie_keeps_the_session(
    oidc_server: ServerProcess, auth_stack: AuthStack
) -> None:
    """Another application's bad cookie (sent first) must not lose the session."""
    signed_in = sign_in(oidc_server, auth_stack, "alice")
    ours = "; ".join(f"{c.name}={c.value}" for c in signed_in.cookies.jar if c.value)
    fresh = browser(oidc_server, auth_stack)
    headers = {"Cookie": f'tracker=a b"c; bad{{=1; {ours}'}
    row = fresh.get("/-/whoami.json", headers=headers).json()["clusters"][0]
    assert row["user"] == "alice"
    page = fresh.get(f"/c/{OIDC}/namespaces/team-a/pods.json", headers=headers)
    assert page.status_code == 200


def test_sign_out_needs_csrf_and_ends_the_session(
    oidc_server: ServerProcess, auth_stack: AuthStack
) -> None:
    client = sign_in(oidc_server, auth_stack, "bob")
    assert client.post("/-/logout").status_code == 403  # no CSRF token
    assert whoami(client)["user"] == "bob"
    r = client.post("/-/logout", data={"_csrf": client.cookies["kl_csrf"]})
    assert r.status_code == 303 and r.headers["location"] == "/-/login"
    assert whoami(client)["signedIn"] is False
    page = client.get("/-/login")
    assert 'data-signin="oidc"' in page.text


def test_a_callback_without_our_state_is_refused(
    oidc_server: ServerProcess, auth_stack: AuthStack
) -> None:
    client = browser(oidc_server, auth_stack)
    r = client.get("/-/oidc/callback", params={"code": "stolen", "state": "forged"})
    assert r.status_code == 401
    assert "Sign-in failed" in r.text
    assert whoami(client)["signedIn"] is False


# --- mode bearer with a typed-in token (in-process app, same API server) ---


@pytest.fixture(scope="module")
def token_app(auth_stack: AuthStack) -> Iterator[TestClient]:
    kubeconfig = auth_stack.tmp / "form.kubeconfig"
    doc = kubelantern_kubeconfig(auth_stack.cluster)
    doc["contexts"] = [c for c in doc["contexts"] if c["name"] == OIDC]
    kubeconfig.write_text(yaml.safe_dump(doc))
    settings = Settings(
        kubeconfig=(str(kubeconfig),),
        auth_mode="bearer",
        bearer_source="form",
        session_secret_file=str(auth_stack.tmp / "session.secret"),
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


def login(client: TestClient, token: str) -> Any:
    client.get("/-/login")
    return client.post(
        "/-/login",
        data={"token": token, "next": "/-/whoami", "_csrf": client.cookies["kl_csrf"]},
        follow_redirects=False,
    )


def test_typed_token_signs_in_as_its_owner(token_app: TestClient, auth_stack: AuthStack) -> None:
    token_app.cookies.clear()
    r = token_app.get(f"/c/{OIDC}/namespaces/team-a/pods", follow_redirects=False)
    assert r.status_code == 302 and r.headers["location"].startswith("/-/login?next=")
    r = login(token_app, auth_stack.oidc.token("bob"))
    assert r.status_code == 303
    row = token_app.get("/-/whoami.json").json()["clusters"][0]
    assert row["user"] == "bob" and row["mode"] == "bearer"
    assert token_app.get(f"/c/{OIDC}/namespaces/team-b/pods.json").status_code == 200


@pytest.mark.parametrize("ttl", ["-1m", "bad"])
def test_expired_or_bad_typed_token_is_refused(
    token_app: TestClient, auth_stack: AuthStack, ttl: str
) -> None:
    token_app.cookies.clear()
    token = auth_stack.oidc.token("alice", ttl=ttl) if ttl != "bad" else "not-a-token"
    r = login(token_app, token)
    assert r.status_code == 401  # type: ignore[attr-defined]
    assert "did not accept this token" in r.text  # type: ignore[attr-defined]
    assert token not in r.text  # type: ignore[attr-defined]
    row = token_app.get("/-/whoami.json").json()["clusters"][0]
    assert row["signedIn"] is False


def test_pages_carry_no_token_in_urls(token_app: TestClient, auth_stack: AuthStack) -> None:
    token_app.cookies.clear()
    token = auth_stack.oidc.token("alice")
    r = login(token_app, token)
    location = r.headers["location"]  # type: ignore[attr-defined]
    assert token not in location
    page = token_app.get(f"/c/{OIDC}/namespaces/team-a/pods")
    assert page.status_code == 200 and token not in page.text
    assert Path(auth_stack.tmp).exists()
