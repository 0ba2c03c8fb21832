"""Tokens never show up in HTML, JSON twins, URLs, error pages or the server's log.

Signed in through the real OAuth2 Proxy (mode ``bearer``: the ID token is
forwarded to the API server; mode ``impersonate``: Kubelantern's
ServiceAccount token is), every page family is fetched, including refusals
and errors, and no token (nor anything shaped like a JWT) may come back. The
server's log of the whole session is checked too.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import yaml

from tests.auth.conftest import BEARER, IMPERSONATE, AuthStack
from tests.security.conftest import JWT


def secrets_of(stack: AuthStack) -> list[str]:
    """Credentials the server holds or forwards: its ServiceAccount token, a user's ID token."""
    sa = yaml.safe_load(Path(stack.cluster.kubeconfig("kubelantern")).read_text())
    return [str(sa["users"][0]["user"]["token"]), stack.oidc.token("alice")]


def pages(cluster: str) -> list[str]:
    ns = f"/c/{cluster}/namespaces"
    return [
        "/",
        "/-/whoami",
        "/-/activity",
        f"{ns}/team-a/pods",
        f"{ns}/team-b/pods",  # forbidden for alice
        f"{ns}/team-a/configmaps/kube-root-ca.crt",
        f"{ns}/team-a/configmaps/kube-root-ca.crt/-/edit",
        f"{ns}/team-a/secrets",
        f"{ns}/team-a/configmaps/no-such-object",
        f"/c/{cluster}/no-such-kind",
        "/c/no-such-cluster/namespaces",
        f"/c/{cluster}/-/create",
        "/-/search?q=kube",
    ]


def check(r: httpx.Response, tokens: list[str]) -> None:
    where = f"{r.request.method} {r.request.url} ({r.status_code})"
    text = r.text
    for token in tokens:
        assert token not in text, f"a token in the body of {where}"
        assert token not in str(r.url), f"a token in the URL of {where}"
        for name, value in r.headers.items():
            assert token not in value, f"a token in the {name} header of {where}"
    assert not JWT.search(text), f"a JWT in the body of {where}"
    assert not JWT.search(r.headers.get("location", "")), f"a JWT in a redirect of {where}"


def test_no_token_in_any_answer_or_log(auth_stack: AuthStack) -> None:
    tokens = secrets_of(auth_stack)
    client = auth_stack.sign_in("alice")
    try:
        for cluster in (BEARER, IMPERSONATE):
            for path in pages(cluster):
                for url in (path, path.split("?")[0] + ".json"):
                    r = client.get(url, follow_redirects=False)
                    assert r.status_code < 500, f"{url}: {r.status_code}"
                    check(r, tokens)
        # A write that the API server refuses, with its error page and JSON.
        r = client.post(
            f"/c/{BEARER}/-/create",
            data={
                "yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: team-b}",
                "_csrf": client.cookies.get("kl_csrf") or "",
            },
            headers={"Accept": "text/html"},
        )
        check(r, tokens)
    finally:
        client.close()
    # An expired token: the 401 answers and the sign-in redirect carry no token either.
    expired = auth_stack.oidc.token("alice", ttl="-1m")
    for url in (
        f"/c/{BEARER}/namespaces/team-a/pods",
        f"/c/{BEARER}/namespaces/team-a/pods.json",
    ):
        r = httpx.get(
            auth_stack.kubelantern.url + url,
            headers={
                "Authorization": f"Bearer {expired}",
                "X-Kubelantern-Proxy-Secret": auth_stack.proxy_secret,
                "X-Forwarded-Preferred-Username": "alice",
            },
            follow_redirects=False,
        )
        check(r, [*tokens, expired])
    log = (auth_stack.tmp / "kubelantern-proxied.log").read_text(errors="replace")
    for token in tokens:
        assert token not in log
    assert not JWT.search(log), "a JWT in the server's log"
