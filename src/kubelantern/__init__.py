"""Kubelantern: a Kubernetes web UI with exactly the rights RBAC gives each person.

The names exported here are the public surface for plugin authors; everything
else is internal and may change between releases.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
