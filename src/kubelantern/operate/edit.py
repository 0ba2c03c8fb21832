"""Edit one object: load it, review a change (diff + dry run), apply it.

The editor keeps the resourceVersion it started from. Before a review or an
apply the live object is read again: if its resourceVersion moved and what a
person edits (everything but status and bookkeeping, see ``editable_view``)
differs from the text the editor started from, the edit is stale and refused
with ``StaleEdit`` (409). If only status moved (a controller reporting
progress), the edit goes on against the new version. Either way the apply body
carries a resourceVersion, so a change between our read and our write is
refused by the API server itself: nothing is silently overwritten.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from kubelantern import errors
from kubelantern.clusters.credentials import Credentials
from kubelantern.clusters.discovery import ResourceType
from kubelantern.clusters.store import Cluster
from kubelantern.operate import apply
from kubelantern.operate.yamldoc import Document, parse_documents, require_object, to_yaml


@dataclass
class Target:
    """The object the editor was opened on."""

    rt: ResourceType
    namespace: str | None
    name: str


async def get_live(
    cluster: Cluster, credentials: Credentials | None, target: Target
) -> dict[str, Any]:
    response = await cluster.client.request(
        "GET",
        target.rt.path(target.namespace, target.name),
        credentials=credentials,
        verb="get",
        resource=target.rt.name,
        namespace=target.namespace,
    )
    data = orjson.loads(response.content)
    if not isinstance(data, dict):
        raise errors.KubelanternError("the API server sent something that is not an object")
    return data


def editor_text(live: dict[str, Any]) -> str:
    return to_yaml(apply.for_display(live))


def parse_edit(text: str, target: Target) -> tuple[Document, dict[str, Any]]:
    """The one document of the editor, refused if it names another object."""
    if not text.strip():
        raise errors.InvalidYaml("The YAML is empty.", line=1, column=1)
    docs = parse_documents(text)
    if len(docs) != 1:
        line = docs[1].line if len(docs) > 1 else 1
        raise errors.InvalidYaml(
            f"The editor holds {len(docs)} documents; it edits exactly one object. "
            "Use Create for several.",
            line=line,
            column=1,
        )
    doc = docs[0]
    obj = require_object(doc)
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        raise apply.at(doc, "metadata is missing or not a mapping", title="Invalid object")
    if obj.get("kind") != target.rt.kind:
        raise apply.at(
            doc,
            f"kind must stay {target.rt.kind}: the editor changes this object, it cannot "
            "turn it into another kind.",
            title="Kind changed",
            keys=("kind",),
        )
    if meta.get("name") != target.name:
        raise apply.at(
            doc,
            f"metadata.name must stay {target.name!r}; to copy the object under another "
            "name, use Create.",
            title="Name changed",
            keys=("metadata", "name"),
        )
    if target.rt.namespaced:
        ns = meta.setdefault("namespace", target.namespace)
        if ns != target.namespace:
            raise apply.at(
                doc,
                f"metadata.namespace must stay {target.namespace!r}.",
                title="Namespace changed",
                keys=("metadata", "namespace"),
            )
    return doc, obj


async def _kind_for(
    cluster: Cluster,
    credentials: Credentials | None,
    target: Target,
    obj: dict[str, Any],
    doc: Document,
) -> ResourceType:
    """The resource of the edited text's apiVersion (may be another version of the kind)."""
    api_version = obj.get("apiVersion")
    if api_version == target.rt.api_version:
        return target.rt
    rt = await apply.resolve_kind(cluster, credentials, str(api_version or ""), target.rt.kind, doc)
    if rt.group != target.rt.group:
        raise apply.at(
            doc,
            f"apiVersion must stay in API group {target.rt.group or 'core'}",
            title="Wrong apiVersion",
            keys=("apiVersion",),
        )
    return rt


def base_version(obj: dict[str, Any], given: str | None) -> str | None:
    """The resourceVersion the edit started from: the field sent, else the text's own."""
    if given:
        return given
    rv = (obj.get("metadata") or {}).get("resourceVersion")
    return str(rv) if rv else None


def merge_patch(before: Any, after: Any) -> Any:
    """The JSON merge patch (RFC 7386) that turns ``before`` into ``after``."""
    if not (isinstance(before, dict) and isinstance(after, dict)):
        return after
    patch: dict[str, Any] = {}
    for key in before.keys() | after.keys():
        if key not in after:
            patch[key] = None
        elif key not in before:
            patch[key] = after[key]
        elif before[key] != after[key]:
            both_maps = isinstance(before[key], dict) and isinstance(after[key], dict)
            patch[key] = merge_patch(before[key], after[key]) if both_maps else after[key]
    return patch


def apply_merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = apply_merge_patch(out.get(key), value)
    return out


