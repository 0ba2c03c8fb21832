"""Create (or update) objects from a multi-document YAML, all or nothing.

Every document is checked first (kind served, names present, a server-side
dry run as the person), and nothing is applied unless all pass. Documents are
then applied in order with server-side apply, so pasting a Namespace and the
objects in it, or a CustomResourceDefinition and its custom resources, works:
a document whose namespace or kind comes from an earlier document of the same
text cannot be dry-run before that one exists, so it is marked ``deferred`` and
checked when applied. If an apply fails after others succeeded (a race, a
deferred document that turns out invalid), everything this request did is
undone, newest first, so the cluster is left as it was found: objects it
created are deleted again (only the very object created: a uid precondition),
and objects it updated are put back as they were (``restore``: guarded by
their resourceVersion, never over someone else's change). Each document says
what became of it, and the batch lists the documents whose change could not
be undone.

To know what "as they were" means, each object is read just before its
document is applied, and the apply carries that read's resourceVersion, so
nothing can slip in between the read and the write unnoticed (the API server
answers 409 and the read and apply are repeated).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.requests import Request

from kubelantern import errors, urls
from kubelantern.auth import credentials_for
from kubelantern.clusters.credentials import Credentials
from kubelantern.clusters.discovery import ResourceType
from kubelantern.clusters.store import Cluster
from kubelantern.operate import apply, audit, restore
from kubelantern.operate.yamldoc import Document, parse_documents

MAX_DOCUMENTS = 200
CRD_ESTABLISHED_TIMEOUT = 15.0
APPLY_ATTEMPTS = 3
# What a document's change became after a later document failed: undone, or left in place.
UNDONE = ("rolled back", "restored")
LEFT_APPLIED = ("not deleted", "not restored")


@dataclass
class Item:
    """One document and what happened to it."""

    doc: Document
    api_version: str = ""
    kind: str = ""
    name: str = ""
    namespace: str | None = None
    rt: ResourceType | None = None
    state: str = "pending"  # valid, deferred, created, configured, invalid, refused, failed, ...
    status: int = 0
    message: str = ""
    title: str = ""
    causes: list[dict[str, Any]] = field(default_factory=list)
    line: int | None = None
    url: str | None = None
    before: dict[str, Any] | None = None  # the object just before this request applied it
    after: dict[str, Any] | None = None  # what the apply answered
    unread: str = ""  # why ``before`` could not be read

    @property
    def ok(self) -> bool:
        return self.state in ("valid", "deferred", "created", "configured", "unchanged")

    def fail(self, exc: errors.KubelanternError, state: str | None = None) -> None:
        self.state = state or ("refused" if exc.status in (401, 403) else "invalid")
        self.status = exc.status
        self.title = exc.title
        self.message = exc.message
        if isinstance(exc, errors.ApiError):
            self.causes = list(exc.details.get("causes") or [])
        if isinstance(exc, errors.InvalidYaml) and exc.line:
            self.line = exc.line

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.doc.index + 1,
            "line": self.line or self.doc.line,
            "apiVersion": self.api_version,
            "kind": self.kind,
            "name": self.name,
            "namespace": self.namespace,
            "state": self.state,
            "status": self.status,
            "title": self.title,
            "message": self.message,
            "causes": self.causes,
            "url": self.url,
        }


def _crd_kinds(items: list[Item]) -> dict[tuple[str, str], Item]:
    """(group, kind) defined by CRD documents of this text."""
    out: dict[tuple[str, str], Item] = {}
    for item in items:
        obj = item.doc.obj
        if item.kind == "CustomResourceDefinition" and item.api_version.startswith(
            "apiextensions.k8s.io/"
        ):
            spec = obj.get("spec") or {}
            kind = (spec.get("names") or {}).get("kind")
            if spec.get("group") and kind:
                out[(str(spec["group"]), str(kind))] = item
    return out


async def _check(
    cluster: Cluster,
    creds: Credentials | None,
    item: Item,
    default_namespace: str,
    batch_namespaces: set[str],
    batch_kinds: dict[tuple[str, str], Item],
    force: bool,
) -> None:
    """Resolve the kind, fill the namespace, dry-run; the verdict goes into ``item``."""
    doc, obj = item.doc, item.doc.obj
    if not isinstance(obj, dict):
        item.fail(
            apply.at(doc, f"document {doc.index + 1} is not a mapping", title="Invalid object")
        )
        return
    item.api_version = str(obj.get("apiVersion") or "")
    item.kind = str(obj.get("kind") or "")
    meta = obj.get("metadata")
    if not isinstance(meta, dict) or not meta.get("name"):
        keys = ("metadata",) if isinstance(meta, dict) else ()
        hint = (
            " (generateName is not supported: apply needs a name)"
            if isinstance(meta, dict) and meta.get("generateName")
            else ""
        )
        item.fail(apply.at(doc, f"metadata.name is missing{hint}", title="Missing name", keys=keys))
        return
    item.name = str(meta["name"])
    group = item.api_version.rpartition("/")[0]
    try:
        item.rt = await apply.resolve_kind(cluster, creds, item.api_version, item.kind, doc)
    except errors.InvalidYaml as exc:
        if (group, item.kind) in batch_kinds:
            definer = batch_kinds[(group, item.kind)].doc.index + 1
            item.state = "deferred"
            item.message = f"{item.kind} is defined by document {definer}; checked when applied"
            item.namespace = meta.get("namespace") or default_namespace
            return
        item.fail(exc)
        return
    except errors.KubelanternError as exc:
        item.fail(exc)
        return
    rt = item.rt
    if rt.namespaced:
        item.namespace = str(meta.get("namespace") or default_namespace)
        meta["namespace"] = item.namespace
    elif meta.get("namespace"):
        item.fail(
            apply.at(
                doc,
                f"{item.kind} is cluster-scoped: remove metadata.namespace",
                title="Namespace not allowed",
                keys=("metadata", "namespace"),
            )
        )
        return
    item.url = urls.object_url(cluster, rt, item.namespace, item.name)
    body = apply.prepare(obj, rt, keep_identity=False)
    try:
        status, _ = await apply.server_side_apply(
            cluster, creds, rt, body, dry_run=True, force=force, doc=doc
        )
    except errors.NotFound as exc:
        if item.namespace in batch_namespaces and "namespaces" in exc.message:
            item.state = "deferred"
            item.message = (
                f"namespace {item.namespace} is created by this text; checked when applied"
            )
            return
        item.fail(exc)
        return
    except errors.KubelanternError as exc:
        item.fail(exc)
        return
    item.state, item.status = "valid", status
    item.message = "will be created" if status == 201 else "will be updated"


async def _wait_established(cluster: Cluster, creds: Credentials | None, name: str) -> None:
    """After applying a CRD: wait until its kind is served, then refresh discovery."""
    deadline = time.monotonic() + CRD_ESTABLISHED_TIMEOUT
    while time.monotonic() < deadline:
        crd = await cluster.client.json(
            "GET",
            f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}",
            credentials=creds,
        )
        conditions = (crd.get("status") or {}).get("conditions") or []
        if any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions):
            cluster.discovery.invalidate()
            return
        await asyncio.sleep(0.2)
    raise errors.ClusterTimeout(
        f"CustomResourceDefinition {name} was not established within {CRD_ESTABLISHED_TIMEOUT:g} s",
        cluster=cluster.slug,
    )


async def _apply_one(
    log: audit.Audit,
    request: Request,
    cluster: Cluster,
    creds: Credentials | None,
    item: Item,
    force: bool,
) -> None:
    obj = item.doc.obj
    if item.rt is None:  # deferred kind: its CRD was applied just before
        item.rt = await apply.resolve_kind(cluster, creds, item.api_version, item.kind, item.doc)
        if item.rt.namespaced:
            obj.setdefault("metadata", {})["namespace"] = item.namespace
        else:
            item.namespace = None
        item.url = urls.object_url(cluster, item.rt, item.namespace, item.name)
    rt = item.rt
    async with log.audited(
        request, cluster, verb="apply", resource=rt.name, namespace=item.namespace, name=item.name
    ) as note:
        status = await _read_and_apply(cluster, creds, item, rt, force)
        item.status = status
        item.state = "created" if status == 201 else "configured"
        if status != 201 and _no_change(item):
            item.state = "unchanged"
        item.message = item.state
        note.status, note.message, note.url = status, item.state, item.url
    if rt.name == "customresourcedefinitions.apiextensions.k8s.io":
        await _wait_established(cluster, creds, item.name)


def _no_change(item: Item) -> bool:
    """The apply left the object's content as it was (a no-op, or only bookkeeping)."""
    if item.before is None or item.after is None:
        return False
    return not restore.changes(restore.content(item.before), restore.content(item.after))


