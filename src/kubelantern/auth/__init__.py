"""Who the user is, and which credentials their requests carry.

The web layer asks ``credentials_for(request, cluster)`` once per request and
cluster (``kubelantern.web.context``) and passes the answer to the cluster
client; per-user caches key on ``identity_key(request, cluster)``. Permission
checks go through the request context too (``ClusterContext.can``).
The cluster's auth mode (``Cluster.auth_mode``) decides:

========== ====================================================================
kubeconfig ``None``: the context's own credentials (local use)
bearer     the user's token: from the trusted proxy (``Authorization`` or
           ``X-Forwarded-Access-Token``) or typed into ``/-/login``
impersonate Kubelantern's own credentials + ``Impersonate-User``/``-Group`` of
           the user the trusted proxy names
oidc       the token of Kubelantern's own OIDC login (refreshed by the
           middleware before it expires)
========== ====================================================================

Without the user's identity the request raises ``NotSignedIn`` (a 401), which
the web layer turns into a sign-in redirect; it never falls back to another
identity.
"""

from __future__ import annotations

import hashlib

from starlette.requests import HTTPConnection

from kubelantern import errors
from kubelantern.auth.access import Check, Decision
from kubelantern.auth.identity import RequestAuth
from kubelantern.clusters.credentials import BearerToken, Credentials, Impersonation
from kubelantern.clusters.store import Cluster

__all__ = [
    "Check",
    "Decision",
    "ImpersonationRefused",
    "NotSignedIn",
    "credentials_for",
    "identity_key",
    "request_auth",
]


class NotSignedIn(errors.Unauthorized):
    """The request has no identity for a cluster that needs the user's own."""

    title = "Sign in to continue"

    def __init__(self, cluster: Cluster, how: str) -> None:
        super().__init__(
            f"Cluster {cluster.slug} uses your own identity ({cluster.auth_mode} mode); {how}",
            status=401,
            cluster=cluster.display_name,
        )


class ImpersonationRefused(errors.KubelanternError):
    """The proxy named a user Kubelantern will not impersonate (``system:*``)."""

    status = 403
    title = "User name refused"


def request_auth(request: HTTPConnection) -> RequestAuth | None:
    """What AuthMiddleware learned about this request (None outside the app)."""
    auth = request.scope.get("kl_auth")
    return auth if isinstance(auth, RequestAuth) else None


def impersonation_target(auth: RequestAuth) -> tuple[str, tuple[str, ...]] | None:
    """(user, groups) to impersonate, prefixes applied, ``system:`` groups dropped.

    A group such as ``system:masters`` would make anyone whose provider lets them
    name a group (a GitHub organisation called "system") a cluster admin, so no
    ``system:`` group is ever sent; ``system:authenticated`` is added by the API
    server itself. A ``system:`` user name is refused outright.
    """
    ident = auth.proxy
    if ident is None or not ident.user:
        return None
    config = auth.config
    user = config.user_prefix + ident.user
    if user.startswith("system:"):
        raise ImpersonationRefused(
            f"The sign-in proxy named the user {user!r}; Kubelantern never impersonates "
            "system: users."
        )
    groups = tuple(
        g
        for g in (config.group_prefix + group for group in ident.groups)
        if not g.startswith("system:")
    )
    return user, groups


def _token_of(auth: RequestAuth | None, mode: str) -> str | None:
    if auth is None:
        return None
    if mode == "bearer":
        return auth.bearer_token()
    tokens = auth.oidc_tokens()
    if mode == "oidc" and tokens:
        key = (
            "access_token"
            if auth.config.oidc and auth.config.oidc.token == "access_token"
            else "id_token"
        )
        return str(tokens.get(key) or "") or None
    return None


def credentials_for(request: HTTPConnection, cluster: Cluster) -> Credentials | None:
    """The credentials of this request for this cluster.

    ``None`` means the cluster's own kubeconfig credentials (kubeconfig mode).
    Takes any connection, so a WebSocket (the terminal) carries the same identity.
    """
    mode = cluster.auth_mode
    if mode == "kubeconfig":
        return None
    auth = request_auth(request)
    if mode == "impersonate":
        target = impersonation_target(auth) if auth is not None else None
        if target is None:
            raise NotSignedIn(cluster, "sign in through the sign-in proxy.")
        return Impersonation(cluster.client.own_credentials, *target)
    token = _token_of(auth, mode)
    if not token:
        how = {
            "oidc": "sign in with your identity provider.",
            "bearer": "sign in with a token."
            if auth is not None and auth.config.bearer_source == "form"
            else "sign in through the sign-in proxy.",
        }.get(mode, "sign in.")
        raise NotSignedIn(cluster, how)
    return BearerToken(token)


def _digest(*parts: str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()[:32]


def identity_key(request: HTTPConnection, cluster: Cluster) -> str:
    """A stable, non-secret key of who is asking, for per-user caches.

    Distinct people never share a key: tokens and impersonated identities are
    hashed (a key may be logged, a token must not be).
    """
    mode = cluster.auth_mode
    if mode == "kubeconfig":
        return f"kubeconfig:{cluster.slug}:{cluster.config.fingerprint}"
    auth = request_auth(request)
    if mode == "impersonate":
        try:
            target = impersonation_target(auth) if auth is not None else None
        except ImpersonationRefused:
            target = None
        if target is None:
            return f"anonymous:{cluster.slug}"
        user, groups = target
        return f"impersonate:{cluster.slug}:{_digest(user, *sorted(groups))}"
    token = _token_of(auth, mode)
    return f"{mode}:{cluster.slug}:{_digest(token)}" if token else f"anonymous:{cluster.slug}"
