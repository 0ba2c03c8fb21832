"""The shape of a kind-specific section and the registry of their builders.

Each builder turns one object (plus lookups made with the user's credentials)
into a plain dict for the JSON twin and a partial template for the page, so a
new kind is one function and one template, found by (group, kind).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from kubelantern.resources.relations import Lookup, Obj, Related


@dataclass
class Section:
    """A kind's own view: ``template`` names ``detail/<template>.html``."""

    template: str
    summary: dict[str, Any]
    related: list[Related] = field(default_factory=list)


Builder = Callable[[Lookup, Obj], Awaitable[Section]]
BUILDERS: dict[tuple[str, str], Builder] = {}


def builds(group: str, *kinds: str) -> Callable[[Builder], Builder]:
    """Register a builder for kinds of an API group ("" is core)."""

    def decorate(fn: Builder) -> Builder:
        for kind in kinds:
            BUILDERS[(group, kind)] = fn
        return fn

    return decorate


def spec(obj: Obj) -> Obj:
    value = obj.get("spec")
    return value if isinstance(value, dict) else {}


def status(obj: Obj) -> Obj:
    value = obj.get("status")
    return value if isinstance(value, dict) else {}


def meta(obj: Obj) -> Obj:
    value = obj.get("metadata")
    return value if isinstance(value, dict) else {}
