"""Port-forward pages: ``…/{pods|services|deployments.apps}/{name}/portforward`` (form,
the object's active forwards, JSON twin; POST starts one) and ``/-/portforwards``
(every forward of the person; POST ``/-/portforwards/{id}/stop``).

Offered only where the listener's machine is the person's own (``port_forward``
setting, see ``enabled``); RBAC decides with ``create pods/portforward``.
Starting and stopping are audited like writes.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from kubelantern import errors, urls
from kubelantern.auth.access import Check
from kubelantern.clusters.store import Cluster
from kubelantern.operate.inputs import integer, read_fields
from kubelantern.operate.readonly import is_read_only, refusal
from kubelantern.settings import Settings
from kubelantern.streams.portforward import Forward, Target
from kubelantern.web.context import cluster_context
from kubelantern.web.nav import nav_context
from kubelantern.web.render import render, wants_json
from kubelantern.web.state import app_state

KIND_OF = {"pods": "pods", "services": "services", "deployments.apps": "deployments"}


def enabled(settings: Settings, cluster: Cluster, desktop: bool = False) -> tuple[bool, str]:
    """Whether forwards may be opened, and why not.

    A forward listens on the Kubelantern machine's 127.0.0.1: on a shared server
    that is the server's port, reachable by whoever else is on it, not the
    person's. ``auto`` allows it only for a local, single-person setup.
    """
    if settings.port_forward == "off":
        return False, "Port-forward is turned off (--port-forward off)."
    if settings.port_forward == "on" or desktop:
        return True, ""
    try:
        loopback = ipaddress.ip_address(settings.host).is_loopback
    except ValueError:
        loopback = settings.host == "localhost"
    if settings.in_cluster or cluster.auth_mode != "kubeconfig" or not loopback:
        return False, (
            "Port-forward is offered only when Kubelantern runs on your own machine "
            "(a forward opens a port on the machine Kubelantern runs on); "
            "the operator can turn it on with --port-forward on."
        )
    return True, ""


def _forwards_of(request: Request) -> list[Forward]:
    def mine(f: Forward) -> bool:
        return cluster_context(request, f.cluster).identity == f.owner

    return app_state(request).forwards.all(mine)


def _ports(kind: str, obj: dict[str, Any]) -> list[dict[str, Any]]:
    spec = obj.get("spec") or {}
    if kind == "services":
        return [
            {"port": p.get("port"), "name": p.get("name") or ""}
            for p in spec.get("ports") or []
            if (p.get("protocol") or "TCP") == "TCP"
        ]
    if kind == "deployments":
        spec = ((spec.get("template") or {}).get("spec")) or {}
    return [
        {"port": p.get("containerPort"), "name": p.get("name") or "", "container": c.get("name")}
        for c in spec.get("containers") or []
        for p in c.get("ports") or []
        if (p.get("protocol") or "TCP") == "TCP"
    ]


async def forward_page(
    request: Request, cluster: Cluster, resource: str, namespace: str, name: str
) -> Response:
    ctx = cluster_context(request, cluster)
    creds = ctx.credentials
    rt = await cluster_context(request, cluster).resolve(resource)
    kind = KIND_OF.get(rt.name)
    if kind is None:
        raise errors.BadRequest("port-forward is for pods, services and deployments")
    obj = await cluster.client.json(
        "GET",
        rt.path(namespace, name),
        credentials=creds,
        verb="get",
        resource=rt.name,
        namespace=namespace,
    )
    state = app_state(request)
    on, why = enabled(state.settings, cluster, state.desktop)
    decision = await ctx.can(
        Check(verb="create", resource="pods", subresource="portforward", namespace=namespace)
    )
    problem = why
    if not problem and is_read_only(state.settings, cluster):
        problem = "Kubelantern is read-only for this cluster: no port-forwards."
    if not problem and not decision.allowed:
        problem = decision.reason
    object_url = urls.object_url(cluster, rt, namespace, name)
    active = [
        f.to_dict()
        for f in _forwards_of(request)
        if f.cluster is cluster
        and (f.target.kind, f.target.namespace, f.target.name) == (kind, namespace, name)
    ]
    data = {
        "clusterName": cluster.slug,
        "namespace": namespace,
        "name": name,
        "kind": kind,
        "resource": rt.to_dict(),
        "ports": _ports(kind, obj),
        "enabled": on,
        "access": {"portforward": decision.to_dict()},
        "problem": problem,
        "forwards": active,
        "objectUrl": object_url,
        "formUrl": urls.object_url(cluster, rt, namespace, name, "portforward"),
    }
    context = None
    if not wants_json(request):
        context = {"nav": await nav_context(request, cluster, namespace, rt.name)}
    return render(request, "portforward.html", data, context=context)


async def forward_post(
    request: Request, cluster: Cluster, resource: str, namespace: str, name: str
) -> Response:
    state = app_state(request)
    on, why = enabled(state.settings, cluster, state.desktop)
    if not on:
        err = errors.BadRequest(why)
        err.status, err.title = 403, "Port-forward not offered"
        raise err
    if is_read_only(state.settings, cluster):
        raise refusal(state.settings, cluster)
    fields = await read_fields(request)
    port = integer(fields, "port")
    raw_local = fields.get("localPort")
    local_port = 0 if raw_local in (None, "") else integer(fields, "localPort")
    ctx = cluster_context(request, cluster)
    creds = ctx.credentials
    rt = await cluster_context(request, cluster).resolve(resource)
    kind = KIND_OF.get(rt.name)
    if kind is None:
        raise errors.BadRequest("port-forward is for pods, services and deployments")
    decision = await ctx.can(
        Check(verb="create", resource="pods", subresource="portforward", namespace=namespace)
    )
    forward_url = urls.object_url(cluster, rt, namespace, name, "portforward")
    async with app_state(request).audit.audited(
        request,
        cluster,
        verb="create",
        resource="pods/portforward",
        namespace=namespace,
        name=name,
    ) as note:
        if not decision.allowed:
            err = errors.BadRequest(decision.reason or "RBAC does not let you port-forward")
            err.status, err.title = 403, "Forbidden"
            raise err
        target = Target(kind, namespace, name, port)
        forward = await state.forwards.start(cluster, creds, target, ctx.identity, local_port)
        note.message = f"{kind}/{name}:{port} on {forward.address}"
        note.url = forward_url
        note.status = 201
    if wants_json(request):
        return render(request, "portforward.html", {"forward": forward.to_dict()}, status=201)
    return RedirectResponse(state.settings.prefix + forward_url, status_code=303)


async def forwards_page(request: Request) -> Response:
    """``/-/portforwards``: the person's active forwards, across clusters."""
    data = {"forwards": [f.to_dict() for f in _forwards_of(request)]}
    return render(request, "portforwards.html", data)


async def stop_forward(request: Request) -> Response:
    """``POST /-/portforwards/{id}/stop``: close the listener and its connections."""
    state = app_state(request)
    forward = state.forwards.get(request.path_params["id"])
    if cluster_context(request, forward.cluster).identity != forward.owner:
        state.forwards.get("")  # someone else's forward: as if it did not exist
    t = forward.target
    async with app_state(request).audit.audited(
        request,
        forward.cluster,
        verb="delete",
        resource="pods/portforward",
        namespace=t.namespace,
        name=t.name,
    ) as note:
        await state.forwards.stop(forward.id)
        note.message = f"stopped {t.kind}/{t.name}:{t.port} on {forward.address}"
    back = request.query_params.get("next", "")
    if wants_json(request):
        return render(request, "portforwards.html", {"stopped": forward.to_dict()})
    if not back.startswith("/c/"):
        back = urls.url_for("portforwards")
    return RedirectResponse(state.settings.prefix + back, status_code=303)
