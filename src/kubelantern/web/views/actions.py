"""Object actions over HTTP, the drain progress page, and every POST under ``/c/``.

``POST {object}/actions/{action}`` does one action (JSON, form or htmx). The
answer follows the asker: JSON for API clients; for htmx a fragment with the
result and the object's buttons redrawn for its new state; for a plain form a
redirect back to the object (or to the list after a delete).

``detail_actions`` is what the detail page adds to its data: the actions this
person is offered, each with ``allowed`` and the reason if not.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from kubelantern import errors, urls
from kubelantern.clusters.discovery import ResourceType
from kubelantern.clusters.store import Cluster
from kubelantern.operate import actions, drain
from kubelantern.operate.inputs import flag, integer, read_fields
from kubelantern.operate.readonly import ensure_writable, is_read_only
from kubelantern.web import plugin_calls
from kubelantern.web.context import cluster_context
from kubelantern.web.render import render, wants_json
from kubelantern.web.responses import error_data
from kubelantern.web.state import app_state
from kubelantern.web.views import bulk as bulk_views
from kubelantern.web.views import debug as debug_views
from kubelantern.web.views import edit as edit_views
from kubelantern.web.views import helm as helm_views
from kubelantern.web.views import nodeshell as nodeshell_views
from kubelantern.web.views import portforward as portforward_views
from kubelantern.web.views.nopage import no_page


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


async def detail_actions(
    request: Request, cluster: Cluster, rt: ResourceType, obj: dict[str, Any]
) -> dict[str, Any]:
    """Data for ``_detail_actions.html`` (and the JSON twin): offered actions, allowed or not."""
    meta = obj.get("metadata") or {}
    namespace = meta.get("namespace") if rt.namespaced else None
    name = str(meta.get("name", ""))
    base = edit_views.object_path(cluster, rt, namespace, name)
    if is_read_only(app_state(request).settings, cluster):
        return {"actions": [], "readOnly": True, "objectUrl": base}
    ctx = cluster_context(request, cluster)
    target = actions.Target(cluster, ctx.credentials, rt, namespace, name)
    offered = await actions.available(target, ctx.can_all, obj)
    offered = await plugin_calls.object_actions(request, cluster, rt, obj, offered)
    data: dict[str, Any] = {"actions": offered, "readOnly": False, "objectUrl": base}
    if any(a["name"] == "rollback" and a["allowed"] for a in offered):
        try:
            data["revisions"] = await actions.revisions(target, obj)
        except errors.KubelanternError:
            data["revisions"] = []
    return data


async def post(request: Request) -> Response:
    """Every POST under ``/c/{cluster}/``: create, review, apply, actions (routes: ``urls``)."""
    cluster = app_state(request).clusters.get(request.path_params["cluster"])
    found = urls.parse_in_cluster(cluster.slug, request.path_params["rest"], "POST")
    if found is None:
        raise no_page(request)
    p = found.params
    ns = p.get("namespace")
    match found.name:
        case "create":
            return await edit_views.create_post(request, cluster)
        case "bulk":
            return await bulk_views.bulk_post(request, cluster)
        case "helm_action":
            return await helm_views.post(
                request, cluster, p["namespace"], p["release"], p["action"]
            )
        case "cluster_object_review" | "object_review" | "cluster_object_apply" | "object_apply":
            return await edit_views.edit_post(
                request,
                cluster,
                p["resource"],
                ns,
                p["name"],
                dry_run=found.name.endswith("_review"),
            )
        case "cluster_object_action" | "object_action":
            return await action_view(request, cluster, p["resource"], ns, p["name"], p["action"])
        case "node_shell":
            return await nodeshell_views.shell_post(request, cluster, p["name"])
        case "object_portforward":
            return await portforward_views.forward_post(
                request, cluster, p["resource"], p["namespace"], p["name"]
            )
        case "object_debug":
            return await debug_views.debug_post(request, cluster, p["namespace"], p["name"])
    raise no_page(request)


async def action_view(
    request: Request, cluster: Cluster, resource: str, namespace: str | None, name: str, action: str
) -> Response:
    state = app_state(request)
    ensure_writable(state.settings, cluster)
    fields = await read_fields(request)
    creds = cluster_context(request, cluster).credentials
    rt = await cluster_context(request, cluster).resolve(resource)
    if rt.namespaced and not namespace:
        raise errors.BadRequest(f"{rt.name} is namespaced: the URL needs /namespaces/<ns>/")
    namespace = namespace if rt.namespaced else None
    target = actions.Target(cluster, creds, rt, namespace, name)
    plugin_handler = None
    if plugin_calls.is_plugin_action(request, action):  # "<plugin>.<name>": a plugin's button
        plugin_handler = await plugin_calls.action_handler(
            request, cluster, rt, namespace, name, action
        )
    else:
        actions.check_applicable(target, action)
    if action == "drain":
        return await drain_start(request, target, fields)
    base = edit_views.object_path(cluster, rt, namespace, name)
    handler = plugin_handler or actions.HANDLERS[action]
    try:
        async with app_state(request).audit.audited(
            request,
            cluster,
            verb=actions.VERBS.get(action, action),
            resource=rt.name,
            namespace=namespace,
            name=name,
        ) as note:
            result: dict[str, Any] = await handler(target, fields)
            note.message = str(result.get("message", ""))
            note.url = None if action == "delete" else base
    except errors.KubelanternError as exc:
        if _is_htmx(request):
            return await _fragment(request, target, base, error=exc)
        raise
    result.update(action=action, result="ok")
    list_url = base.rsplit("/", 1)[0]
    if wants_json(request):
        return render(request, "_action_result.html", result)
    if _is_htmx(request):
        if action == "delete":
            prefix = state.settings.prefix
            return Response(status_code=200, headers={"HX-Redirect": prefix + list_url})
        return await _fragment(request, target, base, result=result)
    return RedirectResponse(state.settings.prefix + (list_url if action == "delete" else base), 303)


async def _fragment(
    request: Request,
    target: actions.Target,
    base: str,
    *,
    result: dict[str, Any] | None = None,
    error: errors.KubelanternError | None = None,
) -> Response:
    """The result for htmx, with the buttons redrawn (out of band) for the new state.

    Sent as 200 even for an error: htmx swaps only successful answers, and the
    person must see why. ``data-status`` carries the real status.
    """
    data: dict[str, Any] = {"result": result, "objectUrl": base, "oob": True}
    if error is not None:
        data.update(error_data(error))
    try:
        obj = await target.request("GET", target.path, verb="get")
        data.update(await detail_actions(request, target.cluster, target.rt, obj))
        data["object"] = obj
    except errors.KubelanternError:
        data["oob"] = False
    data["clusterName"] = target.cluster.slug
    data["resource"] = target.rt.to_dict()
    data["name"] = target.name
    return render(request, "_action_result.html", data)


# ---- drain -------------------------------------------------------------------


def _drain_options(fields: dict[str, Any]) -> drain.Options:
    timeout = integer(fields, "timeoutSeconds", default=drain.DEFAULT_TIMEOUT)
    if not 1 <= timeout <= drain.MAX_TIMEOUT:
        raise errors.BadRequest(f"timeoutSeconds must be between 1 and {drain.MAX_TIMEOUT}")
    grace = fields.get("gracePeriodSeconds")
    return drain.Options(
        timeout=float(timeout),
        force=flag(fields, "force"),
        delete_emptydir_data=flag(fields, "deleteEmptyDirData"),
        grace_period=None if grace in (None, "") else integer(fields, "gracePeriodSeconds"),
    )


async def drain_start(request: Request, target: actions.Target, fields: dict[str, Any]) -> Response:
    cluster = target.cluster
    options = _drain_options(fields)

    async def finished(d: drain.Drain) -> None:
        await app_state(request).audit.record(
            request,
            cluster,
            verb="drain",
            resource="nodes",
            namespace=None,
            name=target.name,
            result="ok" if d.status == "done" else "failed",
            status=200 if d.status == "done" else 409,
            message=d.message,
            url=urls.object_url(cluster, "nodes", None, target.name),
        )

    async with app_state(request).audit.audited(
        request, cluster, verb="cordon", resource="nodes", namespace=None, name=target.name
    ) as note:
        state = await drain.start(
            app_state(request).drains, cluster, target.credentials, target.name, options, finished
        )
        note.message = "cordoned to drain"
    if flag(fields, "wait") and state.task is not None:
        await asyncio.wait_for(asyncio.shield(state.task), options.timeout + 30)
    return await drain_response(request, cluster, target.name, state, started=True)


async def drain_response(
    request: Request,
    cluster: Cluster,
    node: str,
    state: drain.Drain | None,
    *,
    started: bool = False,
) -> Response:
    data: dict[str, Any] = {
        "clusterName": cluster.slug,
        "node": node,
        "drain": state.to_dict() if state else None,
        "drainUrl": urls.object_url(cluster, "nodes", None, node, "drain"),
        "nodeUrl": urls.object_url(cluster, "nodes", None, node),
    }
    creds = cluster_context(request, cluster).credentials
    try:
        live = await cluster.client.json("GET", f"/api/v1/nodes/{node}", credentials=creds)
        data["unschedulable"] = bool((live.get("spec") or {}).get("unschedulable"))
        pods = await drain.pods_on(cluster, creds, node)
        plan, _ = drain.classify(pods, drain.Options(force=True, delete_emptydir_data=True))
        data["podsOnNode"] = [p.to_dict() for p in plan]
    except errors.KubelanternError as exc:
        data["liveError"] = exc.message
    status = 200
    if state is not None and not state.running and state.status != "done":
        status = 429 if state.status == "blocked" else 409
    if _is_htmx(request):
        return render(request, "_drain_progress.html", data, status=200)
    return render(request, "drain.html", data, status=status if started else 200)


async def drain_page(request: Request, cluster: Cluster, resource: str, name: str) -> Response:
    rt = await cluster_context(request, cluster).resolve(resource)
    if rt.name != actions.NODES:
        raise errors.BadRequest(f"only nodes are drained, not {rt.name}")
    return await drain_response(
        request, cluster, name, app_state(request).drains.current(cluster.slug, name)
    )
