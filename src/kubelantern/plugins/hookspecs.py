"""Every extension point of Kubelantern, as pluggy hook specifications.

A plugin is a module (or any object) with functions named like these hooks and
marked ``@kubelantern.hookimpl``; it takes only the arguments it needs. Verb
families tell what a hook does:

* ``register_*`` adds things: settings, pages, sidebar entries, column
  processors, clusters, the logo;
* ``extra_*`` decorates every page: app-bar items, CSS and JavaScript, and
  the sources they need in the Content-Security-Policy;
* ``*_actions`` and ``*_sections`` add to an object's page;
* ``process_*`` changes what the core and other plugins produced, in place;
* ``startup``/``shutdown``/``on_event`` are told what happens.

pluggy calls hooks synchronously. Hooks that may need I/O (``startup``,
``shutdown``, ``register_clusters``, ``register_sidebar_entries``,
``detail_sections``, ``object_actions``, ``on_event``) may instead return an
awaitable (write them as ``async def``), which Kubelantern awaits. The
``extra_*`` hooks and ``register_app_logo`` run while a page is rendered and
must answer at once: no I/O.

Two things need no hook: a plugin package's ``static/`` folder is served at
``/-/p/<plugin>/static/`` and its ``templates/`` folder joins the template
search path (before the built-in templates, so a plugin may override one).

A hook that raises, or whose awaitable raises, is logged, shown as a problem
on ``/-/plugins`` and in the app bar, and skipped; the page renders without it.
The reference with every signature is ``docs/plugin_hooks.md``.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

from kubelantern.plugins import hookspec

if TYPE_CHECKING:
    from kubelantern.clusters.kubeconfig import ClusterConfig
    from kubelantern.plugins.api import Context, Kubelantern
    from kubelantern.plugins.types import (
        Action,
        AppBarItem,
        ColumnProcessor,
        DetailSection,
        Event,
        PluginRoute,
        Resource,
        SectionRef,
        Setting,
        SidebarItem,
    )

# ---- lifecycle -----------------------------------------------------------------------


@hookspec
def startup(kl: Kubelantern) -> Awaitable[None] | None:
    """Called once when the app starts, before it serves a request.

    Open connections or start background tasks here (and stop them in
    ``shutdown``). May be ``async``.

    :param kl: the app-wide API: settings, URLs, templates, cluster names.
    """


@hookspec
def shutdown(kl: Kubelantern) -> Awaitable[None] | None:
    """Called once when the app stops, after the last request.

    :param kl: the app-wide API.
    """


# ---- settings ------------------------------------------------------------------------


@hookspec
def register_plugin_settings() -> list[Setting] | None:
    """The settings of this plugin, with types, defaults and help.

    Headlamp's ``registerPluginSettings``. Values come from the environment
    (``KUBELANTERN_PLUGIN_<PLUGIN>_<NAME>``), else ``--plugin-setting
    PLUGIN.NAME=VALUE`` (or ``plugin_setting`` in the config file), else the
    default; ``/-/plugins/<name>`` shows them and where each came from. Read
    them with ``kl.plugin_settings("<plugin>")``. Called once, at startup.
    """


# ---- clusters ------------------------------------------------------------------------


@hookspec
def register_clusters(
    kl: Kubelantern,
) -> list[ClusterConfig] | Awaitable[list[ClusterConfig]] | None:
    """Clusters from somewhere else: a registry file, a cloud API, a service catalogue.

    Called at startup and again on each refresh (``POST /-/plugins/refresh``,
    the button on ``/-/plugins``); a cluster the plugin no longer returns is
    removed. Build entries with ``ClusterConfig(...)`` or ``load_kubeconfig()``.
    May be ``async``.

    :param kl: the app-wide API (``kl.plugin_settings`` for the provider's options).
    """


# ---- pages ---------------------------------------------------------------------------


@hookspec
def register_routes(kl: Kubelantern) -> list[PluginRoute] | None:
    """Pages of the plugin, served under ``/-/p/<plugin>/`` (Headlamp's ``registerRoute``).

    Called once when the app is built. A route whose path has a ``{cluster}``
    parameter gets ``ctx.cluster`` bound to that cluster with the user's
    credentials; ``await ctx.page(template, data)`` renders an HTML page with
    the sidebar and answers JSON for ``.json`` or ``Accept: application/json``.

    :param kl: the app-wide API.
    """


# ---- sidebar -------------------------------------------------------------------------


@hookspec
def register_sidebar_entries(
    ctx: Context,
) -> list[SidebarItem] | Awaitable[list[SidebarItem]] | None:
    """Links to add to a cluster's sidebar (Headlamp's ``registerSidebarEntry``).

    :param ctx: the request; ``ctx.cluster`` is the cluster whose sidebar is drawn.
    """


@hookspec
def process_sidebar(ctx: Context, sections: list[dict[str, Any]]) -> None:
    """Change the finished sidebar in place: hide, rename or reorder entries and sections.

    Headlamp's ``registerSidebarEntryFilter``. Each section is ``{"title",
    "entries"}``; each entry has ``resource`` (kubectl name, or a plugin
    entry's name), ``label``, ``allowed`` and, for plugin entries, ``url``.

    :param ctx: the request; ``ctx.cluster`` is the cluster whose sidebar is drawn.
    :param sections: the sidebar, after every plugin's entries were added.
    """


# ---- lists ---------------------------------------------------------------------------


@hookspec
def register_column_processors(kl: Kubelantern) -> list[ColumnProcessor] | None:
    """Processors that add, remove or reorder the columns of list pages.

    Headlamp's ``registerResourceTableColumnsProcessor``. Called once when the
    app is built; each processor names the kinds it is for and whether it
    needs full objects, and then runs for every matching list page and live row.

    :param kl: the app-wide API.
    """


# ---- detail pages --------------------------------------------------------------------


@hookspec
def detail_sections(
    ctx: Context, resource: Resource, obj: dict[str, Any]
) -> list[DetailSection] | Awaitable[list[DetailSection]] | None:
    """Sections to add to an object's page (Headlamp's ``registerDetailsViewSection``).

    Return nothing for kinds the plugin does not know. May be ``async`` (look
    things up with ``ctx.cluster``, which uses the user's credentials).

    :param ctx: the request; ``ctx.cluster`` is the object's cluster.
    :param resource: the object's kind.
    :param obj: the object as the user may read it (Secret values redacted).
    """


@hookspec
def process_detail_sections(
    ctx: Context, resource: Resource, obj: dict[str, Any], sections: list[SectionRef]
) -> None:
    """Remove or reorder the sections of an object's page, in place.

    Headlamp's ``registerDetailsViewSectionsProcessor``. ``sections`` lists the
    built-in ones (metadata, summary, related, conditions, events, yaml) and
    every plugin's. Built-in sections keep their order among themselves; a
    plugin section is drawn after the built-in one before it in the list.

    :param ctx: the request.
    :param resource: the object's kind.
    :param obj: the object.
    :param sections: the sections to show, in order.
    """


# ---- object actions ------------------------------------------------------------------


@hookspec
def object_actions(
    ctx: Context, resource: Resource, obj: dict[str, Any]
) -> list[Action] | Awaitable[list[Action]] | None:
    """Buttons for an object's page (Headlamp's ``registerDetailsViewHeaderAction``).

    Asked when the page is drawn and again when the button is pressed (to find
    the handler, so an action offered for one kind cannot be posted to another).
    The handler runs with the user's credentials: the API server refuses what
    RBAC does not allow, and the user sees why. Writes are refused while the
    cluster is read-only. May be ``async``.

    :param ctx: the request; ``ctx.cluster`` is the object's cluster.
    :param resource: the object's kind.
    :param obj: the object as the user may read it.
    """


@hookspec
def process_object_actions(
    ctx: Context, resource: Resource, obj: dict[str, Any], actions: list[dict[str, Any]]
) -> None:
    """Remove or reorder the buttons of an object's page, built-in and plugins', in place.

    Headlamp's ``registerDetailsViewHeaderActionsProcessor``. Each action is
    ``{"name", "label", "allowed", "reason", "confirm", "danger"}``; a plugin's
    name is ``<plugin>.<action>``. Removing a button does not forbid the action.

    :param ctx: the request.
    :param resource: the object's kind.
    :param obj: the object.
    :param actions: the offered actions, in button order.
    """


# ---- every page ----------------------------------------------------------------------


@hookspec
def extra_appbar_items(ctx: Context) -> list[AppBarItem] | None:
    """Items for the top bar of every page (Headlamp's ``registerAppBarAction``). No I/O.

    :param ctx: the request (``ctx.cluster`` is set on cluster pages).
    """


@hookspec
def extra_css_urls(ctx: Context) -> list[str] | None:
    """Stylesheets for every page, e.g. ``kl.static_url("<plugin>", "theme.css")``. No I/O.

    Also how a theme is added (Headlamp's ``registerAppTheme``): CSS that sets
    the custom properties of ``app.css`` for ``[data-theme=...]``.

    :param ctx: the request.
    """


@hookspec
def extra_js_urls(ctx: Context) -> list[str] | None:
    """Scripts for every page (loaded with ``defer`` after Kubelantern's own). No I/O.

    :param ctx: the request.
    """


@hookspec
def extra_csp(kl: Kubelantern) -> dict[str, list[str]] | None:
    """Sources to add to the Content-Security-Policy, by directive. Called once, at startup.

    Every page is served with a strict policy (``docs/operator-guide.md``,
    "Security headers"): scripts, styles, images, connections and frames from
    Kubelantern's own origin only. A plugin that loads a script or stylesheet
    from a CDN (``extra_js_urls``, ``extra_css_urls``), shows a dashboard in
    an ``<iframe>`` or calls another API from the browser names what it needs,
    e.g. ``{"script-src": ["https://cdn.example.com"], "frame-src":
    ["https://grafana.example.com"]}``. Only these directives take sources:
    ``script-src``, ``style-src``, ``img-src``, ``font-src``, ``connect-src``,
    ``media-src``, ``worker-src``, ``frame-src``, ``form-action``. Only host
    sources (``https://host[:port][/path]``, ``https://*.example.com``, also
    ``wss://``) and, for images, fonts, media and workers, ``data:``/``blob:``
    are accepted; keywords such as ``'unsafe-inline'`` or ``'unsafe-eval'``,
    bare ``*`` and bare schemes are refused and shown as a problem of the
    plugin: a plugin widens where things may come from, it never weakens the
    policy. No I/O.

    :param kl: the app-wide API (``kl.plugin_settings`` for configured hosts).
    """


@hookspec(firstresult=True)
def register_app_logo(kl: Kubelantern) -> str | None:
    """HTML for the logo in the top bar, instead of Kubelantern's (Headlamp's ``registerAppLogo``).

    The first plugin that answers wins. Return ``kl.render_string(...)`` or
    other markup you trust: it is not escaped. No I/O.

    :param kl: the app-wide API.
    """


# ---- events --------------------------------------------------------------------------


@hookspec
def on_event(kl: Kubelantern, event: Event) -> Awaitable[None] | None:
    """Told what happened (Headlamp's ``registerHeadlampEventCallback``).

    Events: ``plugins.loaded``, ``plugin.problem``, ``clusters.refreshed``,
    ``list.viewed``, ``detail.viewed``, ``action.done``, ``action.failed``.
    Runs inline with the request that caused it: keep it quick, or hand the
    work to a task you started in ``startup``. May be ``async``.

    :param kl: the app-wide API.
    :param event: what happened, where.
    """
