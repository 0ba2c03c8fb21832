"""The clusters this process serves, by URL-safe name.

A context name can hold characters that do not survive a URL path (EKS ARNs
have ``/`` and ``:``), so each cluster gets a slug for ``/c/<slug>/`` and keeps
its context name for display.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from kubelantern import errors
from kubelantern.clusters.client import ClusterClient, PoolLimits
from kubelantern.clusters.discovery import Discovery
from kubelantern.clusters.execplugin import passed_names
from kubelantern.clusters.kubeconfig import ClusterConfig
from kubelantern.clusters.visibility import current_viewer

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def slugify(name: str) -> str:
    slug = _UNSAFE.sub("-", name).strip("-.")
    return slug or "cluster"


@dataclass
class Cluster:
    """One cluster: its config, its client and its discovery cache."""

    slug: str
    config: ClusterConfig
    client: ClusterClient
    discovery: Discovery
    auth_mode: str = "kubeconfig"  # kubeconfig | bearer | impersonate | oidc (kubelantern.auth)
    display: str | None = None  # the operator's name for it (--cluster-names)
    namespace: str | None = None  # the operator's default namespace (--cluster-namespaces)
    # Added from the UI: who added it ("" if unknown); None for the operator's clusters.
    added_by: str | None = None
    shared: bool = False  # an added cluster a cluster admin shared with everyone

    @property
    def added(self) -> bool:
        return self.added_by is not None

    @property
    def display_name(self) -> str:
        return self.display or self.config.name

    @property
    def default_namespace(self) -> str | None:
        return self.namespace or self.config.namespace


class ClusterStore:
    """Name -> Cluster; the one place that creates and closes cluster clients."""

    def __init__(
        self,
        *,
        timeout: float = 15.0,
        mode_for: Callable[[str, str], str] | None = None,
        exec_env: tuple[str, ...] = (),
        pool: PoolLimits | None = None,
    ) -> None:
        self._timeout = timeout
        self._pool = pool
        # What exec plugins may see of the server's environment (--exec-credential-env).
        self._exec_env = passed_names(exec_env)
        self._clusters: dict[str, Cluster] = {}
        # (slug, context name) -> auth mode; from AuthConfig.mode_for in the app.
        self._mode_for = mode_for or (lambda slug, name: "kubeconfig")

    def add(
        self,
        config: ClusterConfig,
        *,
        added_by: str | None = None,
        shared: bool = False,
        guard: frozenset[str] | None = None,
    ) -> Cluster:
        """Make the client of ``config``; ``added_by`` marks a cluster added from the UI.

        An added cluster only ever uses the credentials pasted with it (mode
        kubeconfig, whatever --auth-mode or --cluster-auth say): a person's own
        token or impersonation must never go to a server someone else chose.
        ``guard`` is the address classes it may connect to (``clusters.addresses``).
        """
        if config.exec is not None and self._exec_env:
            config = dataclasses.replace(
                config, exec=dataclasses.replace(config.exec, passed_env=self._exec_env)
            )
        slug = base = slugify(config.name)
        n = 2
        while slug in self._clusters:
            slug = f"{base}-{n}"
            n += 1
        mode = "kubeconfig" if added_by is not None else self._mode_for(slug, config.name)
        # Only kubeconfig and impersonate present the kubeconfig's identity.
        anonymous = mode not in ("kubeconfig", "impersonate")
        client = ClusterClient(
            config, timeout=self._timeout, anonymous=anonymous, guard=guard, pool=self._pool
        )
        cluster = Cluster(
            slug=slug,
            config=config,
            client=client,
            discovery=Discovery(client),
            auth_mode=mode,
            added_by=added_by,
            shared=shared,
        )
        self._clusters[slug] = cluster
        return cluster

    def apply_overrides(self, names: Iterable[str], namespaces: Iterable[str]) -> None:
        """Per-cluster display names and default namespaces, as ``NAME=value`` pairs.

        NAME is the URL name (slug) or the kubeconfig context name.
        """
        for pairs, attr in ((names, "display"), (namespaces, "namespace")):
            for pair in pairs:
                key, _, value = pair.partition("=")
                for cluster in self._clusters.values():
                    if key in (cluster.slug, cluster.config.name) and value:
                        setattr(cluster, attr, value)

    def add_all(self, configs: Iterable[ClusterConfig]) -> None:
        for config in configs:
            self.add(config)

    def get(self, slug: str) -> Cluster:
        """The cluster, if the current viewer may see it (``clusters.visibility``)."""
        cluster = self._clusters.get(slug)
        if cluster is None or not current_viewer.get().sees(cluster.added_by, cluster.shared):
            raise errors.UnknownCluster(f"no cluster named {slug!r}")
        return cluster

    def slugs(self) -> set[str]:
        """Every URL name in use, seen or not (new names must not collide)."""
        return set(self._clusters)

    async def remove(self, slug: str) -> None:
        """Forget a cluster (added at run time) and close its client."""
        cluster = self._clusters.pop(slug, None)
        if cluster is not None:
            await cluster.client.aclose()

    def __iter__(self) -> Iterator[Cluster]:
        """The clusters the current viewer may see, in the order they were added."""
        viewer = current_viewer.get()
        return iter([c for c in self._clusters.values() if viewer.sees(c.added_by, c.shared)])

    def __len__(self) -> int:
        return len(list(iter(self)))

    def added_count(self) -> int:
        return sum(1 for c in self._clusters.values() if c.added)

    async def aclose(self) -> None:
        for cluster in list(self._clusters.values()):
            await cluster.client.aclose()
