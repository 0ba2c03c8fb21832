"""CSRF protection for every state-changing request.

Double submit with an HttpOnly cookie: the server sets a random ``kl_csrf``
cookie and prints the same token into each page (``<meta name="csrf-token">``,
htmx sends it as ``X-CSRF-Token``). A POST/PUT/PATCH/DELETE must carry the token
in that header or in a ``_csrf`` form field, and its ``Origin`` (when the
browser sends one) must be this site. A cross-site form cannot read the token,
so it cannot forge a write.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import parse_qs, urlsplit

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kubelantern import errors
from kubelantern.auth.cookies import request_cookies
from kubelantern.web.responses import refuse

COOKIE = "kl_csrf"
HEADER = "x-csrf-token"
FIELD = "_csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_FORM_PEEK = 1 << 20


def csrf_token(request: Request) -> str:
    """The token for this browser (set on the response by the middleware)."""
    token: str = request.scope.get("kl_csrf_token", "")
    return token


def _origin_ok(headers: Headers) -> bool:
    origin = headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    host = headers.get("x-forwarded-host") or headers.get("host", "")
    return urlsplit(origin).netloc == host


class CSRFMiddleware:
    """Refuses unsafe requests without a matching token, before any handler runs."""

    def __init__(self, app: ASGIApp, *, secure: bool = False, path: str = "/") -> None:
        self.app = app
        self.secure = secure
        self.path = path or "/"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        cookie_token = request_cookies(headers.raw).get(COOKIE, "")
        new_cookie = not cookie_token
        token = cookie_token or secrets.token_urlsafe(32)
        scope["kl_csrf_token"] = token

        if scope["method"] not in SAFE_METHODS:
            sent = headers.get(HEADER, "")
            body_messages: list[Message] = []
            if not sent and headers.get("content-type", "").startswith(
                "application/x-www-form-urlencoded"
            ):
                sent, body_messages = await _form_token(receive)
            if (
                new_cookie
                or not sent
                or not hmac.compare_digest(sent, cookie_token)
                or not _origin_ok(headers)
            ):
                await _refuse(scope, receive, send)
                return
            if body_messages:
                receive = _replay(body_messages, receive)

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start" and new_cookie:
                attrs = f"{COOKIE}={token}; Path={self.path}; HttpOnly; SameSite=Strict"
                if self.secure:
                    attrs += "; Secure"
                hdrs = [*message.get("headers", []), (b"set-cookie", attrs.encode())]
                message = {**message, "headers": hdrs}
            await send(message)

        await self.app(scope, receive, send_wrapper)


async def _form_token(receive: Receive) -> tuple[str, list[Message]]:
    messages: list[Message] = []
    body = b""
    while True:
        message = await receive()
        messages.append(message)
        body += message.get("body", b"")
        if not message.get("more_body") or len(body) > MAX_FORM_PEEK:
            break
    values = parse_qs(body.decode("latin-1")).get(FIELD, [""])
    return values[0], messages


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


async def _refuse(scope: Scope, receive: Receive, send: Send) -> None:
    err = errors.KubelanternError(
        "This request did not carry a valid CSRF token (or came from another site). "
        "Reload the page and try again."
    )
    err.status = 403
    err.title = "Request refused (CSRF)"
    await refuse(err, scope, receive, send)
