"""The Helm section: ``/c/<cluster>/helm`` and ``/c/<cluster>/namespaces/<ns>/helm/<release>``.

Releases are read from Helm's storage Secrets with the person's credentials
(``kubelantern.helm.storage``); rollback, upgrade and uninstall run the helm
binary as that person (``kubelantern.helm.runner``), audited like every
other write. Without a helm binary the pages are read-only and say why.
"""

from __future__ import annotations

import asyncio
import difflib
from typing import Any
from urllib.parse import urlencode

import yaml
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from kubelantern import errors, urls
from kubelantern.auth.access import Check
from kubelantern.clusters.credentials import Credentials
from kubelantern.clusters.store import Cluster
from kubelantern.helm import runner, storage
from kubelantern.helm.release import (
    OwnedObject,
    Release,
    chart_files,
    manifest_objects,
    to_yaml,
)
from kubelantern.operate.inputs import integer, read_fields
from kubelantern.operate.readonly import ensure_writable, is_read_only
from kubelantern.web.context import cluster_context
from kubelantern.web.nav import nav_context, selected_namespaces
from kubelantern.web.render import render, wants_json
from kubelantern.web.state import app_state

ACTIONS = ("rollback", "upgrade", "uninstall")
MAX_OWNED_LOOKUPS = 100


def release_url(cluster: str, namespace: str, name: str) -> str:
    return urls.helm_url(cluster, namespace, name)


def helm_state(request: Request) -> dict[str, Any]:
    configured = app_state(request).settings.helm_binary
    binary = runner.find_binary(configured)
    return {
        "available": binary is not None,
        "reason": "" if binary else runner.unavailable_reason(configured),
    }


async def list_view(request: Request, cluster: Cluster, namespace: str | None) -> Response:
    ctx = cluster_context(request, cluster)
    creds = ctx.credentials
    namespaces = selected_namespaces(request, cluster, namespace)
    data: dict[str, Any] = {
        "clusterName": cluster.slug,
        "namespace": namespace,
        "namespaces": namespaces,
        "releases": [],
        "failures": {},
        "refused": "",
        "helm": helm_state(request),
        "readOnly": is_read_only(app_state(request).settings, cluster),
    }
    status = 200
    try:
        found = await storage.list_releases(cluster.client, creds, namespaces, ctx.known_namespaces)
    except storage.SecretsRefused as exc:
        data["refused"] = exc.message
        status = 403
    else:
        data["namespaces"] = found.namespaces
        data["failures"] = found.failures
        data["releases"] = [
            {**r.summary(), "url": release_url(cluster.slug, r.namespace, r.name)}
            for r in found.releases
        ]
    context = None
    if not wants_json(request):
        context = {"nav": await nav_context(request, cluster, namespace, "helm")}
    return render(request, "helm_list.html", data, status=status, context=context)


async def _live_status(
    cluster: Cluster, creds: Credentials | None, obj: OwnedObject
) -> dict[str, Any]:
    """Where the object's page is and how it is doing now (missing, ready, ...)."""
    found = (await cluster.discovery.get(creds)).by_kind(obj.api_version, obj.kind)
    out: dict[str, Any] = {
        "apiVersion": obj.api_version,
        "kind": obj.kind,
        "name": obj.name,
        "namespace": obj.namespace if found is None or found.namespaced else None,
        "url": None,
        "status": "unknown kind",
    }
    if found is None:
        return out
    namespace = obj.namespace if found.namespaced else None
    out["url"] = urls.object_url(cluster, found, namespace, obj.name)
    try:
        live = await cluster.client.json(
            "GET", found.path(namespace, obj.name), credentials=creds, verb="get"
        )
    except errors.NotFound:
        out["status"] = "missing"
        return out
    except errors.KubelanternError as exc:
        out["status"] = "not readable" if exc.status == 403 else "unknown"
        return out
    out["status"] = status_of(live)
    return out


