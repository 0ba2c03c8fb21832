"""Sign-in, sign-out, "who am I", and what a 401 from a cluster turns into.

* ``/-/whoami`` asks every cluster (SelfSubjectReview) who it thinks the user
  is: what the API server made of the token or the impersonation, prefixes
  included, which is what RBAC bindings must name.
* ``/-/login`` offers what the configured modes allow: a token form (mode
  bearer with ``--bearer-source form``), Kubelantern's own OIDC login, or the
  sign-in proxy. ``/-/logout`` (POST, CSRF-checked) clears the session and goes
  to the proxy's or provider's sign-out.
* A 401 (expired token, not signed in) on a page sends the browser to sign in
  again and back to the same page; JSON clients get a 401 with ``signIn``.
  If the browser comes straight back to another 401, Kubelantern shows the
  error instead of looping between itself and the provider.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
import time
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import Scope

from kubelantern import errors, urls
from kubelantern.auth import NotSignedIn, request_auth
from kubelantern.auth.access import self_review
from kubelantern.auth.identity import SIGNIN_COOKIE, RequestAuth
from kubelantern.auth.oidc import OIDCError, pkce_pair
from kubelantern.auth.sessions import CookieCodec
from kubelantern.clusters.credentials import BearerToken
from kubelantern.clusters.store import Cluster
from kubelantern.web.context import cluster_context
from kubelantern.web.csrf import csrf_token
from kubelantern.web.errors import kubelantern_error
from kubelantern.web.render import json_path, render, wants_json
from kubelantern.web.responses import JSONResponse, error_data
from kubelantern.web.state import AppState, app_state

log = logging.getLogger(__name__)

SIGNIN_LOOP_SECONDS = 30
FLOW_COOKIE = "kl_oidc_flow"
FLOW_MAX_AGE = 600


def safe_next(value: str | None, prefix: str) -> str:
    """A local path to return to; anything else (``//evil``, ``https:``) becomes home.

    Browsers drop tabs and newlines from URLs and read ``\\`` as ``/``, so
    ``/<tab>/evil`` would become ``//evil``: any whitespace or control
    character makes the value unsafe too (a real path has them %-encoded).
    """
    if (
        not value
        or not value.startswith("/")
        or value.startswith("//")
        or "\\" in value
        or any(ord(c) <= 0x20 or ord(c) == 0x7F for c in value)
    ):
        return prefix + "/"
    return value


def current_path(request: HTTPConnection) -> str:
    """The browser-visible path and query of this request (base URL included)."""
    path = str(request.scope["path"])  # Starlette keeps the full path (prefix included)
    if request.scope.get("kl_json"):
        path += ".json"
    query = request.scope.get("query_string", b"").decode("latin-1")
    return path + (f"?{query}" if query else "")


def _append(url: str, params: dict[str, str]) -> str:
    return url + ("&" if "?" in url else "?") + urlencode(params, quote_via=quote)


def sign_in_url(request: HTTPConnection, mode: str, back: str | None = None) -> str | None:
    """Where a user of a cluster in ``mode`` signs in, returning to ``back``."""
    state = app_state(request)
    prefix = state.settings.prefix
    back = back or current_path(request)
    auth = state.auth
    if mode == "oidc":
        return _append(prefix + urls.url_for("oidc_login"), {"next": back})
    if mode == "bearer" and auth.bearer_source == "form":
        return _append(prefix + urls.url_for("login"), {"next": back})
    if mode in ("bearer", "impersonate"):
        return _append(auth.sign_in_url, {"rd": back})
    return None


def _cluster_of(request: Request, exc: errors.KubelanternError) -> Cluster | None:
    state = app_state(request)
    slug = request.path_params.get("cluster")
    for cluster in state.clusters:
        if cluster.slug == slug or (
            exc.cluster and exc.cluster in (cluster.display_name, cluster.slug)
        ):
            return cluster
    return None


async def unauthorized(request: Request, exc: Exception) -> Response:
    """401 from a cluster (or no identity): sign in again and come back here."""
    assert isinstance(exc, errors.KubelanternError)
    cluster = _cluster_of(request, exc)
    target = sign_in_url(request, cluster.auth_mode) if cluster else None
    if target is None:
        return await kubelantern_error(request, exc)
    data = error_data(exc)
    data["signIn"] = target
    if wants_json(request):
        return JSONResponse(data, status_code=401, headers={"WWW-Authenticate": "Bearer"})
    if request.headers.get("hx-request"):
        return Response(status_code=401, headers={"HX-Redirect": target})
    last = request.cookies.get(SIGNIN_COOKIE, "")
    if last.isdigit() and time.time() - int(last) < SIGNIN_LOOP_SECONDS:
        # We sent this browser to sign in moments ago and the cluster still says no:
        # show why instead of bouncing between Kubelantern and the provider.
        if isinstance(exc, NotSignedIn):
            advice = (
                "You signed in moments ago, but this browser did not keep Kubelantern's "
                "session (cookies blocked, or --secure-cookies while serving plain http?)."
            )
        else:
            advice = (
                "You signed in moments ago, but the cluster still refused the credentials. "
                "It may not trust this identity provider; ask an administrator."
            )
        data["error"]["advice"] = advice
        response = render(request, "error.html", data, status=401)
        response.delete_cookie(SIGNIN_COOKIE, path=app_state(request).auth.cookie_path)
        return response
    response = RedirectResponse(target, status_code=303 if request.method != "GET" else 302)
    response.set_cookie(
        SIGNIN_COOKIE,
        str(int(time.time())),
        max_age=SIGNIN_LOOP_SECONDS,
        path=app_state(request).auth.cookie_path,
        httponly=True,
        samesite="lax",
        secure=app_state(request).auth.secure_cookies,
    )
    return response


def refusal(state: AppState) -> Any:
    """The error page for requests AuthMiddleware refuses before any route runs."""

    def respond(scope: Scope, err: errors.KubelanternError) -> Response:
        request = Request(scope)
        data = error_data(err)
        if wants_json(request):
            return JSONResponse(data, status_code=err.status)
        html = state.jinja.get_template("error.html").render(
            request=request,
            data=data,
            json_url=json_path(request),
            prefix=state.settings.prefix,
            csrf=csrf_token(request),
            **data,
        )
        return HTMLResponse(html, status_code=err.status)

    return respond


def current_user(request: HTTPConnection) -> dict[str, Any] | None:
    """The app bar's user: name, and whether to offer sign-in or sign-out."""
    auth = request_auth(request)
    if auth is None or auth.config.modes == {"kubeconfig"}:
        return None
    name = auth.display_name()
    own_login = "oidc" in auth.config.modes or (
        "bearer" in auth.config.modes and auth.config.bearer_source == "form"
    )
    return {
        "name": name,
        "signedIn": bool(name),
        "canSignIn": own_login and not name,
        "canSignOut": bool(name) or bool(auth.config.sign_out_url),
    }


def _auth(request: Request) -> RequestAuth:
    auth = request_auth(request)
    if auth is None:
        raise errors.KubelanternError("authentication middleware is not installed")
    return auth


async def _whoami_one(request: Request, cluster: Cluster) -> dict[str, Any]:
    row: dict[str, Any] = {
        "cluster": cluster.slug,
        "displayName": cluster.display_name,
        "mode": cluster.auth_mode,
    }
    try:
        row.update(await self_review(cluster, cluster_context(request, cluster).credentials))
        row["signedIn"] = True
    except errors.Unauthorized as exc:
        row.update(signedIn=False, error=exc.message)
        row["signIn"] = sign_in_url(request, cluster.auth_mode)
    except errors.KubelanternError as exc:
        row.update(signedIn=None, error=exc.message)
    return row


async def whoami(request: Request) -> Response:
    """Who each cluster thinks the user is; ``?cluster=NAME`` for one cluster."""
    state = app_state(request)
    only = request.query_params.get("cluster")
    clusters = [c for c in state.clusters if not only or only in (c.slug, c.display_name)]
    if only and not clusters:
        raise errors.UnknownCluster(f"no cluster named {only!r}")
    rows = await asyncio.gather(*(_whoami_one(request, c) for c in clusters))
    auth = _auth(request)
    identity: dict[str, Any] = {"name": auth.display_name(), "source": None}
    if auth.proxy is not None:
        identity.update(
            source="proxy",
            user=auth.proxy.user,
            email=auth.proxy.email,
            groups=list(auth.proxy.groups),
        )
    elif auth.oidc_tokens():
        identity.update(source="oidc", groups=(auth.oidc_tokens() or {}).get("groups", []))
    elif (auth.session or {}).get("token"):
        identity["source"] = "token"
    data = {"identity": identity, "clusters": list(rows), "user": current_user(request)}
    return render(request, "whoami.html", data)


def _login_options(request: Request, back: str) -> dict[str, Any]:
    state = app_state(request)
    auth = state.auth
    modes = auth.modes
    options: dict[str, Any] = {
        "token": "bearer" in modes and auth.bearer_source == "form",
        "oidc": sign_in_url(request, "oidc", back) if "oidc" in modes else None,
        "proxy": None,
    }
    if "impersonate" in modes or ("bearer" in modes and auth.bearer_source != "form"):
        options["proxy"] = sign_in_url(request, "impersonate", back)
    if auth.oidc is not None:
        options["oidcIssuer"] = auth.oidc.issuer
    return options


async def login_page(request: Request) -> Response:
    state = app_state(request)
    back = safe_next(request.query_params.get("next"), state.settings.prefix)
    data = {"next": back, "options": _login_options(request, back), "user": current_user(request)}
    return render(request, "login.html", data)


async def login_submit(request: Request) -> Response:
    """A typed-in token (mode bearer, --bearer-source form): check it, keep it in the session."""
    state = app_state(request)
    form = await request.form()
    back = safe_next(str(form.get("next") or ""), state.settings.prefix)
    token = str(form.get("token") or "").strip()
    if token.lower().startswith("bearer "):
        token = token[7:].strip()
    targets = [c for c in state.clusters if c.auth_mode == "bearer"]
    if not targets or state.auth.bearer_source != "form":
        raise errors.BadRequest("no cluster takes a typed-in token (--bearer-source form)")
    problem = ""
    user = ""
    if not token:
        problem = "Paste a token first."
    else:
        try:
            user = (await self_review(targets[0], BearerToken(token)))["user"]
        except errors.Unauthorized:
            problem = f"Cluster {targets[0].display_name} did not accept this token."
        except errors.KubelanternError as exc:
            problem = f"Could not check the token: {exc.message}"
    if problem:
        data = {
            "next": back,
            "options": _login_options(request, back),
            "problem": problem,
            "user": current_user(request),
        }
        return render(request, "login.html", data, status=401)
    await _start_session(request, {"token": token, "user": user})
    if wants_json(request):
        return JSONResponse({"signedIn": True, "user": user, "next": back})
    return RedirectResponse(back, status_code=303)


async def _start_session(request: Request, data: dict[str, Any]) -> None:
    """A new session (new id) in place of any earlier one, which is revoked: a
    cookie that existed before this sign-in is worth nothing after it."""
    state = app_state(request)
    auth = _auth(request)
    try:
        await state.sessions.end(auth.session)
    except Exception as exc:  # the store is down: the old cookie still expires on its own
        log.warning("could not revoke the session replaced by a sign-in: %s", exc)
    auth.set_session(state.sessions.start(data))


async def logout(request: Request) -> Response:
    """End the session everywhere, then sign out of the proxy or provider too.

    The cookie is cleared in this browser, and the session's id is revoked in
    the session store every replica reads, so a copy of the cookie (another
    tab, a stolen one) is refused from now on. If the store cannot record
    it, the user is told, not shown a sign-out that did not happen.
    """
    state = app_state(request)
    auth = _auth(request)
    had_oidc = auth.oidc_tokens() is not None
    ended = auth.session
    auth.set_session(None)
    try:
        await state.sessions.end(ended)
    except Exception as exc:
        log.error("sign-out could not be recorded in the session store: %s", exc)
        raise errors.ClusterUnavailable(
            "You are signed out in this browser, but Kubelantern could not record the "
            "sign-out in its session store, so a copy of this session's cookie may still "
            "work until it expires. Try signing out again; operators: check the session "
            "store (--session-store)."
        ) from exc
    prefix = state.settings.prefix
    target = state.auth.sign_out_url
    origin = _origin(request, state)
    if not target and had_oidc and state.oidc is not None and origin is not None:
        target = await state.oidc.end_session_url(f"{origin}{prefix}/") or ""
    if not target:
        own_login = "oidc" in state.auth.modes or state.auth.bearer_source == "form"
        target = prefix + urls.url_for("login" if own_login else "home")
    if wants_json(request):
        return JSONResponse({"signedOut": True, "next": target})
    return RedirectResponse(target, status_code=303)


def _flow_codec(state: AppState) -> CookieCodec:
    return CookieCodec(
        state.auth.session_key,
        name=FLOW_COOKIE,
        max_age=FLOW_MAX_AGE,
        path=state.settings.prefix + "/-/oidc",
        secure=state.auth.secure_cookies,
        same_site="Lax",  # the provider's redirect back is a cross-site navigation
    )


class HostNotAllowed(errors.KubelanternError):
    status = 400
    title = "Unknown host name"


def _origin(request: HTTPConnection, state: AppState) -> str | None:
    """``scheme://host`` of this server as the operator configured it: the
    origin of --oidc-redirect-url, else the request's Host if --allowed-hosts
    names it, else None. A client-chosen Host never becomes a redirect target."""
    oidc = state.auth.oidc
    if oidc and oidc.redirect_url:
        parts = urlsplit(oidc.redirect_url)
        return f"{parts.scheme}://{parts.netloc}"
    host = request.headers.get("host", "")
    if host and state.auth.host_allowed(host):
        return f"{request.url.scheme}://{host}"
    return None


def _redirect_uri(request: Request, state: AppState) -> str:
    if state.auth.oidc and state.auth.oidc.redirect_url:
        return state.auth.oidc.redirect_url
    origin = _origin(request, state)
    if origin is None:
        raise HostNotAllowed(
            "Kubelantern was reached under a host name it does not know, so it cannot "
            "start a sign-in. Open it at the address your administrator gave you. "
            "Operators: add this host to --allowed-hosts, or set --oidc-redirect-url."
        )
    return f"{origin}{state.settings.prefix}/-/oidc/callback"


async def oidc_login(request: Request) -> Response:
    """Start the authorization code flow with PKCE; state and verifier go in a cookie."""
    state = app_state(request)
    if state.oidc is None:
        raise errors.BadRequest("no cluster uses Kubelantern's own OIDC login (--auth-mode oidc)")
    back = safe_next(request.query_params.get("next"), state.settings.prefix)
    verifier, challenge = pkce_pair()
    flow = {"state": secrets.token_urlsafe(24), "nonce": secrets.token_urlsafe(24)}
    try:
        url = await state.oidc.authorization_url(
            redirect_uri=_redirect_uri(request, state),
            state=flow["state"],
            nonce=flow["nonce"],
            challenge=challenge,
        )
    except OIDCError as exc:
        raise errors.ClusterUnavailable(f"Sign-in is unavailable: {exc}") from exc
    response = RedirectResponse(url, status_code=302)
    codec = _flow_codec(state)
    for header in codec.set_cookie_headers({**flow, "verifier": verifier, "next": back}, sent=0):
        response.headers.append("set-cookie", header)
    return response


class SignInFailed(errors.KubelanternError):
    status = 401
    title = "Sign-in failed"


async def oidc_callback(request: Request) -> Response:
    """The provider sends the browser back with a code: redeem it, start the session."""
    state = app_state(request)
    if state.oidc is None:
        raise errors.BadRequest("no cluster uses Kubelantern's own OIDC login (--auth-mode oidc)")
    codec = _flow_codec(state)
    flow = codec.read(request.cookies)
    params = request.query_params
    retry = state.settings.prefix + urls.url_for("oidc_login")
    if params.get("error"):
        raise SignInFailed(f"The identity provider refused the sign-in ({params['error']}).")
    if flow is None or not hmac.compare_digest(str(flow.get("state", "")), params.get("state", "")):
        raise SignInFailed(
            f"This sign-in was started elsewhere or took too long. Start again at {retry}."
        )
    try:
        tokens = await state.oidc.exchange_code(
            code=params.get("code", ""),
            redirect_uri=_redirect_uri(request, state),
            verifier=str(flow["verifier"]),
            nonce=str(flow["nonce"]),
        )
    except OIDCError as exc:
        raise SignInFailed(f"Sign-in failed: {exc}.") from exc
    await _start_session(request, {"oidc": tokens})
    back = safe_next(str(flow.get("next") or ""), state.settings.prefix)
    response = RedirectResponse(back, status_code=303)
    for header in codec.set_cookie_headers(None, sent=codec.present(request.cookies)):
        response.headers.append("set-cookie", header)
    return response


__all__ = [
    "NotSignedIn",
    "current_user",
    "login_page",
    "login_submit",
    "logout",
    "oidc_callback",
    "oidc_login",
    "refusal",
    "sign_in_url",
    "unauthorized",
    "whoami",
]
