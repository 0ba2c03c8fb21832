"""How objects relate: owners, owned objects, selected pods, events.

A detail page shows an object with what surrounds it, and every lookup runs
with the *user's* credentials: a relation the user may not read is shown as
"not permitted" (naming the verb and resource) instead of failing the page.
Lookups are short (``TIMEOUT``) and the caller runs them concurrently, so one
slow or refused lookup costs little.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from kubelantern import errors, urls
from kubelantern.clusters.credentials import Credentials
from kubelantern.clusters.discovery import DiscoveryResult, ResourceType
from kubelantern.clusters.store import Cluster
from kubelantern.resources.quantity import parse_quantity

TIMEOUT = 5.0
LIST_LIMIT = 500

Obj = dict[str, Any]


@dataclass
class Related:
    """The answer of one lookup: objects, or why there are none to show."""

    title: str
    key: str
    items: list[Obj] = field(default_factory=list)
    error: str = ""
    forbidden: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "key": self.key,
            "items": self.items,
            "error": self.error,
            "forbidden": self.forbidden,
        }


def refusal(exc: errors.KubelanternError) -> str:
    """'not permitted: list pods in namespace team-a', or the error's own message."""
    if isinstance(exc, errors.Forbidden) and exc.verb and exc.resource:
        where = f" in namespace {exc.namespace}" if exc.namespace else ""
        return f"not permitted: {exc.verb} {exc.resource}{where}"
    if isinstance(exc, errors.Forbidden):
        return "not permitted"
    if isinstance(exc, errors.ClusterTimeout):
        return "the cluster did not answer in time"
    return exc.message


@dataclass
class Lookup:
    """Everything a related-object lookup needs, bound to one user and cluster."""

    cluster: Cluster
    credentials: Credentials | None
    discovery: DiscoveryResult
    identity: str = ""
    timeout: float = TIMEOUT
    # The view read the object itself with these credentials, so RBAC lets this
    # person ``get`` it. Passed in as a fact: kind knowledge (sections) must not
    # depend on who asks, so it never asks the access reviews itself.
    object_readable: bool = False

    @property
    def slug(self) -> str:
        return self.cluster.slug

    def kind(self, api_version: str, kind: str) -> ResourceType | None:
        return self.discovery.by_kind(api_version, kind)

    def url(self, api_version: str, kind: str, name: str, namespace: str | None) -> str | None:
        """Link to an object named by apiVersion/kind, or None if the kind is not served."""
        rt = self.kind(api_version, kind)
        if rt is None or not name:
            return None
        return urls.object_url(self.slug, rt, namespace, name)

    def link(self, api_version: str, kind: str, name: str, namespace: str | None) -> Obj:
        """kind, name, namespace (only if the kind is namespaced) and url of an object."""
        rt = self.kind(api_version, kind)
        return {
            "kind": kind,
            "name": name,
            "namespace": namespace if rt is None or rt.namespaced else None,
            "url": self.url(api_version, kind, name, namespace),
        }

    async def list(
        self,
        api_version: str,
        kind: str,
        namespace: str | None,
        *,
        label_selector: str = "",
        field_selector: str = "",
        limit: int = LIST_LIMIT,
    ) -> list[Obj]:
        """One page of full objects (raises; wrap in ``guarded``)."""
        rt = self.kind(api_version, kind)
        if rt is None:
            raise errors.UnknownResource(f"the cluster serves no {kind} ({api_version})")
        params: dict[str, str | int | list[str]] = {"limit": limit}
        if label_selector:
            params["labelSelector"] = label_selector
        if field_selector:
            params["fieldSelector"] = field_selector
        doc = await self.cluster.client.json(
            "GET",
            rt.path(namespace if rt.namespaced else None),
            params=params,
            credentials=self.credentials,
            timeout=self.timeout,
            verb="list",
            resource=rt.name,
            namespace=namespace if rt.namespaced else None,
        )
        return list(doc.get("items") or [])

    async def get(self, api_version: str, kind: str, namespace: str | None, name: str) -> Obj:
        rt = self.kind(api_version, kind)
        if rt is None:
            raise errors.UnknownResource(f"the cluster serves no {kind} ({api_version})")
        ns = namespace if rt.namespaced else None
        return await self.cluster.client.json(
            "GET",
            rt.path(ns, name),
            credentials=self.credentials,
            timeout=self.timeout,
            verb="get",
            resource=rt.name,
            namespace=ns,
        )


async def guarded(title: str, key: str, fetch: Awaitable[list[Obj]]) -> Related:
    """Run one lookup; a refusal or failure becomes a message, never an exception."""
    try:
        return Related(title, key, await fetch)
    except errors.KubelanternError as exc:
        return failed(title, key, exc)


def failed(title: str, key: str, exc: errors.KubelanternError) -> Related:
    return Related(title, key, error=refusal(exc), forbidden=isinstance(exc, errors.Forbidden))