def status_of(obj: dict[str, Any]) -> str:
    """A one-word health of a live object: workloads by ready replicas, others by phase."""
    status = obj.get("status") or {}
    spec = obj.get("spec") or {}
    if obj.get("kind") in ("Deployment", "StatefulSet", "ReplicaSet"):
        want = spec.get("replicas", 1)
        ready = status.get("readyReplicas", 0)
        return f"{ready}/{want} ready"
    if obj.get("kind") == "DaemonSet":
        return f"{status.get('numberReady', 0)}/{status.get('desiredNumberScheduled', 0)} ready"
    if status.get("phase"):
        return str(status["phase"])
    for cond in status.get("conditions") or []:
        if cond.get("type") in ("Ready", "Available", "Established", "Complete"):
            return cond["type"] if cond.get("status") == "True" else f"not {cond['type']}"
    return "present"


def _diff(old: str, new: str, old_name: str, new_name: str) -> str:
    lines = difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), old_name, new_name
    )
    return "".join(lines)


def _pick(revisions: list[Release], wanted: str, label: str) -> Release:
    try:
        number = int(wanted)
    except ValueError:
        raise errors.BadRequest(f"{label} must be a revision number") from None
    for rel in revisions:
        if rel.revision == number:
            return rel
    have = ", ".join(str(r.revision) for r in revisions)
    raise errors.BadRequest(f"there is no revision {number} (revisions: {have})")


