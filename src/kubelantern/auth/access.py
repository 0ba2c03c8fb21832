"""Ask the API server what the current user may do (SelfSubjectAccessReview).

Used to hide or disable actions, never to enforce: the API server enforces
every request itself. Answers are cached briefly per identity, so a page with
many buttons costs a handful of reviews, and a changed RoleBinding shows up
within ``TTL`` seconds.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from kubelantern import errors
from kubelantern.clusters.credentials import Credentials
from kubelantern.clusters.store import Cluster

TTL = 30.0
_MAX_ENTRIES = 20_000


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""

    def to_dict(self) -> dict[str, object]:
        return {"allowed": self.allowed, "reason": self.reason}


@dataclass(frozen=True)
class Check:
    """One question: may I <verb> <group>/<resource>[/<subresource>] [name] in <namespace>?"""

    verb: str
    resource: str
    group: str = ""
    namespace: str | None = None
    name: str | None = None
    subresource: str = ""

    def describe(self) -> str:
        what = self.resource + (f"/{self.subresource}" if self.subresource else "")
        if self.group:
            what += f".{self.group}"
        where = f" in namespace {self.namespace}" if self.namespace else ""
        return f"{self.verb} {what}{where}"


_cache: dict[tuple[str, str, Check], tuple[float, Decision]] = {}


async def can(
    cluster: Cluster, credentials: Credentials | None, identity: str, check: Check
) -> Decision:
    """Whether ``identity`` (a stable key of the credentials) may do ``check``."""
    key = (cluster.slug, identity, check)
    hit = _cache.get(key)
    now = time.monotonic()
    if hit and now - hit[0] < TTL:
        return hit[1]
    attrs: dict[str, str] = {"verb": check.verb, "resource": check.resource, "group": check.group}
    if check.namespace:
        attrs["namespace"] = check.namespace
    if check.name:
        attrs["name"] = check.name
    if check.subresource:
        attrs["subresource"] = check.subresource
    body = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": attrs},
    }

    try:
        doc = await cluster.client.post_json(
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", body, credentials=credentials
        )
    except errors.KubelanternError as exc:
        return Decision(False, f"could not check permission: {exc.message}")
    status = doc.get("status") or {}
    allowed = bool(status.get("allowed"))
    reason = "" if allowed else f"RBAC does not let you {check.describe()}"
    decision = Decision(allowed, reason)
    if len(_cache) > _MAX_ENTRIES:
        _cache.clear()
    _cache[key] = (now, decision)
    return decision


async def can_all(
    cluster: Cluster, credentials: Credentials | None, identity: str, checks: list[Check]
) -> list[Decision]:
    """Several checks at once, concurrently."""
    return list(await asyncio.gather(*(can(cluster, credentials, identity, c) for c in checks)))


_rules_cache: dict[tuple[str, str, str], tuple[float, list[dict[str, object]] | None]] = {}


async def resource_rules(
    cluster: Cluster, credentials: Credentials | None, identity: str, namespace: str
) -> list[dict[str, object]] | None:
    """SelfSubjectRulesReview's resource rules in a namespace (None if it failed).

    A UI hint only: the review may be incomplete with webhook authorizers.
    """
    key = (cluster.slug, identity, namespace)
    hit = _rules_cache.get(key)
    now = time.monotonic()
    if hit and now - hit[0] < TTL:
        return hit[1]
    body = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectRulesReview",
        "spec": {"namespace": namespace},
    }
    try:
        doc = await cluster.client.post_json(
            "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
            body,
            credentials=credentials,
            timeout=5.0,
        )
        rules: list[dict[str, object]] | None = list(
            (doc.get("status") or {}).get("resourceRules") or []
        )
    except errors.KubelanternError:
        rules = None
    if len(_rules_cache) > _MAX_ENTRIES:
        _rules_cache.clear()
    _rules_cache[key] = (now, rules)
    return rules


async def self_review(
    cluster: Cluster, credentials: Credentials | None, *, timeout: float = 5.0
) -> dict[str, Any]:
    """What the API server makes of these credentials (``kubectl auth whoami``)."""
    body = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
    doc = await cluster.client.post_json(
        "/apis/authentication.k8s.io/v1/selfsubjectreviews",
        body,
        credentials=credentials,
        timeout=timeout,
        verb="create",
        resource="selfsubjectreviews.authentication.k8s.io",
    )
    info = (doc.get("status") or {}).get("userInfo") or {}
    return {
        "user": info.get("username", ""),
        "uid": info.get("uid", ""),
        "groups": list(info.get("groups") or []),
        "extra": info.get("extra") or {},
    }


def clear_cache() -> None:
    _cache.clear()
    _rules_cache.clear()
