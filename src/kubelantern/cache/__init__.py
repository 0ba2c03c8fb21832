"""The shared, RBAC-gated watch cache: one upstream list+watch serves many tabs.

Without it every open list tab holds its own watch on the API server, so a
busy team knocks the API server over before Kubelantern. With it, one
``Informer`` per (cluster, kind, namespace scope, reading identity) lists and
watches once and fans its changes out to every subscriber (``informer``);
``WatchCache`` (``manager``) owns the informers, closes idle ones and decides
whose credentials read; ``AccessGate`` (``gate``) lets a person be served
from a cache only after the API server said they may list and watch there.

Layering: this package talks to clusters and resources; it never imports the
web layer. The web layer asks it for rows and subscriptions.
"""

from kubelantern.cache.gate import AccessGate
from kubelantern.cache.informer import (
    Change,
    Event,
    Failure,
    Informer,
    Progress,
    Resync,
    Subscription,
)
from kubelantern.cache.manager import Reader, Snapshot, WatchCache

__all__ = [
    "AccessGate",
    "Change",
    "Event",
    "Failure",
    "Informer",
    "Progress",
    "Reader",
    "Resync",
    "Snapshot",
    "Subscription",
    "WatchCache",
]
