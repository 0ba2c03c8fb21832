"""Identity headers, trust, and the credentials each mode sends (no cluster needed).

The API server is replaced by an httpx MockTransport that records the headers
and TLS identity Kubelantern would present: only the byte pipe is fake.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.datastructures import Headers
from starlette.testclient import TestClient

from kubelantern.app import create_app
from kubelantern.auth.config import from_settings
from kubelantern.auth.identity import client_trusted, parse_identity, split_groups
from kubelantern.clusters import store as store_module
from kubelantern.clusters.client import ClusterClient
from kubelantern.clusters.credentials import BearerToken, Impersonation
from kubelantern.clusters.kubeconfig import ClusterConfig
from kubelantern.settings import Settings

SECRET = "proxy-secret"


def settings(tmp_path: Path, **kwargs: Any) -> Settings:
    secret = tmp_path / "proxy.secret"
    secret.write_text(SECRET)
    base: dict[str, Any] = {
        "auth_mode": "impersonate",
        "trusted_proxies": "127.0.0.1/32",
        "proxy_secret_file": str(secret),
        "user_header": "X-Forwarded-Preferred-Username",
    }
    base.update(kwargs)
    return Settings(**base)


def test_groups_are_split_trimmed_and_deduplicated() -> None:
    assert split_groups(["a, b,,a", " c "]) == ("a", "b", "c")
    assert split_groups([""]) == ()


def test_identity_falls_back_to_x_auth_request_headers(tmp_path: Path) -> None:
    cfg = from_settings(settings(tmp_path))
    headers = Headers(
        {
            "x-auth-request-preferred-username": "carol",
            "x-auth-request-groups": "devs,ops",
            "authorization": "Bearer abc.def.ghi",
        }
    )
    ident = parse_identity(cfg, headers)
    assert ident is not None
    assert ident.user == "carol" and ident.groups == ("devs", "ops")
    assert ident.id_token == "abc.def.ghi"
    assert "abc.def" not in repr(ident)
    assert parse_identity(cfg, Headers({"x-forwarded-email": "x@y"})) is None


@pytest.mark.parametrize(
    ("client", "secret", "trusted"),
    [
        (("127.0.0.1", 1), SECRET, True),
        (("127.0.0.2", 1), SECRET, False),  # wrong address
        (("127.0.0.1", 1), "wrong", False),  # wrong secret
        (("127.0.0.1", 1), "", False),
        (("testclient", 1), SECRET, False),  # not an address at all
        (None, SECRET, False),
    ],
)
def test_trust_needs_address_and_secret(
    tmp_path: Path, client: tuple[str, int] | None, secret: str, trusted: bool
) -> None:
    cfg = from_settings(settings(tmp_path))
    headers = Headers({"x-kubelantern-proxy-secret": secret} if secret else {})
    assert client_trusted(cfg, {"client": client}, headers) is trusted


class Recorder:
    """The fake API server: answers SelfSubjectReview with what it was sent."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        user = request.headers.get("impersonate-user", "")
        groups = request.headers.get_list("impersonate-group")
        if not user and not request.headers.get("authorization"):
            return httpx.Response(401, json={"kind": "Status", "code": 401, "message": "nope"})
        return httpx.Response(
            201,
            json={"status": {"userInfo": {"username": user or "token-user", "groups": groups}}},
        )


def user_requests(recorder: Recorder) -> list[httpx.Request]:
    """What reached the cluster on a user's behalf (background /version checks aside)."""
    return [
        r for r in recorder.requests if r.url.path != "/version" or "impersonate-user" in r.headers
    ]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


def make_app(
    tmp_path: Path,
    recorder: Recorder,
    monkeypatch: pytest.MonkeyPatch,
    client: tuple[str, int],
    **kwargs: Any,
) -> TestClient:
    real = ClusterClient

    def with_fake_server(config: ClusterConfig, **kw: Any) -> ClusterClient:
        return real(config, transport=httpx.MockTransport(recorder), **kw)

    monkeypatch.setattr(store_module, "ClusterClient", with_fake_server)
    config = ClusterConfig(name="c1", server="https://api.test", token="kubelantern-sa-token")
    application = create_app(settings(tmp_path, **kwargs), clusters=[config])
    return TestClient(application, raise_server_exceptions=False, client=client)


