"""The clusters this process serves, by URL-safe name.

A context name can hold characters that do not survive a URL path (EKS ARNs
have ``/`` and ``:``), so each cluster gets a slug for ``/c/<slug>/`` and keeps
its context name for display.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from kubelantern import errors
from kubelantern.clusters.client import ClusterClient
from kubelantern.clusters.kubeconfig import ClusterConfig
from kubelantern.resources.discovery import Discovery

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
    ) -> None:
        self._timeout = timeout
        self._clusters: dict[str, Cluster] = {}
        # (slug, context name) -> auth mode; from AuthConfig.mode_for in the app.
        self._mode_for = mode_for or (lambda slug, name: "kubeconfig")

    def add(self, config: ClusterConfig) -> Cluster:
        slug = base = slugify(config.name)
        n = 2
        while slug in self._clusters:
            slug = f"{base}-{n}"
            n += 1
        mode = self._mode_for(slug, config.name)
        # Only kubeconfig and impersonate present the kubeconfig's identity.
        anonymous = mode not in ("kubeconfig", "impersonate")
        client = ClusterClient(config, timeout=self._timeout, anonymous=anonymous)
        cluster = Cluster(
            slug=slug, config=config, client=client, discovery=Discovery(client), auth_mode=mode
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
        try:
            return self._clusters[slug]
        except KeyError:
            raise errors.UnknownCluster(f"no cluster named {slug!r}") from None

    async def remove(self, slug: str) -> None:
        """Forget a cluster (added at run time) and close its client."""
        cluster = self._clusters.pop(slug, None)
        if cluster is not None:
            await cluster.client.aclose()

    def __iter__(self) -> Iterator[Cluster]:
        return iter(list(self._clusters.values()))

    def __len__(self) -> int:
        return len(self._clusters)

    async def aclose(self) -> None:
        for cluster in self._clusters.values():
            await cluster.client.aclose()
