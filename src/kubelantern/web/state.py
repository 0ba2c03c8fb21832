"""What every request handler can reach: settings, clusters, templates."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from jinja2 import Environment
from starlette.requests import Request

from kubelantern.auth.config import AuthConfig
from kubelantern.auth.oidc import OIDCClient
from kubelantern.auth.revocation import MemoryRevocations
from kubelantern.auth.sessions import SessionLifetime
from kubelantern.clusters.addpolicy import AddPolicy
from kubelantern.clusters.health import HealthMonitor
from kubelantern.clusters.runtime import RuntimeClusters
from kubelantern.clusters.store import ClusterStore
from kubelantern.operate.nodeshell import ShellPods
from kubelantern.settings import Settings
from kubelantern.streams.portforward import PortForwards

if TYPE_CHECKING:
    from kubelantern.plugins.manager import Plugins


@dataclass
class AppState:
    settings: Settings
    clusters: ClusterStore
    jinja: Environment
    auth: AuthConfig = field(default_factory=AuthConfig)
    oidc: OIDCClient | None = None  # Kubelantern's own OIDC login (mode oidc)
    runtime: RuntimeClusters | None = None  # clusters added from the UI (None: not allowed)
    add_policy: AddPolicy = field(default_factory=AddPolicy)  # what pasted kubeconfigs may hold
    desktop: bool = False  # desktop mode: one user, who owns the machine
    health: HealthMonitor = field(default_factory=HealthMonitor)
    plugins: Plugins | None = None  # kubelantern.plugins.manager (None: an app without plugins)
    # Session ids, lifetimes and sign-out (kubelantern.auth.sessions); shared by replicas.
    sessions: SessionLifetime = field(
        default_factory=lambda: SessionLifetime(8 * 3600, 3600, MemoryRevocations())
    )
    forwards: PortForwards = field(default_factory=PortForwards)  # port-forwards of this process
    shells: ShellPods = field(default_factory=ShellPods)  # node shell pods of this process


def app_state(request: Request) -> AppState:
    state: AppState = request.app.state.kl
    return state
