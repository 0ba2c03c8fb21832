"""``/-/plugins`` (what is loaded, and why not), one plugin's settings page, and plugin routes.

Loading is visible on purpose: the page (and its JSON twin, and ``kubelantern
plugins`` on the command line) lists every plugin found, its version, where it
came from, the hooks it implements, its ``static/`` and ``templates/``
folders, its settings with where each value came from, and every problem it
had. Plugin pages are mounted under ``/-/p/<plugin>/`` so they never collide
with a resource name or with each other.
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from kubelantern import errors, urls
from kubelantern.plugins.manager import PluginInfo, Plugins, describe
from kubelantern.plugins.types import PluginRoute
from kubelantern.web import plugin_calls as calls
from kubelantern.web.plugin_host import WebHost
from kubelantern.web.render import render
from kubelantern.web.responses import JSONResponse
from kubelantern.web.state import AppState, app_state


class PluginFailed(errors.KubelanternError):
    """A plugin's page raised: the rest of Kubelantern keeps working."""

    title = "A plugin failed"


def _plugins(request: Request) -> Plugins:
    plugins = app_state(request).plugins
    if plugins is None:
        raise errors.KubelanternError("plugins are not set up in this app")
    return plugins


def plugin_data(plugins: Plugins, info: PluginInfo) -> dict[str, Any]:
    data = info.to_dict()
    data["problems"] = [p.to_dict() for p in plugins.problems_of(info.name)]
    data["settings"] = plugins.settings_table(info.name)
    data["routes"] = [
        {"path": urls.plugin_path(r.plugin, r.path), "methods": list(r.methods)}
        for r in plugins.routes
        if r.plugin == info.name
    ]
    data["url"] = urls.url_for("plugin", name=info.name)
    return data


def index_data(plugins: Plugins) -> dict[str, Any]:
    infos = sorted(plugins.infos.values(), key=lambda i: (i.source != "builtin", i.name))
    hooks: dict[str, list[str]] = {}
    for info in infos:
        for hook in info.hooks:
            hooks.setdefault(hook, []).append(info.name)
    return {
        "plugins": [plugin_data(plugins, i) for i in infos],
        "problems": [p.to_dict() for p in plugins.problems],
        "hooks": {name: hooks.get(name, []) for name in sorted(plugins.hook_names())},
        "providedClusters": dict(plugins.provided),
    }


async def index(request: Request) -> Response:
    """``/-/plugins``: every plugin found, loaded or not."""
    return render(request, "plugins/index.html", index_data(_plugins(request)))


async def detail(request: Request) -> Response:
    """``/-/plugins/<name>``: one plugin, with its settings and where each value came from."""
    plugins = _plugins(request)
    name = request.path_params["name"]
    info = plugins.infos.get(name)
    if info is None:
        known = ", ".join(sorted(plugins.infos)) or "none"
        raise errors.NotFound(f"no plugin named {name!r} (plugins: {known})", status=404)
    return render(request, "plugins/detail.html", {"plugin": plugin_data(plugins, info)})


async def refresh(request: Request) -> Response:
    """``POST /-/plugins/refresh``: ask the cluster providers again."""
    changes = await calls.refresh_clusters(app_state(request))
    data = {**index_data(_plugins(request)), "refreshed": changes}
    return render(request, "plugins/index.html", data)


def endpoint(state: AppState, route: PluginRoute) -> Any:
    """A Starlette endpoint around a plugin's: a Context in, failures attributed to it."""

    async def handle(request: Request) -> Response:
        plugins = state.plugins
        assert plugins is not None
        ctx = calls.context(plugins, request)
        try:
            result = await calls.maybe_await(route.endpoint(ctx))
        except (errors.KubelanternError, HTTPException):
            raise
        except Exception as exc:
            plugins.report(route.plugin, f"route {route.path}", exc)
            raise PluginFailed(
                f"The page of plugin {route.plugin} failed: {describe(exc)}. It was logged; "
                "the rest of Kubelantern works.",
            ) from exc
        if isinstance(result, Response):
            return result
        if isinstance(result, str):
            return HTMLResponse(result)
        if isinstance(result, dict | list):
            return JSONResponse(result)
        plugins.report(route.plugin, f"route {route.path}", f"returned {type(result).__name__}")
        raise PluginFailed(f"The page of plugin {route.plugin} returned nothing to show.")

    handle.__name__ = f"plugin_{route.plugin}_{route.name or 'page'}"
    return handle


def install(state: AppState) -> list[BaseRoute]:
    """Set the plugins up in the app and return their routes (and ``/-/plugins``)."""
    plugins = state.plugins
    assert plugins is not None
    calls.install(state, WebHost(state))
    state.jinja.globals["plugin_chrome"] = calls.Chrome(state)
    routes: list[BaseRoute] = [
        Route(urls.pattern("plugins"), index),
        Route(urls.pattern("plugins_refresh"), refresh, methods=["POST"]),
        Route(urls.pattern("plugin"), detail),
    ]
    for name, folder in plugins.static_dirs().items():
        routes.append(Mount(urls.plugin_static_url(name), StaticFiles(directory=folder)))
    answers = plugins.call_named("register_routes", kl=plugins.kl)
    for route in calls.answers_of(plugins, "register_routes", answers, PluginRoute):
        if not route.path.startswith("/"):
            problem = f"path {route.path!r} must start with /"
            plugins.report(route.plugin, "register_routes", problem)
            continue
        plugins.routes.append(route)
        routes.append(
            Route(
                urls.plugin_path(route.plugin, route.path),
                endpoint(state, route),
                methods=list(route.methods),
                name=f"plugin:{route.plugin}:{route.name}" if route.name else None,
            )
        )
    return routes
