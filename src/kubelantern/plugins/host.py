"""The narrow API the web layer hands the plugins: everything web-ish they may use.

Plugins sit below the web layer (docs/architecture.md, "Layers"): the plugin
API (``api.py``) must render templates, build URLs and pages, and read the
CSRF token, yet may not import ``kubelantern.web``. So the web layer
implements this protocol (``web/plugin_host.py``) and hands one object to
``Kubelantern``/``Context`` when it installs the plugins; the plugin side
only ever sees these few methods, including who the person is
(``credentials``) and what they may do (``can``), taken from the request
the way the web layer does it. A test app can hand its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response

from kubelantern.auth.access import Check, Decision
from kubelantern.clusters.credentials import Credentials
from kubelantern.clusters.store import Cluster, ClusterStore
from kubelantern.plugins.types import Resource
from kubelantern.settings import Settings


class Host(Protocol):
    """What the app gives the plugin API; implemented by ``kubelantern.web.plugin_host``."""

    @property
    def settings(self) -> Settings:
        """The app's settings (base URL, read-only switches)."""
        ...

    @property
    def clusters(self) -> ClusterStore:
        """The clusters this app serves (the plugin API reaches them as the user)."""
        ...

    def credentials(self, request: Request, cluster: Cluster) -> Credentials | None:
        """This person's credentials for ``cluster`` (every ``ClusterAPI`` call carries them)."""
        ...

    async def can(self, request: Request, cluster: Cluster, check: Check) -> Decision:
        """May this person do it? An access review, cached briefly per person."""
        ...

    def plugin_settings(self, plugin: str) -> dict[str, Any]:
        """A plugin's setting values, typed as declared."""
        ...

    def problem_count(self) -> int:
        """How many problems the plugins have had (for the built-in app-bar notice)."""
        ...

    def render_template(self, name: str, context: Mapping[str, Any]) -> Markup:
        """A template (a plugin's ``templates/`` or the app's) rendered to markup."""
        ...

    def render_string(self, source: str, context: Mapping[str, Any]) -> Markup:
        """A template given as a string (compiled once), rendered to markup."""
        ...

    def csrf_token(self, request: Request) -> str:
        """The token a form posts as ``_csrf``."""
        ...

    def object_url(self, cluster: str, resource: Resource, name: str, namespace: str | None) -> str:
        """An object's page, without the base URL."""
        ...

    def list_url(self, cluster: str, resource: Resource, namespace: str | None) -> str:
        """A kind's list page (one namespace or all), without the base URL."""
        ...

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
        """A page with the app's chrome (the sidebar of ``cluster()``), or its JSON twin."""
        ...
