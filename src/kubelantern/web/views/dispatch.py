"""GET ``/c/{cluster}/...``: the route ``kubelantern.urls`` finds, handed to its view.

Paths mirror the API (``docs/user-guide.md``, URLs). A path no route has is
404 (not 400: nothing in it is malformed, there is just no such page).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from kubelantern import urls
from kubelantern.web import live
from kubelantern.web.state import app_state
from kubelantern.web.views import (
    actions,
    debug,
    detail,
    edit,
    logs,
    nodeshell,
    nopage,
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
    state = app_state(request)
    cluster = state.clusters.get(request.path_params["cluster"])  # 404 if unknown
    return RedirectResponse(state.settings.prefix + urls.cluster_url(cluster), 307)


async def cluster_path(request: Request) -> Response:
    """Route ``/c/{cluster}/{rest}`` (GET) to its view by the route ``kubelantern.urls`` finds."""
    cluster = app_state(request).clusters.get(request.path_params["cluster"])
    found = urls.parse_in_cluster(cluster.slug, request.path_params["rest"], "GET")
    if found is None:
        raise nopage.no_page(request)
    p = found.params
    ns = p.get("namespace")
    match found.name:
        case "overview":
            return await overview.overview(request, cluster)
        case "cluster_watch":
            return await live.watch_view(request, cluster)
        case "cluster_search":
            return await search.cluster_search(request, cluster)
        case "create":
            return await edit.create_page(request, cluster)
        case "helm_list" | "namespace_helm_list":
            return await helm_views.list_view(request, cluster, ns)
        case "helm_release":
            return await helm_views.release_view(request, cluster, p["namespace"], p["release"])
        case "proxy":
            return await proxy.proxy_view(
                request, cluster, p["resource"], p["namespace"], p["target"]
            )
        case "cluster_object_edit" | "object_edit":
            return await edit.edit_page(request, cluster, p["resource"], ns, p["name"])
        case "node_shell":
            return await nodeshell.shell_page(request, cluster, p["name"])
        case "node_drain":
            return await actions.drain_page(request, cluster, "nodes", p["name"])
        case "cluster_list" | "list":
            if wanted := export_views.requested(request, p["resource"]):
                return await export_views.export_view(request, cluster, wanted[0], ns, wanted[1])
            return await resources.list_view(request, cluster, p["resource"], ns)
        case "cluster_object" | "object":
            return await detail.detail_view(request, cluster, p["resource"], ns, p["name"])
        case "object_logs":
            rest = [s for s in p["rest"].split("/") if s]
            return await logs.logs_view(
                request, cluster, p["resource"], p["namespace"], p["name"], rest
            )
        case "object_portforward":
            return await portforward.forward_page(
                request, cluster, p["resource"], p["namespace"], p["name"]
            )
        case "object_debug":
            return await debug.debug_page(request, cluster, p["namespace"], p["name"])
        case "object_exec" | "object_attach":
            return await exec_views.terminal_view(
                request,
                cluster,
                p["resource"],
                p["namespace"],
                p["name"],
                found.name.removeprefix("object_"),
            )
    raise nopage.no_page(request)
