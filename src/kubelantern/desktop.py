"""Local desktop mode: ``kubelantern`` with no arguments.

It serves the user's kubeconfig on 127.0.0.1 and opens the default browser.
Binding to loopback keeps the network out, but not the other users of the
same machine, nor web pages that reach 127.0.0.1 through DNS rebinding, and
the kubeconfig's credentials are powerful. So each run makes a random key:

* the browser is opened on ``http://127.0.0.1:PORT/?token=KEY``;
* ``LocalTokenGate`` trades a correct key for an HttpOnly, SameSite cookie and
  redirects to the same URL *without* the key, so it does not stay in the
  address bar, the history or any log;
* every other request (page, asset, stream, WebSocket) needs that cookie, and
  gets a 401 page explaining how to get in.

The ops endpoints (``/healthz``...) sit outside this gate (``web/ops.py``).

``--window`` shows the UI in a native window through pywebview instead of the
browser, when pywebview and a toolkit for it are installed (docs/desktop.md).
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import hmac
import html
import importlib
import secrets
import socket
import threading
import time
import webbrowser
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode

import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from kubelantern.auth.cookies import request_cookies
from kubelantern.web import csp

COOKIE = "kl_local"
TOKEN_PARAM = "token"
DEFAULT_PORT = 4466

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Kubelantern: key needed</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style nonce="{nonce}">
body{{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem}}
code{{background:#8882;padding:0 .3em}}</style></head>
<body><h1>This Kubelantern is private</h1>
<p>It runs on this computer with <em>{who}</em>'s Kubernetes credentials, so it only
answers the browser it was opened in.</p>
<p>Open the link <code>kubelantern</code> printed in its terminal (it carries a
key for this run). If you started it and see this page, the link was from an
earlier run: use the latest one, or restart <code>kubelantern</code>.</p>
</body></html>
"""


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (a container with an unnamed uid)
        return ""


def new_token() -> str:
    return secrets.token_urlsafe(32)


def _cookie_value(token: str) -> str:
    """What the cookie holds: derived from the key, so the two are never the same string."""
    return hashlib.sha256(b"kubelantern-local-cookie\0" + token.encode()).hexdigest()


class LocalTokenGate:
    """Only the browser that opened the per-run URL gets in (see module doc)."""

    def __init__(self, app: ASGIApp, token: str, *, path: str = "/", who: str = "") -> None:
        self.app = app
        self.token = token
        self.cookie = _cookie_value(token)
        self.path = path or "/"
        self.who = who or _user() or "the user who started it"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "http":
            # The key in the URL is traded for the cookie even when the cookie is
            # already there, so the printed link never stays in the address bar.
            query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), True)
            given = next((v for k, v in query if k == TOKEN_PARAM), "")
            if given and hmac.compare_digest(given.encode(), self.token.encode()):
                await self._welcome(scope, query, send)
                return
        sent = request_cookies(scope.get("headers", [])).get(COOKIE, "")
        if sent and hmac.compare_digest(sent.encode(), self.cookie.encode()):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        # The style carries the CSP nonce of this response (web/middleware.SecurityHeaders).
        body = _PAGE.format(who=html.escape(self.who), nonce=csp.current_nonce.get()).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"text/html; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                    (b"cache-control", b"no-store"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def _welcome(self, scope: Scope, query: list[tuple[str, str]], send: Send) -> None:
        """Set the cookie and send the browser to the same page without the key."""
        rest = urlencode([(k, v) for k, v in query if k != TOKEN_PARAM])
        location = scope["path"] + ("?" + rest if rest else "")
        cookie = f"{COOKIE}={self.cookie}; Path={self.path}; HttpOnly; SameSite=Lax"
        await send(
            {
                "type": "http.response.start",
                "status": 303,
                "headers": [
                    (b"location", location.encode("latin-1")),
                    (b"set-cookie", cookie.encode("latin-1")),
                    (b"cache-control", b"no-store"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"content-length", b"0"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b""})


def bind(host: str, port: int, *, fallback: bool) -> socket.socket:
    """A listening socket on host:port; with ``fallback`` any free port if that one is taken.

    Binding here (rather than letting uvicorn do it) means the URL we print and
    open is the port we really hold, with no window for another process to take it.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        if not fallback:
            sock.close()
            raise
        sock.bind((host, 0))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def open_browser_when(ready: Callable[[], bool], url: str, *, timeout: float = 30.0) -> None:
    """Open ``url`` in the default browser once ``ready()`` is true, off the event loop.

    Some browsers' launchers block until the window closes (text browsers in
    the same terminal), so this runs in a daemon thread.
    """

    def run() -> None:
        event = threading.Event()
        waited = 0.0
        while not ready() and waited < timeout:
            event.wait(0.05)
            waited += 0.05
        with contextlib.suppress(Exception):  # no browser at all: the URL is printed anyway
            webbrowser.open(url)

    threading.Thread(target=run, name="open-browser", daemon=True).start()


WINDOW_HELP = (
    "--window needs pywebview (pip install pywebview) and a GUI toolkit it can drive: "
    "GTK with WebKit2 (Debian/Ubuntu: apt install python3-gi gir1.2-webkit2-4.1) or Qt "
    "(pip install 'pywebview[qt]'); see docs/desktop.md"
)


def load_webview() -> Any:
    """pywebview, or ``None`` when it is not installed (it is an optional extra)."""
    try:
        return importlib.import_module("webview")
    except ImportError:
        return None


def run_window(webview: Any, server: uvicorn.Server, sockets: list[socket.socket], url: str) -> int:
    """Serve in a thread and show ``url`` in a native window; stop when it closes.

    GUI toolkits want the main thread, so uvicorn moves to a worker thread
    (where it installs no signal handlers); closing the window ends the server
    through its normal graceful shutdown.
    """
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": sockets}, name="kubelantern-server", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            return 1
        time.sleep(0.05)
    webview.create_window("Kubelantern", url, width=1280, height=860)
    webview.start()  # returns when the last window is closed
    server.should_exit = True
    thread.join(10)
    return 0
