"""Server-side apply with the person's credentials, and the API server's answers explained.

Every edit and every created document goes through ``server_side_apply``:
``PATCH <object>?fieldManager=kubelantern&fieldValidation=Strict`` with
``application/apply-patch+yaml``, first with ``dryRun=All``. Strict field
validation turns a misspelt field into an error instead of silently dropping
it. The answers are reshaped so a person can act on them:

* a schema error (the API server answers 500 "failed to create typed patch
  object", one ``.path: problem`` per line) becomes 422 Invalid with one cause
  per field;
* a conflict with other field managers (409, causes ``FieldManagerConflict``)
  names each manager and field, and can be overridden with ``force``;
* "the object has been modified" (409, the resourceVersion precondition)
  becomes ``StaleEdit``: someone changed the object since the editor loaded it.
"""

from __future__ import annotations

import copy
import difflib
import re
from typing import Any

import orjson

from kubelantern import errors
from kubelantern.clusters.credentials import Credentials
from kubelantern.clusters.discovery import ResourceType
from kubelantern.clusters.store import Cluster
from kubelantern.operate.yamldoc import Document, to_yaml

FIELD_MANAGER = "kubelantern"
APPLY_PATCH = "application/apply-patch+yaml"
SERVER_SET_METADATA = (
    "managedFields",
    "creationTimestamp",
    "generation",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
)

_TYPED_PATCH = "failed to create typed patch object"
_FIELD_LINE = re.compile(r"^\s*(\.[^:\s][^:]*?):\s+(.+)$")
_MANAGER = re.compile(r'conflict with "([^"]+)"(?: using (\S+))?')


class StaleEdit(errors.Conflict):
    """The object changed after the editor loaded it; applying would overwrite that."""

    title = "Changed meanwhile"

    def __init__(self, message: str, *, live: dict[str, Any] | None, cluster: str) -> None:
        super().__init__(message, status=409, reason="Stale", cluster=cluster)
        self.live = live

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["stale"] = True
        if self.live is not None:
            meta = self.live.get("metadata") or {}
            data["resourceVersion"] = meta.get("resourceVersion")
            data["liveYaml"] = to_yaml(for_display(self.live))
        return data


def at(
    doc: Document | None, message: str, *, title: str, keys: tuple[str, ...] = ()
) -> errors.InvalidYaml:
    """A problem of one document, pointing at the line of ``keys`` (or the document)."""
    line = (doc.key_line(*keys) if keys else doc.line) if doc else None
    err = errors.InvalidYaml(message, line=line, column=1 if line else None)
    err.title = title
    return err


async def resolve_kind(
    cluster: Cluster,
    credentials: Credentials | None,
    api_version: str,
    kind: str,
    doc: Document | None = None,
) -> ResourceType:
    """The resource for apiVersion+kind, checking that exact version is served."""
    if not api_version or not isinstance(api_version, str):
        raise at(doc, "apiVersion is missing (e.g. apps/v1)", title="Missing apiVersion")
    if not kind or not isinstance(kind, str):
        raise at(doc, "kind is missing (e.g. Deployment)", title="Missing kind")
    result = await cluster.discovery.get(credentials)
    rt = result.by_kind(api_version, kind)
    if rt is None:  # maybe a CRD installed a moment ago
        cluster.discovery.invalidate()
        result = await cluster.discovery.get(credentials)
        rt = result.by_kind(api_version, kind)
    group, _, version = api_version.rpartition("/")
    if rt is None:
        elsewhere = sorted({t.api_version for t in result.types if t.kind == kind})
        hint = f"; {kind} is served as apiVersion {', '.join(elsewhere)}" if elsewhere else ""
        where = f"API group {group}" if group else "the core API group"
        raise at(
            doc,
            f"This cluster serves no kind {kind} in {where}{hint}."
            + ("" if elsewhere else " Is its CustomResourceDefinition installed?"),
            title="Unknown kind",
            keys=("kind",) if not elsewhere else ("apiVersion",),
        )
    if rt.version == version:
        return rt
    # Discovery keeps the preferred version only; ask whether this one is served too.
    path = f"/apis/{group}/{version}" if group else f"/api/{version}"
    try:
        doc_list = await cluster.client.json("GET", path, credentials=credentials)
    except errors.NotFound:
        doc_list = {}
    for res in doc_list.get("resources") or []:
        if res.get("kind") == kind and "/" not in str(res.get("name", "")):
            return ResourceType(
                group=group,
                version=version,
                plural=str(res["name"]),
                kind=kind,
                namespaced=bool(res.get("namespaced")),
                verbs=tuple(res.get("verbs") or ()),
                subresources=rt.subresources,
            )
    raise at(
        doc,
        f"apiVersion {api_version} is not served by this cluster; "
        f"{kind} is served as {rt.api_version}.",
        title="Wrong apiVersion",
        keys=("apiVersion",),
    )


