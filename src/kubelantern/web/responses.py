"""JSON responses and the JSON body of an error, the bottom of the web package.

Middleware that answers before any view runs (CSRF, the read-only guard)
needs these, and the page renderer (``render.py``) sits above that middleware
(it embeds the CSRF token), so they live here, importing no other web module.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from kubelantern import errors


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS, default=str)


def advice(exc: errors.KubelanternError) -> str:
    """What the person can do about it."""
    if isinstance(exc, errors.Forbidden):
        return "Ask a cluster administrator for this permission, or pick a namespace you may use."
    if isinstance(exc, errors.Unauthorized):
        return "Your credentials were refused or expired. Sign in again."
    if isinstance(exc, errors.ClusterTimeout):
        return "The cluster is slow to answer. Retry in a moment."
    if isinstance(exc, errors.ClusterUnavailable):
        return "Check that the cluster is running and reachable from Kubelantern, then retry."
    if isinstance(exc, errors.UnknownResource):
        return "The kind may not be installed in this cluster (is its CRD present?)."
    if isinstance(exc, errors.NotFound):
        return "It may have been deleted, or the name is wrong."
    return ""


def forbidden_summary(exc: errors.ApiError) -> str:
    """'list pods in namespace team-b': the verb and resource that RBAC refused."""
    if not exc.verb or not exc.resource:
        return ""
    where = f" in namespace {exc.namespace}" if exc.namespace else ""
    return f"{exc.verb} {exc.resource}{where}"


def error_data(exc: errors.KubelanternError) -> dict[str, Any]:
    data = exc.to_dict()
    data["advice"] = advice(exc)
    if isinstance(exc, errors.Forbidden):
        data["refused"] = forbidden_summary(exc)
    return {"error": data}


async def refuse(err: errors.KubelanternError, scope: Scope, receive: Receive, send: Send) -> None:
    """Answer an HTTP request from middleware with ``err`` as JSON, before any view runs."""
    await JSONResponse(error_data(err), status_code=err.status)(scope, receive, send)
