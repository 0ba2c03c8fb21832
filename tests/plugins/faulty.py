"""A test plugin that fails in every hook it implements, in every way it can."""

from __future__ import annotations

from typing import Any

from kubelantern import (
    Action,
    AppBarItem,
    ColumnProcessor,
    Context,
    Event,
    Kubelantern,
    ListTable,
    Resource,
    SidebarItem,
    hookimpl,
)


@hookimpl
async def startup(kl: Kubelantern) -> None:
    raise RuntimeError("startup failed")


@hookimpl
def on_event(kl: Kubelantern, event: Event) -> None:
    raise RuntimeError(f"cannot handle {event.name}")


@hookimpl
def extra_appbar_items(ctx: Context) -> list[AppBarItem]:
    raise RuntimeError("app bar failed")


@hookimpl
async def extra_css_urls(ctx: Context) -> list[str]:  # wrong: this hook must not be async
    return ["/never.css"]


@hookimpl
def extra_csp(kl: Kubelantern) -> Any:
    """Tries to weaken the policy every way: each source is refused and reported."""
    return {
        "script-src": ["'unsafe-inline'", "'unsafe-eval'", "*", "https:", "data:"],
        "frame-ancestors": ["https://evil.example"],
        "style-src": ["https://ok.example; script-src *", "https://x.example,script-src *"],
        "img-src": "https://not-a-list.example",
    }


@hookimpl
def extra_js_urls(ctx: Context) -> Any:
    return [42]  # wrong type: reported, dropped


@hookimpl
def register_sidebar_entries(ctx: Context) -> list[SidebarItem]:
    raise RuntimeError("sidebar failed")


def half_then_fail(ctx: Context, table: ListTable) -> None:
    table.remove_column("Name")
    raise RuntimeError("processor failed halfway")


@hookimpl
def register_column_processors(kl: Kubelantern) -> list[ColumnProcessor]:
    return [ColumnProcessor(half_then_fail, name="half")]


@hookimpl
async def detail_sections(ctx: Context, resource: Resource, obj: dict[str, Any]) -> Any:
    raise RuntimeError("section failed")


def explode(ctx: Context, obj: dict[str, Any], fields: dict[str, Any]) -> str:
    raise ValueError("the handler exploded")


@hookimpl
def object_actions(ctx: Context, resource: Resource, obj: dict[str, Any]) -> list[Any]:
    if resource.name == "configmaps":
        return [Action("explode", "Explode", explode), "not an action"]
    raise RuntimeError("actions failed")


@hookimpl
def register_app_logo(kl: Kubelantern) -> str:
    raise RuntimeError("logo failed")