@pytest.fixture
def proxied(
    tmp_path: Path, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    """Requests from the trusted proxy's address."""
    with make_app(tmp_path, recorder, monkeypatch, ("127.0.0.1", 40000)) as client:
        yield client


@pytest.fixture
def outsider(
    tmp_path: Path, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    """Requests from an address that is not the proxy's."""
    with make_app(tmp_path, recorder, monkeypatch, ("10.1.2.3", 40000)) as client:
        yield client


PROXY = {"x-kubelantern-proxy-secret": SECRET}


def test_impersonation_sends_sa_token_user_and_each_group(
    proxied: TestClient, recorder: Recorder
) -> None:
    headers = {
        **PROXY,
        "x-forwarded-preferred-username": "carol",
        "x-forwarded-groups": "devs,ops,system:masters",
        "impersonate-user": "admin",
        "impersonate-group": "system:masters",
    }
    r = proxied.get("/-/whoami.json", headers=headers)
    assert r.status_code == 200, r.text
    row = r.json()["clusters"][0]
    assert row["user"] == "carol" and row["groups"] == ["devs", "ops"]
    (review,) = [r for r in recorder.requests if r.url.path.endswith("/selfsubjectreviews")]
    sent = review.headers
    assert sent["authorization"] == "Bearer kubelantern-sa-token"
    assert sent.get_list("impersonate-user") == ["carol"]
    assert sent.get_list("impersonate-group") == ["devs", "ops"]
    assert "x-kubelantern-proxy-secret" not in sent and "x-forwarded-groups" not in sent


def test_without_identity_a_page_redirects_to_the_proxy_sign_in(
    proxied: TestClient, recorder: Recorder
) -> None:
    r = proxied.get("/c/c1/namespaces/a/pods?x=1", headers=PROXY, follow_redirects=False)
    assert r.status_code == 302
    assert r.headers["location"] == "/oauth2/start?rd=%2Fc%2Fc1%2Fnamespaces%2Fa%2Fpods%3Fx%3D1"
    r = proxied.get("/c/c1/namespaces/a/pods", headers={**PROXY, "hx-request": "true"})
    assert r.status_code == 401 and r.headers["hx-redirect"].startswith("/oauth2/start?rd=")
    assert not user_requests(recorder)


def test_a_system_user_is_never_impersonated(proxied: TestClient, recorder: Recorder) -> None:
    headers = {**PROXY, "x-forwarded-preferred-username": "system:kube-controller-manager"}
    r = proxied.get("/c/c1/namespaces/a/pods.json", headers=headers)
    assert r.status_code == 403 and r.json()["error"]["reason"] == "ImpersonationRefused"
    assert not user_requests(recorder)


@pytest.mark.parametrize(
    "headers",
    [
        {"x-forwarded-user": "admin"},
        {"x-forwarded-preferred-username": "carol", **PROXY},  # right secret, wrong address
        {"authorization": "Bearer x"},
        {"x-auth-request-user": "admin"},
    ],
)
def test_untrusted_identity_headers_never_reach_the_cluster(
    outsider: TestClient, recorder: Recorder, headers: dict[str, str]
) -> None:
    r = outsider.get("/c/c1/namespaces/a/pods.json", headers=headers)
    assert r.status_code == 403
    assert r.json()["error"]["reason"] == "UntrustedIdentity"
    page = outsider.get("/c/c1/namespaces/a/pods", headers=headers)
    assert page.status_code == 403 and "Identity headers refused" in page.text
    assert not user_requests(recorder)


def test_headers_without_identity_pass_from_anywhere(outsider: TestClient) -> None:
    assert outsider.get("/-/whoami.json").status_code == 200


@pytest.mark.anyio
async def test_impersonation_headers_repeat_groups() -> None:
    base = BearerToken("sa")
    creds = Impersonation(base, "carol", ["devs", "ops"])
    headers = await creds.headers()
    assert headers["authorization"] == "Bearer sa"
    assert headers["impersonate-user"] == "carol"
    assert isinstance(headers, httpx.Headers)
    assert headers.get_list("impersonate-group") == ["devs", "ops"]


@pytest.mark.anyio
async def test_anonymous_client_never_sends_the_kubeconfig_identity(recorder: Recorder) -> None:
    """Modes bearer/oidc: no kubeconfig token, and no client certificate is loaded."""
    config = ClusterConfig(
        name="c1",
        server="https://api.test",
        token="admin-token",
        client_cert_data=b"not a certificate",  # loading these would fail:
        client_key_data=b"not a key",  # this proves they are never loaded
    )
    client = ClusterClient(config, transport=httpx.MockTransport(recorder), anonymous=True)
    try:
        await client.request("GET", "/version", credentials=BearerToken("user-token"))
        with pytest.raises(Exception, match="nope"):
            await client.request("GET", "/version")  # no credentials: anonymous, refused
    finally:
        await client.aclose()
    assert recorder.requests[0].headers["authorization"] == "Bearer user-token"
    assert "authorization" not in recorder.requests[1].headers


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.parametrize(
    ("source", "header", "sent"),
    [
        ("authorization", {"authorization": "Bearer id-token"}, "Bearer id-token"),
        ("access-token", {"x-forwarded-access-token": "access-token"}, "Bearer access-token"),
        ("access-token", {"x-auth-request-access-token": "access-token"}, "Bearer access-token"),
    ],
)
def test_bearer_mode_forwards_the_configured_token(
    tmp_path: Path,
    recorder: Recorder,
    monkeypatch: pytest.MonkeyPatch,
    source: str,
    header: dict[str, str],
    sent: str,
) -> None:
    app = make_app(
        tmp_path, recorder, monkeypatch, ("127.0.0.1", 1), auth_mode="bearer", bearer_source=source
    )
    with app:
        r = app.get(
            "/-/whoami.json", headers={**PROXY, **header, "authorization": "Bearer id-token"}
        )
    assert r.status_code == 200, r.text
    (review,) = [r for r in recorder.requests if r.url.path.endswith("/selfsubjectreviews")]
    assert review.headers["authorization"] == sent
    assert "impersonate-user" not in review.headers