async def attempt(fetch: Awaitable[list[Obj]]) -> list[Obj] | errors.KubelanternError:
    """A raw lookup whose failure is returned, for lookups that feed several sections."""
    try:
        return await fetch
    except errors.KubelanternError as exc:
        return exc


async def attempt_all(
    *fetches: Awaitable[list[Obj]],
) -> list[list[Obj] | errors.KubelanternError]:
    """Several raw lookups at once."""
    return list(await asyncio.gather(*(attempt(f) for f in fetches)))


# --- metadata -------------------------------------------------------------


def owners(lk: Lookup, obj: Obj) -> list[Obj]:
    """Owner references as links (owners live in the same namespace, or are cluster-scoped)."""
    meta = obj.get("metadata") or {}
    out = []
    for ref in meta.get("ownerReferences") or []:
        api, kind, name = ref.get("apiVersion", ""), ref.get("kind", ""), ref.get("name", "")
        link = lk.link(api, kind, name, meta.get("namespace"))
        link.update(
            apiVersion=ref.get("apiVersion", ""),
            uid=ref.get("uid", ""),
            controller=bool(ref.get("controller")),
        )
        out.append(link)
    return out


def owned_by(obj: Obj, uids: Iterable[str]) -> bool:
    wanted = set(uids)
    refs = (obj.get("metadata") or {}).get("ownerReferences") or []
    return any(ref.get("uid") in wanted for ref in refs)


def conditions(obj: Obj) -> list[Obj]:
    """status.conditions in a uniform shape (Node's heartbeat kept when present)."""
    out = []
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if not isinstance(cond, dict):
            continue
        out.append(
            {
                "type": cond.get("type", ""),
                "status": cond.get("status", ""),
                "reason": cond.get("reason", ""),
                "message": cond.get("message", ""),
                "lastTransitionTime": cond.get("lastTransitionTime")
                or cond.get("lastUpdateTime")
                or cond.get("lastHeartbeatTime"),
            }
        )
    return out


# --- selectors -------------------------------------------------------------


def selector_string(selector: Obj | None) -> str | None:
    """A LabelSelector (matchLabels/matchExpressions) as a labelSelector query.

    None means the selector selects nothing (absent); "" selects everything.
    """
    if selector is None:
        return None
    parts = [f"{k}={v}" for k, v in (selector.get("matchLabels") or {}).items()]
    for expr in selector.get("matchExpressions") or []:
        key, op = expr.get("key", ""), expr.get("operator", "")
        values = ",".join(expr.get("values") or [])
        if op == "In":
            parts.append(f"{key} in ({values})")
        elif op == "NotIn":
            parts.append(f"{key} notin ({values})")
        elif op == "Exists":
            parts.append(key)
        elif op == "DoesNotExist":
            parts.append(f"!{key}")
    return ",".join(parts)


def map_selector_string(selector: dict[str, str] | None) -> str | None:
    """A Service/ReplicationController selector map; empty means it selects no pods."""
    if not selector:
        return None
    return ",".join(f"{k}={v}" for k, v in selector.items())


def map_selects(selector: dict[str, str] | None, labels: dict[str, str] | None) -> bool:
    if not selector:
        return False
    labels = labels or {}
    return all(labels.get(k) == v for k, v in selector.items())


# --- events ---------------------------------------------------------------


def event_time(ev: Obj) -> str:
    series = ev.get("series") or {}
    return str(
        series.get("lastObservedTime")
        or ev.get("lastTimestamp")
        or ev.get("eventTime")
        or ev.get("firstTimestamp")
        or (ev.get("metadata") or {}).get("creationTimestamp")
        or ""
    )


def _sort_key(ev: Obj) -> float:
    text = ev["lastSeen"]
    if not text:
        return 0.0
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return 0.0


def brief_event(ev: Obj) -> Obj:
    source = ev.get("source") or {}
    involved = ev.get("involvedObject") or {}
    return {
        "type": ev.get("type", ""),
        "reason": ev.get("reason", ""),
        "message": ev.get("message", ""),
        "count": ev.get("count") or (ev.get("series") or {}).get("count") or 1,
        "lastSeen": event_time(ev),
        "firstSeen": ev.get("firstTimestamp") or ev.get("eventTime") or "",
        "source": ev.get("reportingComponent")
        or ev.get("reportingController")
        or source.get("component", ""),
        "object": f"{involved.get('kind', '')}/{involved.get('name', '')}",
        "involvedObject": {
            "apiVersion": involved.get("apiVersion", ""),
            "kind": involved.get("kind", ""),
            "name": involved.get("name", ""),
            "namespace": involved.get("namespace"),
        },
        "namespace": (ev.get("metadata") or {}).get("namespace"),
    }


def newest_first(events: Iterable[Obj]) -> list[Obj]:
    return sorted((brief_event(e) for e in events), key=_sort_key, reverse=True)


