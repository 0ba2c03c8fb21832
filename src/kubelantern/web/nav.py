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
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from starlette.requests import Request

from kubelantern import errors
from kubelantern.auth import credentials_for, identity_key
from kubelantern.auth.access import resource_rules
from kubelantern.clusters.store import Cluster
from kubelantern.plugins import calls as plugin_calls
from kubelantern.resources.kinds import build_sidebar, rule_allows
from kubelantern.web.state import app_state

_NS_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
NS_COOKIE = "kl_ns."
KNOWN_COOKIE = "kl_known_ns."


def valid_namespace(name: str) -> bool:
    return len(name) <= 63 and bool(_NS_RE.match(name))


def split_namespaces(raw: str) -> list[str]:
    out: list[str] = []
    for part in raw.split(","):
        name = part.strip()
        if name and valid_namespace(name) and name not in out:
            out.append(name)
    return out


def cookie_list(request: Request, name: str) -> list[str]:
    return split_namespaces(unquote(request.cookies.get(name, "")))


def selected_namespaces(request: Request, cluster: Cluster, path_ns: str | None) -> list[str]:
    """The namespaces this page is about: the URL's, else none (= all)."""
    if path_ns:
        return [path_ns]
    return split_namespaces(request.query_params.get("namespaces", ""))


def known_namespaces(request: Request, cluster: Cluster) -> list[str]:
    """Namespaces offered when listing them is not allowed."""
    names: list[str] = []
    sources = [
        list(app_state(request).settings.namespaces),
        [cluster.default_namespace] if cluster.default_namespace else [],
        cookie_list(request, KNOWN_COOKIE + cluster.slug),
    ]
    for source in sources:
        for name in source:
            if name and name not in names:
                names.append(name)
    return names


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


async def namespace_choice(
    request: Request, cluster: Cluster, selected: list[str]
) -> NamespaceChoice:
    creds = credentials_for(request, cluster)
    choice = NamespaceChoice(
        selected=selected, remembered=cookie_list(request, NS_COOKIE + cluster.slug)
    )
    try:
        doc = await cluster.client.json(
            "GET",
            "/api/v1/namespaces",
            credentials=creds,
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
        choice.available = known_namespaces(request, cluster)
    except errors.KubelanternError:
        choice.available = known_namespaces(request, cluster)
    for name in selected:
        if name not in choice.available:
            choice.available.append(name)
    return choice


async def sidebar(
    request: Request, cluster: Cluster, namespaces: list[str]
) -> list[dict[str, Any]]:
    """Sidebar sections with each kind marked allowed or not by RulesReview."""
    creds = credentials_for(request, cluster)
    discovery = await cluster.discovery.get(creds)
    sections = build_sidebar(discovery)
    identity = identity_key(request, cluster)
    # "May I list this somewhere I work?": the selection, else the known namespaces.
    review_ns = namespaces or [*known_namespaces(request, cluster), "default"][:10]
    reviews = await asyncio.gather(
        *(resource_rules(cluster, creds, identity, ns) for ns in review_ns)
    )
    if all(r is not None for r in reviews):
        rules = [rule for r in reviews if r is not None for rule in r]
        for section in sections:
            for entry in section.entries:
                entry.allowed = rule_allows(rules, "list", entry.rt)
    return await plugin_calls.sidebar(request, cluster, [s.to_dict() for s in sections])


async def nav_context(
    request: Request, cluster: Cluster, path_ns: str | None, current: str | None = None
) -> dict[str, Any]:
    """Everything the page chrome needs; HTML-only (the JSON twin leaves it out)."""
    selected = selected_namespaces(request, cluster, path_ns)
    if not selected and current is None:
        if NS_COOKIE + cluster.slug in request.cookies:
            selected = cookie_list(request, NS_COOKIE + cluster.slug)
        elif cluster.default_namespace:
            # First visit: start where the operator or the kubeconfig context points.
            selected = [cluster.default_namespace]
    choice, sections = await asyncio.gather(
        namespace_choice(request, cluster, selected),
        sidebar(request, cluster, selected if selected else []),
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
    }