def _paths(patch: dict[str, Any], prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    out: set[tuple[str, ...]] = set()
    for key, value in patch.items():
        if isinstance(value, dict) and value:
            out |= _paths(value, (*prefix, key))
        else:
            out.add((*prefix, key))
    return out


def _overlap(ours: set[tuple[str, ...]], theirs: set[tuple[str, ...]]) -> bool:
    """Whether a field we change is, contains, or lies inside one they changed."""
    return any(a[: len(b)] == b or b[: len(a)] == a for a in ours for b in theirs)


def rebase(
    live: dict[str, Any],
    edited: dict[str, Any],
    base_rv: str | None,
    original: str | None,
    cluster: Cluster,
    *,
    overwrite: bool = False,
) -> tuple[str | None, dict[str, Any]]:
    """The resourceVersion and object to apply, or ``StaleEdit`` if the edit is stale.

    Unchanged since the editor loaded: the text as it is. Changed, but only in
    status or in fields the person did not touch (a controller's annotation, a
    label someone added): the person's changes (original -> text, as a merge
    patch) replayed on the live object, so the other change is kept, not
    reverted. Changed where the person changed too, or no original to compare
    with: stale, refused, unless ``overwrite`` (the person saw the other change
    and wants theirs to win where both changed).
    """
    live_rv = str((live.get("metadata") or {}).get("resourceVersion") or "")
    if base_rv is None or base_rv == live_rv:
        return base_rv, edited
    docs: list[Any] = []
    if original:
        try:
            docs = parse_documents(original)
        except errors.InvalidYaml:
            docs = []
    if len(docs) != 1 or not isinstance(docs[0].obj, dict):
        if overwrite:
            return live_rv, edited
        raise stale_error(live, cluster)
    start = apply.editable_view(docs[0].obj)
    ours = merge_patch(start, apply.editable_view(edited))
    theirs = merge_patch(start, apply.editable_view(live))
    if not overwrite and _overlap(_paths(ours), _paths(theirs)):
        raise stale_error(live, cluster)
    rebased = apply_merge_patch(apply.editable_view(live), ours)
    if "status" in live:
        rebased["status"] = live["status"]
    return live_rv, rebased


def stale_error(live: dict[str, Any] | None, cluster: Cluster) -> apply.StaleEdit:
    rv = (live or {}).get("metadata", {}).get("resourceVersion")
    return apply.StaleEdit(
        "The object was changed since you loaded it"
        + (f" (it is now at resourceVersion {rv})" if rv else "")
        + ". Your text is kept: review what changed, then apply on top of the new "
        "version, or reload.",
        live=live,
        cluster=cluster.slug,
    )


@dataclass
class Outcome:
    """What a review or an apply found; ``to_dict`` is the JSON answer."""

    live: dict[str, Any]
    result: dict[str, Any]
    status: int
    diff: str
    server_diff: str
    conflicts: list[dict[str, Any]]
    resource_version: str | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "diff": self.diff,
            "serverDiff": self.server_diff,
            "changed": bool(self.server_diff),
            "conflicts": self.conflicts,
            "needsForce": bool(self.conflicts),
            "resourceVersion": self.resource_version,
            "liveYaml": editor_text(self.live),
        }


RACE_RETRIES = 3


async def _apply_or_review(
    cluster: Cluster,
    credentials: Credentials | None,
    rt: ResourceType,
    body: dict[str, Any],
    doc: Document,
    *,
    dry_run: bool,
    force: bool,
) -> tuple[int, dict[str, Any], list[dict[str, Any]]]:
    try:
        status, result = await apply.server_side_apply(
            cluster, credentials, rt, body, dry_run=dry_run, force=force, doc=doc
        )
        return status, result, []
    except apply.StaleEdit:
        raise
    except errors.Conflict as exc:
        if not dry_run:
            raise
        # A review shows the conflicts and still validates: the dry run again, forced.
        conflicts = list(exc.details.get("causes") or [])
        status, result = await apply.server_side_apply(
            cluster, credentials, rt, body, dry_run=True, force=True, doc=doc
        )
        return status, result, conflicts


def _bookkeeping_free(obj: dict[str, Any]) -> str:
    shown = apply.for_display(obj)
    meta = dict(shown.get("metadata") or {})
    meta.pop("resourceVersion", None)
    return to_yaml({**shown, "metadata": meta})


async def run(
    cluster: Cluster,
    credentials: Credentials | None,
    target: Target,
    text: str,
    *,
    resource_version: str | None,
    original: str | None,
    dry_run: bool,
    force: bool,
    overwrite: bool = False,
) -> Outcome:
    """Review (``dry_run``) or apply the editor's text to the target object."""
    doc, obj = parse_edit(text, target)
    rt = await _kind_for(cluster, credentials, target, obj, doc)
    base_rv = base_version(obj, resource_version)
    edited = obj
    for attempt in range(1, RACE_RETRIES + 1):
        live = await get_live(cluster, credentials, target)
        use_rv, obj = rebase(live, edited, base_rv, original, cluster, overwrite=overwrite)
        body = apply.prepare(obj, rt, keep_identity=True)
        meta = body["metadata"]
        if use_rv:
            meta["resourceVersion"] = use_rv
        else:
            meta.pop("resourceVersion", None)
        try:
            status, result, conflicts = await _apply_or_review(
                cluster, credentials, rt, body, doc, dry_run=dry_run, force=force
            )
            break
        except apply.StaleEdit:
            # Changed between our read and our write (often a controller's status
            # update): read again; rebase decides whether the change matters.
            if attempt == RACE_RETRIES:
                raise stale_error(await get_live(cluster, credentials, target), cluster) from None
    diff = apply.unified_diff(editor_text(live), to_yaml(obj), "live", "edited")  # rebased
    server_diff = apply.unified_diff(
        _bookkeeping_free(live), _bookkeeping_free(result), "live", "after apply"
    )
    new_rv = (result.get("metadata") or {}).get("resourceVersion")
    return Outcome(
        live=live if dry_run else result,
        result=result,
        status=status,
        diff=diff,
        server_diff=server_diff,
        conflicts=conflicts,
        resource_version=str(new_rv) if not dry_run and new_rv else use_rv,
    )
