"""Kubelantern's own OIDC login (mode ``oidc``): authorization code + PKCE, refresh.

Plain httpx against the provider's discovery document, so any OIDC provider
works. Before Kubelantern shows or records who signed in, it verifies the ID
token itself with joserfc: the signature against the issuer's published keys
(JWKS; asymmetric algorithms only, so a client secret can never pass for a
signing key, and ``none`` never passes), then issuer, audience (and ``azp``
with several audiences), expiry, not-before and the nonce of this sign-in.
TLS to the token endpoint alone would be enough by OIDC Core 3.1.3.7, but a
forged or replayed token must not even reach the session, whatever the API
server later decides. The API server still verifies the token on every
request, and RBAC decides what it may do.

Tokens are refreshed before they expire (``needs_refresh``). Browsers send
several requests at once, and providers that rotate refresh tokens accept each
one only once, so concurrent refreshes of one session in this process share
one call to the provider.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import ssl
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from kubelantern.auth.config import OIDCClientConfig
from kubelantern.auth.identity import RequestAuth

DISCOVERY_TTL = 3600.0
_RECENT_TTL = 30.0
CLOCK_SKEW = 60  # seconds of leeway for exp/nbf/iat, for clocks a little apart
# Public-key algorithms only: HS* would take the client secret as the key.
ID_TOKEN_ALGORITHMS = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
)


class OIDCError(Exception):
    """The provider refused or answered nonsense; the message names what (never a token)."""


def pkce_pair() -> tuple[str, str]:
    """(verifier, S256 challenge)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode().rstrip("=")


def jwt_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT, unverified: only for a token ``verify_id_token``
    already checked, or for an access token's expiry hint."""
    try:
        payload = token.split(".")[1]
        doc = orjson.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError) as exc:
        raise OIDCError("the provider's token is not a JWT") from exc
    if not isinstance(doc, dict):
        raise OIDCError("the provider's token has no claims")
    return doc


def needs_refresh(tokens: dict[str, Any], now: float | None = None) -> bool:
    """Refresh when less than half the lifetime, or under a minute, is left."""
    now = time.time() if now is None else now
    exp = float(tokens.get("exp", 0))
    lifetime = max(exp - float(tokens.get("iat", exp)), 0.0)
    return exp - now < min(60.0, lifetime / 2)


