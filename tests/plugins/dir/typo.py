"""Implements a hook that does not exist (a typo): refused, with the name."""

from __future__ import annotations

from kubelantern import hookimpl


@hookimpl
def regsiter_routes(kl: object) -> list[object]:
    return []
