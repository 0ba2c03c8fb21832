"""Bulk actions on the objects ticked in a list: delete or restart, one by one.

``POST /c/{cluster}/-/bulk`` with ``action``, ``resource`` and the objects
(form: ``key=<namespace>/<name>`` repeated; JSON: ``objects: [{namespace,
name}]``). Each object is its own request with the person's credentials, so
the API server authorizes each one and one refusal does not stop the others;
each is audited like the single action, and the answer lists every object's
result. CSRF is the middleware's, as for every POST.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.requests import Request
from starlette.responses import Response

from kubelantern import errors, urls
from kubelantern.clusters.discovery import ResourceType
from kubelantern.clusters.store import Cluster
from kubelantern.operate import actions
from kubelantern.operate.inputs import read_body
from kubelantern.operate.readonly import ensure_writable
from kubelantern.web.context import cluster_context, valid_namespace
from kubelantern.web.render import render
from kubelantern.web.state import app_state

ACTIONS = ("delete", "restart")
MAX_OBJECTS = 200
CONCURRENCY = 8


def _objects_from_keys(keys: list[str]) -> list[tuple[str | None, str]]:
    out: list[tuple[str | None, str]] = []
    for key in keys:
        namespace, sep, name = key.rpartition("/")
        if not sep or not name:
            raise errors.BadRequest(f"{key!r} is not <namespace>/<name> (or /<name>)")
        out.append((namespace or None, name))
    return out


async def read_selection(request: Request) -> tuple[str, str, list[tuple[str | None, str]], str]:
    """(action, resource, [(namespace, name)], propagationPolicy) from a form or JSON."""
    body = await read_body(request)
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "application/json":
        try:
            data = orjson.loads(body or b"{}")
        except orjson.JSONDecodeError as exc:
            raise errors.BadRequest(f"The request body is not valid JSON: {exc}") from None
        if not isinstance(data, dict) or not isinstance(data.get("objects"), list):
            raise errors.BadRequest("Send {action, resource, objects: [{namespace, name}]}.")
        objects = [
            (o.get("namespace") or None, str(o.get("name") or ""))
            for o in data["objects"]
            if isinstance(o, dict)
        ]
        fields = {k: str(v) for k, v in data.items() if k != "objects"}
    elif ctype == "application/x-www-form-urlencoded":
        pairs = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        objects = _objects_from_keys([v for k, v in pairs if k == "key"])
        fields = {k: v for k, v in pairs if k != "key"}
    else:
        raise errors.BadRequest("Send a form or JSON.")
    action, resource = fields.get("action", ""), fields.get("resource", "")
    if action not in ACTIONS:
        raise errors.BadRequest(f"Bulk actions are {', '.join(ACTIONS)}, not {action!r}.")
    if not objects:
        raise errors.BadRequest("Tick at least one object.")
    if len(objects) > MAX_OBJECTS:
        raise errors.BadRequest(f"At most {MAX_OBJECTS} objects at once.")
    for namespace, name in objects:
        if not name or "/" in name or (namespace is not None and not valid_namespace(namespace)):
            raise errors.BadRequest(f"Not an object name: {namespace or ''}/{name}")
    return action, resource, objects, fields.get("propagationPolicy", "Background")


async def _one(
    request: Request,
    target: actions.Target,
    action: str,
    fields: dict[str, Any],
) -> dict[str, Any]:
    """One object's action, audited; its result whatever happens."""
    entry: dict[str, Any] = {"namespace": target.namespace, "name": target.name}
    try:
        async with app_state(request).audit.audited(
            request,
            target.cluster,
            verb=actions.VERBS.get(action, action),
            resource=target.rt.name,
            namespace=target.namespace,
            name=target.name,
        ) as note:
            result = await actions.HANDLERS[action](target, fields)
            note.message = str(result.get("message", ""))
    except errors.KubelanternError as exc:
        refused = isinstance(exc, errors.Forbidden)
        return {
            **entry,
            "result": "refused" if refused else "failed",
            "status": exc.status,
            "message": exc.message,
        }
    return {**entry, "result": "ok", "status": 200, "message": note.message}


def _list_url(cluster: Cluster, rt: ResourceType, objects: list[tuple[str | None, str]]) -> str:
    spaces = {ns for ns, _ in objects}
    single = next(iter(spaces)) if len(spaces) == 1 else None
    return urls.list_url(cluster, rt, single)


async def bulk_post(request: Request, cluster: Cluster) -> Response:
    ensure_writable(app_state(request).settings, cluster)
    action, resource, objects, policy = await read_selection(request)
    ctx = cluster_context(request, cluster)
    creds = ctx.credentials
    rt = await ctx.resolve(resource)
    if rt.namespaced and any(ns is None for ns, _ in objects):
        raise errors.BadRequest(f"{rt.name} is namespaced: each key needs its namespace")
    targets = [
        actions.Target(cluster, creds, rt, ns if rt.namespaced else None, name)
        for ns, name in dict.fromkeys(objects)
    ]
    actions.check_applicable(targets[0], action)
    fields = {"propagationPolicy": policy}
    gate = asyncio.Semaphore(CONCURRENCY)

    async def run(target: actions.Target) -> dict[str, Any]:
        async with gate:
            return await _one(request, target, action, fields)

    results = list(await asyncio.gather(*(run(t) for t in targets)))
    done = sum(1 for r in results if r["result"] == "ok")
    data = {
        "clusterName": cluster.slug,
        "action": action,
        "resource": rt.to_dict(),
        "results": results,
        "ok": done,
        "notOk": len(results) - done,
        "listUrl": _list_url(cluster, rt, objects),
    }
    return render(request, "bulk_result.html", data)
