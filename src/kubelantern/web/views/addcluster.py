"""Add, rename, remove and share clusters from the UI (issue 6; hardened in issue 11).

Only clusters added here can be renamed or removed; those from kubeconfig
files belong to the files. Adding is an operator's decision
(``--add-clusters``: on by default only in desktop mode) and only cluster
admins (``--cluster-admins``) may add or share; the person who added a
cluster and the cluster admins may rename or remove it; everyone else gets a
403 (and a cluster they may not see is a 404). What a pasted kubeconfig may
contain is ``clusters.addpolicy``. Every form is a POST (CSRF-checked by the
middleware) and answers with the clusters page or a JSON twin.
"""

from __future__ import annotations

from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from kubelantern import errors
from kubelantern.auth.admins import AdminRule
from kubelantern.clusters.addpolicy import ALLOW_CHOICES, AddPolicy, AddPolicyError
from kubelantern.clusters.kubeconfig import KubeconfigError
from kubelantern.clusters.runtime import (
    RuntimeClusters,
    RuntimeEntry,
    default_path,
    entry_from_token,
    parse_pasted_kubeconfig,
)
from kubelantern.clusters.store import Cluster, slugify
from kubelantern.clusters.visibility import current_viewer
from kubelantern.settings import Settings
from kubelantern.web.render import render, wants_json
from kubelantern.web.state import AppState, app_state
from kubelantern.web.views.clusters import probe

MAX_FORM_BYTES = 300 * 1024


def adding_on(settings: Settings, *, desktop: bool) -> bool:
    """``--add-clusters``: auto is on in desktop mode only."""
    return settings.add_clusters == "on" or (settings.add_clusters == "auto" and desktop)


def runtime_for(settings: Settings, *, desktop: bool = False) -> RuntimeClusters | None:
    """The store of added clusters, or None where adding is off.

    Adding switched on for a server that names no cluster admin could never be
    used (or, read loosely, would be anyone's), so that stops the start.
    """
    if not adding_on(settings, desktop=desktop):
        return None
    if not AdminRule(settings.cluster_admins, desktop=desktop).names_anyone:
        raise AddPolicyError(
            "--add-clusters on needs --cluster-admins: name the users (or group:NAME) "
            "who may add clusters from the UI"
        )
    if settings.clusters_file:
        return RuntimeClusters(Path(settings.clusters_file).expanduser())
    return RuntimeClusters(None if settings.in_cluster else default_path())


def load_added(state: AppState) -> None:
    """Bring back the clusters added earlier, each checked against today's policy."""
    import logging

    log = logging.getLogger(__name__)
    runtime = state.runtime
    for entry in list(runtime.entries.values()) if runtime else ():
        try:
            state.add_policy.check_document(entry.kubeconfig)
            config = entry.config()
        except KubeconfigError as exc:
            log.warning("skipping the added cluster %s: %s", entry.name, exc)
            continue
        state.clusters.add(
            config, added_by=entry.owner, shared=entry.shared, guard=state.add_policy.allow
        )


def _forbidden(message: str) -> errors.KubelanternError:
    err = errors.KubelanternError(message)
    err.status, err.title = 403, "Not allowed"
    return err


def _runtime(state: AppState) -> RuntimeClusters:
    if state.runtime is None:
        raise _forbidden("Adding clusters from the UI is switched off here (--add-clusters).")
    return state.runtime


def _admin_runtime(state: AppState) -> RuntimeClusters:
    runtime = _runtime(state)
    if not current_viewer.get().admin:
        raise _forbidden(
            "Only cluster admins may add or share clusters here; ask your operator "
            "(--cluster-admins)."
        )
    return runtime


async def add_form(request: Request) -> Response:
    state = app_state(request)
    _admin_runtime(state)
    return render(request, "addcluster.html", _form_data(state, None))


def _form_data(state: AppState, error: str | None) -> dict[str, object]:
    """The form's data: any error, and what this server refuses in a pasted kubeconfig."""
    refused = [a for a in ALLOW_CHOICES if a not in state.add_policy.allow]
    return {"added": [], "error": error, "refused": refused}


def _free_name(state: AppState, wanted: str) -> str:
    taken = state.clusters.slugs()
    name, n = slugify(wanted), 2
    while name in taken:
        name = f"{slugify(wanted)}-{n}"
        n += 1
    return name


