"""Attack class: replaying a copied session cookie after sign-out.

Someone copies a signed-in person's session cookie (a shared machine, a
leaked HAR file, malware). After that person signs out the copy must be
worth nothing: in the token-form mode, in Kubelantern's own OIDC mode (also
for the cookies a token refresh rewrote), and with several replicas behind
one Service that share the Kubernetes-backed session store. Real servers,
real API server, real OIDC provider.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator

import pytest

from tests.auth.conftest import AuthStack
from tests.conftest import ServerProcess, stop_server, wait_until
from tests.kube import kube_client
from tests.security.sessions_kit import (
    STORE_CONTEXT,
    STORE_NAMESPACE,
    client,
    oidc_args,
    oidc_sign_in,
    replay,
    session_cookies,
    sign_out,
    start,
    token_sign_in,
)


@pytest.fixture(scope="module")
def oidc_server(auth_stack: AuthStack) -> Iterator[ServerProcess]:
    server = start(
        auth_stack, "security-oidc", *oidc_args(auth_stack), "--allowed-hosts", "127.0.0.1"
    )
    yield server
    stop_server(server)


def test_token_form_cookie_is_refused_after_sign_out(auth_stack: AuthStack) -> None:
    server = start(auth_stack, "security-form", "--auth-mode", "bearer", "--bearer-source", "form")
    try:
        with client(server, auth_stack) as victim:
            token_sign_in(victim, auth_stack.oidc.token("alice"))
            stolen = session_cookies(victim)
            assert replay(server, auth_stack, stolen).status_code == 200  # the copy works...
            sign_out(victim)
            r = replay(server, auth_stack, stolen)  # ...until the owner signs out
            assert r.status_code == 401, r.text[:300]
            assert any(
                c.startswith("kl_session=;") and "Max-Age=0" in c
                for c in r.headers.get_list("set-cookie")
            )
    finally:
        stop_server(server)


def test_oidc_cookies_old_and_refreshed_are_refused_after_sign_out(
    oidc_server: ServerProcess, auth_stack: AuthStack
) -> None:
    with client(oidc_server, auth_stack) as victim:
        oidc_sign_in(victim, auth_stack, "alice", id_ttl="6s")
        before = session_cookies(victim)
        assert replay(oidc_server, auth_stack, before).status_code == 200

        def refreshed() -> bool:
            assert victim.get("/c/bearer/namespaces/team-a/pods.json").status_code == 200
            return session_cookies(victim) != before

        wait_until(refreshed, 60, "the session's tokens to be refreshed")
        after = session_cookies(victim)
        assert replay(oidc_server, auth_stack, after).status_code == 200
        sign_out(victim)
        for stolen in (before, after):
            r = replay(oidc_server, auth_stack, stolen)
            assert r.status_code == 401, r.text[:300]
            assert r.json()["signIn"].startswith("/-/oidc/login")


@pytest.fixture
def shared_store(auth_stack: AuthStack) -> Iterator[str]:
    """A session store Secret and a Role that may only get and update it, for the
    kubelantern ServiceAccount: what the Helm chart creates."""
    name = f"kl-sessions-{uuid.uuid4().hex[:6]}"
    admin = kube_client(auth_stack.cluster.kubeconfig("admin"))
    ns = f"/api/v1/namespaces/{STORE_NAMESPACE}"
    rbac = f"/apis/rbac.authorization.k8s.io/v1/namespaces/{STORE_NAMESPACE}"
    meta = {"name": name, "namespace": STORE_NAMESPACE}
    created = [
        (f"{ns}/secrets", {"apiVersion": "v1", "kind": "Secret", "metadata": meta}),
        (
            f"{rbac}/roles",
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": meta,
                "rules": [
                    {
                        "apiGroups": [""],
                        "resources": ["secrets"],
                        "resourceNames": [name],
                        "verbs": ["get", "update"],
                    }
                ],
            },
        ),
        (
            f"{rbac}/rolebindings",
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": meta,
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
                "subjects": [
                    {"kind": "ServiceAccount", "name": "kubelantern", "namespace": STORE_NAMESPACE}
                ],
            },
        ),
    ]
    try:
        for path, body in created:
            admin.post(path, json=body).raise_for_status()
        yield name
    finally:
        for path, _ in created:
            admin.delete(f"{path}/{name}")
        admin.close()


def test_two_replicas_share_sign_out_through_the_kubernetes_api(
    auth_stack: AuthStack, shared_store: str
) -> None:
    store = [
        "--session-store",
        "kubernetes",
        "--session-store-context",
        STORE_CONTEXT,
        "--session-store-namespace",
        STORE_NAMESPACE,
        "--session-store-name",
        shared_store,
    ]
    args = ["--auth-mode", "bearer", "--bearer-source", "form", *store]
    one = start(auth_stack, "security-replica-1", *args)
    two = start(auth_stack, "security-replica-2", *args)
    try:
        token = auth_stack.oidc.token("bob")
        with client(one, auth_stack) as on_one, client(two, auth_stack) as on_two:
            token_sign_in(on_one, token)  # signs in on replica one
            stolen = session_cookies(on_one)
            for cookie, value in stolen.items():
                on_two.cookies.set(cookie, value, domain="127.0.0.1")
            assert on_two.get("/c/bearer/namespaces/team-a/pods.json").status_code == 200
            assert replay(one, auth_stack, stolen).status_code == 200
            sign_out(on_two)  # ...and out on replica two
            assert replay(two, auth_stack, stolen).status_code == 401
            wait_until(
                lambda: replay(one, auth_stack, stolen).status_code == 401,
                30,
                "replica one to refuse the signed-out cookie",
            )
        admin = kube_client(auth_stack.cluster.kubeconfig("admin"))
        try:
            r = admin.get(f"/api/v1/namespaces/{STORE_NAMESPACE}/secrets/{shared_store}")
            data = r.json().get("data") or {}
        finally:
            admin.close()
        assert len(data) == 1  # the session's id, nothing else: no token, no user
        (value,) = data.values()
        assert int(base64.b64decode(value)) > 0
        assert token not in str(data)
    finally:
        stop_server(one)
        stop_server(two)
