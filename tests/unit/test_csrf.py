"""CSRF: a write without the page's token, or from another site, never reaches a handler."""

from __future__ import annotations

from starlette.testclient import TestClient

from kubelantern.app import create_app
from kubelantern.settings import Settings


def client() -> TestClient:
    return TestClient(create_app(Settings(), clusters=[]), raise_server_exceptions=False)


def test_page_sets_httponly_samesite_cookie_and_meta_token() -> None:
    c = client()
    page = c.get("/")
    cookie = page.headers["set-cookie"]
    assert "kl_csrf=" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "Secure" not in cookie
    token = c.cookies["kl_csrf"]
    assert f'<meta name="csrf-token" content="{token}">' in page.text


def test_secure_cookie_when_configured() -> None:
    c = TestClient(create_app(Settings(secure_cookies=True), clusters=[]))
    assert "Secure" in c.get("/").headers["set-cookie"]


def test_post_without_token_is_refused() -> None:
    c = client()
    c.get("/")
    resp = c.post("/", data={"x": "1"})
    assert resp.status_code == 403
    assert "CSRF" in resp.json()["error"]["title"]


def test_post_with_wrong_token_or_foreign_origin_is_refused() -> None:
    c = client()
    c.get("/")
    token = c.cookies["kl_csrf"]
    assert c.post("/", headers={"X-CSRF-Token": "forged"}).status_code == 403
    foreign = c.post("/", headers={"X-CSRF-Token": token, "Origin": "https://evil.example"})
    assert foreign.status_code == 403


def test_post_with_token_passes_the_middleware() -> None:
    c = client()
    c.get("/")
    token = c.cookies["kl_csrf"]
    # "/" only answers GET: reaching the router (405) proves the middleware let it through.
    assert c.post("/", headers={"X-CSRF-Token": token}).status_code == 405
    assert c.post("/", data={"_csrf": token}).status_code == 405


def test_a_malformed_unrelated_cookie_keeps_the_csrf_token() -> None:
    """Another application's bad cookie before ours must not hide ours (SimpleCookie would)."""
    c = client()
    c.get("/")
    token = c.cookies["kl_csrf"]
    c.cookies.clear()
    headers = {"X-CSRF-Token": token, "Cookie": f'tracker=a b"c; bad{{=1; kl_csrf={token}'}
    assert c.post("/", headers=headers).status_code == 405  # let through: the token matched
