"""Reading the Cookie header: one parser, Starlette's, for the whole server.

``http.cookies.SimpleCookie`` stops at the first cookie it cannot parse and
drops every cookie after it, so one malformed cookie set by another
application on the same host (``tracker=a b"c``) would lose the session, the
CSRF token or the desktop key. Starlette's parser reads cookies the way
browsers send them and skips only what it cannot read.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.requests import cookie_parser


def request_cookies(headers: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """Every cookie in raw ASGI headers; several Cookie headers are read as one."""
    values = [value.decode("latin-1") for name, value in headers if name.lower() == b"cookie"]
    return cookie_parser("; ".join(values))
