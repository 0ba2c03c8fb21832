"""Parse ``/c/{cluster}/...`` paths that mirror the API (see DESIGN.md, URLs)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from kubelantern import errors
from kubelantern.web.state import app_state
from kubelantern.web.views import clusters, detail, resources


async def cluster_root(request: Request) -> Response:
    prefix = app_state(request).settings.prefix
    return RedirectResponse(f"{prefix}/c/{request.path_params['cluster']}/", status_code=307)


async def cluster_path(request: Request) -> Response:
    """Route ``/c/{cluster}/{rest}`` to the overview, a list or an object."""
    cluster = app_state(request).clusters.get(request.path_params["cluster"])
    parts = [p for p in request.path_params["rest"].split("/") if p]
    match parts:
        case []:
            return await clusters.overview(request, cluster)
        case [resource]:
            return await resources.list_view(request, cluster, resource, None)
        case ["namespaces", ns, resource]:
            return await resources.list_view(request, cluster, resource, ns)
        case ["namespaces", ns, resource, name]:
            return await detail.detail_view(request, cluster, resource, ns, name)
        case [resource, name]:
            return await detail.detail_view(request, cluster, resource, None, name)
    raise errors.BadRequest(f"no page at {request.url.path}")