async def _read_and_apply(
    cluster: Cluster, creds: Credentials | None, item: Item, rt: ResourceType, force: bool
) -> int:
    """Read the object as it is, then apply the document on exactly that version.

    The read is what a rollback restores; the apply carries its resourceVersion,
    so a change in between makes the API server refuse (409) and both are repeated.
    """
    path = rt.path(item.namespace, item.name)
    for attempt in range(1, APPLY_ATTEMPTS + 1):
        item.before, item.unread = None, ""
        try:
            item.before = await cluster.client.json("GET", path, credentials=creds)
        except errors.NotFound:
            pass
        except errors.KubelanternError as exc:
            item.unread = exc.message  # e.g. may patch but not get: applied, not restorable
        body = apply.prepare(item.doc.obj, rt, keep_identity=False)
        if item.before is not None:
            rv = (item.before.get("metadata") or {}).get("resourceVersion")
            body.setdefault("metadata", {})["resourceVersion"] = rv
        try:
            status, item.after = await apply.server_side_apply(
                cluster, creds, rt, body, dry_run=False, force=force, doc=item.doc
            )
        except apply.StaleEdit:
            if attempt == APPLY_ATTEMPTS:
                raise
            continue
        return status
    raise AssertionError("unreachable")


async def _delete_created(
    log: audit.Audit, request: Request, cluster: Cluster, creds: Credentials | None, item: Item
) -> None:
    """Delete an object this request created (that very object: its uid is a precondition)."""
    assert item.rt is not None
    uid = ((item.after or {}).get("metadata") or {}).get("uid")
    body = {"kind": "DeleteOptions", "apiVersion": "v1", "preconditions": {"uid": uid}}
    try:
        async with log.audited(
            request,
            cluster,
            verb="delete",
            resource=item.rt.name,
            namespace=item.namespace,
            name=item.name,
        ) as note:
            await cluster.client.request(
                "DELETE",
                item.rt.path(item.namespace, item.name),
                credentials=creds,
                headers={"Content-Type": "application/json"},
                content=orjson.dumps(body if uid else {}),
                verb="delete",
                resource=item.rt.name,
                namespace=item.namespace,
            )
            note.message = "rolled back: a later document failed"
        item.state, item.message = (
            "rolled back",
            "created, then deleted again because a later document failed",
        )
    except errors.NotFound:
        item.state, item.message = "rolled back", "created, and deleted by someone else meanwhile"
    except errors.KubelanternError as exc:
        item.state = "not deleted"
        item.message = f"created, and could not be deleted again: {exc.message}"