async def _permissions(
    request: Request, cluster: Cluster, namespace: str, helm: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """The buttons: helm must be there, and RBAC must let this person write releases.

    Helm records every change as a new release Secret (and uninstall deletes
    them), so that is the permission asked for; the objects of the chart are
    checked by the API server when helm applies them.
    """
    if not helm["available"]:
        reason = f"Helm is not available: {helm['reason']}"
        return {a: {"allowed": False, "reason": reason} for a in ACTIONS}
    decisions = await cluster_context(request, cluster).permissions(
        {
            verb: Check(verb, "secrets", namespace=namespace)
            for verb in ("create", "update", "delete")
        },
    )

    def first_denied(*verbs: str) -> dict[str, Any]:
        for verb in verbs:
            if not decisions[verb].allowed:
                return decisions[verb].to_dict()
        return {"allowed": True, "reason": ""}

    # A new revision is a new Secret, and the old one is marked superseded;
    # uninstall marks the release uninstalling, then deletes its Secrets.
    return {
        "rollback": first_denied("create", "update"),
        "upgrade": first_denied("create", "update"),
        "uninstall": first_denied("update", "delete"),
    }


async def release_view(request: Request, cluster: Cluster, namespace: str, name: str) -> Response:
    runner.check_names(namespace, name)
    creds = cluster_context(request, cluster).credentials
    q = request.query_params
    try:
        revisions = await storage.history(cluster.client, creds, namespace, name)
    except errors.NotFound as exc:
        exc.cluster = cluster.slug
        raise
    current = revisions[-1]
    shown = _pick(revisions, q["revision"], "revision") if q.get("revision") else current
    owned = manifest_objects(shown.manifest, namespace)[:MAX_OWNED_LOOKUPS]
    objects = await asyncio.gather(*(_live_status(cluster, creds, o) for o in owned))
    diff: dict[str, Any] | None = None
    if q.get("from") or q.get("to"):
        old = _pick(revisions, q.get("from", str(max(current.revision - 1, 1))), "from")
        new = _pick(revisions, q.get("to", str(current.revision)), "to")
        diff = {
            "from": old.revision,
            "to": new.revision,
            "values": _diff(
                to_yaml(old.values),
                to_yaml(new.values),
                f"values v{old.revision}",
                f"values v{new.revision}",
            ),
            "manifest": _diff(
                old.manifest,
                new.manifest,
                f"manifest v{old.revision}",
                f"manifest v{new.revision}",
            ),
        }
    helm = helm_state(request)
    read_only = is_read_only(app_state(request).settings, cluster)
    base = release_url(cluster.slug, namespace, name)
    data: dict[str, Any] = {
        "clusterName": cluster.slug,
        "namespace": namespace,
        "release": current.summary(),
        "shown": {
            **shown.summary(),
            "chartName": shown.chart_name,
            "chartVersion": shown.chart_version,
            "notes": shown.notes,
            "manifest": shown.manifest,
            "values": shown.values,
            "computedValues": shown.computed_values,
            "valuesYaml": to_yaml(shown.values),
            "computedValuesYaml": to_yaml(shown.computed_values),
        },
        "history": [
            {**r.summary(), "url": base + "?" + urlencode({"revision": r.revision})}
            for r in reversed(revisions)
        ],
        "objects": objects,
        "diff": diff,
        "helm": helm,
        "readOnly": read_only,
        "actions": {} if read_only else await _permissions(request, cluster, namespace, helm),
        "releaseUrl": base,
        "done": q.get("done", ""),
    }
    context = None
    if not wants_json(request):
        context = {"nav": await nav_context(request, cluster, namespace, "helm")}
    return render(request, "helm_release.html", data, context=context)


async def post(
    request: Request, cluster: Cluster, namespace: str, name: str, action: str
) -> Response:
    """POST …/helm/<release>/{rollback,upgrade,uninstall}: run helm as this person."""
    state = app_state(request)
    ensure_writable(state.settings, cluster)
    if action not in ACTIONS:
        raise errors.BadRequest(f"unknown Helm action {action!r} (one of {', '.join(ACTIONS)})")
    runner.check_names(namespace, name)
    fields = await read_fields(request)
    creds = cluster_context(request, cluster).credentials
    binary = runner.find_binary(state.settings.helm_binary)
    base = release_url(cluster.slug, namespace, name)
    async with app_state(request).audit.audited(
        request,
        cluster,
        verb=f"helm {action}",
        resource="helm releases",
        namespace=namespace,
        name=name,
    ) as note:
        if binary is None:
            raise runner.HelmUnavailable(
                f"Helm is not available: {runner.unavailable_reason(state.settings.helm_binary)}",
                cluster=cluster.slug,
            )
        revisions = await storage.history(cluster.client, creds, namespace, name)
        if action == "rollback":
            target = integer(fields, "revision", default=max(revisions[-1].revision - 1, 1))
            _pick(revisions, str(target), "revision")
            args = ["rollback", "--namespace", namespace, "--", name, str(target)]
            note.message = f"Rolled back {name} to revision {target}"
            files: dict[str, bytes] = {}
        elif action == "uninstall":
            args = ["uninstall", "--namespace", namespace, "--", name]
            note.message = f"Uninstalled {name}"
            files = {}
        else:
            text = str(fields.get("values", ""))
            try:
                values = yaml.safe_load(text) if text.strip() else {}
            except yaml.YAMLError as exc:
                raise errors.BadRequest(f"the values are not valid YAML: {exc}") from None
            if not isinstance(values, dict):
                raise errors.BadRequest("values must be a YAML mapping")
            files = {f"chart/{p}": c for p, c in chart_files(revisions[-1].chart_doc).items()}
            files["values.yaml"] = to_yaml(values).encode() or b"{}\n"
            args = [
                "upgrade", "--namespace", namespace, "--values", "{dir}/values.yaml",
                "--", name, "{dir}/chart",
            ]  # fmt: skip
            note.message = f"Upgraded {name} with new values"
        await runner.run(binary, cluster, creds, args, files=files)
        note.url = None if action == "uninstall" else base
    result = {"action": action, "result": "ok", "message": note.message, "url": note.url}
    if wants_json(request):
        return render(request, "_action_result.html", result)
    where = urls.helm_url(cluster, namespace) if action == "uninstall" else base
    return RedirectResponse(state.settings.prefix + where + f"?done={action}", status_code=303)
