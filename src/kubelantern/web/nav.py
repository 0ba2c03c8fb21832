"""What every cluster page shows around its content: sidebar and namespace chooser.

The namespace selection lives in the URL (``/namespaces/<ns>/`` or
``?namespaces=a,b``) so every view is a permalink; the chooser also remembers
it per cluster in a plain cookie, used when a page's URL does not say.

A user who may not list namespaces (only a RoleBinding somewhere) still gets a
working chooser: it offers the namespaces configured for the cluster, the
kubeconfig context's namespace and the ones the user typed in.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from kubelantern import errors
from kubelantern.clusters.store import Cluster
from kubelantern.resources.kinds import build_sidebar, rule_allows, rules_allow_creating
from kubelantern.web import plugin_calls
from kubelantern.web.context import (
    KNOWN_COOKIE,
    NS_COOKIE,
    ClusterContext,
    cluster_context,
    cookie_list,
    split_namespaces,
    valid_namespace,
)
from kubelantern.web.state import app_state

# The namespace parsing lives in web/context.py; importable from here too.
__all__ = [
    "KNOWN_COOKIE",
    "NS_COOKIE",
    "NamespaceChoice",
    "cookie_list",
    "namespace_choice",
    "nav_context",
    "selected_namespaces",
    "sidebar",
    "split_namespaces",
    "valid_namespace",
]


def selected_namespaces(request: Request, cluster: Cluster, path_ns: str | None) -> list[str]:
    """The namespaces this page is about: the URL's, else none (= all)."""
    return cluster_context(request, cluster).selected_namespaces(path_ns)


@dataclass
class NamespaceChoice:
    available: list[str] = field(default_factory=list)
    selected: list[str] = field(default_factory=list)
    can_list: bool = True
    remembered: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "available": self.available,
            "selected": self.selected,
            "canList": self.can_list,
            "remembered": self.remembered,
        }


async def namespace_choice(ctx: ClusterContext, selected: list[str]) -> NamespaceChoice:
    choice = NamespaceChoice(selected=selected, remembered=ctx.remembered_namespaces)
    try:
        doc = await ctx.cluster.client.json(
            "GET",
            "/api/v1/namespaces",
            credentials=ctx.credentials,
            headers={
                "Accept": "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,"
                "application/json"
            },
            params={"limit": 500},
            timeout=5.0,
        )
        choice.available = sorted(
            (i.get("metadata") or {}).get("name", "") for i in doc.get("items") or []
        )
    except errors.Forbidden:
        choice.can_list = False
        choice.available = ctx.known_namespaces
    except errors.KubelanternError:
        choice.available = ctx.known_namespaces
    for name in selected:
        if name not in choice.available:
            choice.available.append(name)
    return choice


async def working_rules(
    ctx: ClusterContext, namespaces: list[str]
) -> list[dict[str, object]] | None:
    """RulesReview rules where the person works (None when a review failed).

    The selection, else the known namespaces; each review also carries the
    cluster-wide rules. The request context asks each namespace once.
    """
    review_ns = namespaces or [*ctx.known_namespaces, "default"][:10]
    reviews = await asyncio.gather(*(ctx.resource_rules(ns) for ns in review_ns))
    if any(r is None for r in reviews):
        return None
    return [rule for r in reviews if r is not None for rule in r]


async def may_create(ctx: ClusterContext, namespaces: list[str]) -> bool | None:
    """Whether "Create" is worth offering: RBAC lets the person create something
    where they work. None: unknown (then it shows; the API server decides)."""
    rules = await working_rules(ctx, namespaces)
    return None if rules is None else rules_allow_creating(rules)


async def sidebar(
    request: Request, ctx: ClusterContext, namespaces: list[str]
) -> list[dict[str, Any]]:
    """Sidebar sections with each kind marked allowed or not by RulesReview."""
    sections = build_sidebar(await ctx.discovery())
    # "May I list this somewhere I work?": the selection, else the known namespaces.
    review_ns = namespaces or [*ctx.known_namespaces, "default"][:10]
    reviews = await asyncio.gather(*(ctx.resource_rules(ns) for ns in review_ns))
    if all(r is not None for r in reviews):
        rules = [rule for r in reviews if r is not None for rule in r]
        for section in sections:
            for entry in section.entries:
                entry.allowed = rule_allows(rules, "list", entry.rt)
    return await plugin_calls.sidebar(request, ctx.cluster, [s.to_dict() for s in sections])


async def nav_context(
    request: Request, cluster: Cluster, path_ns: str | None, current: str | None = None
) -> dict[str, Any]:
    """Everything the page chrome needs; HTML-only (the JSON twin leaves it out)."""
    ctx = cluster_context(request, cluster)
    selected = ctx.selected_namespaces(path_ns)
    if not selected and current is None:
        if NS_COOKIE + cluster.slug in request.cookies:
            selected = ctx.remembered_namespaces
        elif cluster.default_namespace:
            # First visit: start where the operator or the kubeconfig context points.
            selected = [cluster.default_namespace]
    choice, sections, can_create = await asyncio.gather(
        namespace_choice(ctx, selected),
        sidebar(request, ctx, selected if selected else []),
        may_create(ctx, selected if selected else []),
    )
    return {
        "cluster": cluster.slug,
        "clusterDisplay": cluster.display_name,
        "clusters": [
            {"name": c.slug, "displayName": c.display_name} for c in app_state(request).clusters
        ],
        "namespaces": choice.to_dict(),
        "sections": sections,
        "current": current,
        "canCreate": can_create,
    }
