"""An object action with a confirmation: stamp a Deployment with the current time.

The button asks first ("Annotate Deployment web with the time?"), then merge-
patches ``metadata.annotations`` with the user's own credentials. Someone
whom RBAC does not let patch Deployments sees the button disabled, with the
reason, and a request made anyway is refused with the same message.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from kubelantern import Action, Check, Context, Resource, Setting, hookimpl

NAME = "annotate"


@hookimpl
def register_plugin_settings() -> list[Setting]:
    return [Setting("annotation", "The annotation to set.", "kubelantern.example/touched-at")]


async def stamp(ctx: Context, obj: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    assert ctx.cluster is not None
    meta = obj["metadata"]
    key = ctx.plugin_settings(NAME)["annotation"]
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    patch = {"metadata": {"annotations": {key: now}}}
    await ctx.cluster.patch("deployments.apps", meta["name"], patch, meta["namespace"])
    return {"message": f"Annotated Deployment {meta['name']} with {key}={now}.", "time": now}


@hookimpl
def object_actions(ctx: Context, resource: Resource, obj: dict[str, Any]) -> list[Action]:
    if resource.name != "deployments.apps":
        return []
    meta = obj.get("metadata") or {}
    name, namespace = meta.get("name"), meta.get("namespace")
    return [
        Action(
            "stamp",
            "Annotate with time",
            stamp,
            confirm=f"Annotate Deployment {name} with the current time?",
            checks=(Check("patch", "deployments", "apps", namespace, name),),
        )
    ]
