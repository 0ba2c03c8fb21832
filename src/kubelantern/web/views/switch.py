"""Switch cluster and keep the current view when the other cluster has that kind."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from kubelantern import errors, urls
from kubelantern.web.state import app_state


async def switch_cluster(request: Request) -> Response:
    """``/-/switch?to=<cluster>&path=<the part after /c/<cluster>/>``."""
    state = app_state(request)
    target = state.clusters.get(request.query_params.get("to", ""))
    path = request.query_params.get("path", "").lstrip("/")
    if "://" in path or path.startswith("/"):
        raise errors.BadRequest("path must be a path inside the cluster")
    parts = [p for p in path.split("?", 1)[0].split("/") if p]
    kind = ""
    if len(parts) >= 3 and parts[0] == "namespaces":
        kind = parts[2]
    elif parts and parts[0] not in ("-", "namespaces"):
        kind = parts[0]
    elif parts[:1] == ["namespaces"]:
        kind = "namespaces"
    keep = True
    if kind:
        try:
            await target.discovery.resolve(kind)
        except errors.KubelanternError:
            keep = False  # the kind is not served there, or the cluster is down
    destination = state.settings.prefix + urls.cluster_url(target)
    if keep:
        destination += path
    return RedirectResponse(destination, status_code=303)