async def _put_back(
    log: audit.Audit, request: Request, cluster: Cluster, creds: Credentials | None, item: Item
) -> None:
    """Restore an object this request updated, as ``restore`` explains."""
    assert item.rt is not None
    if item.before is None or item.after is None:
        why = (
            f"reading it before the update was refused ({item.unread})"
            if item.unread
            else "someone else created it while this request ran"
        )
        item.state, item.message = "not restored", f"updated, and not put back: {why}"
        return
    async with log.audited(
        request,
        cluster,
        verb="restore",
        resource=item.rt.name,
        namespace=item.namespace,
        name=item.name,
    ) as note:
        outcome = await restore.put_back(
            cluster,
            creds,
            item.rt,
            item.namespace,
            item.name,
            before=item.before,
            after=item.after,
        )
        note.message = outcome.message
    item.state, item.message = outcome.state, outcome.message


async def _roll_back(
    log: audit.Audit,
    request: Request,
    cluster: Cluster,
    creds: Credentials | None,
    items: list[Item],
) -> None:
    """Undo what this request did, newest first: delete what it created, restore what it updated."""
    for item in reversed(items):
        if item.rt is None:
            continue
        if item.state == "created":
            await _delete_created(log, request, cluster, creds, item)
        elif item.state == "configured":
            await _put_back(log, request, cluster, creds, item)
        elif item.state == "unchanged":
            item.message = "unchanged by this request: nothing to put back"


