"""Attack class: a forged, altered, misaddressed, replayed or expired ID token.

Kubelantern's own OIDC login verifies the ID token before it shows or records
anyone: the signature against the real mock provider's published keys, the
issuer, the audience, the expiry and the nonce of this sign-in. Tokens come
from the real provider (``/admin/token`` mints correctly signed ones), and are
then altered or re-signed the way an attacker would.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from kubelantern.auth.config import OIDCClientConfig
from kubelantern.auth.oidc import OIDCClient, OIDCError
from tests.auth.conftest import CLIENT_ID, CLIENT_SECRET, AuthStack
from tests.conftest import ServerProcess, stop_server
from tests.security.sessions_kit import client, oidc_args, start


def verify(
    stack: AuthStack, token: str, *, nonce: str | None = None, client_id: str = CLIENT_ID
) -> dict[str, Any]:
    config = OIDCClientConfig(
        issuer=stack.oidc.issuer.rstrip("/"),
        client_id=client_id,
        client_secret=CLIENT_SECRET,
        scopes=("openid",),
        ca_file=str(stack.oidc.ca_file),
    )

    async def run() -> dict[str, Any]:
        oidc = OIDCClient(config)
        try:
            return await oidc.verify_id_token(token, nonce=nonce)
        finally:
            await oidc.aclose()

    return asyncio.run(run())


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def parts(token: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    head, body, sig = token.split(".")

    def load(s: str) -> dict[str, Any]:
        doc: dict[str, Any] = json.loads(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)))
        return doc

    return load(head), load(body), sig


def test_a_genuine_token_verifies(auth_stack: AuthStack) -> None:
    claims = verify(auth_stack, auth_stack.oidc.token("alice"))
    assert claims["preferred_username"] == "alice"


def test_an_altered_token_is_refused(auth_stack: AuthStack) -> None:
    header, claims, signature = parts(auth_stack.oidc.token("alice"))
    claims["preferred_username"] = "admin"
    claims["groups"] = ["system:masters"]
    forged = ".".join(
        (b64(json.dumps(header).encode()), b64(json.dumps(claims).encode()), signature)
    )
    with pytest.raises(OIDCError, match="signature"):
        verify(auth_stack, forged)


def test_a_token_signed_by_another_key_is_refused(auth_stack: AuthStack) -> None:
    header, claims, _ = parts(auth_stack.oidc.token("alice"))
    key = RSAKey.generate_key(2048, parameters={"kid": header.get("kid", "k")})
    forged = jwt.encode({"alg": "RS256", "kid": header.get("kid", "k")}, claims, key)
    with pytest.raises(OIDCError, match="signature"):
        verify(auth_stack, forged)


def test_an_unsigned_token_is_refused(auth_stack: AuthStack) -> None:
    _, claims, _ = parts(auth_stack.oidc.token("alice"))
    none = b64(json.dumps({"alg": "none"}).encode())
    unsigned = f"{none}.{b64(json.dumps(claims).encode())}."
    with pytest.raises(OIDCError):
        verify(auth_stack, unsigned)


def test_a_token_for_another_client_is_refused(auth_stack: AuthStack) -> None:
    with pytest.raises(OIDCError, match="audience"):
        verify(auth_stack, auth_stack.oidc.token("alice"), client_id="another-app")


def test_an_expired_token_is_refused(auth_stack: AuthStack) -> None:
    with pytest.raises(OIDCError, match="expired"):
        verify(auth_stack, auth_stack.oidc.token("alice", ttl="-10m"))


def test_a_token_without_this_sign_ins_nonce_is_refused(auth_stack: AuthStack) -> None:
    with pytest.raises(OIDCError, match="nonce"):
        verify(auth_stack, auth_stack.oidc.token("alice"), nonce="this-sign-in")


# --- the same refusals through the real sign-in flow ---


@pytest.fixture(scope="module")
def oidc_server(auth_stack: AuthStack) -> Iterator[ServerProcess]:
    server = start(
        auth_stack, "security-idtoken", *oidc_args(auth_stack), "--allowed-hosts", "127.0.0.1"
    )
    yield server
    stop_server(server)


def refused_sign_in(c: httpx.Client, authorize: str, reason: str) -> None:
    provider = c.get(authorize)  # the provider answers with our callback and a code
    assert provider.status_code in (302, 303), provider.text[:300]
    r = c.get(provider.headers["location"])
    assert r.status_code == 401, r.text[:300]
    assert reason in r.text
    assert not [k for k in c.cookies if k.startswith("kl_session")]
    assert c.get("/-/whoami.json").json()["identity"]["name"] is None


def test_sign_in_with_another_nonce_is_refused(
    oidc_server: ServerProcess, auth_stack: AuthStack
) -> None:
    with client(oidc_server, auth_stack) as c:
        start_flow = c.get("/-/oidc/login")
        url = urlsplit(start_flow.headers["location"])
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        query.update(nonce="injected-by-attacker", login_hint="alice")
        refused_sign_in(c, urlunsplit(url._replace(query=urlencode(query))), "nonce")


def test_sign_in_with_an_expired_id_token_is_refused(
    oidc_server: ServerProcess, auth_stack: AuthStack
) -> None:
    with client(oidc_server, auth_stack) as c:
        auth_stack.oidc.queue("alice", id_ttl="-10m")
        start_flow = c.get("/-/oidc/login")
        refused_sign_in(c, start_flow.headers["location"], "expired")
