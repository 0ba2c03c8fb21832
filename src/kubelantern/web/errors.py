"""Every failure becomes a clear page (or JSON error) with a proper status.

Users see what happened and what to do next; no stack trace, no secrets.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from kubelantern import errors
from kubelantern.web.render import render

log = logging.getLogger(__name__)


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


async def kubelantern_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.KubelanternError)
    if exc.status >= 500:
        log.warning("%s: %s", type(exc).__name__, exc.message)
    return render(request, "error.html", error_data(exc), status=exc.status)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    err = errors.KubelanternError(exc.detail or "Error")
    err.status = exc.status_code
    err.title = {404: "Page not found", 405: "Method not allowed"}.get(exc.status_code, "Error")
    return render(request, "error.html", error_data(err), status=exc.status_code)


async def unexpected_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    err = errors.KubelanternError(
        "An unexpected error happened. It was logged; please retry or report it."
    )
    return render(request, "error.html", error_data(err), status=500)
