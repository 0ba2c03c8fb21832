"""The person's recent writes: ``/-/activity`` (page, JSON twin, htmx panel fragment)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from kubelantern.web.render import render
from kubelantern.web.state import app_state


async def activity_page(request: Request) -> Response:
    state = app_state(request)
    entries = state.audit.recent_for(request, state.clusters)
    data = {"activity": [e.to_dict() for e in entries]}
    template = (
        "_activity_list.html" if request.headers.get("hx-request") == "true" else "activity.html"
    )
    return render(request, template, data)
