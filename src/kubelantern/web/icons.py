"""Icons: the inline Lucide sprite, one ``<use>`` per icon, and which icon a kind gets.

The frontend build writes only the icons listed in ``frontend/src/icons.json``
into ``static/dist/icons.svg``; every HTML page inlines that sprite once (a few
kilobytes gzipped, no extra request, nothing fetched from elsewhere, nothing
for CSP to allow) and draws an icon as ``<svg><use href="#i-NAME"></use></svg>``.
Icons are decoration: hidden from screen readers, always next to a word.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import Response

from kubelantern.web.assets import STATIC_DIR

SPRITE = STATIC_DIR / "dist" / "icons.svg"

# Kinds by their kubectl name; custom resources get "puzzle", the rest "file".
KIND_ICONS: dict[str, str] = {
    "overview": "layout-dashboard",
    "helm": "ship-wheel",
    "nodes": "server",
    "namespaces": "folder",
    "events": "bell",
    "pods": "box",
    "deployments.apps": "layers",
    "statefulsets.apps": "database",
    "daemonsets.apps": "copy",
    "replicasets.apps": "boxes",
    "jobs.batch": "play",
    "cronjobs.batch": "clock",
    "services": "network",
    "endpointslices.discovery.k8s.io": "waypoints",
    "ingresses.networking.k8s.io": "globe",
    "ingressclasses.networking.k8s.io": "globe",
    "networkpolicies.networking.k8s.io": "shield",
    "gateways.gateway.networking.k8s.io": "door-open",
    "gatewayclasses.gateway.networking.k8s.io": "door-open",
    "httproutes.gateway.networking.k8s.io": "route",
    "grpcroutes.gateway.networking.k8s.io": "route",
    "persistentvolumeclaims": "hard-drive",
    "persistentvolumes": "hard-drive",
    "storageclasses.storage.k8s.io": "archive",
    "volumeattachments.storage.k8s.io": "link",
    "csidrivers.storage.k8s.io": "plug",
    "configmaps": "file-text",
    "secrets": "key-round",
    "horizontalpodautoscalers.autoscaling": "move-vertical",
    "poddisruptionbudgets.policy": "shield-alert",
    "resourcequotas": "gauge",
    "limitranges": "ruler",
    "priorityclasses.scheduling.k8s.io": "arrow-up-narrow-wide",
    "runtimeclasses.node.k8s.io": "cpu",
    "leases.coordination.k8s.io": "timer",
    "mutatingwebhookconfigurations.admissionregistration.k8s.io": "webhook",
    "validatingwebhookconfigurations.admissionregistration.k8s.io": "webhook",
    "serviceaccounts": "user-round",
    "roles.rbac.authorization.k8s.io": "scroll-text",
    "clusterroles.rbac.authorization.k8s.io": "scroll-text",
    "rolebindings.rbac.authorization.k8s.io": "link-2",
    "clusterrolebindings.rbac.authorization.k8s.io": "link-2",
}
_BUILT_IN_GROUPS = (
    "",
    "apps",
    "batch",
    "policy",
    "autoscaling",
    "k8s.io",  # *.k8s.io groups
)

# Buttons and app-bar items, by the action's name.
ACTION_ICONS: dict[str, str] = {
    "create": "plus",
    "edit": "pencil",
    "delete": "trash-2",
    "restart": "rotate-cw",
    "scale": "move-vertical",
    "rollback": "rotate-cw",
    "logs": "scroll",
    "exec": "square-terminal",
    "attach": "square-terminal",
    "shell": "square-terminal",
    "debug": "bug",
    "cordon": "ban",
    "uncordon": "check",
    "drain": "arrow-right-left",
    "suspend": "ban",
    "resume": "play",
    "trigger": "play",
    "portforward": "cable",
    "export": "download",
    "search": "search",
    "theme": "sun-moon",
    "json": "braces",
    "activity": "activity",
}


def kind_icon(resource: str) -> str:
    """The icon name of a kind (``deployments.apps``); custom resources share one."""
    if resource in KIND_ICONS:
        return KIND_ICONS[resource]
    group = resource.partition(".")[2]
    if group and not (group in _BUILT_IN_GROUPS or group.endswith(".k8s.io")):
        return "puzzle"
    return "file"


def icon(name: str, extra_class: str = "") -> Markup:
    """One icon from the sprite, hidden from assistive technology (a word is always near)."""
    cls = f"icon {extra_class}".strip()
    return Markup(
        f'<svg class="{escape(cls)}" aria-hidden="true" focusable="false">'
        f'<use href="#i-{escape(name)}"></use></svg>'
    )


class Sprite:
    """The sprite's markup, read again when a rebuild (make frontend) changed it."""

    def __init__(self, path: Path = SPRITE) -> None:
        self.path = path
        self._cached: tuple[int, Markup] | None = None

    def __call__(self) -> Markup:
        try:
            mtime = self.path.stat().st_mtime_ns
        except OSError:
            return Markup("")
        if self._cached is None or self._cached[0] != mtime:
            text = self.path.read_text(encoding="utf-8").strip()
            self._cached = (mtime, Markup(text))  # our own build output, not user input
        return self._cached[1]


FAVICON = STATIC_DIR / "dist" / "favicon.svg"


async def favicon(request: Request) -> Response:
    """``/favicon.ico``, which every browser asks for: the SVG icon pages link to.

    Chromium and Firefox take an SVG whatever the path says; a day of caching
    keeps it to one request a day.
    """
    try:
        body = await asyncio.to_thread(FAVICON.read_bytes)
    except OSError:
        return Response(status_code=404)
    return Response(
        body, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"}
    )


def template_globals() -> dict[str, object]:
    return {
        "icon": icon,
        "kind_icon": kind_icon,
        "action_icon": lambda name: ACTION_ICONS.get(name, ""),
        "icon_sprite": Sprite(),
    }
