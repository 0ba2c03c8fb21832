"""Add, rename and remove clusters from the UI (issue 6).

Only clusters added here can be renamed or removed; those from kubeconfig
files belong to the files. Every form is a POST (CSRF-checked by the
middleware) and answers with the clusters page or a JSON twin.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from kubelantern import errors
from kubelantern.clusters.kubeconfig import KubeconfigError
from kubelantern.clusters.runtime import (
    RuntimeClusters,
    RuntimeEntry,
    default_path,
    entry_from_token,
    parse_pasted_kubeconfig,
)
from kubelantern.clusters.store import slugify
from kubelantern.settings import Settings
from kubelantern.web.render import render, wants_json
from kubelantern.web.state import AppState, app_state
from kubelantern.web.views.clusters import probe

MAX_FORM_BYTES = 300 * 1024


def runtime_for(settings: Settings) -> RuntimeClusters | None:
    """The store of added clusters, or None where adding is not allowed."""
    allowed = settings.add_clusters == "on" or (
        settings.add_clusters == "auto" and not settings.in_cluster
    )
    if not allowed:
        return None
    if settings.clusters_file:
        return RuntimeClusters(Path(settings.clusters_file).expanduser())
    return RuntimeClusters(None if settings.in_cluster else default_path())


def _runtime(state: AppState) -> RuntimeClusters:
    if state.runtime is None:
        err = errors.KubelanternError(
            "Adding clusters from the UI is switched off here (--add-clusters)."
        )
        err.status, err.title = 403, "Not allowed"
        raise err
    return state.runtime


async def add_form(request: Request) -> Response:
    state = app_state(request)
    _runtime(state)
    return render(request, "addcluster.html", {"added": [], "error": None})


def _free_name(state: AppState, wanted: str) -> str:
    taken = {c.slug for c in state.clusters}
    name, n = slugify(wanted), 2
    while name in taken:
        name = f"{slugify(wanted)}-{n}"
        n += 1
    return name


async def add_submit(request: Request) -> Response:
    state = app_state(request)
    runtime = _runtime(state)
    if int(request.headers.get("content-length") or 0) > MAX_FORM_BYTES:
        raise errors.PayloadTooLarge("that form is larger than 300 KiB")
    form = await request.form()
    kubeconfig = str(form.get("kubeconfig") or "")
    try:
        if kubeconfig.strip():
            entries = parse_pasted_kubeconfig(kubeconfig)
        else:
            name = str(form.get("name") or "").strip() or "cluster"
            entries = [
                entry_from_token(
                    name,
                    str(form.get("server") or "").strip(),
                    str(form.get("ca") or ""),
                    str(form.get("token") or ""),
                )
            ]
    except KubeconfigError as exc:
        data = {"added": [], "error": str(exc)}
        return render(request, "addcluster.html", data, status=400)
    added = []
    for entry in entries:
        entry.name = _free_name(state, entry.name)
        cluster = state.clusters.add(entry.config())
        runtime.add(RuntimeEntry(name=cluster.slug, kubeconfig=entry.kubeconfig))
        state.health.watch(cluster.slug, cluster.client)
        added.append(await probe(request, cluster))
    if wants_json(request):
        return render(request, "addcluster.html", {"added": added, "error": None})
    return RedirectResponse(f"{state.settings.prefix}/", status_code=303)


def _added(state: AppState, slug: str) -> RuntimeClusters:
    runtime = _runtime(state)
    state.clusters.get(slug)  # 404 for unknown clusters
    if slug not in runtime.entries:
        raise errors.BadRequest(
            f"cluster {slug!r} comes from a kubeconfig file; edit that file to change it"
        )
    return runtime


async def remove_cluster(request: Request) -> Response:
    state = app_state(request)
    slug = request.path_params["cluster"]
    runtime = _added(state, slug)
    runtime.remove(slug)
    state.health.forget(slug)
    await state.clusters.remove(slug)
    if wants_json(request):
        return render(request, "addcluster.html", {"removed": slug, "added": [], "error": None})
    return RedirectResponse(f"{state.settings.prefix}/", status_code=303)


async def rename_cluster(request: Request) -> Response:
    state = app_state(request)
    slug = request.path_params["cluster"]
    runtime = _added(state, slug)
    form = await request.form()
    wanted = str(form.get("name") or "").strip()
    if not wanted:
        raise errors.BadRequest("a new name is needed")
    new = _free_name(state, wanted)
    entry = runtime.rename(slug, new)
    state.health.forget(slug)
    await state.clusters.remove(slug)
    cluster = state.clusters.add(entry.config())
    state.health.watch(cluster.slug, cluster.client)
    if wants_json(request):
        return render(
            request, "addcluster.html", {"renamed": cluster.slug, "added": [], "error": None}
        )
    return RedirectResponse(f"{state.settings.prefix}/", status_code=303)
