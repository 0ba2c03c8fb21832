"""``/c/{cluster}/nodes/{name}/shell``: the node shell page (JSON twin) and its POST.

POST creates the shell pod (``operate.nodeshell``) with the person's own
credentials, writes an audit line, waits for it to run and sends the browser
to the terminal attached to it; the terminal deletes the pod when the session
ends. Off unless the operator turns it on (``--node-shell``).
"""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from kubelantern import errors, urls
from kubelantern.auth.access import Check
from kubelantern.clusters.store import Cluster
from kubelantern.operate import nodeshell
from kubelantern.operate.readonly import ensure_writable, is_read_only
from kubelantern.web.context import cluster_context
from kubelantern.web.nav import nav_context
from kubelantern.web.render import render, wants_json
from kubelantern.web.state import app_state

START_TIMEOUT = 60.0
"""How long the POST waits for the shell pod to run (an image pull may take a while)."""


def _off() -> errors.KubelanternError:
    err = errors.BadRequest(
        "Node shells are turned off; the operator can turn them on (--node-shell)."
    )
    err.status, err.title = 403, "Node shells are off"
    return err


async def shell_page(request: Request, cluster: Cluster, node: str) -> Response:
    settings = app_state(request).settings
    ctx = cluster_context(request, cluster)
    creds = ctx.credentials
    await cluster.client.json(
        "GET", f"/api/v1/nodes/{node}", credentials=creds, verb="get", resource="nodes"
    )
    ns = settings.node_shell_namespace
    access = {
        "create": (await ctx.can(Check(verb="create", resource="pods", namespace=ns))).to_dict(),
        "attach": (
            await ctx.can(Check(verb="create", resource="pods", subresource="attach", namespace=ns))
        ).to_dict(),
    }
    problem = ""
    if not settings.node_shell:
        problem = _off().message
    elif is_read_only(settings, cluster):
        problem = "Kubelantern is read-only for this cluster: no node shells."
    elif not access["create"]["allowed"]:
        problem = str(access["create"]["reason"])
    elif not access["attach"]["allowed"]:
        problem = str(access["attach"]["reason"])
    data = {
        "clusterName": cluster.slug,
        "name": node,
        "enabled": settings.node_shell,
        "namespace": ns,
        "image": settings.node_shell_image,
        "ttl": settings.node_shell_ttl,
        "access": access,
        "problem": problem,
        "objectUrl": urls.object_url(cluster, "nodes", None, node),
        "formUrl": urls.object_url(cluster, "nodes", None, node, "shell"),
    }
    context = None
    if not wants_json(request):
        context = {"nav": await nav_context(request, cluster, None, "nodes")}
    return render(request, "nodeshell.html", data, context=context)


async def shell_post(request: Request, cluster: Cluster, node: str) -> Response:
    state = app_state(request)
    settings = state.settings
    if not settings.node_shell:
        raise _off()
    ensure_writable(settings, cluster)
    creds = cluster_context(request, cluster).credentials
    ns = settings.node_shell_namespace
    await cluster.client.json(
        "GET", f"/api/v1/nodes/{node}", credentials=creds, verb="get", resource="nodes"
    )
    async with app_state(request).audit.audited(
        request, cluster, verb="create", resource="pods/node-shell", namespace=ns, name=node
    ) as note:
        name = await nodeshell.create(
            cluster, creds, ns, node, settings.node_shell_image, settings.node_shell_ttl
        )
        note.message = f"node shell pod {ns}/{name} on node {node} ({settings.node_shell_image})"
        note.status = 201
    state.shells.add(
        nodeshell.ShellPod(cluster, creds, ns, name, time.monotonic() + settings.node_shell_ttl)
    )
    phase = await nodeshell.wait_running(cluster, creds, ns, name, START_TIMEOUT)
    attach = urls.object_url(
        cluster, "pods", ns, name, "attach", query={"container": nodeshell.CONTAINER}
    )
    if wants_json(request):
        result = {"pod": name, "namespace": ns, "node": node, "phase": phase, "attachUrl": attach}
        return render(request, "nodeshell.html", {"result": result}, status=201)
    return RedirectResponse(settings.prefix + attach, status_code=303)
