"""Helpers for the session and OIDC attack tests: real servers on the auth stack.

Everything runs against ``tests.auth.conftest``'s stack (real kube-apiserver
that trusts the real mock OIDC provider). The cluster is known to Kubelantern
as ``bearer`` (its kubeconfig user is the admin certificate, which modes
bearer and oidc must never present).
"""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import yaml

from tests.auth.conftest import CLIENT_ID, AuthStack, kubelantern_kubeconfig, start_kubelantern
from tests.conftest import ServerProcess

CLUSTER = "bearer"
STORE_CONTEXT = "impersonate"  # the kubelantern ServiceAccount: keeps the session store Secret
STORE_NAMESPACE = "kubelantern-system"


def kubeconfig(stack: AuthStack) -> Path:
    """Both contexts of the auth cluster, in a file of their own."""
    path = stack.tmp / f"security-{uuid.uuid4().hex[:6]}.kubeconfig"
    path.write_text(yaml.safe_dump(kubelantern_kubeconfig(stack.cluster)))
    path.chmod(0o600)
    return path


def oidc_args(stack: AuthStack) -> list[str]:
    return [
        "--auth-mode",
        "oidc",
        "--oidc-issuer",
        stack.oidc.issuer,
        "--oidc-client-id",
        CLIENT_ID,
        "--oidc-client-secret-file",
        str(stack.tmp / "client.secret"),
        "--oidc-ca-file",
        str(stack.oidc.ca_file),
        "--oidc-scopes",
        "openid email profile groups",
    ]


def start(stack: AuthStack, name: str, *args: str) -> ServerProcess:
    """``kubelantern serve`` on the ``bearer`` context, sharing the stack's session key."""
    return start_kubelantern(
        stack.tmp,
        name,
        "--kubeconfig",
        str(kubeconfig(stack)),
        "--context",
        CLUSTER,
        "--session-secret-file",
        str(stack.tmp / "session.secret"),
        *args,
    )


def client(server: ServerProcess, stack: AuthStack) -> httpx.Client:
    return httpx.Client(base_url=server.url, verify=stack.oidc.ssl, timeout=30)


def csrf(c: httpx.Client) -> str:
    if "kl_csrf" not in c.cookies:
        c.get("/clusters.json")
    return str(c.cookies["kl_csrf"])


def token_sign_in(c: httpx.Client, token: str) -> None:
    r = c.post("/-/login", data={"token": token, "next": "/-/whoami", "_csrf": csrf(c)})
    assert r.status_code == 303, r.text[:300]


def oidc_sign_in(c: httpx.Client, stack: AuthStack, user: str, id_ttl: str = "") -> None:
    stack.oidc.queue(user, id_ttl)
    r = c.get("/-/oidc/login", params={"next": "/-/whoami"}, follow_redirects=True)
    assert r.status_code == 200 and r.url.path == "/-/whoami", r.text[:300]


def sign_out(c: httpx.Client) -> None:
    r = c.post("/-/logout", data={"_csrf": csrf(c)})
    assert r.status_code == 303, r.text[:300]


def session_cookies(c: httpx.Client) -> dict[str, str]:
    """A copy of the session cookie(s), as an attacker who stole them holds them."""
    return {k: v for k, v in c.cookies.items() if k.startswith("kl_session")}


def replay(server: ServerProcess, stack: AuthStack, cookies: dict[str, str]) -> httpx.Response:
    """A cluster request from a fresh client that carries only the copied cookies."""
    header = "; ".join(f"{name}={value}" for name, value in cookies.items())
    with client(server, stack) as thief:
        return thief.get(f"/c/{CLUSTER}/namespaces/team-a/pods.json", headers={"Cookie": header})
