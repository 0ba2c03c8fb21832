"""What a plugin may touch: a small, stable API, re-exported from ``kubelantern``.

Hooks get one of two handles, never the app's internals:

* ``Kubelantern`` (``kl``), app-wide: URLs with the base-URL prefix (any app
  path, an object's or a list's page), the plugin's settings, rendering with
  the app's templates, cluster names;
* ``Context`` (``ctx``), one request: all of the above plus ``ctx.cluster``, a
  ``ClusterAPI`` that talks to the cluster *with this user's credentials*
  (get, list, patch, create, access checks), and ``ctx.page()`` for a page
  with its JSON twin.

Because every cluster call carries the user's own credentials, a plugin can
show or do exactly what RBAC lets that person do, no more: the API server
refuses the rest, and the refusal reaches the user as a clear message
(``kubelantern.Forbidden``). Writes are refused while the cluster is
read-only (``--read-only``).

Both are built on a ``Host`` (``plugins/host.py``), the narrow API the web
layer hands the plugins: this module never imports ``kubelantern.web``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Any

import orjson
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response

from kubelantern import errors, urls
from kubelantern.auth.access import Check, Decision
from kubelantern.clusters.credentials import Credentials
from kubelantern.clusters.discovery import ResourceType
from kubelantern.clusters.kubeconfig import ClusterConfig, load_files
from kubelantern.clusters.store import Cluster
from kubelantern.operate.readonly import ensure_writable
from kubelantern.plugins import hookimpl
from kubelantern.plugins.host import Host
from kubelantern.plugins.types import (
    Action,
    AppBarItem,
    ColumnProcessor,
    DetailSection,
    Event,
    ListColumn,
    ListRow,
    ListTable,
    PluginRoute,
    Resource,
    SectionRef,
    Setting,
    SidebarItem,
)
from kubelantern.resources.quantity import parse_quantity
from kubelantern.version import __version__

__all__ = [
    "Action",
    "AppBarItem",
    "Check",
    "ClusterAPI",
    "ClusterConfig",
    "ColumnProcessor",
    "Context",
    "Decision",
    "DetailSection",
    "Event",
    "Kubelantern",
    "ListColumn",
    "ListRow",
    "ListTable",
    "Markup",
    "PluginRoute",
    "Resource",
    "SectionRef",
    "Setting",
    "SidebarItem",
    "hookimpl",
    "load_kubeconfig",
    "parse_quantity",
]

PATCH_TYPES = {
    "merge": "application/merge-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "json": "application/json-patch+json",
    "apply": "application/apply-patch+yaml",
}
FIELD_MANAGER = "kubelantern"


def resource_of(rt: ResourceType) -> Resource:
    return Resource(
        name=rt.name,
        group=rt.group,
        version=rt.version,
        kind=rt.kind,
        plural=rt.plural,
        namespaced=rt.namespaced,
        verbs=tuple(rt.verbs),
    )


def load_kubeconfig(path: str, *, context: str | None = None) -> list[ClusterConfig]:
    """Every context of a kubeconfig file as a ClusterConfig (for ``register_clusters``)."""
    return load_files([path], context=context)


class Kubelantern:
    """The app-wide API a plugin gets as ``kl``: nothing here acts as a user."""

    def __init__(self, host: Host) -> None:
        self._host = host

    @property
    def version(self) -> str:
        return __version__

    @property
    def prefix(self) -> str:
        """The base URL (``--base-url``), ``""`` or ``/something``."""
        return self._host.settings.prefix

    def url(self, path: str) -> str:
        """An app path with the base URL in front, for links and redirects."""
        return self.prefix + (path if path.startswith("/") else "/" + path)

    def static_url(self, plugin: str, path: str) -> str:
        """The URL of a file in a plugin package's ``static/`` folder."""
        return self.url(urls.plugin_static_url(plugin, path))

    def object_url(
        self, cluster: str, resource: Resource, name: str, namespace: str | None = None
    ) -> str:
        """The URL of an object's page (base URL included), as the app links it."""
        return self.url(self._host.object_url(cluster, resource, name, namespace))

    def list_url(self, cluster: str, resource: Resource, namespace: str | None = None) -> str:
        """The URL of a kind's list page in one namespace, or all (base URL included)."""
        return self.url(self._host.list_url(cluster, resource, namespace))

    def plugin_settings(self, plugin: str) -> dict[str, Any]:
        """A plugin's setting values, typed as declared (``register_plugin_settings``)."""
        return self._host.plugin_settings(plugin)

    def cluster_names(self) -> list[str]:
        """The URL names of the clusters this app serves (``/c/<name>/``)."""
        return [c.slug for c in self._host.clusters]

    def _context(self, context: Mapping[str, Any]) -> dict[str, Any]:
        return {"prefix": self.prefix, **context}

    def render_template(self, name: str, /, **context: Any) -> Markup:
        """Render a template (the plugin's ``templates/`` folder or the app's) to markup."""
        return self._host.render_template(name, self._context(context))

    def render_string(self, source: str, /, **context: Any) -> Markup:
        """Render a template given as a string, with the app's filters and ``url()``."""
        return self._host.render_string(source, self._context(context))


