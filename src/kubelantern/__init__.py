"""Kubelantern: a Kubernetes web UI with exactly the rights RBAC gives each person.

The names exported here are the public surface for plugin authors; everything
else is internal and may change between releases. A plugin imports only from
``kubelantern`` (and ``kubelantern.testing`` in its tests)::

    from kubelantern import Context, DetailSection, hookimpl

They are loaded on first use (PEP 562 ``__getattr__``), so ``import kubelantern``
stays cheap; ``kubelantern.plugins.api`` documents them. This lazy re-export is
the one function-local import the layer rules allow (tests/unit/test_layers.py):
the package is a facade above every layer, and Kubelantern's own modules never
import it (they name ``kubelantern.version``, ``kubelantern.errors``...).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kubelantern.version import __version__

if TYPE_CHECKING:
    from kubelantern.errors import BadRequest, Forbidden, KubelanternError, NotFound
    from kubelantern.plugins.api import (
        Action,
        AppBarItem,
        Check,
        ClusterAPI,
        ClusterConfig,
        ColumnProcessor,
        Context,
        Decision,
        DetailSection,
        Event,
        Kubelantern,
        ListColumn,
        ListRow,
        ListTable,
        Markup,
        PluginRoute,
        Resource,
        SectionRef,
        Setting,
        SidebarItem,
        hookimpl,
        load_kubeconfig,
        parse_quantity,
    )

_ERRORS = frozenset({"BadRequest", "Forbidden", "KubelanternError", "NotFound"})

__all__ = [
    "Action",
    "AppBarItem",
    "BadRequest",
    "Check",
    "ClusterAPI",
    "ClusterConfig",
    "ColumnProcessor",
    "Context",
    "Decision",
    "DetailSection",
    "Event",
    "Forbidden",
    "Kubelantern",
    "KubelanternError",
    "ListColumn",
    "ListRow",
    "ListTable",
    "Markup",
    "NotFound",
    "PluginRoute",
    "Resource",
    "SectionRef",
    "Setting",
    "SidebarItem",
    "__version__",
    "hookimpl",
    "load_kubeconfig",
    "parse_quantity",
]


def __getattr__(name: str) -> Any:
    if name in _ERRORS:
        from kubelantern import errors

        return getattr(errors, name)
    if name in __all__:
        from kubelantern.plugins import api

        return getattr(api, name)
    raise AttributeError(f"module 'kubelantern' has no attribute {name!r}")
