"""``…/pods/{name}/debug``: the Debug form (and its JSON twin), and its POST.

GET shows the images the operator offers, the containers one may target and
whether RBAC allows it (``patch pods/ephemeralcontainers`` to add the container,
``create pods/attach`` to use it). POST adds the ephemeral container
(``operate.debug``), writes an audit line, and sends the browser to the
terminal attached to it (JSON clients get its name and the attach URL).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from kubelantern import errors, urls
from kubelantern.auth.access import Check
from kubelantern.clusters.store import Cluster
from kubelantern.operate import debug as pod_debug
from kubelantern.operate.inputs import read_fields
from kubelantern.operate.readonly import ensure_writable, is_read_only
from kubelantern.streams import logs as podlogs
from kubelantern.web.context import cluster_context
from kubelantern.web.nav import nav_context
from kubelantern.web.render import render, wants_json
from kubelantern.web.state import app_state


def _urls(cluster: Cluster, namespace: str, name: str) -> tuple[str, str]:
    return (
        urls.object_url(cluster, "pods", namespace, name),
        urls.object_url(cluster, "pods", namespace, name, "debug"),
    )


async def debug_page(request: Request, cluster: Cluster, namespace: str, name: str) -> Response:
    """The form: image, target container, and why it cannot be used if it cannot."""
    ctx = cluster_context(request, cluster)
    creds = ctx.credentials
    pod = await podlogs.get_pod(cluster, creds, namespace, name)
    settings = app_state(request).settings
    access: dict[str, Any] = {}
    for key, verb, sub in (
        ("debug", "patch", "ephemeralcontainers"),
        ("attach", "create", "attach"),
    ):
        check = Check(verb=verb, resource="pods", subresource=sub, namespace=namespace, name=name)
        access[key] = (await ctx.can(check)).to_dict()
    read_only = is_read_only(settings, cluster)
    phase = (pod.get("status") or {}).get("phase", "")
    problem = ""
    if read_only:
        problem = "Kubelantern is read-only for this cluster: no debug containers."
    elif not settings.debug_images:
        problem = "The operator offers no debug images (--debug-images)."
    elif not access["debug"]["allowed"]:
        problem = access["debug"]["reason"]
    elif not access["attach"]["allowed"]:
        problem = access["attach"]["reason"]
    elif phase != "Running":
        problem = f"The pod is {phase or 'not running'}: a debug container needs a running pod."
    object_url, form_url = _urls(cluster, namespace, name)
    data = {
        "clusterName": cluster.slug,
        "namespace": namespace,
        "name": name,
        "images": list(settings.debug_images),
        "image": (settings.debug_images or ("",))[0],
        "targets": pod_debug.app_containers(pod),
        "target": request.query_params.get("target", ""),
        "ephemeral": [c for c in podlogs.containers(pod) if c["kind"] == "ephemeral"],
        "phase": phase,
        "readOnly": read_only,
        "access": access,
        "problem": problem,
        "objectUrl": object_url,
        "formUrl": form_url,
    }
    context = None
    if not wants_json(request):
        context = {"nav": await nav_context(request, cluster, namespace, "pods")}
    return render(request, "debug.html", data, context=context)


async def debug_post(request: Request, cluster: Cluster, namespace: str, name: str) -> Response:
    """Add the debug container and go to its terminal."""
    settings = app_state(request).settings
    ensure_writable(settings, cluster)
    fields = await read_fields(request)
    image = str(fields.get("image") or (settings.debug_images or ("",))[0])
    target = str(fields.get("target") or "")
    creds = cluster_context(request, cluster).credentials
    pod = await podlogs.get_pod(cluster, creds, namespace, name)
    pod_debug.check_choice(pod, image, target, settings.debug_images)
    phase = (pod.get("status") or {}).get("phase", "")
    if phase != "Running":
        exc = errors.BadRequest(
            f"pod {name} is {phase or 'not running'}: a debug container needs a running pod",
            cluster=cluster.slug,
        )
        exc.status, exc.title = 409, "Conflict"
        raise exc
    object_url, _ = _urls(cluster, namespace, name)
    async with app_state(request).audit.audited(
        request,
        cluster,
        verb="patch",
        resource="pods/ephemeralcontainers",
        namespace=namespace,
        name=name,
    ) as note:
        cname = await pod_debug.add(cluster, creds, namespace, pod, image=image, target=target)
        note.message = f"debug container {cname}: image {image}" + (
            f", target {target}" if target else ""
        )
        note.url = object_url
    attach_url = f"{object_url}/attach?{urlencode({'container': cname})}"
    if wants_json(request):
        result = {"container": cname, "image": image, "target": target, "attachUrl": attach_url}
        return render(request, "debug.html", {"result": result}, status=201)
    return RedirectResponse(settings.prefix + attach_url, status_code=303)
