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


class AccessCache:
    """Access and rules reviews answered recently, per cluster and identity (``TTL`` s).

    One per app (``AppState.access``), so two apps in one process never see each
    other's answers; bounded by ``max_entries`` per kind of review.
    """

    def __init__(self, ttl: float = TTL, max_entries: int = _MAX_ENTRIES) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._checks: dict[tuple[str, str, Check], tuple[float, Decision]] = {}
        self._rules: dict[tuple[str, str, str], tuple[float, list[dict[str, object]] | None]] = {}

    def __len__(self) -> int:
        return len(self._checks) + len(self._rules)

    async def can(
        self, cluster: Cluster, credentials: Credentials | None, identity: str, check: Check
    ) -> Decision:
        """Whether ``identity`` (a stable key of the credentials) may do ``check``."""
        key = (cluster.slug, identity, check)
        hit = self._checks.get(key)
        now = time.monotonic()
        if hit and now - hit[0] < self.ttl:
            return hit[1]
        decision = await review(cluster, credentials, check)
        if len(self._checks) > self.max_entries:
            self._checks.clear()
        self._checks[key] = (now, decision)
        return decision

    async def can_all(
        self, cluster: Cluster, credentials: Credentials | None, identity: str, checks: list[Check]
    ) -> list[Decision]:
        """Several checks at once, concurrently."""
        return list(
            await asyncio.gather(*(self.can(cluster, credentials, identity, c) for c in checks))
        )

    async def resource_rules(
        self, cluster: Cluster, credentials: Credentials | None, identity: str, namespace: str
    ) -> list[dict[str, object]] | None:
        """SelfSubjectRulesReview's resource rules in a namespace (None if it failed).

        A UI hint only: the review may be incomplete with webhook authorizers.
        """
        key = (cluster.slug, identity, namespace)
        hit = self._rules.get(key)
        now = time.monotonic()
        if hit and now - hit[0] < self.ttl:
            return hit[1]
        rules = await rules_review(cluster, credentials, namespace)
        if len(self._rules) > self.max_entries:
            self._rules.clear()
        self._rules[key] = (now, rules)
        return rules

    def clear(self) -> None:
        self._checks.clear()
        self._rules.clear()


async def review(cluster: Cluster, credentials: Credentials | None, check: Check) -> Decision:
    """One SelfSubjectAccessReview, uncached; a failed review is a refusal saying why."""
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
    return Decision(allowed, reason)


async def rules_review(
    cluster: Cluster, credentials: Credentials | None, namespace: str
) -> list[dict[str, object]] | None:
    """One SelfSubjectRulesReview, uncached: the resource rules (None if it failed)."""
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
    except errors.KubelanternError:
        return None
    return list((doc.get("status") or {}).get("resourceRules") or [])


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
