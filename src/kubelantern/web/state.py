"""What every request handler can reach: settings, clusters, templates, and all of
the app's mutable state.

Nothing mutable lives at module level: caches (access reviews, the palette's
object index, user names for the audit), the activity panel, drains, port
forwards, node shells and the shutdown switch are objects of this dataclass,
made by ``create_app`` and stopped in its lifespan. Two apps in one process
(tests build many) therefore share nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from jinja2 import Environment
from starlette.requests import HTTPConnection

from kubelantern.auth.access import AccessCache
from kubelantern.auth.config import AuthConfig
from kubelantern.auth.oidc import OIDCClient
from kubelantern.auth.revocation import MemoryRevocations
from kubelantern.auth.sessions import SessionLifetime
from kubelantern.cache import WatchCache
from kubelantern.clusters.addpolicy import AddPolicy
from kubelantern.clusters.health import HealthMonitor
from kubelantern.clusters.runtime import RuntimeClusters
from kubelantern.clusters.store import ClusterStore
from kubelantern.lifecycle import Lifecycle
from kubelantern.operate.audit import Audit
from kubelantern.operate.drain import Drains
from kubelantern.operate.nodeshell import ShellPods
from kubelantern.resources.search import ObjectIndex
from kubelantern.settings import Settings
from kubelantern.streams.portforward import PortForwards
from kubelantern.streams.tasks import Closing

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
    access: AccessCache = field(default_factory=AccessCache)  # access and rules reviews (30 s)
    audit: Audit = field(default_factory=Audit)  # activity panel entries, whoami names
    drains: Drains = field(default_factory=Drains)  # node drains, cancelled at shutdown
    search_index: ObjectIndex = field(default_factory=ObjectIndex)  # the palette's names
    lifecycle: Lifecycle = field(default_factory=Lifecycle)  # shutdown switch, open streams
    closing: Closing = field(default_factory=Closing)  # stream tasks finishing their cleanup
    watch_cache: WatchCache | None = None  # kubelantern.cache (None: --watch-cache off)


def app_state(request: HTTPConnection) -> AppState:
    state: AppState = request.app.state.kl
    return state
