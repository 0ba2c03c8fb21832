"""gzip for whole responses (pages, JSON); streams pass through untouched.

Starlette's GZipMiddleware compresses streamed responses too, and gzip holds
small chunks back until enough data collects: a followed log or a live list
would arrive late. This one compresses only a response that is known
complete: it declares a ``Content-Length`` and its whole body comes in one
message (every ``Response`` does). Event streams, other streamed responses and
WebSockets are never touched, held back or buffered. Static assets arrive
already compressed (``web/assets.py``) and are left as they are.

BREACH: a compressed page that holds a secret and reflects attacker-chosen text
leaks the secret through its length. Only requests a browser marks as
same-origin or typed by the user (``Sec-Fetch-Site``), or from clients that are
no browser (no such header), get compressed bodies; a cross-site page that
makes the browser load ours gets them uncompressed.
"""

from __future__ import annotations

import gzip

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kubelantern.web.assets import accepts_gzip

MIN_SIZE = 1024
COMPRESSIBLE = (
    "text/html",
    "application/json",
    "text/plain",
    "text/css",
    "text/javascript",
    "application/javascript",
    "image/svg+xml",
)


def _same_origin(headers: Headers) -> bool:
    return headers.get("sec-fetch-site", "same-origin") in ("same-origin", "none")


class Compression:
    """Gzip one-message responses of a compressible type (see module doc)."""

    def __init__(self, app: ASGIApp, *, level: int = 6) -> None:
        self.app = app
        self.level = level

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Headers(scope=scope)
        if not accepts_gzip(request) or not _same_origin(request):
            await self.app(scope, receive, self._vary(send))
            return
        held: Message | None = None

        async def wrapper(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start":
                headers = Headers(raw=message.get("headers", []))
                if _eligible(headers):
                    held = message  # until the body shows whether it is all there
                    return
                await send(_with_vary(message, headers))
                return
            if message["type"] == "http.response.body" and held is not None:
                start, held = held, None
                body = message.get("body", b"")
                if message.get("more_body", False):  # a stream after all: pass it on
                    await send(_with_vary(start, Headers(raw=start.get("headers", []))))
                    await send(message)
                    return
                compressed = gzip.compress(body, compresslevel=self.level, mtime=0)
                out = MutableHeaders(raw=list(start.get("headers", [])))
                if len(compressed) < len(body):
                    body = compressed
                    out["content-encoding"] = "gzip"
                    out["content-length"] = str(len(body))
                    if "etag" in out and not out["etag"].startswith("W/"):
                        out["etag"] = "W/" + out["etag"]
                out.add_vary_header("Accept-Encoding")
                await send({**start, "headers": out.raw})
                await send({**message, "body": body})
                return
            await send(message)

        await self.app(scope, receive, wrapper)

    def _vary(self, send: Send) -> Send:
        async def wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = _with_vary(message, Headers(raw=message.get("headers", [])))
            await send(message)

        return wrapper


def _eligible(headers: Headers) -> bool:
    media = headers.get("content-type", "").split(";")[0].strip().lower()
    length = headers.get("content-length", "")
    return (
        media in COMPRESSIBLE
        and "content-encoding" not in headers
        and length.isdigit()
        and int(length) >= MIN_SIZE
    )


def _with_vary(message: Message, headers: Headers) -> Message:
    """Caches must keep the plain and gzip answers of compressible responses apart."""
    media = headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in COMPRESSIBLE or "content-encoding" in headers:
        return message
    if "accept-encoding" in headers.get("vary", "").lower():
        return message
    out = MutableHeaders(raw=list(message.get("headers", [])))
    out.add_vary_header("Accept-Encoding")
    return {**message, "headers": out.raw}
