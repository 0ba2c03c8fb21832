"""create_app(settings) -> the ASGI application. Wiring only."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp

from kubelantern import errors
from kubelantern.clusters.kubeconfig import ClusterConfig, load_files
from kubelantern.clusters.store import ClusterStore
from kubelantern.settings import Settings
from kubelantern.web import errors as web_errors
from kubelantern.web.csrf import CSRFMiddleware
from kubelantern.web.middleware import JsonSuffix, RequestLog
from kubelantern.web.render import make_environment
from kubelantern.web.state import AppState
from kubelantern.web.views import clusters as cluster_views
from kubelantern.web.views import dispatch

STATIC_DIR = Path(__file__).parent / "web" / "static"


def load_clusters(settings: Settings) -> list[ClusterConfig]:
    """Every context of every configured kubeconfig."""
    paths = settings.kubeconfig_paths()
    return load_files(paths, context=settings.context) if paths else []


def create_app(settings: Settings, *, clusters: list[ClusterConfig] | None = None) -> ASGIApp:
    store = ClusterStore(timeout=settings.request_timeout)
    store.add_all(load_clusters(settings) if clusters is None else clusters)
    state = AppState(settings=settings, clusters=store, jinja=make_environment(settings.prefix))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await store.aclose()

    routes = [
        Route("/", cluster_views.clusters_page, name="clusters"),
        Route("/clusters", cluster_views.clusters_page),
        Route("/c/{cluster}", dispatch.cluster_root),
        Route("/c/{cluster}/{rest:path}", dispatch.cluster_path),
        Mount("/-/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    exception_handlers = {
        errors.KubelanternError: web_errors.kubelantern_error,
        HTTPException: web_errors.http_error,
        Exception: web_errors.unexpected_error,
    }
    inner = Starlette(
        routes=routes,
        exception_handlers=exception_handlers,
        lifespan=lifespan,
    )
    inner.state.kl = state
    app: ASGIApp = inner
    if settings.prefix:
        prefix = settings.prefix

        async def to_prefix(_: object) -> Response:
            return RedirectResponse(prefix + "/", status_code=307)

        outer = Starlette(
            routes=[Mount(prefix, app=inner), Route("/", to_prefix)],
            lifespan=lifespan,
        )
        outer.state.kl = state
        app = outer
    app = CSRFMiddleware(app, secure=settings.secure_cookies, path=settings.prefix or "/")
    return RequestLog(JsonSuffix(app))