def _parse(form: dict[str, str], policy: AddPolicy) -> list[RuntimeEntry]:
    """The entries of the form (resolves host names: run it off the event loop)."""
    kubeconfig = form.get("kubeconfig", "")
    if kubeconfig.strip():
        return parse_pasted_kubeconfig(kubeconfig, policy)
    name = form.get("name", "").strip() or "cluster"
    return [
        entry_from_token(
            name,
            form.get("server", "").strip(),
            form.get("ca", ""),
            form.get("token", ""),
            policy,
        )
    ]


async def add_submit(request: Request) -> Response:
    state = app_state(request)
    runtime = _admin_runtime(state)
    if int(request.headers.get("content-length") or 0) > MAX_FORM_BYTES:
        raise errors.PayloadTooLarge("that form is larger than 300 KiB")
    raw = await request.form()
    form = {k: str(raw.get(k) or "") for k in ("kubeconfig", "name", "server", "ca", "token")}
    policy = state.add_policy
    try:
        entries = await run_in_threadpool(_parse, form, policy)
        room = policy.max_clusters - state.clusters.added_count()
        if len(entries) > room:
            raise KubeconfigError(
                f"at most {policy.max_clusters} clusters may be added here "
                f"({max(room, 0)} more); remove one first (--max-added-clusters)"
            )
    except KubeconfigError as exc:
        return render(request, "addcluster.html", _form_data(state, str(exc)), status=400)
    owner = current_viewer.get().person or ""
    added = []
    for entry in entries:
        entry.name = _free_name(state, entry.name)
        entry.owner = owner
        cluster = state.clusters.add(entry.config(), added_by=owner, guard=policy.allow)
        runtime.add(entry)
        state.health.watch(cluster.slug, cluster.client)
        added.append(await probe(request, cluster))
    if wants_json(request):
        return render(request, "addcluster.html", {"added": added, "error": None})
    return RedirectResponse(f"{state.settings.prefix}/", status_code=303)


def _added(state: AppState, slug: str) -> tuple[RuntimeClusters, Cluster]:
    runtime = _runtime(state)
    cluster = state.clusters.get(slug)  # 404 for unknown clusters, and for unseen ones
    if slug not in runtime.entries or not cluster.added:
        raise errors.BadRequest(
            f"cluster {slug!r} comes from a kubeconfig file; edit that file to change it"
        )
    if not current_viewer.get().manages(cluster.added_by):
        raise _forbidden(
            f"Only the person who added cluster {slug!r} and the cluster admins may change it."
        )
    return runtime, cluster


async def remove_cluster(request: Request) -> Response:
    state = app_state(request)
    slug = request.path_params["cluster"]
    runtime, _ = _added(state, slug)
    runtime.remove(slug)
    state.health.forget(slug)
    await state.clusters.remove(slug)
    if wants_json(request):
        return render(request, "addcluster.html", {"removed": slug, "added": [], "error": None})
    return RedirectResponse(f"{state.settings.prefix}/", status_code=303)


async def _replace(state: AppState, old: str, entry: RuntimeEntry) -> Cluster:
    """Swap the cluster ``old`` for ``entry`` (a new name or sharing changes the client)."""
    state.health.forget(old)
    await state.clusters.remove(old)
    cluster = state.clusters.add(
        entry.config(), added_by=entry.owner, shared=entry.shared, guard=state.add_policy.allow
    )
    state.health.watch(cluster.slug, cluster.client)
    return cluster


async def rename_cluster(request: Request) -> Response:
    state = app_state(request)
    slug = request.path_params["cluster"]
    runtime, _ = _added(state, slug)
    form = await request.form()
    wanted = str(form.get("name") or "").strip()
    if not wanted:
        raise errors.BadRequest("a new name is needed")
    new = _free_name(state, wanted)
    cluster = await _replace(state, slug, runtime.rename(slug, new))
    if wants_json(request):
        return render(
            request, "addcluster.html", {"renamed": cluster.slug, "added": [], "error": None}
        )
    return RedirectResponse(f"{state.settings.prefix}/", status_code=303)


async def share_cluster(request: Request) -> Response:
    """A cluster admin shares an added cluster with everyone (``shared=on``) or stops."""
    state = app_state(request)
    slug = request.path_params["cluster"]
    _admin_runtime(state)
    runtime, cluster = _added(state, slug)
    form = await request.form()
    shared = str(form.get("shared") or "") in ("on", "true", "1")
    entry = runtime.entries[slug]
    entry.shared = shared
    runtime.save()
    cluster.shared = shared
    if wants_json(request):
        data = {"shared": shared, "cluster": slug, "added": [], "error": None}
        return render(request, "addcluster.html", data)
    return RedirectResponse(f"{state.settings.prefix}/", status_code=303)
