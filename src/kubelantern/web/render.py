"""One data dict -> an HTML page or its JSON twin.

Every view builds a plain dict; ``render`` turns it into HTML with a Jinja2
template, or into JSON when the path ends in ``.json`` or the client accepts
``application/json``. The page links its twin with ``Link: rel=alternate``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from kubelantern import urls
from kubelantern.web import csp, icons, status
from kubelantern.web.assets import Assets
from kubelantern.web.csrf import csrf_token
from kubelantern.web.responses import JSONResponse

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC = "/-/static/"


def wants_json(request: Request) -> bool:
    if request.scope.get("kl_json"):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


# What stays as it is when a decoded path or raw query goes back into a URL.
_PATH_SAFE = "/:@!$&'()*+,;="
_QUERY_SAFE = _PATH_SAFE + "?%"


def json_path(request: Request) -> str:
    """The URL of the JSON twin of the current page: the path plus ``.json``.

    Percent-encoded, because it goes into the ``Link`` header, where only
    Latin-1 can go: a path such as ``/-/static/%ff`` or a ConfigMap named with
    ``€`` decodes to characters that would otherwise turn its 404 into a 500.
    """
    path = quote(request.url.path, safe=_PATH_SAFE)
    query = quote(request.url.query, safe=_QUERY_SAFE)
    if path.endswith(".json"):
        url = path
    elif path.rstrip("/") == request.scope.get("root_path", "").rstrip("/"):
        url = path.rstrip("/") + "/clusters.json"
    else:
        url = path + ".json"
    return url + (f"?{query}" if query else "")


def age(timestamp: str | None, now: dt.datetime | None = None) -> str:
    """kubectl's short age: 45s, 12m, 5h, 3d, 2y (two units under a week)."""
    if not timestamp:
        return ""
    try:
        then = dt.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return timestamp
    seconds = int(((now or dt.datetime.now(dt.UTC)) - then).total_seconds())
    if seconds < 0:
        seconds = 0
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    if days < 8:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    if days < 365 * 2:
        return f"{days}d"
    return f"{days // 365}y"


def make_environment(
    prefix: str, extra_dirs: list[Path] | None = None, *, assets: Assets | None = None
) -> Environment:
    """The Jinja2 environment; operator template dirs come first so they override.

    ``url_for(route, **params)`` and the typed ``object_url``/``list_url``/
    ``cluster_url``/``helm_url`` build links from ``kubelantern.urls`` with the
    base URL in front; ``url(path)`` only prefixes a path the data already holds.
    ``url('/-/static/<file>')`` carries ``?v=<content hash>`` of the file
    (``web/assets.py``), so browsers may cache assets for a year and still get
    each release's new ones; templates need no helper of their own.
    """
    dirs = [str(d) for d in extra_dirs or []] + [str(TEMPLATES_DIR)]
    env = Environment(
        loader=FileSystemLoader(dirs),
        autoescape=select_autoescape(["html", "xml"]),
        enable_async=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )

    versions = assets or Assets()

    def url(path: str) -> str:
        path = path if path.startswith("/") else "/" + path
        if path.startswith(STATIC) and "?" not in path:
            version = versions.version(path[len(STATIC) :])
            if version:
                path += f"?v={version}"
        return prefix + path

    env.globals["url"] = url

    def prefixed(build: Callable[..., str]) -> Callable[..., str]:
        def with_prefix(*args: Any, **kwargs: Any) -> str:
            return prefix + build(*args, **kwargs)

        return with_prefix

    # Build links from the route table (kubelantern.urls), base URL included:
    # url_for('object', cluster=c, ...), object_url(c, 'pods', ns, name, 'logs'), ...
    # page_url(objectUrl, 'edit') links a page of the object whose path the data holds.
    # url_template('list', cluster=c, resource=r) leaves {namespace} for a script to fill.
    for name in (
        "url_for",
        "object_url",
        "list_url",
        "cluster_url",
        "helm_url",
        "page_url",
        "url_template",
    ):
        env.globals[name] = prefixed(getattr(urls, name))
    # The nonce of this response's Content-Security-Policy: inline <script> and
    # <style> elements carry it (nonce="{{ csp_nonce() }}"), nothing else may run.
    env.globals["csp_nonce"] = csp.current_nonce.get
    env.filters["age"] = age
    env.globals.update(icons.template_globals())  # icon(), kind_icon(), icon_sprite()
    env.globals.update(status.template_globals())  # status_tone(): colours of status chips
    return env


def render(
    request: Request,
    template: str,
    data: dict[str, Any],
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
    context: dict[str, Any] | None = None,
) -> Response:
    """HTML or JSON for the same data; ``context`` is page chrome for HTML only."""
    hdrs = dict(headers or {})
    if wants_json(request):
        hdrs["Vary"] = "Accept"
        return JSONResponse(data, status_code=status, headers=hdrs)
    env: Environment = request.app.state.kl.jinja
    prefix = request.app.state.kl.settings.prefix
    html = env.get_template(template).render(
        request=request,
        data=data,
        json_url=json_path(request),
        prefix=prefix,
        csrf=csrf_token(request),
        **(context or {}),
        **data,
    )
    hdrs["Link"] = f'<{json_path(request)}>; rel="alternate"; type="application/json"'
    hdrs["Vary"] = "Accept"
    return HTMLResponse(html, status_code=status, headers=hdrs)
