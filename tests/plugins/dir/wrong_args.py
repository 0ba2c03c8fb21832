"""Asks for an argument the hook does not have: pluggy refuses to register it."""

from __future__ import annotations

from kubelantern import hookimpl


@hookimpl
def register_routes(kl: object, nonsense: object) -> list[object]:
    return []
