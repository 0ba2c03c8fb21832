"""Security headers on every response class: the policy, the middleware, the real app.

Issue 11, item 6: without a Content-Security-Policy, ``frame-ancestors`` /
``X-Frame-Options``, ``Referrer-Policy`` and ``nosniff`` the UI could be framed
by another site and escaping was the only barrier against XSS. These tests
pin every header on every kind of response (HTML, JSON, static, errors,
redirects, refusals, ops endpoints, also under ``--base-url``), that the nonce
is fresh per response, and that plugins widen the policy only as declared.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from kubelantern.app import create_app
from kubelantern.auth.config import AuthConfig, OIDCClientConfig
from kubelantern.settings import Settings
from kubelantern.testing import make_app
from kubelantern.web import csp
from kubelantern.web.middleware import SecurityHeaders
from tests.conftest import RealCluster, ServerProcess
from tests.plugins import everything, faulty

NONCE = re.compile(r"'nonce-([A-Za-z0-9_-]{22,})'")
FIXED = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
}


def directives(header: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for part in header.split(";"):
        name, *sources = part.split()
        assert name not in out, f"{name} twice"
        out[name] = sources
    return out


def assert_secured(headers: object, where: str) -> dict[str, list[str]]:
    """Every header of the policy is on this response; returns the CSP's directives."""
    get = headers.get  # type: ignore[attr-defined]
    for name, value in FIXED.items():
        assert get(name) == value, f"{where}: {name} is {get(name)!r}"
    assert "camera=()" in get("permissions-policy", ""), where
    policy = get("content-security-policy")
    assert policy, f"{where}: no Content-Security-Policy"
    d = directives(policy)
    assert d["frame-ancestors"] == ["'none'"], where
    assert d["object-src"] == ["'none'"], where
    assert d["base-uri"] == ["'none'"], where
    assert d["form-action"][0] == "'self'", where
    assert d["default-src"] == ["'self'"], where
    for name in ("script-src", "style-src"):
        assert d[name][0] == "'self'" and NONCE.fullmatch(d[name][1]), f"{where}: {name}"
        assert not any("unsafe" in s for s in d[name]), f"{where}: {name} {d[name]}"
    assert d["connect-src"] == ["'self'"], where
    assert "unsafe-eval" not in policy and "*" not in policy, where
    return d


def nonce_of(headers: object) -> str:
    match = NONCE.search(headers.get("content-security-policy", ""))  # type: ignore[attr-defined]
    assert match
    return match.group(1)


# ---- the policy and the plugins' sources -----------------------------------------------


def test_the_base_policy_is_strict_and_pastes_the_nonce() -> None:
    header = csp.Policy().header("abc123abc123abc123abc123")
    d = directives(header)
    assert d["script-src"] == ["'self'", "'nonce-abc123abc123abc123abc123'"]
    assert d["style-src"] == ["'self'", "'nonce-abc123abc123abc123abc123'"]
    assert d["style-src-attr"] == ["'unsafe-inline'"]  # xterm.js colours; no selectors, no loads
    assert d["img-src"] == ["'self'", "data:"]
    assert d["frame-ancestors"] == ["'none'"]
    assert "{nonce}" not in header


@pytest.mark.parametrize(
    ("directive", "source"),
    [
        ("script-src", "https://cdn.example.com"),
        ("script-src", "https://cdn.example.com/libs/"),
        ("style-src", "https://*.example.com"),
        ("frame-src", "https://grafana.example.com:3000"),
        ("connect-src", "wss://events.example.com"),
        ("img-src", "data:"),
        ("img-src", "blob:"),
        ("font-src", "data:"),
        ("form-action", "https://idp.example.com"),
    ],
)
def test_sources_a_plugin_may_add(directive: str, source: str) -> None:
    assert csp.check_source(directive, source) == source


@pytest.mark.parametrize(
    ("directive", "source"),
    [
        ("script-src", "'unsafe-inline'"),
        ("script-src", "'unsafe-eval'"),
        ("script-src", "'strict-dynamic'"),
        ("script-src", "'nonce-guessed'"),
        ("script-src", "*"),
        ("script-src", "https:"),
        ("script-src", "https://*"),
        ("script-src", "data:"),
        ("script-src", "blob:"),
        ("style-src", "'unsafe-inline'"),
        ("frame-src", "data:"),
        ("img-src", "https://ok.example; script-src *"),
        ("img-src", "https://ok.example, script-src *"),
        ("img-src", "https://ok.example\r\nSet-Cookie: x=1"),
        ("img-src", "javascript:alert(1)"),
        ("frame-ancestors", "https://portal.example.com"),
        ("base-uri", "https://cdn.example.com"),
        ("object-src", "https://cdn.example.com"),
        ("default-src", "https://cdn.example.com"),
        ("sandbox", "allow-scripts"),
    ],
)
def test_sources_that_would_weaken_the_policy_are_refused(directive: str, source: str) -> None:
    with pytest.raises(csp.SourceRefused):
        csp.check_source(directive, source)


