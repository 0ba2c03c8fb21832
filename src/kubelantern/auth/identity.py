"""Who is asking: identity headers from a trusted proxy, and the session cookie.

``AuthMiddleware`` runs before every route. It

* always drops ``Impersonate-*`` headers (OAuth2 Proxy passes them through
  untouched, and they must never reach a cluster from a browser);
* decides whether the request comes from the trusted sign-in proxy (source
  address in ``--trusted-proxies`` and/or the shared secret header), and
  refuses any request that carries identity headers without that trust: a
  forged ``X-Forwarded-User`` or ``Authorization`` is an attack, not a user;
* parses the identity the proxy asserts (``X-Forwarded-*`` or the
  ``X-Auth-Request-*`` names nginx ``auth_request`` setups use) and removes
  those headers, so no view can forward them by accident;
* reads the encrypted session cookie, refuses it if it is past its absolute or
  idle lifetime or was signed out (``SessionLifetime``, shared by every
  replica), refreshes Kubelantern's own OIDC tokens before they expire, and
  writes the cookie back when it changed.

What it learned is ``request.scope["kl_auth"]`` (a ``RequestAuth``), which
``kubelantern.auth.credentials_for`` turns into the credentials of a request.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kubelantern import errors
from kubelantern.auth.config import AuthConfig
from kubelantern.auth.cookies import request_cookies
from kubelantern.auth.revocation import MemoryRevocations, StoreUnavailable
from kubelantern.auth.sessions import CookieCodec, SessionLifetime

log = logging.getLogger(__name__)

SESSION_COOKIE = "kl_session"
# When Kubelantern last sent this browser to sign in; a second 401 soon after
# shows an error instead of another redirect (no loop). Cleared once a page works.
SIGNIN_COOKIE = "kl_signin"
PROXY_HEADERS = (
    "x-forwarded-user",
    "x-forwarded-email",
    "x-forwarded-groups",
    "x-forwarded-preferred-username",
    "x-forwarded-access-token",
    "x-auth-request-user",
    "x-auth-request-email",
    "x-auth-request-groups",
    "x-auth-request-preferred-username",
    "x-auth-request-access-token",
    "authorization",
)


class UntrustedIdentity(errors.KubelanternError):
    """Identity headers from a client that is not the trusted sign-in proxy."""

    status = 403
    title = "Identity headers refused"


@dataclass(frozen=True)
class ProxyIdentity:
    """The user as the trusted sign-in proxy names them (tokens kept out of repr)."""

    user: str = ""
    email: str = ""
    preferred_username: str = ""
    groups: tuple[str, ...] = ()
    id_token: str | None = field(default=None, repr=False)
    access_token: str | None = field(default=None, repr=False)

    @property
    def display_name(self) -> str:
        return self.preferred_username or self.email or self.user


@dataclass
class RequestAuth:
    """What AuthMiddleware learned about one request; views read it via the helpers."""

    config: AuthConfig
    trusted: bool = False
    proxy: ProxyIdentity | None = None
    session: dict[str, Any] | None = None
    session_changed: bool = False

    def set_session(self, data: dict[str, Any] | None) -> None:
        """Replace the session; the middleware writes (or deletes) the cookie."""
        self.session = data
        self.session_changed = True

    def bearer_token(self) -> str | None:
        """The token of mode ``bearer``: from the proxy's headers, or typed into the form."""
        source = self.config.bearer_source
        if source == "form":
            return (self.session or {}).get("token") or None
        if self.proxy is None:
            return None
        return self.proxy.access_token if source == "access-token" else self.proxy.id_token

    def oidc_tokens(self) -> dict[str, Any] | None:
        tokens = (self.session or {}).get("oidc")
        return tokens if isinstance(tokens, dict) else None

    def display_name(self) -> str | None:
        if self.proxy is not None and self.proxy.display_name:
            return self.proxy.display_name
        session = self.session or {}
        oidc = self.oidc_tokens()
        if oidc and oidc.get("user"):
            return str(oidc["user"])
        return str(session["user"]) if session.get("user") else None


def _lower(name: str) -> str:
    return name.strip().lower()


def _twin(name: str) -> str | None:
    """X-Forwarded-User <-> X-Auth-Request-User: the two spellings OAuth2 Proxy uses."""
    for a, b in (("x-forwarded-", "x-auth-request-"), ("x-auth-request-", "x-forwarded-")):
        if name.startswith(a):
            return b + name[len(a) :]
    return None


def split_groups(values: list[str]) -> tuple[str, ...]:
    """Groups arrive comma-joined in one header (OAuth2 Proxy), or as repeated headers."""
    out: list[str] = []
    for value in values:
        for part in value.split(","):
            group = part.strip()
            if group and group not in out:
                out.append(group)
    return tuple(out)


