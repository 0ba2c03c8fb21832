"""The Content-Security-Policy of every response, and what plugins may add to it.

The policy is strict so that escaping is not the only barrier against XSS:

* scripts only from Kubelantern's own origin, or inline with this response's
  nonce (a fresh random value per response, ``csp_nonce()`` in templates); no
  ``'unsafe-inline'``, no ``'unsafe-eval'`` (htmx runs with ``allowEval`` off);
* ``<style>`` elements and stylesheets the same way: CodeMirror gets the
  nonce through its ``EditorView.cspNonce`` facet, xterm.js's ``<style>``
  elements get it from the terminal island (``frontend/src/nonce.ts``);
* style *attributes* are allowed (``style-src-attr 'unsafe-inline'``):
  xterm.js's DOM renderer colours true-colour output with ``setAttribute
  ("style")``, and templates size meters with them. An attribute can neither
  load anything from elsewhere (``img-src``/``font-src`` stay ``'self'``) nor
  use selectors to read the page, so it adds no way to steal data;
* ``connect-src 'self'``: the SSE streams and the terminal's WebSocket are on
  Kubelantern's own origin, and ``'self'`` matches ``ws:``/``wss:`` of the
  same host (CSP Level 3; the terminal browser test proves it in Chromium),
  whatever the base URL, since sources match origins, not paths;
* nothing may frame Kubelantern (``frame-ancestors 'none'``), no plugins
  (``object-src 'none'``), no ``<base>`` (``base-uri 'none'``), forms only to
  Kubelantern itself (``form-action 'self'``), plus the origins the sign-out
  flow redirects a form submission to (Chromium checks ``form-action`` on each
  redirect of a form's navigation).

Plugins that need more (an iframe of a dashboard, a script from a CDN) name
the sources with the ``extra_csp`` hook; only those sources are added, only
to the directives in ``EXTENSIBLE``, and never keywords such as
``'unsafe-inline'``: a plugin cannot weaken the policy, only widen where
resources may come from.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

if TYPE_CHECKING:
    from kubelantern.auth.config import AuthConfig

# The nonce of the response being produced; set by the SecurityHeaders middleware.
current_nonce: ContextVar[str] = ContextVar("kubelantern_csp_nonce", default="")

NONCE = "{nonce}"  # replaced per response

BASE: dict[str, tuple[str, ...]] = {
    "default-src": ("'self'",),
    "script-src": ("'self'", f"'nonce-{NONCE}'"),
    "style-src": ("'self'", f"'nonce-{NONCE}'"),
    "style-src-attr": ("'unsafe-inline'",),
    "img-src": ("'self'", "data:"),
    "font-src": ("'self'",),
    "connect-src": ("'self'",),
    "media-src": ("'self'",),
    "worker-src": ("'self'",),
    "manifest-src": ("'self'",),
    "frame-src": ("'self'",),
    "object-src": ("'none'",),
    "base-uri": ("'none'",),
    "form-action": ("'self'",),
    "frame-ancestors": ("'none'",),
}

# Where plugins may add sources: where resources come from and where forms go.
# Never frame-ancestors, base-uri, object-src or default-src.
EXTENSIBLE = frozenset(
    {
        "script-src",
        "style-src",
        "img-src",
        "font-src",
        "connect-src",
        "media-src",
        "worker-src",
        "frame-src",
        "form-action",
    }
)

# A host source: scheme://host[:port][/path], the host possibly "*.example.com".
_HOST_SOURCE = re.compile(
    r"^(https|http|wss|ws)://"
    r"(\*\.)?[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
    r"(:(\d{1,5}|\*))?"
    r"(/[A-Za-z0-9._~!$&()*+=:@%/-]*)?$"
)
# Scheme sources a plugin may add, per directive: data:/blob: are harmless for
# images, fonts and media, and never allowed for scripts, styles or frames.
_SCHEMES = {
    "img-src": {"data:", "blob:"},
    "font-src": {"data:"},
    "media-src": {"data:", "blob:"},
    "worker-src": {"blob:"},
}


class SourceRefused(ValueError):
    """A source a plugin asked for that would weaken the policy, or is not a source."""


def check_source(directive: str, source: str) -> str:
    """``source`` if a plugin may add it to ``directive``; else SourceRefused says why."""
    if directive not in EXTENSIBLE:
        raise SourceRefused(
            f"{directive!r} cannot be extended (only {', '.join(sorted(EXTENSIBLE))})"
        )
    if not isinstance(source, str):
        raise SourceRefused(f"{source!r} is not a string")
    if source in _SCHEMES.get(directive, ()):
        return source
    if source.startswith("'"):
        raise SourceRefused(f"{source} is a keyword; plugins may only add hosts")
    if not _HOST_SOURCE.match(source):
        raise SourceRefused(
            f"{source!r} is not a host source such as https://cdn.example.com "
            "(no wildcards beyond *.domain, no bare schemes)"
        )
    return source


class Policy:
    """The policy without its nonce: built once, so a response only pastes the nonce in."""

    def __init__(self, extra: Mapping[str, Iterable[str]] | None = None) -> None:
        directives = {name: list(sources) for name, sources in BASE.items()}
        for name, sources in (extra or {}).items():
            for source in sources:
                check_source(name, source)  # callers pass checked sources; never trust
                if source not in directives[name]:
                    directives[name].append(source)
        self.directives = {name: tuple(sources) for name, sources in directives.items()}
        self._template = "; ".join(f"{name} {' '.join(s)}" for name, s in directives.items())

    def header(self, nonce: str) -> str:
        return self._template.replace(NONCE, nonce)


def origin_of(url: str) -> str | None:
    """``https://host[:port]`` of an absolute http(s) URL, or None (relative, odd)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    source = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"
    return source if _HOST_SOURCE.match(source) else None


