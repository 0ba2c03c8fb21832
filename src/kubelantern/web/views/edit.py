"""The YAML editor and Create from YAML: pages, and their review/apply endpoints.

``GET  {object}/edit``    the editor, with the live object (JSON twin: its YAML
                          and resourceVersion)
``POST {object}/review``  diff + server-side dry run; nothing changes
``POST {object}/apply``   server-side apply (``force`` takes over conflicting fields)
``GET  /c/{cluster}/-/create``  the create page
``POST /c/{cluster}/-/create``  check every document, then apply all (``dryRun`` to
                          check only)

The POSTs take JSON (the editor), a form (no JavaScript) or raw YAML
(``curl --data-binary``). An HTML form post answers with the editor page again,
the person's text kept and the problem shown, never a bare error page that
would lose their work.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from kubelantern import errors, urls
from kubelantern.auth.access import Check
from kubelantern.clusters.discovery import ResourceType
from kubelantern.clusters.store import Cluster
from kubelantern.operate import create, edit
from kubelantern.operate.inputs import flag, read_fields
from kubelantern.operate.readonly import ensure_writable, is_read_only
from kubelantern.web.context import cluster_context
from kubelantern.web.render import render, wants_json
from kubelantern.web.responses import error_data
from kubelantern.web.state import app_state


def object_path(cluster: Cluster, rt: ResourceType, namespace: str | None, name: str) -> str:
    return urls.object_url(cluster, rt, namespace, name)


async def resolve_target(
    request: Request, cluster: Cluster, resource: str, namespace: str | None, name: str
) -> edit.Target:
    rt = await cluster_context(request, cluster).resolve(resource)
    if rt.namespaced and not namespace:
        raise errors.BadRequest(
            f"{rt.name} is namespaced: the URL needs /namespaces/<namespace>/ before {rt.name}",
            cluster=cluster.slug,
        )
    return edit.Target(rt=rt, namespace=namespace if rt.namespaced else None, name=name)


async def _page_data(
    request: Request, cluster: Cluster, target: edit.Target, live: dict[str, Any] | None
) -> dict[str, Any]:
    ctx = cluster_context(request, cluster)
    _ = ctx.credentials  # not signed in: the sign-in page, not a refused button
    rt = target.rt
    base = object_path(cluster, rt, target.namespace, target.name)
    decision = await ctx.can(
        Check("patch", rt.plural, group=rt.group, namespace=target.namespace, name=target.name)
    )
    read_only = is_read_only(app_state(request).settings, cluster)
    reason = decision.reason
    if read_only:
        reason = "This cluster is read-only in Kubelantern."
    meta = (live or {}).get("metadata") or {}
    return {
        "clusterName": cluster.slug,
        "resource": rt.to_dict(),
        "namespace": target.namespace,
        "name": target.name,
        "yaml": edit.editor_text(live) if live is not None else "",
        "resourceVersion": meta.get("resourceVersion"),
        "canApply": decision.allowed and not read_only,
        "reason": "" if decision.allowed and not read_only else reason,
        "objectUrl": base,
        "reviewUrl": base + "/review",
        "applyUrl": base + "/apply",
        "listUrl": base.rsplit("/", 1)[0],
    }


async def edit_page(
    request: Request, cluster: Cluster, resource: str, namespace: str | None, name: str
) -> Response:
    target = await resolve_target(request, cluster, resource, namespace, name)
    live = await edit.get_live(cluster, cluster_context(request, cluster).credentials, target)
    data = await _page_data(request, cluster, target, live)
    return render(request, "edit.html", data)


async def edit_post(
    request: Request,
    cluster: Cluster,
    resource: str,
    namespace: str | None,
    name: str,
    *,
    dry_run: bool,
) -> Response:
    """Review (dry run) or apply the editor's text."""
    state = app_state(request)
    ensure_writable(state.settings, cluster)
    fields = await read_fields(request)
    target = await resolve_target(request, cluster, resource, namespace, name)
    text = str(fields.get("yaml") or "")
    force = flag(fields, "force")
    try:
        outcome = await _run_edit(request, cluster, target, fields, text, dry_run, force)
    except errors.KubelanternError as exc:
        if wants_json(request):
            raise
        data = await _page_data(request, cluster, target, None)
        data.update(
            yaml=text,
            resourceVersion=fields.get("resourceVersion"),
            original=fields.get("original"),
            force=force,
        )
        data.update(error_data(exc))
        return render(request, "edit.html", data, status=exc.status)
    data = outcome.to_dict()
    if dry_run:
        data["result"] = "valid"
        data["message"] = (
            "The API server accepts this change (dry run)."
            if outcome.server_diff
            else "The API server accepts this; it changes nothing."
        )
    else:
        data["result"] = "applied" if outcome.server_diff else "unchanged"
        data["message"] = "Applied." if outcome.server_diff else "Applied; nothing changed."
        data["object"] = outcome.result
    if wants_json(request):
        return render(request, "edit.html", data)
    page = await _page_data(request, cluster, target, outcome.live)
    page.update(data)
    if dry_run:
        page.update(yaml=text, original=fields.get("original"), force=force)
    return render(request, "edit.html", page)