async def events_of(lk: Lookup, obj: Obj) -> Related:
    """core/v1 events about this object, newest first.

    Namespaced objects are matched by uid (a recreated object with the same
    name does not inherit old events). Events about cluster-scoped objects are
    recorded in ``default`` and often carry the name as uid (Nodes), so those
    are matched by kind and name.
    """
    meta = obj.get("metadata") or {}
    ns = meta.get("namespace")
    if ns and meta.get("uid"):
        selector = f"involvedObject.uid={meta['uid']}"
    else:
        selector = (
            f"involvedObject.kind={obj.get('kind', '')},involvedObject.name={meta.get('name')}"
        )
        ns = "default"

    async def fetch() -> list[Obj]:
        return newest_first(await lk.list("v1", "Event", ns, field_selector=selector))

    return await guarded("Events", "events", fetch())


# --- pods -----------------------------------------------------------------


def pod_status(pod: Obj) -> str:
    """The STATUS column of ``kubectl get pods`` (the common cases)."""
    meta = pod.get("metadata") or {}
    status = pod.get("status") or {}
    reason = status.get("reason") or status.get("phase") or "Unknown"
    for cs in status.get("initContainerStatuses") or []:
        state = cs.get("state") or {}
        term = state.get("terminated")
        if term and term.get("exitCode") == 0:
            continue
        if term:
            reason = "Init:" + (term.get("reason") or f"ExitCode:{term.get('exitCode')}")
            break
        waiting = state.get("waiting") or {}
        if waiting.get("reason") and waiting["reason"] != "PodInitializing":
            reason = "Init:" + waiting["reason"]
            break
    else:
        for cs in reversed(status.get("containerStatuses") or []):
            state = cs.get("state") or {}
            if (state.get("waiting") or {}).get("reason"):
                reason = state["waiting"]["reason"]
            elif (state.get("terminated") or {}).get("reason"):
                reason = state["terminated"]["reason"]
    if meta.get("deletionTimestamp"):
        reason = "Terminating"
    return str(reason)


def brief_pod(lk: Lookup, pod: Obj) -> Obj:
    meta = pod.get("metadata") or {}
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    containers = (pod.get("spec") or {}).get("containers") or []
    ready = sum(1 for cs in statuses if cs.get("ready"))
    restarts = sum(int(cs.get("restartCount") or 0) for cs in statuses)
    node = (pod.get("spec") or {}).get("nodeName") or ""
    return {
        **lk.link("v1", "Pod", meta.get("name", ""), meta.get("namespace")),
        "status": pod_status(pod),
        "ready": f"{ready}/{len(containers)}",
        "restarts": restarts,
        "node": node,
        "nodeUrl": lk.url("v1", "Node", node, None) if node else None,
        "created": meta.get("creationTimestamp"),
    }


def pod_requests(pod: Obj) -> dict[str, Decimal]:
    """Effective requests of a pod as the scheduler counts them.

    max(sum of app containers + restartable init containers, the largest init
    container plus the sidecars started before it) + overhead.
    """
    spec = pod.get("spec") or {}
    total: dict[str, Decimal] = {}
    sidecars: dict[str, Decimal] = {}
    init_peak: dict[str, Decimal] = {}

    def requests(container: Obj) -> dict[str, Decimal]:
        reqs = (container.get("resources") or {}).get("requests") or {}
        return {k: parse_quantity(v) for k, v in reqs.items()}

    for c in spec.get("initContainers") or []:
        reqs = requests(c)
        if c.get("restartPolicy") == "Always":
            for k, v in reqs.items():
                sidecars[k] = sidecars.get(k, Decimal(0)) + v
        else:
            for k, v in reqs.items():
                init_peak[k] = max(init_peak.get(k, Decimal(0)), v + sidecars.get(k, Decimal(0)))
    for c in spec.get("containers") or []:
        for k, v in requests(c).items():
            total[k] = total.get(k, Decimal(0)) + v
    for k, v in sidecars.items():
        total[k] = total.get(k, Decimal(0)) + v
    for k, v in init_peak.items():
        total[k] = max(total.get(k, Decimal(0)), v)
    for k, v in (spec.get("overhead") or {}).items():
        total[k] = total.get(k, Decimal(0)) + parse_quantity(v)
    return total


def terminated(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


async def pods_selected(
    lk: Lookup,
    namespace: str | None,
    selector: str | None,
    *,
    owner_uids: set[str] | None = None,
    title: str = "Pods",
) -> Related:
    """Pods matching a selector, optionally only those owned by some uids."""
    if selector is None:
        return Related(title, "pods")

    async def fetch() -> list[Obj]:
        pods = await lk.list("v1", "Pod", namespace, label_selector=selector)
        if owner_uids is not None:
            pods = [p for p in pods if owned_by(p, owner_uids)]
        return [brief_pod(lk, p) for p in pods]

    return await guarded(title, "pods", fetch())