def sign_out_targets(urls: Iterable[str]) -> list[str]:
    """Origins a sign-in/sign-out redirect chain leaves to: the URLs and their ``rd``.

    ``POST /-/logout`` answers with a redirect to ``--sign-out-url`` (often
    OAuth2 Proxy's ``/oauth2/sign_out?rd=<the provider's logout>``) or to the
    OIDC provider's end-session endpoint. Chromium checks ``form-action`` on
    every redirect of a form's navigation, so those origins must be listed.
    """
    origins: list[str] = []
    for url in urls:
        if not url:
            continue
        candidates = [url] + [v for k, v in parse_qsl(urlsplit(url).query) if k == "rd"]
        for candidate in candidates:
            origin = origin_of(candidate)
            if origin and origin not in origins:
                origins.append(origin)
    return origins


def collect(
    answers: Iterable[tuple[str, object]], report: Callable[[str, str], None]
) -> dict[str, list[str]]:
    """Merge the plugins' ``extra_csp`` answers; refuse (and report) what would weaken it."""
    merged: dict[str, list[str]] = {}
    for plugin, answer in answers:
        if not isinstance(answer, Mapping):
            report(plugin, f"expected a dict of directive -> sources, got {answer!r}")
            continue
        for directive, sources in answer.items():
            if isinstance(sources, str) or not isinstance(sources, Iterable):
                report(plugin, f"{directive}: expected a list of sources, got {sources!r}")
                continue
            for source in sources:
                try:
                    check_source(str(directive), source)
                except SourceRefused as exc:
                    report(plugin, f"refused {directive} {source!r}: {exc}")
                    continue
                if source not in merged.setdefault(str(directive), []):
                    merged[str(directive)].append(source)
    return merged


def app_policy(plugin_sources: Mapping[str, Iterable[str]], auth: AuthConfig) -> Policy:
    """The app's policy: the base, the plugins' checked sources, the sign-out origins."""
    extra = {name: list(sources) for name, sources in plugin_sources.items()}
    issuer = auth.oidc.issuer if auth.oidc else ""
    for origin in sign_out_targets([auth.sign_in_url, auth.sign_out_url, issuer]):
        if origin not in extra.setdefault("form-action", []):
            extra["form-action"].append(origin)
    return Policy(extra)
