"""create_app(settings) -> the ASGI application. Wiring only."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Iterable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.types import ASGIApp

from kubelantern import errors, urls
from kubelantern.auth import config as auth_config
from kubelantern.auth.admins import AdminRule, ViewerMiddleware
from kubelantern.auth.identity import AuthMiddleware
from kubelantern.auth.oidc import OIDCClient, session_refresher
from kubelantern.auth.revocation import store_for
from kubelantern.auth.sessions import SessionLifetime
from kubelantern.cache import WatchCache
from kubelantern.clusters.addpolicy import AddPolicy
from kubelantern.clusters.client import PoolLimits
from kubelantern.clusters.incluster import in_cluster_config
from kubelantern.clusters.kubeconfig import ClusterConfig, load_files
from kubelantern.clusters.store import ClusterStore
from kubelantern.desktop import LocalTokenGate
from kubelantern.lifecycle import Lifecycle
from kubelantern.operate import readonly
from kubelantern.plugins import manager as plugin_manager
from kubelantern.settings import Settings
from kubelantern.web import csp, icons, plugin_calls
from kubelantern.web import errors as web_errors
from kubelantern.web.assets import AssetFiles, Assets
from kubelantern.web.compress import Compression
from kubelantern.web.csrf import CSRFMiddleware
from kubelantern.web.middleware import JsonSuffix, RequestLog, SecurityHeaders
from kubelantern.web.ops import Operations
from kubelantern.web.readonly import ReadOnlyGuard
from kubelantern.web.render import make_environment
from kubelantern.web.state import AppState
from kubelantern.web.views import actions as action_views
from kubelantern.web.views import activity as activity_views
from kubelantern.web.views import addcluster, dispatch, multicluster, switch
from kubelantern.web.views import auth as auth_views
from kubelantern.web.views import clusters as cluster_views
from kubelantern.web.views import exec as exec_views
from kubelantern.web.views import plugins as plugin_views
from kubelantern.web.views import portforward as portforward_views
from kubelantern.web.views import search as search_views

log = logging.getLogger(__name__)
# Desktop mode passes the cloud CLIs' variables to exec plugins (aws eks get-token
# reads AWS_PROFILE...): the user who started it owns both the shell and the plugins.
DESKTOP_PLUGIN_ENV = ("AWS_*", "AZURE_*", "CLOUDSDK_*", "GOOGLE_*", "KUBECACHEDIR")


def load_clusters(settings: Settings) -> list[ClusterConfig]:
    """Every context of every configured kubeconfig, and the pod's own cluster.

    With ``--in-cluster`` only kubeconfig files named in the settings add
    clusters: the ``$KUBECONFIG`` / ``~/.kube/config`` fallback is for laptops,
    and in a pod (or a test posing as one) it would add clusters nobody chose.
    """
    configs: list[ClusterConfig] = []
    if settings.in_cluster:
        configs.append(in_cluster_config(settings.in_cluster_name))
    paths = list(settings.kubeconfig) if settings.in_cluster else settings.kubeconfig_paths()
    if paths:
        configs += load_files(paths, context=settings.context, lenient=True)
    for config in configs:
        if config.broken:
            log.warning("kubeconfig context %s cannot be used: %s", config.name, config.broken)
    return configs


def create_app(
    settings: Settings,
    *,
    clusters: list[ClusterConfig] | None = None,
    local_token: str | None = None,
    plugins: Iterable[object] = (),
    lifecycle: Lifecycle | None = None,
) -> ASGIApp:
    """The app; ``local_token`` is desktop mode's per-run key (``kubelantern.desktop``).

    ``lifecycle`` is the app's shutdown switch, given when the server must
    reach it (``kubelantern serve`` hands it to ``GracefulServer``).

    ``plugins`` are plugin objects registered in addition to the installed and
    ``--plugins-dir`` ones (``kubelantern.testing.make_app`` passes them).
    """
    loaded = plugin_manager.load(settings, extra=plugins)  # failures are reported, not raised
    auth = auth_config.from_settings(settings)  # AuthConfigError: a setting to fix
    assets = Assets()
    try:
        revocations = store_for(settings)
    except ValueError as exc:
        raise auth_config.AuthConfigError(str(exc)) from exc
    sessions = SessionLifetime(auth.session_max_age, auth.session_idle_timeout, revocations)
    desktop = local_token is not None
    pool = PoolLimits(
        settings.upstream_connections, settings.upstream_keepalive, settings.upstream_http2
    )
    store = ClusterStore(
        timeout=settings.request_timeout,
        mode_for=auth.mode_for,
        exec_env=settings.exec_credential_env or (DESKTOP_PLUGIN_ENV if desktop else ()),
        pool=pool,
    )
    store.add_all(load_clusters(settings) if clusters is None else clusters)
    oidc = OIDCClient(auth.oidc, timeout=settings.request_timeout) if auth.oidc else None
    state = AppState(
        settings=settings,
        clusters=store,
        jinja=make_environment(settings.prefix, loaded.template_dirs(), assets=assets),
        auth=auth,
        oidc=oidc,
        plugins=loaded,
        sessions=sessions,
        lifecycle=lifecycle or Lifecycle(),
    )
    state.desktop = desktop
    if settings.watch_cache:
        state.watch_cache = WatchCache(
            read_identity=settings.watch_cache_identity,
            idle_grace=settings.watch_cache_idle,
            sync_timeout=max(settings.request_timeout * 2, 30.0),
        )
    state.add_policy = AddPolicy.from_settings(settings, desktop=desktop)
    state.runtime = addcluster.runtime_for(settings, desktop=desktop)
    addcluster.load_added(state)
    store.apply_overrides(settings.cluster_names, settings.cluster_namespaces)
    state.jinja.globals["auth_user"] = auth_views.current_user
    state.jinja.globals["node_shell_enabled"] = settings.node_shell  # the node page's button
    state.jinja.globals.update(readonly.template_globals(settings, store))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await plugin_calls.startup(state)  # cluster providers, then the startup hooks
        for cluster in store:
            state.health.watch(cluster.slug, cluster.client)
        yield
        state.lifecycle.begin_shutdown()  # this app's streams only
        await state.drains.cancel_all()
        await state.closing.wait(5.0)  # streams just ended close their upstream requests
        await plugin_calls.shutdown(state)
        if state.watch_cache is not None:
            await state.watch_cache.aclose()
        await state.forwards.stop_all()
        await state.shells.close()
        await state.health.stop()
        await store.aclose()
        if oidc is not None:
            await oidc.aclose()
        await revocations.aclose()

    routes = [
        # Patterns come from kubelantern.urls, which builds and parses them too.
        Route(urls.pattern("home"), cluster_views.clusters_page, name="clusters"),
        Route(urls.pattern("clusters"), cluster_views.clusters_page),
        Route(urls.pattern("favicon"), icons.favicon),
        Route(urls.pattern("global_search"), search_views.global_search),
        Route(urls.pattern("multi_list"), multicluster.multi_list),
        Route(urls.pattern("multi_watch"), multicluster.multi_watch),
        Route(urls.pattern("switch"), switch.switch_cluster),
        Route(urls.pattern("cluster_add"), addcluster.add_form, methods=["GET"]),
        Route(urls.pattern("cluster_add"), addcluster.add_submit, methods=["POST"]),
        Route(urls.pattern("cluster_remove"), addcluster.remove_cluster, methods=["POST"]),
        Route(urls.pattern("cluster_rename"), addcluster.rename_cluster, methods=["POST"]),
        Route(urls.pattern("cluster_share"), addcluster.share_cluster, methods=["POST"]),
        Route(urls.pattern("whoami"), auth_views.whoami),
        Route(urls.pattern("activity"), activity_views.activity_page),
        Route(urls.pattern("portforwards"), portforward_views.forwards_page),
        Route(urls.pattern("portforward_stop"), portforward_views.stop_forward, methods=["POST"]),
        Route(urls.pattern("login"), auth_views.login_page, methods=["GET"]),
        Route(urls.pattern("login"), auth_views.login_submit, methods=["POST"]),
        Route(urls.pattern("logout"), auth_views.logout, methods=["POST"]),
        Route(urls.pattern("oidc_login"), auth_views.oidc_login),
        Route(urls.pattern("oidc_callback"), auth_views.oidc_callback),
        # Everything under one cluster: one catch-all each for GET and POST, and
        # the view is the one of the route urls.parse finds (web/views/dispatch.py).
        Route("/c/{cluster}", dispatch.cluster_root),
        Route("/c/{cluster}/{rest:path}", dispatch.cluster_path),
        Route("/c/{cluster}/{rest:path}", action_views.post, methods=["POST"]),
        WebSocketRoute(
            "/c/{cluster}/namespaces/{namespace}/pods/{name}/{action}", exec_views.terminal_socket
        ),  # the object_exec and object_attach routes of pods, as WebSockets
        *plugin_views.install(state),  # /-/plugins and the plugins' pages under /-/p/
        Mount("/-/static", AssetFiles(assets), name="static"),
    ]
    exception_handlers = {
        errors.KubelanternError: web_errors.kubelantern_error,
        errors.Unauthorized: auth_views.unauthorized,  # sign in again, back to this page
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
    app = ReadOnlyGuard(app, settings=settings, clusters=store)
    # Whose clusters each request sees (clusters added from the UI are their owner's).
    app = ViewerMiddleware(app, AdminRule(settings.cluster_admins, desktop=desktop))
    app = AuthMiddleware(
        app,
        auth,
        refuse=auth_views.refusal(state),
        refresh=session_refresher(oidc) if oidc else None,
        lifetime=sessions,
    )
    app = CSRFMiddleware(app, secure=settings.secure_cookies, path=settings.prefix or "/")
    app = JsonSuffix(app)
    if local_token is not None:
        app = LocalTokenGate(app, local_token, path=settings.prefix or "/")
    # Health, readiness and metrics answer without sign-in (web/ops.py); whole
    # responses are compressed (web/compress.py; streams pass through).
    app = Compression(
        Operations(
            RequestLog(app),
            clusters=store,
            monitor=state.health,
            lifecycle=state.lifecycle,
            prefix=settings.prefix,
            require_clusters=settings.require_clusters,
        )
    )
    # Outermost, so that every response has them, refusals and ops answers too.
    policy = csp.app_policy(plugin_calls.csp_sources(state), auth)
    return SecurityHeaders(app, policy=policy, hsts=settings.secure_cookies)
