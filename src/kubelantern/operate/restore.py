"""Put back an object that a failed create updated, without clobbering anyone else's change.

A multi-document create is all or nothing: when a later document fails, the
objects it updated earlier must look as they did before. Kubelantern reads
each object just before applying a document (``before``) and keeps what the
apply answered (``after``). Putting it back is a JSON merge patch that sets
exactly the fields that differ between the two to their old values (and
removes the ones the document added), sent with ``metadata.resourceVersion``
so the API server refuses it if the object moved on in the meantime.

Objects do move on by themselves: a Deployment's controller writes its status
and a revision annotation right after every change. Refusing on any new
resourceVersion would leave such objects updated nearly every time, so on a
conflict the object is read again and the restore is retried only if every
field the restore touches still holds the value this request wrote; if
someone else changed one of them, the object is left as they left it and the
result says which fields. Status, resourceVersion, generation, uid and
managedFields are never part of the comparison or the patch (field ownership
of the restored fields is recorded as Kubelantern's).

The patch is sent with the person's credentials: it needs ``patch``, the
permission the apply itself used. If the API server refuses it (an admission
policy, a permission revoked meanwhile), the object stays updated and the
result says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from kubelantern import errors
from kubelantern.clusters.credentials import Credentials
from kubelantern.clusters.discovery import ResourceType
from kubelantern.clusters.store import Cluster

MERGE_PATCH = "application/merge-patch+json"
MAX_ATTEMPTS = 5
BOOKKEEPING = frozenset(
    {
        "resourceVersion",
        "generation",
        "managedFields",
        "uid",
        "creationTimestamp",
        "selfLink",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
    }
)

Path = tuple[str, ...]


class _Missing:
    """Marks a field that an object does not have (distinct from a null value)."""

    def __repr__(self) -> str:
        return "<missing>"


MISSING = _Missing()


def content(obj: dict[str, Any]) -> dict[str, Any]:
    """What a person wrote: the object without status and server bookkeeping."""
    out = {k: v for k, v in obj.items() if k != "status"}
    meta = out.get("metadata")
    if isinstance(meta, dict):
        out["metadata"] = {k: v for k, v in meta.items() if k not in BOOKKEEPING}
    return out


def changes(before: dict[str, Any], after: dict[str, Any], path: Path = ()) -> list[Path]:
    """Paths whose values differ; mappings are compared key by key, lists as a whole."""
    out: list[Path] = []
    for key in sorted(before.keys() | after.keys()):
        b, a = before.get(key, MISSING), after.get(key, MISSING)
        if isinstance(b, dict) and isinstance(a, dict):
            out.extend(changes(b, a, (*path, key)))
        elif b != a:
            out.append((*path, key))
    return out


def value_at(obj: Any, path: Path) -> Any:
    for key in path:
        if not isinstance(obj, dict) or key not in obj:
            return MISSING
        obj = obj[key]
    return obj


def merge_patch(before: dict[str, Any], paths: list[Path]) -> dict[str, Any]:
    """A merge patch setting every path to its value in ``before`` (null: remove it)."""
    patch: dict[str, Any] = {}
    for path in paths:
        node = patch
        for key in path[:-1]:
            node = node.setdefault(key, {})
        old = value_at(before, path)
        node[path[-1]] = None if old is MISSING else old
    return patch


def dotted(path: Path) -> str:
    return ".".join(path)


@dataclass(frozen=True)
class Restored:
    """How putting one object back went: ``state`` is restored, unchanged or not restored."""

    state: str
    message: str


async def put_back(
    cluster: Cluster,
    credentials: Credentials | None,
    rt: ResourceType,
    namespace: str | None,
    name: str,
    *,
    before: dict[str, Any],
    after: dict[str, Any],
) -> Restored:
    """Restore ``before``'s content where this request changed it, guarded as described above."""
    old, new = content(before), content(after)
    paths = changes(old, new)
    if not paths:
        return Restored("unchanged", "unchanged by this request: nothing to put back")
    path = rt.path(namespace, name)
    live = after
    for _ in range(MAX_ATTEMPTS):
        current = content(live)
        moved = [p for p in paths if value_at(current, p) != value_at(new, p)]
        if moved:
            fields = ", ".join(dotted(p) for p in moved[:5])
            return Restored(
                "not restored",
                f"updated, and not put back: someone else changed it meanwhile ({fields}); "
                "left as they left it",
            )
        patch = merge_patch(old, paths)
        rv = (live.get("metadata") or {}).get("resourceVersion")
        patch.setdefault("metadata", {})["resourceVersion"] = rv
        try:
            await cluster.client.request(
                "PATCH",
                path,
                credentials=credentials,
                params={"fieldManager": "kubelantern"},
                headers={"Content-Type": MERGE_PATCH},
                content=orjson.dumps(patch),
                verb="patch",
                resource=rt.name,
                namespace=namespace,
            )
        except errors.Conflict:
            try:
                live = await cluster.client.json("GET", path, credentials=credentials)
            except errors.NotFound:
                return Restored("not restored", "deleted by someone else meanwhile")
            except errors.KubelanternError as exc:
                return Restored("not restored", f"updated, and not put back: {exc.message}")
            continue
        except errors.NotFound:
            return Restored("not restored", "deleted by someone else meanwhile")
        except errors.KubelanternError as exc:
            return Restored("not restored", f"updated, and could not be put back: {exc.message}")
        return Restored(
            "restored", "updated, then put back as it was because a later document failed"
        )
    return Restored(
        "not restored",
        f"updated, and not put back: it kept changing ({MAX_ATTEMPTS} attempts)",
    )
