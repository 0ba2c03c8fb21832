"""Parse ``/c/{cluster}/...`` paths that mirror the API (docs/design.md, "URL scheme")."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from kubelantern import errors
from kubelantern.web import live
from kubelantern.web.state import app_state
from kubelantern.web.views import (
    actions,
    debug,
    detail,
    edit,
    logs,
    nodeshell,
    overview,
    portforward,
    proxy,
    resources,
    search,
)
from kubelantern.web.views import exec as exec_views
from kubelantern.web.views import export as export_views
from kubelantern.web.views import helm as helm_views


async def cluster_root(request: Request) -> Response:
    prefix = app_state(request).settings.prefix
    return RedirectResponse(f"{prefix}/c/{request.path_params['cluster']}/", status_code=307)


async def cluster_path(request: Request) -> Response:
    """Route ``/c/{cluster}/{rest}`` to the overview, a list or an object."""
    cluster = app_state(request).clusters.get(request.path_params["cluster"])
    parts = [p for p in request.path_params["rest"].split("/") if p]
    match parts:
        case []:
            return await overview.overview(request, cluster)
        case ["-", "watch"]:
            return await live.watch_view(request, cluster)
        case ["-", "search"]:
            return await search.cluster_search(request, cluster)
        case ["-", "create"]:
            return await edit.create_page(request, cluster)
        case ["helm"]:
            return await helm_views.list_view(request, cluster, None)
        case ["namespaces", ns, "helm"]:
            return await helm_views.list_view(request, cluster, ns)
        case ["namespaces", ns, "helm", release]:
            return await helm_views.release_view(request, cluster, ns, release)
        case ["namespaces", ns, ("services" | "pods") as resource, target, "proxy", *_]:
            return await proxy.proxy_view(request, cluster, resource, ns, target)
        case [resource, name, "edit"]:  # before lists: /namespaces/<ns>/edit edits a Namespace
            return await edit.edit_page(request, cluster, resource, None, name)
        case ["namespaces", ns, resource, name, "edit"]:
            return await edit.edit_page(request, cluster, resource, ns, name)
        case ["nodes", name, "shell"]:
            return await nodeshell.shell_page(request, cluster, name)
        case ["nodes", name, "drain"]:
            return await actions.drain_page(request, cluster, "nodes", name)
        case [last] if wanted := export_views.requested(request, last):
            return await export_views.export_view(request, cluster, wanted[0], None, wanted[1])
        case ["namespaces", ns, last] if wanted := export_views.requested(request, last):
            return await export_views.export_view(request, cluster, wanted[0], ns, wanted[1])
        case [resource]:
            return await resources.list_view(request, cluster, resource, None)
        case ["namespaces", ns, resource]:
            return await resources.list_view(request, cluster, resource, ns)
        case ["namespaces", ns, resource, name]:
            return await detail.detail_view(request, cluster, resource, ns, name)
        case ["namespaces", ns, resource, name, "logs", *rest]:
            return await logs.logs_view(request, cluster, resource, ns, name, rest)
        case ["namespaces", ns, resource, name, "portforward"]:
            return await portforward.forward_page(request, cluster, resource, ns, name)
        case ["namespaces", ns, "pods", name, "debug"]:
            return await debug.debug_page(request, cluster, ns, name)
        case ["namespaces", ns, resource, name, ("exec" | "attach") as action]:
            return await exec_views.terminal_view(request, cluster, resource, ns, name, action)
        case [resource, name]:
            return await detail.detail_view(request, cluster, resource, None, name)
    raise errors.BadRequest(f"no page at {request.url.path}")
