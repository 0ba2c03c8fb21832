"""The web layer's side of the plugin API: the ``Host`` that ``kl`` and ``ctx`` are built on.

``kubelantern.plugins.host.Host`` says what the plugin API may ask of the web
layer (render, URLs, pages, the CSRF token); this is the one implementation,
made once per app when the plugins are installed (``web/views/plugins.py``).
Keeping it here is what lets the plugins' core sit below ``web`` with no
import back up.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from jinja2 import Template
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response

from kubelantern import urls
from kubelantern.auth import credentials_for, identity_key
from kubelantern.auth.access import Check, Decision
from kubelantern.clusters.credentials import Credentials
from kubelantern.clusters.discovery import ResourceType
from kubelantern.clusters.store import Cluster, ClusterStore
from kubelantern.plugins.types import Resource
from kubelantern.settings import Settings
from kubelantern.web.csrf import csrf_token
from kubelantern.web.nav import nav_context
from kubelantern.web.render import render, wants_json
from kubelantern.web.state import AppState

TEMPLATE_CACHE = 256  # render_string: compiled templates kept (a plugin's sources are few)


def kind_of(resource: Resource) -> ResourceType:
    """The core's kind for a plugin's ``Resource`` (the two carry the same address)."""
    return ResourceType(
        group=resource.group,
        version=resource.version,
        plural=resource.plural,
        kind=resource.kind,
        namespaced=resource.namespaced,
        verbs=resource.verbs,
    )


class WebHost:
    """``Host`` for one app: its settings, clusters, templates and page chrome."""

    def __init__(self, state: AppState) -> None:
        self._state = state
        self._compiled: dict[str, Template] = {}

    @property
    def settings(self) -> Settings:
        return self._state.settings

    @property
    def clusters(self) -> ClusterStore:
        return self._state.clusters

    def credentials(self, request: Request, cluster: Cluster) -> Credentials | None:
        return credentials_for(request, cluster)

    async def can(self, request: Request, cluster: Cluster, check: Check) -> Decision:
        creds = credentials_for(request, cluster)
        return await self._state.access.can(cluster, creds, identity_key(request, cluster), check)

    def plugin_settings(self, plugin: str) -> dict[str, Any]:
        plugins = self._state.plugins
        return plugins.plugin_settings(plugin) if plugins is not None else {}

    def problem_count(self) -> int:
        plugins = self._state.plugins
        return len(plugins.problems) if plugins is not None else 0

    def render_template(self, name: str, context: Mapping[str, Any]) -> Markup:
        return Markup(self._state.jinja.get_template(name).render(**context))

    def render_string(self, source: str, context: Mapping[str, Any]) -> Markup:
        template = self._compiled.get(source)
        if template is None:
            if len(self._compiled) >= TEMPLATE_CACHE:
                self._compiled.clear()
            template = self._compiled[source] = self._state.jinja.from_string(source)
        return Markup(template.render(**context))

    def csrf_token(self, request: Request) -> str:
        return csrf_token(request)

    def object_url(self, cluster: str, resource: Resource, name: str, namespace: str | None) -> str:
        return urls.object_url(cluster, kind_of(resource), namespace, name)

    def list_url(self, cluster: str, resource: Resource, namespace: str | None) -> str:
        return urls.list_url(cluster, kind_of(resource), namespace)

    async def page(
        self,
        request: Request,
        cluster: Callable[[], Cluster | None],
        template: str,
        data: dict[str, Any],
        *,
        title: str,
        status: int,
        headers: dict[str, str] | None,
    ) -> Response:
        chrome: dict[str, Any] = {"pageTitle": title, "pluginCluster": None}
        chosen = None if wants_json(request) else cluster()
        if chosen is not None:
            chrome["nav"] = await nav_context(request, chosen, None, current="")
            chrome["pluginCluster"] = chosen.slug
        return render(request, template, data, status=status, headers=headers, context=chrome)