def prepare(obj: dict[str, Any], rt: ResourceType, *, keep_identity: bool) -> dict[str, Any]:
    """The applied configuration: the object without what only the server sets.

    ``status`` is dropped where it is a subresource (the main endpoint ignores
    it anyway). ``keep_identity`` keeps uid and resourceVersion, which make the
    API server refuse the apply if the object was replaced or changed.
    """
    body = copy.deepcopy(obj)
    meta = body.get("metadata")
    if isinstance(meta, dict):
        for key in SERVER_SET_METADATA:
            meta.pop(key, None)
        if not keep_identity:
            meta.pop("resourceVersion", None)
            meta.pop("uid", None)
    if "status" in rt.subresources:
        body.pop("status", None)
    return body


def _typed_patch_causes(message: str) -> list[dict[str, Any]]:
    causes: list[dict[str, Any]] = []
    body = message.split("):", 1)[1] if "):" in message else message
    for raw in body.replace("errors:", "\n").splitlines():
        m = _FIELD_LINE.match(raw)
        if m:
            causes.append(
                {"reason": "FieldValueInvalid", "field": m.group(1), "message": m.group(2)}
            )
    return causes


def explain(exc: errors.ApiError, doc: Document | None) -> errors.ApiError:
    """The API server's error reshaped for a person, causes pointing at lines."""
    if exc.status == 500 and _TYPED_PATCH in exc.message:
        typed = _typed_patch_causes(exc.message)
        fields = "; ".join(f"{c['field']}: {c['message']}" for c in typed)
        new = errors.Invalid(
            f"The object does not match the schema of its kind: {fields or exc.message}",
            status=422,
            reason="Invalid",
            details={"causes": typed},
            cluster=exc.cluster,
            verb=exc.verb,
            resource=exc.resource,
            namespace=exc.namespace,
        )
        exc = new
    causes: list[dict[str, Any]] = exc.details.get("causes") or []
    if exc.status == 409:
        if any(c.get("reason") == "FieldManagerConflict" for c in causes):
            for cause in causes:
                m = _MANAGER.search(str(cause.get("message", "")))
                if m:
                    cause["manager"] = m.group(1)
            exc.title = "Conflict with other field managers"
            managers = sorted({str(c.get("manager")) for c in causes if c.get("manager")})
            exc.message = (
                f"{exc.message}. These fields are managed by {', '.join(managers)}: apply with "
                "force to take them over, or leave their values as they are."
            )
        elif "has been modified" in exc.message:
            stale = StaleEdit(
                "The object was changed by someone else since you loaded it. Review the "
                "current version and apply again.",
                live=None,
                cluster=exc.cluster or "",
            )
            return stale
    if doc is not None:
        for cause in causes:
            field = cause.get("field")
            if field:
                cause["line"] = doc.line_of(str(field))
    return exc


async def server_side_apply(
    cluster: Cluster,
    credentials: Credentials | None,
    rt: ResourceType,
    body: dict[str, Any],
    *,
    dry_run: bool,
    force: bool = False,
    doc: Document | None = None,
) -> tuple[int, dict[str, Any]]:
    """Apply ``body``; the status (201 created, 200 configured) and the stored object."""
    meta = body.get("metadata") or {}
    name = meta.get("name")
    namespace = meta.get("namespace") if rt.namespaced else None
    params: dict[str, str] = {"fieldManager": FIELD_MANAGER, "fieldValidation": "Strict"}
    if dry_run:
        params["dryRun"] = "All"
    if force:
        params["force"] = "true"
    try:
        response = await cluster.client.request(
            "PATCH",
            rt.path(namespace, name),
            credentials=credentials,
            params=params,
            headers={"Content-Type": APPLY_PATCH},
            content=orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS),
            verb="patch",
            resource=rt.name,
            namespace=namespace,
        )
    except errors.ApiError as exc:
        raise explain(exc, doc) from None
    data = orjson.loads(response.content)
    return response.status_code, data if isinstance(data, dict) else {}


def editable_view(obj: dict[str, Any]) -> dict[str, Any]:
    """What a person edits: no status, no bookkeeping that changes on every write."""
    view = {k: v for k, v in obj.items() if k != "status"}
    meta = dict(view.get("metadata") or {})
    for key in ("resourceVersion", "managedFields", "generation"):
        meta.pop(key, None)
    view["metadata"] = meta
    return view


def for_display(obj: dict[str, Any]) -> dict[str, Any]:
    """The object as the editor and diffs show it: managedFields hidden."""
    meta = dict(obj.get("metadata") or {})
    meta.pop("managedFields", None)
    return {**obj, "metadata": meta}


def unified_diff(before: str, after: str, before_name: str, after_name: str) -> str:
    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=before_name,
        tofile=after_name,
        n=3,
    )
    return "".join(lines)