async def _run_edit(
    request: Request,
    cluster: Cluster,
    target: edit.Target,
    fields: dict[str, Any],
    text: str,
    dry_run: bool,
    force: bool,
) -> edit.Outcome:
    creds = cluster_context(request, cluster).credentials
    rv = fields.get("resourceVersion")
    original = fields.get("original")
    kwargs: dict[str, Any] = {
        "resource_version": str(rv) if rv else None,
        "original": str(original) if original else None,
        "force": force,
        "overwrite": flag(fields, "overwrite"),
    }
    if dry_run:
        return await edit.run(cluster, creds, target, text, dry_run=True, **kwargs)
    async with app_state(request).audit.audited(
        request,
        cluster,
        verb="apply",
        resource=target.rt.name,
        namespace=target.namespace,
        name=target.name,
    ) as note:
        outcome = await edit.run(cluster, creds, target, text, dry_run=False, **kwargs)
        note.message = ("applied" if outcome.server_diff else "applied, unchanged") + (
            " (forced)" if force else ""
        )
        note.url = object_path(cluster, target.rt, target.namespace, target.name)
    return outcome


def _create_data(request: Request, cluster: Cluster, namespace: str) -> dict[str, Any]:
    read_only = is_read_only(app_state(request).settings, cluster)
    return {
        "clusterName": cluster.slug,
        "namespace": namespace,
        "createUrl": urls.url_for("create", cluster=cluster.slug),
        "canApply": not read_only,
        "reason": "This cluster is read-only in Kubelantern." if read_only else "",
        "yaml": "",
    }


def _default_namespace(request: Request, cluster: Cluster, fields: dict[str, Any]) -> str:
    ns = str(fields.get("namespace") or request.query_params.get("namespace") or "")
    return ns or cluster.default_namespace or "default"


async def create_page(request: Request, cluster: Cluster) -> Response:
    data = _create_data(request, cluster, _default_namespace(request, cluster, {}))
    return render(request, "create.html", data)


async def create_post(request: Request, cluster: Cluster) -> Response:
    ensure_writable(app_state(request).settings, cluster)
    fields = await read_fields(request)
    text = str(fields.get("yaml") or "")
    namespace = _default_namespace(request, cluster, fields)
    dry_run = flag(fields, "dryRun")
    try:
        batch = await create.create(
            app_state(request).audit,
            request,
            cluster,
            text,
            default_namespace=namespace,
            dry_run=dry_run,
            force=flag(fields, "force"),
        )
    except errors.KubelanternError as exc:
        if wants_json(request):
            raise
        data = _create_data(request, cluster, namespace)
        data.update(error_data(exc), yaml=text)
        return render(request, "create.html", data, status=exc.status)
    data = batch.to_dict()
    if wants_json(request):
        return render(request, "create.html", data, status=batch.status)
    page = _create_data(request, cluster, namespace)
    page.update(data, yaml=text)
    return render(request, "create.html", page, status=batch.status)
