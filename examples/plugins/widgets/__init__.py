"""A dashboard for the custom resource widgets.example.com, as a plugin page.

``/-/p/widgets/c/<cluster>`` (linked from the sidebar, under "Custom:
example.com") counts the Widgets the user may see by color and phase, sums
their sizes and lists them with links to their pages. Everything is read
with the user's credentials: someone who may list Widgets only in team-a
picks that namespace, and someone who may not list them at all is told so.

The package shows the parts a page plugin has: a route with ``{cluster}``
(so ``ctx.cluster`` is bound and the page has the cluster's sidebar), a
template in ``templates/widgets/``, a stylesheet in ``static/`` injected with
``extra_css_urls``, and a JSON twin (``.json``) for free through ``ctx.page``.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from kubelantern import (
    Check,
    Context,
    Forbidden,
    Kubelantern,
    PluginRoute,
    SidebarItem,
    hookimpl,
)

__version__ = "1.0.0"
NAME = "widgets"
RESOURCE = "widgets.example.com"


def summarize(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts and totals of a list of Widgets."""
    colors: Counter[str] = Counter()
    phases: Counter[str] = Counter()
    size = 0
    rows = []
    for item in items:
        meta, spec = item.get("metadata") or {}, item.get("spec") or {}
        phase = (item.get("status") or {}).get("phase") or "Unknown"
        colors[spec.get("color") or "none"] += 1
        phases[phase] += 1
        size += int(spec.get("size") or 0)
        rows.append(
            {
                "name": meta.get("name"),
                "namespace": meta.get("namespace"),
                "color": spec.get("color"),
                "size": spec.get("size"),
                "phase": phase,
            }
        )
    rows.sort(key=lambda r: (r["namespace"] or "", r["name"] or ""))
    return {
        "count": len(items),
        "totalSize": size,
        "byColor": dict(sorted(colors.items())),
        "byPhase": dict(sorted(phases.items())),
        "widgets": rows,
    }


async def dashboard(ctx: Context) -> Any:
    assert ctx.cluster is not None
    namespace = ctx.request.query_params.get("namespace") or None
    data: dict[str, Any] = {"cluster": ctx.cluster.name, "namespace": namespace, "refused": ""}
    try:
        items = await ctx.cluster.list(RESOURCE, namespace)
    except Forbidden as exc:
        data.update(summarize([]), refused=exc.message)
        return await ctx.page("widgets/dashboard.html", data, title="Widgets", status=403)
    data.update(summarize(items))
    return await ctx.page("widgets/dashboard.html", data, title="Widgets")


@hookimpl
def register_routes(kl: Kubelantern) -> list[PluginRoute]:
    return [PluginRoute("/c/{cluster}", dashboard, name="dashboard")]


@hookimpl
def register_sidebar_entries(ctx: Context) -> list[SidebarItem]:
    if ctx.cluster is None:
        return []
    return [
        SidebarItem(
            "Widgets dashboard",
            f"/-/p/{NAME}/c/{ctx.cluster.name}",
            section="Custom: example.com",
            position=0,
            check=Check("list", "widgets", "example.com"),
        )
    ]


@hookimpl
def extra_css_urls(ctx: Context) -> list[str]:
    return [f"/-/p/{NAME}/static/widgets.css"]