class ClusterAPI:
    """One cluster, as the current user: every request carries their credentials."""

    def __init__(self, host: Host, request: Request, cluster: Cluster) -> None:
        self._host = host
        self._request = request
        self._cluster = cluster

    @property
    def name(self) -> str:
        """The cluster's URL name (``/c/<name>/``)."""
        return self._cluster.slug

    @property
    def display_name(self) -> str:
        return self._cluster.display_name

    @property
    def default_namespace(self) -> str | None:
        return self._cluster.default_namespace

    def _credentials(self) -> Credentials | None:
        return self._host.credentials(self._request, self._cluster)

    async def _type(self, resource: str) -> ResourceType:
        return await self._cluster.discovery.resolve(resource, self._credentials())

    async def resource(self, resource: str) -> Resource:
        """A kind by kubectl name (``deployments.apps``, ``pods``, ``widgets.example.com``)."""
        return resource_of(await self._type(resource))

    async def _json(
        self,
        method: str,
        rt: ResourceType,
        namespace: str | None,
        name: str | None,
        *,
        verb: str,
        body: Any = None,
        content_type: str = "application/json",
        params: dict[str, str | int | list[str]] | None = None,
    ) -> dict[str, Any]:
        ns = namespace if rt.namespaced else None
        if rt.namespaced and not ns and verb in ("get", "patch", "create"):
            raise errors.BadRequest(f"{rt.name} is namespaced: give a namespace")
        headers = {"Content-Type": content_type} if body is not None else None
        return await self._cluster.client.json(
            method,
            rt.path(ns, name),
            credentials=self._credentials(),
            content=orjson.dumps(body) if body is not None else None,
            headers=headers,
            params=params,
            verb=verb,
            resource=rt.name,
            namespace=ns,
        )

    def _writable(self) -> None:
        ensure_writable(self._host.settings, self._cluster)

    async def get(self, resource: str, name: str, namespace: str | None = None) -> dict[str, Any]:
        """One object; ``NotFound``/``Forbidden`` when it is missing or not yours to read."""
        rt = await self._type(resource)
        return await self._json("GET", rt, namespace, name, verb="get")

    async def list(
        self,
        resource: str,
        namespace: str | None = None,
        *,
        label_selector: str = "",
        field_selector: str = "",
        limit: int = 500,
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` objects (one namespace, or all with ``None``), with kind set."""
        rt = await self._type(resource)
        params: dict[str, str | int | list[str]] = {"limit": limit}
        if label_selector:
            params["labelSelector"] = label_selector
        if field_selector:
            params["fieldSelector"] = field_selector
        doc = await self._json("GET", rt, namespace, None, verb="list", params=params)
        items = [i for i in doc.get("items") or [] if isinstance(i, dict)]
        for item in items:
            item.setdefault("apiVersion", rt.api_version)
            item.setdefault("kind", rt.kind)
        return items

    async def patch(
        self,
        resource: str,
        name: str,
        patch: dict[str, Any] | Sequence[dict[str, Any]],
        namespace: str | None = None,
        *,
        type: str = "merge",
        field_manager: str = FIELD_MANAGER,
    ) -> dict[str, Any]:
        """Patch an object: ``type`` is merge, strategic, json or apply (server-side apply)."""
        if type not in PATCH_TYPES:
            raise errors.BadRequest(f"patch type must be one of {', '.join(PATCH_TYPES)}")
        self._writable()
        rt = await self._type(resource)
        return await self._json(
            "PATCH",
            rt,
            namespace,
            name,
            verb="patch",
            body=patch,
            content_type=PATCH_TYPES[type],
            params={"fieldManager": field_manager},
        )

    async def create(
        self,
        resource: str,
        body: dict[str, Any],
        namespace: str | None = None,
        *,
        field_manager: str = FIELD_MANAGER,
    ) -> dict[str, Any]:
        """Create an object (the namespace defaults to the body's ``metadata.namespace``)."""
        self._writable()
        rt = await self._type(resource)
        ns = namespace or (body.get("metadata") or {}).get("namespace")
        return await self._json(
            "POST",
            rt,
            ns,
            None,
            verb="create",
            body=body,
            params={"fieldManager": field_manager},
        )

    async def can(
        self,
        verb: str,
        resource: str,
        *,
        namespace: str | None = None,
        name: str | None = None,
        subresource: str = "",
    ) -> Decision:
        """May this user do it? A SelfSubjectAccessReview, cached briefly per user.

        For hiding or disabling things only: the API server still decides.
        """
        rt = await self._type(resource)
        check = Check(verb, rt.plural, rt.group, namespace, name, subresource)
        return await self.check(check)

    async def check(self, check: Check) -> Decision:
        """``can`` for a ready ``Check`` (resource as plural + group)."""
        try:
            return await self._host.can(self._request, self._cluster, check)
        except errors.KubelanternError as exc:  # no credentials for this cluster
            return Decision(False, exc.message)


class Context(Kubelantern):
    """The API for one request (``ctx``): the app-wide one plus the user's cluster access."""

    def __init__(self, host: Host, request: Request, cluster: Cluster | None = None) -> None:
        super().__init__(host)
        self.request = request
        self._bound = cluster

    @cached_property
    def cluster(self) -> ClusterAPI | None:
        """The cluster of this page (its ``/c/<name>/`` or ``{cluster}``), as this user."""
        cluster = self._bound
        if cluster is None:
            slug = self.request.path_params.get("cluster")
            if not slug:
                return None
            cluster = self._host.clusters.get(str(slug))
        return ClusterAPI(self._host, self.request, cluster)

    def for_cluster(self, name: str) -> ClusterAPI:
        """Another cluster, still as this user (``UnknownCluster`` if there is none)."""
        return ClusterAPI(self._host, self.request, self._host.clusters.get(name))

    @property
    def csrf(self) -> str:
        """The token a form of a plugin page posts as ``_csrf`` (htmx sends it itself)."""
        return self._host.csrf_token(self.request)

    def _context(self, context: Mapping[str, Any]) -> dict[str, Any]:
        return {"prefix": self.prefix, "request": self.request, "csrf": self.csrf, **context}

    async def page(
        self,
        template: str,
        data: dict[str, Any],
        *,
        title: str = "",
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> Response:
        """An HTML page (the app's chrome, the sidebar of ``ctx.cluster``) or its JSON twin.

        ``data`` is the JSON twin and the template's variables; extend
        ``plugins/page.html`` and fill ``{% block content %}``.
        """

        def cluster() -> Cluster | None:  # asked only for HTML: the JSON twin has no sidebar
            api = self.cluster
            return None if api is None else self._host.clusters.get(api.name)

        return await self._host.page(
            self.request, cluster, template, data, title=title, status=status, headers=headers
        )
