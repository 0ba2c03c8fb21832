"""A package plugin with templates/, static/ and a relative import."""

from __future__ import annotations

from typing import Any

from kubelantern import Context, Kubelantern, PluginRoute, hookimpl

from .helper import WORD


async def page(ctx: Context) -> Any:
    return await ctx.page("pkg/page.html", {"word": WORD}, title="Package page")


@hookimpl
def register_routes(kl: Kubelantern) -> list[PluginRoute]:
    return [PluginRoute("/", page)]


@hookimpl
def extra_js_urls(ctx: Context) -> list[str]:
    return ["/-/p/pkg/static/pkg.js"]
