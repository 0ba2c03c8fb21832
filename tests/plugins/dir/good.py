"""A single-file plugin found in --plugins-dir."""

from __future__ import annotations

from kubelantern import Context, Kubelantern, PluginRoute, hookimpl

__version__ = "0.3.0"


def page(ctx: Context) -> dict[str, str]:
    return {"from": "good"}


@hookimpl
def register_routes(kl: Kubelantern) -> list[PluginRoute]:
    return [PluginRoute("/", page)]