@dataclass
class Batch:
    """The verdict on a whole text."""

    items: list[Item]
    applied: bool
    dry_run: bool

    @property
    def ok(self) -> bool:
        return all(i.ok for i in self.items)

    @property
    def left_applied(self) -> list[int]:
        """Documents (1-based) whose change a rollback could not undo."""
        return [i.doc.index + 1 for i in self.items if i.state in LEFT_APPLIED]

    @property
    def rolled_back(self) -> bool:
        return any(i.state in UNDONE or i.state in LEFT_APPLIED for i in self.items)

    @property
    def status(self) -> int:
        """201 if something was created, 200 if fine, else the first failure's status."""
        failed = [i for i in self.items if not i.ok and i.status >= 400]
        if failed:
            return failed[0].status
        if not self.ok:
            return 422
        return 201 if any(i.state == "created" for i in self.items) else 200

    def to_dict(self) -> dict[str, Any]:
        return {
            "applied": self.applied,
            "dryRun": self.dry_run,
            "ok": self.ok,
            "rolledBack": self.rolled_back,
            "leftApplied": self.left_applied,
            "documents": [i.to_dict() for i in self.items],
        }


async def create(
    log: audit.Audit,
    request: Request,
    cluster: Cluster,
    text: str,
    *,
    default_namespace: str,
    dry_run: bool,
    force: bool = False,
) -> Batch:
    """Check every document, then (unless ``dry_run``) apply them all in order.

    Every write is recorded in ``log`` (the app's ``AppState.audit``).
    """
    creds = credentials_for(request, cluster)
    docs = parse_documents(text)
    if not docs:
        raise errors.InvalidYaml("The YAML holds no document.", line=1, column=1)
    if len(docs) > MAX_DOCUMENTS:
        raise errors.BadRequest(f"At most {MAX_DOCUMENTS} documents at once, not {len(docs)}.")
    items = [Item(doc=d) for d in docs]
    for item in items:
        if isinstance(item.doc.obj, dict):
            item.api_version = str(item.doc.obj.get("apiVersion") or "")
            item.kind = str(item.doc.obj.get("kind") or "")
    batch_kinds = _crd_kinds(items)
    batch_namespaces = {
        str((i.doc.obj.get("metadata") or {}).get("name"))
        for i in items
        if i.kind == "Namespace" and i.api_version == "v1"
    }
    await asyncio.gather(
        *(
            _check(cluster, creds, i, default_namespace, batch_namespaces, batch_kinds, force)
            for i in items
        )
    )
    seen: dict[tuple[str, str, str | None, str], Item] = {}
    for item in items:
        key = (item.api_version.rpartition("/")[0], item.kind, item.namespace, item.name)
        if item.ok and key in seen:
            item.fail(
                apply.at(
                    item.doc,
                    f"{item.kind} {item.name} is also document {seen[key].doc.index + 1}",
                    title="Duplicate object",
                )
            )
        seen.setdefault(key, item)
    if dry_run or not all(i.ok for i in items):
        for item in items:
            if item.ok and not dry_run:
                item.message = f"{item.message}; not applied: another document has a problem"
        return Batch(items, applied=False, dry_run=dry_run)
    done: list[Item] = []
    for item in items:
        try:
            await _apply_one(log, request, cluster, creds, item, force)
        except errors.KubelanternError as exc:
            item.fail(exc, state="failed")
            for rest in items[items.index(item) + 1 :]:
                rest.state, rest.message = "not applied", "not applied: an earlier document failed"
            await _roll_back(log, request, cluster, creds, done)
            return Batch(items, applied=False, dry_run=False)
        done.append(item)
    return Batch(items, applied=True, dry_run=False)