def parse_identity(config: AuthConfig, headers: Headers) -> ProxyIdentity | None:
    """The identity in a trusted proxy's headers, or None if it sent none."""

    def first(name: str) -> str:
        name = _lower(name)
        value = headers.get(name, "").strip()
        twin = _twin(name)
        if not value and twin:
            value = headers.get(twin, "").strip()
        return value

    groups_name = _lower(config.groups_header)
    group_values = headers.getlist(groups_name)
    twin = _twin(groups_name)
    if not any(v.strip() for v in group_values) and twin:
        group_values = headers.getlist(twin)
    auth = headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    identity = ProxyIdentity(
        user=first(config.user_header),
        email=first("x-forwarded-email"),
        preferred_username=first("x-forwarded-preferred-username"),
        groups=split_groups(group_values),
        id_token=token.strip() or None if scheme.lower() == "bearer" else None,
        access_token=first("x-forwarded-access-token") or None,
    )
    if not (identity.user or identity.id_token or identity.access_token):
        return None
    return identity


def client_trusted(config: AuthConfig, scope: Scope, headers: Headers) -> bool:
    """From the sign-in proxy? Both configured checks must pass (address and secret)."""
    if not config.has_trust:
        return False
    if config.trusted_networks:
        client = scope.get("client")
        try:
            addr = ipaddress.ip_address(client[0]) if client else None
        except ValueError:
            addr = None
        if addr is None or not any(addr in net for net in config.trusted_networks):
            return False
    if config.proxy_secret is not None:
        sent = headers.get(_lower(config.proxy_secret_header), "").encode()
        if not hmac.compare_digest(sent, config.proxy_secret):
            return False
    return True


Refusal = Callable[[Scope, errors.KubelanternError], Response]
Refresher = Callable[[RequestAuth], Awaitable[None]]


class AuthMiddleware:
    """Strips, checks and parses identity; keeps the session cookie (see module doc)."""

    def __init__(
        self,
        app: ASGIApp,
        config: AuthConfig,
        *,
        refuse: Refusal,
        refresh: Refresher | None = None,
        lifetime: SessionLifetime | None = None,
    ) -> None:
        self.app = app
        self.config = config
        self.refuse = refuse
        self.refresh = refresh
        self.lifetime = lifetime or SessionLifetime(
            config.session_max_age, config.session_idle_timeout, MemoryRevocations()
        )
        self.sessions = CookieCodec(
            config.session_key,
            name=SESSION_COOKIE,
            max_age=config.session_max_age,
            path=config.cookie_path,
            secure=config.secure_cookies,
        )
        identity = {*PROXY_HEADERS, _lower(config.user_header), _lower(config.groups_header)}
        self.identity_headers = frozenset(identity)
        self.secret_header = _lower(config.proxy_secret_header)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        config = self.config
        auth = RequestAuth(config=config)
        names = [k.decode("latin-1").lower() for k, _ in scope["headers"]]
        carries_identity = any(name in self.identity_headers for name in names)
        if config.header_modes:
            auth.trusted = client_trusted(config, scope, headers)
            if carries_identity and not auth.trusted:
                client = (scope.get("client") or ("?",))[0]
                log.warning("refused identity headers from untrusted client %s", client)
                await self._refuse(scope, receive, send)
                return
            if auth.trusted:
                auth.proxy = parse_identity(config, headers)
        cookies = request_cookies(headers.raw)
        store_down = False
        if config.modes != {"kubeconfig"}:
            session = self.sessions.read(cookies)
            try:
                if session is not None and not await self.lifetime.check(session):
                    session = None  # signed out, idle too long, too old, or without an id
            except StoreUnavailable as exc:
                # Fail closed, but keep the cookie: it may be fine once the store answers.
                log.warning("session refused for now: %s", exc)
                session, store_down = None, True
            auth.session = session
        sent_chunks = self.sessions.present(cookies)
        now = time.time()
        if auth.session is None and sent_chunks and not store_down:
            auth.set_session(None)  # tampered, foreign, expired or revoked: clear it
        elif auth.session is not None and self.lifetime.touch_due(auth.session, now):
            auth.set_session({**auth.session, "seen": int(now)})  # the idle clock
        if self.refresh is not None and auth.oidc_tokens():
            await self.refresh(auth)

        scope = dict(scope)
        scope["headers"] = [
            (k, v)
            for k, v in scope["headers"]
            if not k.lower().startswith(b"impersonate-")
            and k.decode("latin-1").lower() not in self.identity_headers
            and k.decode("latin-1").lower() != self.secret_header
        ]
        scope["kl_auth"] = auth

        signing_in = SIGNIN_COOKIE in cookies

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                out: list[str] = []
                if auth.session_changed:
                    out += self.sessions.set_cookie_headers(auth.session, sent=sent_chunks)
                if signing_in and message["status"] < 300:
                    out.append(f"{SIGNIN_COOKIE}=; Path={config.cookie_path}; Max-Age=0")
                if out:
                    extra = [(b"set-cookie", c.encode("latin-1")) for c in out]
                    message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_wrapper)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        err = UntrustedIdentity(
            "This request carries identity headers (X-Forwarded-User, Authorization, ...) "
            "but does not come from Kubelantern's trusted sign-in proxy, so it was refused. "
            "Open Kubelantern through its sign-in proxy. Operators: check "
            "--trusted-proxies and --proxy-secret-file."
        )
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        response = self.refuse(scope, err)
        await response(scope, receive, send)
