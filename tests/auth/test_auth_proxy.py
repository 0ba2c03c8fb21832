"""Through the real OAuth2 Proxy: bearer and impersonation, RBAC per person, attacks.

Every request here goes browser-like through oauth2-proxy (or, for the
attacks, straight at Kubelantern, the way an attacker who bypasses the proxy
would), and every answer about who the user is comes from the API server
(SelfSubjectReview via /-/whoami, or RBAC's own refusal).
"""

from __future__ import annotations

import re
import subprocess
from urllib.parse import quote

import httpx
import pytest
import yaml

from tests.auth.conftest import BEARER, IMPERSONATE, AuthStack, build
from tests.conftest import ROOT, wait_until


def whoami(client: httpx.Client, cluster: str) -> dict[str, object]:
    r = client.get("/-/whoami.json", params={"cluster": cluster})
    assert r.status_code == 200, r.text
    rows = r.json()["clusters"]
    assert len(rows) == 1
    row: dict[str, object] = rows[0]
    return row


def pod_names(client: httpx.Client, cluster: str, namespace: str) -> list[str]:
    r = client.get(f"/c/{cluster}/namespaces/{namespace}/pods.json")
    assert r.status_code == 200, r.text[:500]
    return [row["name"] for row in r.json()["rows"]]


def test_alice_signs_in_through_the_proxy_and_sees_team_a(auth_stack: AuthStack) -> None:
    alice = auth_stack.sign_in("alice")
    row = whoami(alice, BEARER)
    assert row["mode"] == "bearer"
    assert row["user"] == "alice"
    assert "system:authenticated" in row["groups"]  # type: ignore[operator]
    assert any(name.startswith("web-") for name in pod_names(alice, BEARER, "team-a"))
    page = alice.get(f"/c/{BEARER}/namespaces/team-a/pods")
    assert page.status_code == 200
    assert "data-user-name>alice<" in page.text  # the app bar shows who is signed in
    assert not re.search(r"eyJ[\w-]+\.eyJ[\w-]+\.", page.text)  # no JWT anywhere in the HTML


def test_alice_is_forbidden_in_team_b_with_a_clear_message(auth_stack: AuthStack) -> None:
    alice = auth_stack.sign_in("alice")
    page = alice.get(f"/c/{BEARER}/namespaces/team-b/pods")
    assert page.status_code == 403
    assert re.search(r"You may not <strong>list pods in namespace team-b</strong>", page.text)
    data = alice.get(f"/c/{BEARER}/namespaces/team-b/pods.json").json()["error"]
    assert data["refused"] == "list pods in namespace team-b"
    assert 'User \\"alice\\"' in str(data) or 'User "alice"' in data["message"]


def test_bob_reads_everywhere_but_gets_no_edit_buttons(auth_stack: AuthStack) -> None:
    bob = auth_stack.sign_in("bob")
    assert whoami(bob, BEARER)["user"] == "bob"
    assert pod_names(bob, BEARER, "team-a") and pod_names(bob, BEARER, "team-b")
    page = bob.get(f"/c/{BEARER}/namespaces/team-a/deployments.apps/web")
    assert page.status_code == 200, page.text[:300]
    assert 'data-action="edit"' not in page.text


def test_impersonation_maps_user_and_groups_from_proxy_headers(auth_stack: AuthStack) -> None:
    carol = auth_stack.sign_in("carol")
    row = whoami(carol, IMPERSONATE)
    assert row["mode"] == "impersonate"
    assert row["user"] == "carol"
    assert set(row["groups"]) == {"devs", "system:authenticated"}  # type: ignore[arg-type, call-overload]
    # The group RoleBinding (devs: edit in team-b) is honoured...
    assert pod_names(carol, IMPERSONATE, "team-b")
    # ...and carol has nothing in team-a.
    assert carol.get(f"/c/{IMPERSONATE}/namespaces/team-a/pods.json").status_code == 403

    alice = auth_stack.sign_in("alice")
    assert whoami(alice, IMPERSONATE)["user"] == "alice"
    assert pod_names(alice, IMPERSONATE, "team-a")  # the user RoleBinding
    assert alice.get(f"/c/{IMPERSONATE}/namespaces/team-b/pods.json").status_code == 403


def test_headers_sent_through_the_proxy_cannot_change_who_you_are(auth_stack: AuthStack) -> None:
    alice = auth_stack.sign_in("alice")
    forged = {
        "X-Forwarded-User": "admin",
        "X-Forwarded-Preferred-Username": "admin",
        "X-Forwarded-Groups": "system:masters",
        "Impersonate-User": "admin",
        "Impersonate-Group": "system:masters",
        "X-Kubelantern-Proxy-Secret": "guess",
    }
    for cluster in (BEARER, IMPERSONATE):
        r = alice.get("/-/whoami.json", params={"cluster": cluster}, headers=forged)
        row = r.json()["clusters"][0]
        assert row["user"] == "alice", row
        assert "system:masters" not in row["groups"]
        r = alice.get(f"/c/{cluster}/namespaces/team-b/pods.json", headers=forged)
        assert r.status_code == 403