class OIDCClient:
    """One provider: discovery, authorization URL, code exchange and refresh."""

    def __init__(self, config: OIDCClientConfig, *, timeout: float = 15.0) -> None:
        self.config = config
        verify: ssl.SSLContext | bool = True
        if config.ca_file:
            verify = ssl.create_default_context(cafile=config.ca_file)
        self._http = httpx.AsyncClient(verify=verify, timeout=timeout, trust_env=False)
        self._meta: tuple[float, dict[str, Any]] | None = None
        self._jwks: tuple[float, KeySet] | None = None
        self._locks: dict[str, asyncio.Lock] = {}
        self._recent: dict[str, tuple[float, dict[str, Any] | None]] = {}

    async def aclose(self) -> None:
        await self._http.aclose()

    async def metadata(self) -> dict[str, Any]:
        if self._meta and time.monotonic() - self._meta[0] < DISCOVERY_TTL:
            return self._meta[1]
        url = self.config.issuer + "/.well-known/openid-configuration"
        try:
            response = await self._http.get(url)
            response.raise_for_status()
            doc = orjson.loads(response.content)
        except (httpx.HTTPError, orjson.JSONDecodeError) as exc:
            raise OIDCError(f"cannot read the OIDC discovery document at {url}: {exc}") from exc
        if not isinstance(doc, dict) or doc.get("issuer", "").rstrip("/") != self.config.issuer:
            raise OIDCError(f"{url} does not describe issuer {self.config.issuer}")
        self._meta = (time.monotonic(), doc)
        return doc

    async def _keys(self, *, fresh: bool = False) -> KeySet:
        """The issuer's signing keys (JWKS), cached like the discovery document."""
        if not fresh and self._jwks and time.monotonic() - self._jwks[0] < DISCOVERY_TTL:
            return self._jwks[1]
        meta = await self.metadata()
        url = str(meta.get("jwks_uri") or "")
        if not url.startswith("https://"):
            raise OIDCError("the provider's discovery document has no https jwks_uri")
        try:
            response = await self._http.get(url)
            response.raise_for_status()
            keys = KeySet.import_key_set(orjson.loads(response.content))
        except (httpx.HTTPError, orjson.JSONDecodeError, JoseError, KeyError, TypeError) as exc:
            raise OIDCError(f"cannot read the provider's signing keys at {url}: {exc}") from exc
        self._jwks = (time.monotonic(), keys)
        return keys

    async def verify_id_token(self, token: str, *, nonce: str | None) -> dict[str, Any]:
        """The claims of an ID token whose signature, issuer, audience, expiry
        and (at sign-in) nonce are right; ``OIDCError`` naming what is wrong."""
        try:
            decoded = jwt.decode(token, await self._keys(), algorithms=ID_TOKEN_ALGORITHMS)
        except JoseError:
            # The provider may have rotated its keys since they were read: read them
            # once more (the fetch is cached again), then give up.
            try:
                decoded = jwt.decode(
                    token, await self._keys(fresh=True), algorithms=ID_TOKEN_ALGORITHMS
                )
            except JoseError as exc:
                raise OIDCError(
                    "the ID token's signature does not verify against the issuer's keys "
                    f"({exc.error})"
                ) from exc
        except ValueError as exc:
            raise OIDCError("the provider's ID token is not a signed JWT") from exc
        claims = dict(decoded.claims)
        issuer = self.config.issuer
        checks: dict[str, Any] = {
            "iss": {"essential": True, "values": [issuer, issuer + "/"]},
            "aud": {"essential": True, "value": self.config.client_id},
            "exp": {"essential": True},
            "sub": {"essential": True},
        }
        if nonce is not None:
            checks["nonce"] = {"essential": True, "value": nonce}
        registry = jwt.JWTClaimsRegistry(leeway=CLOCK_SKEW, **checks)
        try:
            registry.validate(claims)
        except JoseError as exc:
            what = {
                "iss": "was issued by another issuer",
                "aud": "is not meant for this client (audience)",
                "exp": "has expired (is the clock right?)",
                "nbf": "is not valid yet (is the clock right?)",
                "iat": "was issued in the future (is the clock right?)",
                "nonce": "does not answer this sign-in (nonce mismatch)",
                "sub": "names no subject",
            }
            claim = str(getattr(exc, "claim", "") or exc.description or "")
            reason = next((v for k, v in what.items() if k in claim), f"is not valid ({exc.error})")
            raise OIDCError(f"the ID token {reason}") from exc
        aud = claims.get("aud")
        if isinstance(aud, list) and len(aud) > 1 and claims.get("azp") != self.config.client_id:
            raise OIDCError("the ID token is not meant for this client (azp)")
        return claims

    async def authorization_url(
        self, *, redirect_uri: str, state: str, nonce: str, challenge: str
    ) -> str:
        meta = await self.metadata()
        query = {
            "response_type": "code",
            "client_id": self.config.client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(self.config.scopes),
            "state": state,
            "nonce": nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        endpoint = str(meta["authorization_endpoint"])
        return endpoint + ("&" if "?" in endpoint else "?") + urlencode(query)

    async def _token_request(self, form: dict[str, str]) -> dict[str, Any]:
        meta = await self.metadata()
        form = {
            **form,
            "client_id": self.config.client_id,
            "client_secret": self.config.client_secret,
        }
        try:
            response = await self._http.post(str(meta["token_endpoint"]), data=form)
        except httpx.HTTPError as exc:
            raise OIDCError(f"cannot reach the OIDC token endpoint: {exc}") from exc
        try:
            doc = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            doc = {}
        if response.status_code != 200 or not isinstance(doc, dict):
            error = doc.get("error", "") if isinstance(doc, dict) else ""
            raise OIDCError(
                f"the OIDC provider refused the token request (HTTP {response.status_code}"
                + (f", {error}" if error else "")
                + ")"
            )
        return doc

    async def _session_tokens(
        self, doc: dict[str, Any], *, nonce: str | None, previous: dict[str, Any] | None
    ) -> dict[str, Any]:
        """What the session keeps: tokens, their expiry, and who the user is.

        A new ID token is verified (``verify_id_token``); a refresh answer
        without one keeps the previous, already verified, token.
        """
        id_token = doc.get("id_token")
        if id_token:
            claims = await self.verify_id_token(str(id_token), nonce=nonce)
        elif previous and previous.get("id_token"):
            id_token = previous["id_token"]
            claims = jwt_claims(str(id_token))
        else:
            raise OIDCError("the OIDC provider sent no ID token (is 'openid' in the scopes?)")
        now = time.time()
        if self.config.token == "access_token":
            sent = str(doc.get("access_token") or "")
            if not sent:
                raise OIDCError("the OIDC provider sent no access token")
            try:
                exp = float(jwt_claims(sent)["exp"])
            except (OIDCError, KeyError, TypeError, ValueError):
                exp = now + min(float(doc.get("expires_in") or 300), 86400.0)
        else:
            exp = float(claims.get("exp", 0))
        if exp <= now:
            raise OIDCError("the provider's token has already expired (is the clock right?)")
        return {
            "id_token": str(id_token),
            "access_token": str(doc.get("access_token") or ""),
            "refresh_token": str(
                doc.get("refresh_token") or (previous or {}).get("refresh_token") or ""
            ),
            "exp": exp,
            "iat": now,
            "user": str(
                claims.get("preferred_username") or claims.get("email") or claims.get("sub", "")
            ),
            "groups": [str(g) for g in claims.get("groups") or [] if isinstance(g, str)],
        }

    async def exchange_code(
        self, *, code: str, redirect_uri: str, verifier: str, nonce: str
    ) -> dict[str, Any]:
        doc = await self._token_request(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": verifier,
            }
        )
        return await self._session_tokens(doc, nonce=nonce, previous=None)

    async def refresh(self, tokens: dict[str, Any]) -> dict[str, Any] | None:
        """New tokens, or None if the provider will not refresh (sign in again)."""
        refresh_token = str(tokens.get("refresh_token") or "")
        if not refresh_token:
            return None
        key = hashlib.sha256(refresh_token.encode()).hexdigest()
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            hit = self._recent.get(key)
            if hit and time.monotonic() - hit[0] < _RECENT_TTL:
                return hit[1]
            try:
                doc = await self._token_request(
                    {"grant_type": "refresh_token", "refresh_token": refresh_token}
                )
                fresh: dict[str, Any] | None = await self._session_tokens(
                    doc, nonce=None, previous=tokens
                )
            except OIDCError:
                fresh = None
            now = time.monotonic()
            self._recent = {k: v for k, v in self._recent.items() if now - v[0] < _RECENT_TTL}
            self._recent[key] = (now, fresh)
        self._locks.pop(key, None)
        return fresh

    async def end_session_url(self, post_logout_redirect_uri: str) -> str | None:
        """The provider's logout URL, if it has one (by client id: no token in the URL)."""
        try:
            meta = await self.metadata()
        except OIDCError:
            return None
        endpoint = meta.get("end_session_endpoint")
        if not endpoint:
            return None
        query = urlencode(
            {
                "client_id": self.config.client_id,
                "post_logout_redirect_uri": post_logout_redirect_uri,
            }
        )
        return str(endpoint) + ("&" if "?" in str(endpoint) else "?") + query


def session_refresher(client: OIDCClient) -> Callable[[RequestAuth], Awaitable[None]]:
    """For AuthMiddleware: refresh the session's OIDC tokens before they expire.

    A refused refresh keeps the old tokens while they are valid; once they have
    expired the session forgets them, and the next cluster request asks the
    user to sign in again.
    """

    async def refresh(auth: RequestAuth) -> None:
        tokens = auth.oidc_tokens()
        if not tokens or not needs_refresh(tokens):
            return
        fresh = await client.refresh(tokens)
        session = dict(auth.session or {})
        if fresh is not None:
            session["oidc"] = fresh
            auth.set_session(session)
        elif float(tokens.get("exp", 0)) <= time.time():
            session.pop("oidc", None)
            auth.set_session(session or None)

    return refresh