def test_collect_keeps_the_good_sources_and_reports_the_rest() -> None:
    reported: list[tuple[str, str]] = []
    merged = csp.collect(
        [
            ("a", {"script-src": ["https://cdn.example.com", "'unsafe-inline'"]}),
            ("b", {"script-src": ["https://cdn.example.com"], "img-src": ["data:"]}),
            ("c", ["not", "a", "dict"]),
            ("d", {"img-src": "https://a-string-not-a-list.example"}),
        ],
        lambda plugin, message: reported.append((plugin, message)),
    )
    assert merged == {"script-src": ["https://cdn.example.com"], "img-src": ["data:"]}
    assert [p for p, _ in reported] == ["a", "c", "d"]
    assert "'unsafe-inline'" in reported[0][1]


def test_sign_out_redirect_origins_join_form_action() -> None:
    """Chromium checks form-action on every redirect of the sign-out form's navigation."""
    auth = AuthConfig(
        sign_out_url="/oauth2/sign_out?rd=https%3A%2F%2Fidp.example.com%2Flogout",
        oidc=OIDCClientConfig(
            issuer="https://issuer.example.com:8443/realms/x",
            client_id="kl",
            client_secret="s",
            scopes=("openid",),
        ),
    )
    d = directives(csp.app_policy({}, auth).header("n" * 24))
    assert d["form-action"] == [
        "'self'",
        "https://idp.example.com",
        "https://issuer.example.com:8443",
    ]
    plain = directives(csp.app_policy({}, AuthConfig()).header("n" * 24))
    assert plain["form-action"] == ["'self'"]


# ---- the middleware ----------------------------------------------------------------------


def tiny_app(hsts: bool = False) -> TestClient:
    async def page(request: Request) -> Response:
        return PlainTextResponse(request.state.csp_nonce + " " + csp.current_nonce.get())

    async def own_policy(request: Request) -> Response:
        return PlainTextResponse(
            "proxied",
            headers={"Content-Security-Policy": "sandbox", "X-Frame-Options": "SAMEORIGIN"},
        )

    inner = Starlette(routes=[Route("/", page), Route("/own", own_policy)])
    return TestClient(SecurityHeaders(inner, policy=csp.Policy(), hsts=hsts))


def test_the_nonce_is_fresh_per_response_and_the_same_in_header_and_page() -> None:
    client = tiny_app()
    seen = set()
    for _ in range(5):
        r = client.get("/")
        nonce = nonce_of(r.headers)
        assert r.text == f"{nonce} {nonce}"  # scope state and the context variable
        seen.add(nonce)
    assert len(seen) == 5


def test_a_response_with_its_own_policy_keeps_it() -> None:
    """A view that sends its own CSP (a sandboxed proxy of a pod's pages) keeps its own."""
    r = tiny_app().get("/own")
    assert r.headers.get_list("content-security-policy") == ["sandbox"]
    assert r.headers.get_list("x-frame-options") == ["SAMEORIGIN"]
    assert r.headers["x-content-type-options"] == "nosniff"  # the rest is still added


def test_hsts_only_when_cookies_are_secure() -> None:
    assert "strict-transport-security" not in tiny_app().get("/").headers
    hsts = tiny_app(hsts=True).get("/").headers["strict-transport-security"]
    assert hsts == "max-age=31536000"


def test_secure_cookies_turn_hsts_on_in_the_app() -> None:
    with TestClient(create_app(Settings(secure_cookies=True), clusters=[])) as tc:
        assert tc.get("/clusters.json").headers["strict-transport-security"].startswith("max-age=")


# ---- the real app, every response class ---------------------------------------------------


@pytest.fixture(scope="module")
def prefixed(cluster: RealCluster) -> Iterator[TestClient]:
    tc = TestClient(
        create_app(Settings(kubeconfig=(cluster.kubeconfig("admin"),), base_url="/kl")),
        raise_server_exceptions=False,
    )
    with tc:
        yield tc


def response_classes(name: str) -> list[tuple[str, str, dict[str, str]]]:
    """(what, path, headers): one of each kind of answer the app gives."""
    return [
        ("page", "/", {}),
        ("list page", f"/c/{name}/namespaces/team-a/configmaps", {}),
        ("JSON twin", f"/c/{name}/namespaces/team-a/configmaps.json", {}),
        ("JSON by Accept", f"/c/{name}/", {"Accept": "application/json"}),
        ("static", "/-/static/app.css", {}),
        ("bundle", "/-/static/dist/app.js", {}),
        ("404 page", "/no/such/page", {}),
        ("404 JSON", "/no/such/page.json", {}),
        ("404 static", "/-/static/%ff", {}),
        ("unknown object", f"/c/{name}/namespaces/team-a/configmaps/no-such-cm", {}),
        ("unknown cluster", "/c/no-such-cluster/", {}),
        ("400", f"/c/{name}/pods?sort=%ff", {}),
        ("redirect", f"/c/{name}", {}),
        ("refused stream", f"/c/{name}/-/watch?x=%ff", {}),
        ("plugins", "/-/plugins", {}),
    ]


