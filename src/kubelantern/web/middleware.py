"""Small ASGI middlewares: the ``.json`` twin suffix, request logging, security headers."""

from __future__ import annotations

import logging
import re
import secrets
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kubelantern import logsetup
from kubelantern.web import csp

access_log = logging.getLogger("kubelantern.access")
# An id an Ingress already gave the request is kept, so its logs and ours match.
_INBOUND_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class JsonSuffix:
    """``/path.json`` is the JSON twin of ``/path``: strip the suffix, remember it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].endswith(".json"):
            scope = dict(scope)
            scope["path"] = scope["path"][: -len(".json")] or "/"
            raw = scope.get("raw_path")
            if raw and raw.endswith(b".json"):
                scope["raw_path"] = raw[: -len(b".json")] or b"/"
            scope["kl_json"] = True
        await self.app(scope, receive, send)


class RequestLog:
    """One access-log line per request, with a request id echoed in X-Request-Id.

    Only method, path, status and timing are logged: never headers or query
    strings, which could carry tokens. The id is also in ``logsetup.request_id``
    for the whole request (WebSockets too), so every log line of it carries it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        inbound = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = inbound if _INBOUND_ID.match(inbound) else uuid.uuid4().hex[:16]
        scope.setdefault("state", {})["request_id"] = request_id
        token = logsetup.request_id.set(request_id)
        if scope["type"] == "websocket":
            try:
                await self.app(scope, receive, send)
            finally:
                logsetup.request_id.reset(token)
            return
        start = time.monotonic()
        status: dict[str, Any] = {"code": 500}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            logsetup.request_id.reset(token)
            access_log.info(
                "%s %s %s %.1fms",
                scope["method"],
                scope["path"],
                status["code"],
                (time.monotonic() - start) * 1000,
                extra={
                    "request_id": request_id,
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status["code"],
                    "duration_ms": round((time.monotonic() - start) * 1000, 1),
                },
            )


# Browser features no page of Kubelantern uses: nothing on it (a plugin's
# script included) may ask for them. Only features Chromium knows, so that
# it logs no "Unrecognized feature" on every page.
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=()"
)
HSTS = "max-age=31536000"


class SecurityHeaders:
    """Security headers on every HTTP response, and a fresh CSP nonce per response.

    The nonce is in ``scope["state"]["csp_nonce"]`` and in ``csp.current_nonce``
    while the request runs (templates call ``csp_nonce()``). Headers: the CSP
    of ``web/csp.py``, ``X-Frame-Options: DENY`` (``frame-ancestors`` for
    browsers without CSP 2), ``X-Content-Type-Options: nosniff``,
    ``Referrer-Policy: same-origin`` (URLs name namespaces and objects; not
    ``no-referrer``, which would make form posts send ``Origin: null`` and fail
    the CSRF check), ``Permissions-Policy``, ``Cross-Origin-Opener-Policy`` and
    ``-Resource-Policy: same-origin``, and HSTS when cookies are secure (the
    operator said users come over HTTPS).

    The rule for other middleware and views: a response that already carries
    one of these headers keeps its own. In particular a response with its own
    ``Content-Security-Policy`` (say a proxied pod page sent with ``sandbox``)
    is left alone: it is the view's job to make that policy at least as strict
    for what it serves, and ours (with its nonce) would break pages that are
    not Kubelantern's. Everything else still gets ``X-Frame-Options`` and the
    rest unless the view set them.
    """

    def __init__(self, app: ASGIApp, *, policy: csp.Policy, hsts: bool = False) -> None:
        self.app = app
        self.policy = policy
        self.static: list[tuple[bytes, bytes]] = [
            (b"x-frame-options", b"DENY"),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
            (b"permissions-policy", PERMISSIONS_POLICY.encode()),
            (b"cross-origin-opener-policy", b"same-origin"),
            (b"cross-origin-resource-policy", b"same-origin"),
        ]
        if hsts:
            self.static.append((b"strict-transport-security", HSTS.encode()))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(18)
        scope.setdefault("state", {})["csp_nonce"] = nonce
        token = csp.current_nonce.set(nonce)

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                if b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", self.policy.header(nonce).encode()))
                headers += [(k, v) for k, v in self.static if k not in present]
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            csp.current_nonce.reset(token)
