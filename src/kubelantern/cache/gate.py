"""May this person be served from a shared cache? Ask the API server, remember briefly.

A cache read with another identity (the operator's read identity) would show
a person objects their own RBAC hides, so a person is served from a cache
only after a SelfSubjectAccessReview *with their own credentials* allowed
both ``list`` and ``watch`` of that kind in that namespace scope. Answers are
kept ``ttl`` seconds per (cluster, identity, kind, namespace); an expired one
is asked again, so a removed RoleBinding stops cache service within ``ttl``.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from kubelantern import errors
from kubelantern.clusters.client import ClusterClient
from kubelantern.clusters.credentials import Credentials
from kubelantern.clusters.discovery import ResourceType

MAX_ENTRIES = 20_000
REVIEWS = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"


@dataclass(frozen=True)
class GateKey:
    cluster: str
    identity: str
    group: str
    resource: str
    namespace: str | None


class AccessGate:
    """SelfSubjectAccessReviews for list+watch, cached per identity for ``ttl`` seconds."""

    def __init__(self, ttl: float = 30.0) -> None:
        self.ttl = ttl
        self._answers: dict[GateKey, tuple[float, bool]] = {}
        self._pending: dict[GateKey, asyncio.Future[bool]] = {}
        self.reviews = 0  # reviews sent (tests and the bench read it)

    async def allows(
        self,
        cluster_slug: str,
        client: ClusterClient,
        rt: ResourceType,
        namespace: str | None,
        credentials: Credentials | None,
        identity: str,
    ) -> bool:
        """Whether ``identity`` may list and watch ``rt`` in ``namespace`` (None: all)."""
        key = GateKey(cluster_slug, identity, rt.group, rt.name, namespace)
        now = time.monotonic()
        hit = self._answers.get(key)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        # A thousand tabs opening at once ask one question, not a thousand.
        pending = self._pending.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._ask(key, client, rt, namespace, credentials))
            self._pending[key] = pending
            pending.add_done_callback(lambda _: self._pending.pop(key, None))
        return await asyncio.shield(pending)

    async def _ask(
        self,
        key: GateKey,
        client: ClusterClient,
        rt: ResourceType,
        namespace: str | None,
        credentials: Credentials | None,
    ) -> bool:
        now = time.monotonic()
        verdicts = await asyncio.gather(
            *(self._review(client, rt, namespace, credentials, verb) for verb in ("list", "watch"))
        )
        allowed = all(v is True for v in verdicts)
        if None in verdicts:
            return allowed  # the review failed (a slow API server): ask again next time
        if len(self._answers) >= MAX_ENTRIES:
            self._answers.clear()
        self._answers[key] = (now, allowed)
        return allowed

    async def _review(
        self,
        client: ClusterClient,
        rt: ResourceType,
        namespace: str | None,
        credentials: Credentials | None,
        verb: str,
    ) -> bool | None:
        """The review's answer; None when it could not be asked."""
        attrs: dict[str, str] = {"verb": verb, "resource": rt.plural, "group": rt.group}
        if namespace:
            attrs["namespace"] = namespace
        body = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": attrs},
        }
        self.reviews += 1
        try:
            doc = await client.post_json(REVIEWS, body, credentials=credentials, timeout=5.0)
        except errors.KubelanternError:
            return None  # not proven allowed: the request goes upstream as the person
        return bool((doc.get("status") or {}).get("allowed"))

    def forget(self) -> None:
        self._answers.clear()
