"""Kind-specific sections of the detail page, looked up by (API group, kind).

Importing this package registers the built-in builders; ``build`` answers None
for kinds without one (custom resources get the generic page: metadata,
conditions, events, owners, YAML).
"""

from __future__ import annotations

from kubelantern.clusters.discovery import ResourceType
from kubelantern.resources.relations import Lookup, Obj
from kubelantern.resources.sections import (  # noqa: F401  (they register themselves)
    config,
    network,
    nodes,
    pods,
    rbac,
    storage,
    workloads,
)
from kubelantern.resources.sections.base import BUILDERS, Section

__all__ = ["BUILDERS", "Section", "build"]


async def build(lk: Lookup, rt: ResourceType, obj: Obj) -> Section | None:
    builder = BUILDERS.get((rt.group, rt.kind))
    return await builder(lk, obj) if builder else None