def direct(stack: AuthStack, source: str = "127.0.0.1") -> httpx.Client:
    """A client that bypasses the proxy and talks to Kubelantern from ``source``."""
    transport = httpx.HTTPTransport(local_address=source)
    return httpx.Client(base_url=stack.kubelantern.url, transport=transport, timeout=30)


@pytest.mark.parametrize("source", ["127.0.0.2", "127.0.0.1"])
@pytest.mark.parametrize(
    "forged",
    [
        {"X-Forwarded-User": "admin", "X-Forwarded-Groups": "system:masters"},
        {"X-Forwarded-Preferred-Username": "carol", "X-Forwarded-Groups": "devs"},
        {"X-Auth-Request-User": "carol", "X-Auth-Request-Groups": "devs"},
        {"Authorization": "Bearer {bob}"},
        {"X-Forwarded-Access-Token": "{bob}"},
    ],
    ids=["user+masters", "preferred-username", "x-auth-request", "authorization", "access-token"],
)
def test_forged_identity_headers_from_outside_the_proxy_are_refused(
    auth_stack: AuthStack, source: str, forged: dict[str, str]
) -> None:
    """127.0.0.2 is not a trusted address; 127.0.0.1 is, but the caller lacks the secret."""
    bob = auth_stack.oidc.token("bob")
    headers = {k: v.format(bob=bob) for k, v in forged.items()}
    with direct(auth_stack, source) as client:
        for path in (f"/c/{IMPERSONATE}/namespaces/team-b/pods", f"/c/{BEARER}/namespaces/team-a"):
            html = client.get(path, headers=headers)
            assert html.status_code == 403
            assert "Identity headers refused" in html.text
            assert bob not in html.text
            js = client.get(path + ".json", headers=headers)
            assert js.status_code == 403
            assert js.json()["error"]["reason"] == "UntrustedIdentity"


def test_impersonate_headers_from_a_client_are_dropped(auth_stack: AuthStack) -> None:
    """Without identity headers, Impersonate-* alone gets nobody anywhere: sign in first."""
    headers = {"Impersonate-User": "admin", "Impersonate-Group": "system:masters"}
    with direct(auth_stack, "127.0.0.2") as client:
        for cluster in (BEARER, IMPERSONATE):
            r = client.get("/-/whoami.json", params={"cluster": cluster}, headers=headers)
            row = r.json()["clusters"][0]
            assert row["signedIn"] is False and "user" not in row
            r = client.get(f"/c/{cluster}/namespaces/team-b/pods.json", headers=headers)
            assert r.status_code == 401
            assert r.json()["signIn"].startswith("/oauth2/start?rd=")


def as_proxy(stack: AuthStack, headers: dict[str, str]) -> dict[str, str]:
    """Headers as the trusted proxy sends them (the test knows the shared secret)."""
    return {"X-Kubelantern-Proxy-Secret": stack.proxy_secret, **headers}


def test_system_users_and_groups_are_never_impersonated(auth_stack: AuthStack) -> None:
    with direct(auth_stack) as client:
        headers = as_proxy(
            auth_stack,
            {
                "X-Forwarded-Preferred-Username": "carol",
                "X-Forwarded-Groups": "devs,system:masters",
            },
        )
        row = client.get("/-/whoami.json", params={"cluster": IMPERSONATE}, headers=headers).json()[
            "clusters"
        ][0]
        assert set(row["groups"]) == {"devs", "system:authenticated"}
        headers = as_proxy(auth_stack, {"X-Forwarded-Preferred-Username": "system:admin"})
        r = client.get(f"/c/{IMPERSONATE}/namespaces/team-a/pods.json", headers=headers)
        assert r.status_code == 403
        assert r.json()["error"]["reason"] == "ImpersonationRefused"


def test_an_expired_token_is_refused_and_leads_to_sign_in(auth_stack: AuthStack) -> None:
    expired = auth_stack.oidc.token("alice", ttl="-1m")
    headers = as_proxy(auth_stack, {"Authorization": f"Bearer {expired}"})
    path = f"/c/{BEARER}/namespaces/team-a/pods"
    with direct(auth_stack) as client:
        js = client.get(path + ".json", headers=headers)
        assert js.status_code == 401
        assert (
            js.json()["signIn"]
            == "/oauth2/start?rd=%2Fc%2Fbearer%2Fnamespaces%2Fteam-a%2Fpods.json"
        )
        assert expired not in js.text
        page = client.get(path + "?limit=5", headers=headers)
        assert page.status_code == 302
        assert page.headers["location"] == (
            "/oauth2/start?rd=%2Fc%2Fbearer%2Fnamespaces%2Fteam-a%2Fpods%3Flimit%3D5"
        )
        row = client.get("/-/whoami.json", params={"cluster": BEARER}, headers=headers).json()
        assert row["clusters"][0]["signedIn"] is False  # the API server said: nobody
        # The kubeconfig's admin certificate was not presented instead.
        assert "user" not in row["clusters"][0]


