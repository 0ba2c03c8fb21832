"""Who is looking at the clusters: the store shows each person only what they may see.

Clusters from the operator (kubeconfig files, ``--in-cluster``, plugins) are
everyone's. A cluster added from the UI belongs to whoever added it: it is
seen by its owner and by the cluster admins, and by everyone once a cluster
admin shares it. Rather than trusting every view (pages, search, whoami,
``/-/list``, plugins, streams) to filter, ``kubelantern.auth.admins`` sets the
viewer of each request in a context variable and ``ClusterStore`` answers
through it: an invisible cluster is simply not there (404, never listed).

Outside a request (start-up, background health checks) the viewer is the
system, which sees every cluster.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass


@dataclass(frozen=True)
class Viewer:
    """The person of one request, as far as added clusters are concerned."""

    person: str | None = None  # their user name; None: not signed in
    admin: bool = False  # named in --cluster-admins (or desktop mode's lone user)
    system: bool = False  # no request: start-up and background work

    def sees(self, owner: str | None, shared: bool) -> bool:
        """May this viewer see a cluster with this owner (None: the operator's)?"""
        if owner is None or shared or self.system or self.admin:
            return True
        return self.person is not None and self.person == owner

    def manages(self, owner: str | None) -> bool:
        """May rename or remove it: the cluster admins, and the person who added it."""
        if owner is None:
            return False
        return self.admin or (self.person is not None and self.person == owner)


SYSTEM = Viewer(system=True)
current_viewer: contextvars.ContextVar[Viewer] = contextvars.ContextVar(
    "kubelantern_viewer", default=SYSTEM
)
