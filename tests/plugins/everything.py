"""A test plugin that implements every hook, and records what it was told.

On ConfigMaps it adds a column, two detail sections (one HTML, one plain text
that must be escaped), hides the Events section, adds an action with no
access checks (the API server decides) and removes the built-in Delete button.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from kubelantern import (
    Action,
    AppBarItem,
    ColumnProcessor,
    Context,
    DetailSection,
    Event,
    Kubelantern,
    ListRow,
    ListTable,
    Markup,
    PluginRoute,
    Resource,
    SectionRef,
    Setting,
    SidebarItem,
    hookimpl,
)

__version__ = "2.5.0"
CALLS: list[str] = []
EVENTS: list[Event] = []


@hookimpl
def register_plugin_settings() -> list[Setting]:
    return [
        Setting("greeting", "What the page says.", "hello"),
        Setting("count", "A number.", 1, type="int"),
        Setting("loud", "Shout.", False, type="bool"),
        Setting("colors", "Some colors.", ["red"], type="list"),
        Setting("level", "A choice.", "low", choices=("low", "high")),
        Setting("token", "A secret.", "", secret=True),
    ]


@hookimpl
async def startup(kl: Kubelantern) -> None:
    CALLS.append("startup")


@hookimpl
def shutdown(kl: Kubelantern) -> None:
    CALLS.append("shutdown")


@hookimpl
def on_event(kl: Kubelantern, event: Event) -> None:
    EVENTS.append(event)


async def index(ctx: Context) -> dict[str, Any]:
    settings = ctx.plugin_settings("everything")
    return {"greeting": settings["greeting"], "count": settings["count"]}


async def hello(ctx: Context) -> Any:
    data = {"greeting": ctx.plugin_settings("everything")["greeting"], "link": ctx.url("/x")}
    return await ctx.page("plugins/page.html", data, title="Hello page")


async def cluster_info(ctx: Context) -> Any:
    assert ctx.cluster is not None
    deployment = await ctx.cluster.get("deployments.apps", "web", "team-a")
    allowed = await ctx.cluster.can("patch", "deployments.apps", namespace="team-a")
    return {
        "cluster": ctx.cluster.name,
        "replicas": deployment["spec"]["replicas"],
        "mayPatch": allowed.allowed,
        "widgets": len(await ctx.cluster.list("widgets.example.com", "team-a")),
    }


async def boom(ctx: Context) -> Any:
    raise RuntimeError("the page exploded")


def html(ctx: Context) -> str:
    return ctx.render_string("<p id='rendered'>{{ word }} {{ url('/a') }}</p>", word="<b>")


@hookimpl
def register_routes(kl: Kubelantern) -> list[PluginRoute]:
    return [
        PluginRoute("/", index, name="index"),
        PluginRoute("/hello", hello),
        PluginRoute("/c/{cluster}/info", cluster_info),
        PluginRoute("/boom", boom),
        PluginRoute("/html", html),
    ]


@hookimpl
def extra_appbar_items(ctx: Context) -> list[AppBarItem]:
    return [AppBarItem("Everything", url="/-/p/everything/", title="The everything plugin")]


@hookimpl
def extra_css_urls(ctx: Context) -> list[str]:
    return ["/everything.css", "https://cdn.example.com/everything.css"]


@hookimpl
def extra_js_urls(ctx: Context) -> list[str]:
    return ["/everything.js"]


@hookimpl
def extra_csp(kl: Kubelantern) -> dict[str, list[str]]:
    """The CDN of its stylesheet (extra_css_urls) and a dashboard it could frame."""
    return {
        "style-src": ["https://cdn.example.com"],
        "frame-src": ["https://grafana.example.com:3000/d/"],
    }


@hookimpl
def register_app_logo(kl: Kubelantern) -> str:
    return Markup("<b data-everything-logo>EVERY</b>")


@hookimpl
def register_sidebar_entries(ctx: Context) -> list[SidebarItem]:
    return [SidebarItem("Everything", "/-/p/everything/", name="everything")]


@hookimpl
def process_sidebar(ctx: Context, sections: list[dict[str, Any]]) -> None:
    for section in sections:
        section["entries"] = [e for e in section["entries"] if e["resource"] != "events"]


def letters(ctx: Context, table: ListTable) -> None:
    def count(row: ListRow) -> int:
        return len(row.name)

    table.add_column("Letters", count, after="Name")
    table.move_column("Age", at=0)


@hookimpl
def register_column_processors(kl: Kubelantern) -> list[ColumnProcessor]:
    return [ColumnProcessor(letters, resources=("configmaps",), name="letters")]


@hookimpl
def detail_sections(ctx: Context, resource: Resource, obj: dict[str, Any]) -> Any:
    if resource.name != "configmaps":
        return None
    name = obj["metadata"]["name"]
    return [
        DetailSection(
            "Everything first",
            html=ctx.render_string("<p data-first>{{ n }}</p>", n=name),
            after="",
        ),
        DetailSection("Plain", html="<script>alert(1)</script>", data={"n": name}),
    ]


@hookimpl
def process_detail_sections(
    ctx: Context, resource: Resource, obj: dict[str, Any], sections: list[SectionRef]
) -> None:
    if resource.name == "configmaps":
        sections[:] = [s for s in sections if s.id != "events"]


async def touch(ctx: Context, obj: dict[str, Any], fields: dict[str, Any]) -> str:
    assert ctx.cluster is not None
    meta = obj["metadata"]
    stamp = dt.datetime.now(dt.UTC).strftime("%H%M%S")
    patch = {"metadata": {"labels": {"touched": stamp}}}
    await ctx.cluster.patch("configmaps", meta["name"], patch, meta["namespace"])
    return f"Touched {meta['name']}"


@hookimpl
def object_actions(ctx: Context, resource: Resource, obj: dict[str, Any]) -> list[Action]:
    if resource.name != "configmaps":
        return []
    return [Action("touch", "Touch", touch, confirm="Touch this ConfigMap?")]


@hookimpl
def process_object_actions(
    ctx: Context, resource: Resource, obj: dict[str, Any], actions: list[dict[str, Any]]
) -> None:
    if resource.name == "configmaps":
        actions[:] = [a for a in actions if a["name"] != "delete"]