@pytest.mark.parametrize("index", range(15))
def test_every_response_class_is_secured(
    index: int, admin: TestClient, prefixed: TestClient, cluster: RealCluster
) -> None:
    what, path, headers = response_classes(cluster.name)[index]
    r = admin.get(path, headers=headers, follow_redirects=False)
    assert r.status_code < 500, (what, r.status_code)
    assert_secured(r.headers, what)
    r = prefixed.get("/kl" + path, headers=headers, follow_redirects=False)
    assert r.status_code < 500, (what, "base URL", r.status_code)
    assert_secured(r.headers, f"{what} under --base-url")


def test_refusals_before_any_route_are_secured(admin: TestClient, prefixed: TestClient) -> None:
    """A CSRF refusal, the bare root under a base URL and the ops endpoints too."""
    refused = admin.post("/-/logout", headers={"Origin": "https://evil.example"})
    assert refused.status_code == 403
    assert_secured(refused.headers, "CSRF refusal")
    bare = prefixed.get("/", follow_redirects=False)
    assert bare.status_code == 307
    assert_secured(bare.headers, "redirect to the base URL")
    for path in ("/healthz", "/readyz", "/metrics"):
        assert_secured(admin.get(path).headers, path)


def test_pages_carry_the_nonce_on_their_only_inline_script(admin: TestClient) -> None:
    first, second = admin.get("/"), admin.get("/")
    for r in (first, second):
        nonce = nonce_of(r.headers)
        inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", r.text)
        assert inline == [f' nonce="{nonce}"'], inline
        assert not re.search(r"\son[a-z]+=", r.text), "an inline event handler"
        assert "javascript:" not in r.text
    assert nonce_of(first.headers) != nonce_of(second.headers)


def test_the_real_server_sends_them(server: ServerProcess, cluster: RealCluster) -> None:
    """Through uvicorn too, the live SSE stream of a list page included."""
    for path in ("/", f"/c/{cluster.name}/namespaces/team-a/pods.json", "/-/static/app.css"):
        assert_secured(httpx.get(server.url + path).headers, f"serve {path}")
    page = httpx.get(f"{server.url}/c/{cluster.name}/namespaces/team-a/configmaps")
    match = re.search(r'data-watch-url="([^"]+)"', page.text)
    assert match, "the list page has no live stream"
    watch = server.url.split("/", 3)[:3]
    url = "/".join(watch) + match.group(1).replace("&amp;", "&")
    with httpx.stream("GET", url, timeout=30) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        assert_secured(stream.headers, "SSE stream")


# ---- plugins widen the policy only as declared ------------------------------------------


@pytest.fixture(scope="module")
def plugin_clients() -> Iterator[Callable[[str], TestClient]]:
    clients = {
        "everything": make_app(plugins=[everything]),
        "faulty": make_app(plugins=[everything, faulty]),
    }
    for tc in clients.values():
        tc.__enter__()
    yield clients.__getitem__
    for tc in clients.values():
        tc.__exit__(None, None, None)


def test_a_plugin_adds_exactly_the_sources_it_declares(
    plugin_clients: Callable[[str], TestClient],
) -> None:
    d = assert_secured(plugin_clients("everything").get("/").headers, "everything")
    base = directives(csp.Policy().header("x" * 24))
    assert d["style-src"][2:] == ["https://cdn.example.com"]
    assert d["frame-src"] == ["'self'", "https://grafana.example.com:3000/d/"]
    for name in base:
        if name not in ("style-src", "frame-src", "script-src"):
            assert d[name] == base[name], name


def test_a_plugin_cannot_weaken_the_policy(plugin_clients: Callable[[str], TestClient]) -> None:
    tc = plugin_clients("faulty")
    d = assert_secured(tc.get("/").headers, "faulty")
    assert d["frame-ancestors"] == ["'none'"]
    assert d["script-src"][0] == "'self'" and len(d["script-src"]) == 2
    assert d["style-src"][2:] == ["https://cdn.example.com"]  # everything's, nothing of faulty's
    problems = tc.get("/-/plugins.json").json()["problems"]
    refused = [
        p["message"] for p in problems if (p["plugin"], p["where"]) == ("faulty", "extra_csp")
    ]
    for source in ("'unsafe-inline'", "'unsafe-eval'", "'*'", "'https:'", "frame-ancestors"):
        assert any(source in message for message in refused), (source, refused)
    assert any("expected a list of sources" in message for message in refused)
