"""Every failure becomes a clear page (or JSON error) with a proper status.

Users see what happened and what to do next; no stack trace, no secrets.
"""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from kubelantern import errors
from kubelantern.web.render import render
from kubelantern.web.responses import error_data

log = logging.getLogger(__name__)


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