def test_expiry_during_a_session_signs_in_again_and_returns_to_the_page(
    auth_stack: AuthStack,
) -> None:
    """The ID token expires while OAuth2 Proxy's cookie lives on: Kubelantern's 401
    sends the browser through /oauth2/start, and it comes back to the same page."""
    client = auth_stack.sign_in("alice", id_ttl="3s")
    path = f"/c/{BEARER}/namespaces/team-a/pods?limit=7"
    assert client.get(path).status_code == 200
    answers: list[httpx.Response] = []

    def expired() -> bool:
        answers.append(client.get(path))
        return answers[-1].status_code != 200

    wait_until(expired, 30, "the ID token to expire")
    r = answers[-1]
    assert r.status_code == 302
    assert r.headers["location"] == "/oauth2/start?rd=" + quote(path, safe="")
    auth_stack.oidc.queue("alice")  # a fresh sign-in at the provider
    back = client.get(r.headers["location"], follow_redirects=True)
    assert back.status_code == 200
    assert str(back.url) == auth_stack.proxy_url + path
    assert whoami(client, BEARER)["user"] == "alice"


def test_cross_site_post_without_csrf_token_is_refused(auth_stack: AuthStack) -> None:
    alice = auth_stack.sign_in("alice")
    r = alice.post("/-/logout", headers={"Origin": "http://evil.example"})
    assert r.status_code == 403
    r = alice.post("/-/logout", data={"_csrf": "forged"})
    assert r.status_code == 403
    assert whoami(alice, BEARER)["user"] == "alice"  # still signed in


def test_sign_out_clears_the_session_and_signs_out_of_the_proxy(auth_stack: AuthStack) -> None:
    alice = auth_stack.sign_in("alice")
    token = alice.cookies["kl_csrf"]
    r = alice.post("/-/logout", data={"_csrf": token})
    assert r.status_code == 303
    assert r.headers["location"] == "/oauth2/sign_out"
    r = alice.get(r.headers["location"])
    assert r.status_code == 302  # oauth2-proxy cleared its cookie
    r = alice.get("/-/whoami")
    assert r.status_code in (302, 403)  # the proxy wants a sign-in again
    assert "/oidc/authorize" in r.headers.get("location", "") or r.status_code == 403


def test_a_tampered_proxy_cookie_is_not_a_session(auth_stack: AuthStack) -> None:
    alice = auth_stack.sign_in("alice")
    cookies = [c for c in alice.cookies.jar if c.name.startswith("_oauth2_proxy")]
    assert cookies
    for cookie in cookies:
        assert cookie.value
        cookie.value = cookie.value[:-6] + ("AAAAAA" if cookie.value[-1] != "A" else "BBBBBB")
    r = alice.get("/-/whoami.json")
    assert r.status_code in (302, 401, 403)
    assert "alice" not in r.text


@pytest.mark.binaries
def test_oauth2_proxy_flags_in_the_deploy_examples_exist() -> None:
    """Every --flag the manifests, values and docs give OAuth2 Proxy is one it knows."""
    (bindir,) = build("oauth2-proxy")
    help_text = subprocess.run(
        [str(bindir / "oauth2-proxy"), "--help"], capture_output=True, text=True, check=False
    )
    known = set(re.findall(r"(--[a-z0-9-]+)", help_text.stdout + help_text.stderr))
    deploy = ROOT / "deploy" / "oauth2-proxy"
    manifest = yaml.safe_load_all((deploy / "oauth2-proxy.yaml").read_text())
    args = next(d for d in manifest if d["kind"] == "Deployment")["spec"]["template"]["spec"][
        "containers"
    ][0]["args"]
    used = {a.split("=")[0] for a in args}
    used |= {"--" + k for k in yaml.safe_load((deploy / "values.yaml").read_text())["extraArgs"]}
    for page in (ROOT / "docs" / "providers").glob("*.md"):
        for block in re.findall(r"## OAuth2 Proxy\n(.*?)\n## ", page.read_text(), re.S):
            for line in re.findall(r"^--.*$", block, re.M):
                used |= set(re.findall(r"(?:^|\s)(--[a-z0-9-]+)", line.split("#")[0]))
    assert used - known == set()
