"""Where the web layer calls plugin hooks: one function per call site, so views stay small.

Each view adds one line (``await calls.sidebar(...)``, ``await
calls.process_columns(...)``...) and gets back plain data for its template and
JSON twin. Everything a plugin returns is checked here (wrong types are
reported as problems and dropped), callables a plugin handed over (column
processors, action handlers) are guarded the same way hooks are, and the
page is rendered whatever a plugin did.

This is web code (it takes requests and renders rows), so it lives in ``web/``;
the plugins' core below it (``kubelantern.plugins``) never imports the web
layer: ``kl`` and ``ctx`` reach it through the ``Host`` given to ``install``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol, TypeVar

from markupsafe import Markup, escape
from starlette.requests import HTTPConnection, Request

from kubelantern import errors
from kubelantern.clusters.discovery import ResourceType
from kubelantern.clusters.kubeconfig import ClusterConfig
from kubelantern.clusters.store import Cluster
from kubelantern.plugins.api import Context, Kubelantern, resource_of
from kubelantern.plugins.host import Host
from kubelantern.plugins.manager import Plugins, describe
from kubelantern.plugins.types import (
    BUILTIN_SECTIONS,
    Action,
    AppBarItem,
    ColumnProcessor,
    DetailSection,
    Event,
    ListColumn,
    ListRow,
    ListTable,
    SectionRef,
    SidebarItem,
)
from kubelantern.resources.sections.config import redact_secret
from kubelantern.resources.table import Column, Row
from kubelantern.web import csp
from kubelantern.web.render import wants_json
from kubelantern.web.state import AppState

T = TypeVar("T")
Handler = Callable[[Any, dict[str, Any]], Awaitable[dict[str, Any]]]


def plugins_of(conn: HTTPConnection) -> Plugins | None:
    state = getattr(conn.app.state, "kl", None)
    return getattr(state, "plugins", None)


def context(plugins: Plugins, request: Request, cluster: Cluster | None = None) -> Context:
    """``ctx`` for one request, on the host the plugins were installed with."""
    assert plugins.host is not None, "plugins not installed (web/plugin_calls.install)"
    return Context(plugins.host, request, cluster)


def answers_of(
    plugins: Plugins, hook: str, answers: Iterable[tuple[str, Any]], kind: type[T]
) -> list[T]:
    """Flatten (plugin, answer) pairs (lists or single values); keep those of the right type."""
    out: list[T] = []
    for plugin, answer in answers:
        for item in answer if isinstance(answer, list | tuple) else [answer]:
            if isinstance(item, kind):
                out.append(item)
            elif item is not None:
                plugins.report(plugin, hook, f"expected {kind.__name__}, got {item!r}")
    return out


async def maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


async def emit(plugins: Plugins | None, event: Event) -> None:
    """Tell every ``on_event`` implementation (guarded: a failing one is reported)."""
    if plugins is None or plugins.kl is None:
        return
    await plugins.acall("on_event", kl=plugins.kl, event=event)


# ---- lifecycle and clusters ----------------------------------------------------------


def install(state: AppState, host: Host) -> None:
    """Give the plugins their app-wide API (on ``host``) and collect what they register once."""
    plugins = state.plugins
    assert plugins is not None
    plugins.host = host
    plugins.kl = Kubelantern(host)
    answers = plugins.call_named("register_column_processors", kl=plugins.kl)
    plugins.column_processors = answers_of(
        plugins, "register_column_processors", answers, ColumnProcessor
    )


async def startup(state: AppState) -> None:
    """Lifespan start: clusters from providers, then ``startup``, then ``plugins.loaded``."""
    plugins = state.plugins
    if plugins is None or plugins.kl is None:
        return
    await refresh_clusters(state)
    await plugins.acall("startup", kl=plugins.kl)
    names = [i.name for i in plugins.loaded()]
    await emit(plugins, Event("plugins.loaded", data={"plugins": names}))


async def shutdown(state: AppState) -> None:
    plugins = state.plugins
    if plugins is not None and plugins.kl is not None:
        await plugins.acall("shutdown", kl=plugins.kl)


async def refresh_clusters(state: AppState) -> dict[str, list[str]]:
    """Ask every cluster provider again; add new clusters, drop the ones no longer listed.

    A provider that fails keeps the clusters it gave before: a registry that is
    briefly unreachable must not make clusters vanish from under their users.
    """
    plugins = state.plugins
    changes: dict[str, list[str]] = {"added": [], "removed": [], "kept": []}
    if plugins is None or plugins.kl is None:
        return changes
    async with plugins.refresh_lock:  # two refreshes at once would add clusters twice
        answered: dict[str, list[ClusterConfig]] = {}
        for plugin, answer in await plugins.acall_named("register_clusters", kl=plugins.kl):
            configs = answers_of(plugins, "register_clusters", [(plugin, answer)], ClusterConfig)
            answered.setdefault(plugin, []).extend(configs)
        await _apply(state, plugins, answered, changes)
    await emit(plugins, Event("clusters.refreshed", data=changes))
    return changes


async def _apply(
    state: AppState,
    plugins: Plugins,
    answered: dict[str, list[ClusterConfig]],
    changes: dict[str, list[str]],
) -> None:
    present = {c.slug: c for c in state.clusters}
    plugins.provided = {s: p for s, p in plugins.provided.items() if s in present}
    for plugin, configs in answered.items():
        current = {s: present[s] for s, p in plugins.provided.items() if p == plugin}
        keep: set[str] = set()
        for config in configs:
            if not config.source:
                config = dataclasses.replace(config, source=f"plugin {plugin}")
            same = [s for s, c in current.items() if c.config == config and s not in keep]
            if same:
                keep.add(same[0])
                changes["kept"].append(same[0])
                continue
            cluster = state.clusters.add(config)
            plugins.provided[cluster.slug] = plugin
            state.health.watch(cluster.slug, cluster.client)  # the clusters page's status
            changes["added"].append(cluster.slug)
        for slug in current:
            if slug not in keep:
                state.health.forget(slug)
                await state.clusters.remove(slug)
                del plugins.provided[slug]
                changes["removed"].append(slug)


# ---- sidebar -------------------------------------------------------------------------


async def sidebar(
    request: Request, cluster: Cluster, sections: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The sidebar with the plugins' entries added, then ``process_sidebar``."""
    plugins = plugins_of(request)
    if plugins is None or plugins.kl is None:
        return sections
    ctx = context(plugins, request, cluster)
    answers = await plugins.acall_named("register_sidebar_entries", ctx=ctx)
    items = answers_of(plugins, "register_sidebar_entries", answers, SidebarItem)
    api = ctx.cluster
    checked = [i for i in items if i.check is not None and i.allowed is None]
    if api is not None and checked:
        decisions = await asyncio.gather(*(api.check(i.check) for i in checked if i.check))
        for item, decision in zip(checked, decisions, strict=True):
            item.allowed = decision.allowed
    for item in items:
        section = next((s for s in sections if s.get("title") == item.section), None)
        if section is None:
            section = {"title": item.section, "entries": []}
            sections.append(section)
        entries = section.setdefault("entries", [])
        at = len(entries) if item.position is None else item.position
        entries.insert(at, item.to_dict())
    plugins.call("process_sidebar", ctx=ctx, sections=sections)
    return sections


# ---- list columns --------------------------------------------------------------------


def processors(plugins: Plugins | None, rt: ResourceType) -> list[ColumnProcessor]:
    if plugins is None:
        return []
    return [p for p in plugins.column_processors if p.applies(rt.name)]


def wants_objects(request: Request, rt: ResourceType) -> bool:
    """Whether a column processor for this kind needs full objects in the list."""
    return any(p.objects for p in processors(plugins_of(request), rt))


async def _run_processors(
    plugins: Plugins, ctx: Context, procs: list[ColumnProcessor], table: ListTable
) -> None:
    for proc in procs:
        columns = list(table.columns)
        cells = [list(row.cells) for row in table.rows]
        try:
            await maybe_await(proc.process(ctx, table))
        except Exception as exc:
            what = proc.name or getattr(proc.process, "__name__", "")
            plugins.report(proc.plugin, f"column processor {what}", exc)
            table.columns = columns  # undo what it did halfway
            for row, before in zip(table.rows, cells, strict=True):
                row.cells = before
            table._sync()


def _table(
    rt: ResourceType, columns: list[Column], rows: list[dict[str, Any]], raw: list[Row]
) -> ListTable:
    return ListTable(
        resource_of(rt),
        [ListColumn(c.name, c.type, c.description, c.format, c.priority) for c in columns],
        [
            ListRow(
                name=r["name"],
                namespace=r["namespace"],
                cells=list(r["cells"]),
                object=dict(getattr(raw_row, "object", None) or {}),
                created=r.get("created"),
            )
            for r, raw_row in zip(rows, raw, strict=True)
        ],
    )


def _columns(table: ListTable) -> list[Column]:
    return [Column(c.name, c.type, c.format, c.description, c.priority) for c in table.columns]


async def process_columns(
    request: Request,
    cluster: Cluster,
    rt: ResourceType,
    columns: list[Column],
    rows: list[dict[str, Any]],
    raw: list[Row],
) -> tuple[list[Column], list[dict[str, Any]]]:
    """A list page's columns and rows after every column processor for this kind."""
    plugins = plugins_of(request)
    parts = str(request.path_params.get("rest", "")).split("/")
    namespace = parts[1] if len(parts) > 2 and parts[0] == "namespaces" else None
    event = Event("list.viewed", cluster=cluster.slug, resource=rt.name, namespace=namespace)
    await emit(plugins, event)
    procs = processors(plugins, rt)
    if plugins is None or not procs:
        return columns, rows
    table = _table(rt, columns, rows, raw)
    await _run_processors(plugins, context(plugins, request, cluster), procs, table)
    shaped = [{**r, "cells": lr.cells} for r, lr in zip(rows, table.rows, strict=True)]
    return _columns(table), shaped


class LivePlan(Protocol):
    """What ``web.live.WatchPlan`` knows about rendering one cluster's rows."""

    cluster: Cluster
    rt: ResourceType
    columns: list[Column]
    keep: list[int]
    ns_column: bool


async def live_row(
    request: Request,
    plan: LivePlan,
    row: Row,
    shape: Callable[[LivePlan, Row], dict[str, Any]],
) -> str | None:
    """A live (watched) row with the plugins' columns; None when no processor applies.

    ``shape`` makes the row as a list page shows it (``web/live.py``), asked only
    when a processor applies.
    """
    plugins = plugins_of(request)
    procs = processors(plugins, plan.rt)
    if plugins is None or not procs:
        return None
    shaped = shape(plan, row)
    table = _table(plan.rt, plan.columns, [shaped], [row])
    await _run_processors(plugins, context(plugins, request, plan.cluster), procs, table)
    shaped["cells"] = table.rows[0].cells
    env = request.app.state.kl.jinja
    cols = [c.to_dict() for c in table.columns]
    return str(env.get_template("_row.html").render(row=shaped, columns=cols))


# ---- detail pages --------------------------------------------------------------------

_BUILTIN_TITLES = {
    "metadata": "Metadata",
    "summary": "Summary",
    "related": "Related",
    "conditions": "Conditions",
    "events": "Events",
    "yaml": "YAML",
}


def markup(value: str) -> Markup:
    """Markup stays HTML; a plain string from a plugin is text and is escaped."""
    return value if isinstance(value, Markup) else escape(value)


async def detail_sections(
    request: Request, cluster: Cluster, rt: ResourceType, obj: dict[str, Any]
) -> dict[str, Any]:
    """``pluginSections`` (placed after a built-in one) and ``hiddenSections`` for the page."""
    plugins = plugins_of(request)
    if plugins is None or plugins.kl is None:
        return {}
    meta = obj.get("metadata") or {}
    await emit(
        plugins,
        Event(
            "detail.viewed",
            cluster=cluster.slug,
            resource=rt.name,
            namespace=meta.get("namespace"),
            object_name=meta.get("name"),
        ),
    )
    ctx = context(plugins, request, cluster)
    resource = resource_of(rt)
    answers = await plugins.acall_named("detail_sections", ctx=ctx, resource=resource, obj=obj)
    sections = {s.key(): s for s in answers_of(plugins, "detail_sections", answers, DetailSection)}
    refs = [SectionRef(b, _BUILTIN_TITLES[b]) for b in BUILTIN_SECTIONS]
    for key, section in sections.items():
        after = section.after if section.after in BUILTIN_SECTIONS else "related"
        at = 0 if section.after == "" else [r.id for r in refs].index(after) + 1
        while at < len(refs) and not refs[at].builtin:
            at += 1  # after the plugin sections already placed there
        refs.insert(at, SectionRef(key, section.title, section.plugin))
    plugins.call("process_detail_sections", ctx=ctx, resource=resource, obj=obj, sections=refs)
    shown = [r.id for r in refs if isinstance(r, SectionRef)]
    out: list[dict[str, Any]] = []
    after = ""
    html = not wants_json(request)
    for key in shown:
        if key in BUILTIN_SECTIONS:
            after = key
            continue
        found = sections.get(key)
        if found is None:
            continue
        item: dict[str, Any] = {
            "id": key,
            "title": found.title,
            "plugin": found.plugin,
            "after": after,
            "data": found.data,
        }
        if html:
            try:
                if found.template:
                    item["html"] = ctx.render_template(
                        found.template,
                        section=found,
                        data=found.data,
                        obj=obj,
                        resource=resource,
                        clusterName=cluster.slug,
                    )
                else:
                    item["html"] = markup(found.html)
            except Exception as exc:
                plugins.report(found.plugin, f"detail section {found.title!r}", exc)
                continue
        out.append(item)
    hidden = [b for b in BUILTIN_SECTIONS if b not in shown]
    return {"pluginSections": out, "hiddenSections": hidden}


# ---- object actions ------------------------------------------------------------------


def visible(rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
    """The object as its page shows it: a Secret's values never reach a plugin."""
    if rt.group == "" and rt.kind == "Secret":
        return redact_secret(obj)
    return obj


async def _actions(
    plugins: Plugins, ctx: Context, rt: ResourceType, obj: dict[str, Any]
) -> list[Action]:
    resource = resource_of(rt)
    answers = await plugins.acall_named("object_actions", ctx=ctx, resource=resource, obj=obj)
    return answers_of(plugins, "object_actions", answers, Action)


async def _decide(ctx: Context, action: Action) -> tuple[bool, str]:
    api = ctx.cluster
    if api is None or not action.checks:
        return True, ""
    decisions = await asyncio.gather(*(api.check(c) for c in action.checks))
    refused = [d for d in decisions if not d.allowed]
    return (not refused, refused[0].reason if refused else "")


async def object_actions(
    request: Request,
    cluster: Cluster,
    rt: ResourceType,
    obj: dict[str, Any],
    offered: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """The offered buttons plus the plugins' (``<plugin>.<name>``), then the processors."""
    plugins = plugins_of(request)
    if plugins is None or plugins.kl is None:
        return offered
    obj = visible(rt, obj)
    ctx = context(plugins, request, cluster)
    actions = await _actions(plugins, ctx, rt, obj)
    decisions = await asyncio.gather(*(_decide(ctx, a) for a in actions))
    for action, (allowed, reason) in zip(actions, decisions, strict=True):
        offered.append(
            {
                "name": action.id,
                "label": action.label,
                "allowed": allowed,
                "reason": reason,
                "confirm": action.confirm,
                "danger": action.danger,
                "plugin": action.plugin,
            }
        )
    resource = resource_of(rt)
    plugins.call("process_object_actions", ctx=ctx, resource=resource, obj=obj, actions=offered)
    return offered


def is_plugin_action(request: Request, action: str) -> bool:
    plugins = plugins_of(request)
    name, dot, _ = action.partition(".")
    return bool(dot) and plugins is not None and name in plugins.infos


async def action_handler(
    request: Request,
    cluster: Cluster,
    rt: ResourceType,
    namespace: str | None,
    name: str,
    action_id: str,
) -> Handler:
    """The handler of ``<plugin>.<action>`` for this object, in the shape operate's handlers have.

    The object is read again with the user's credentials (refused if they may
    not read it), the plugin is asked for its actions on it (so an action is
    only run where it is offered), and the action's checks are enforced here
    too: a handler that does not touch the cluster must not run for someone
    RBAC would refuse.
    """
    plugins = plugins_of(request)
    if plugins is None or plugins.kl is None:
        raise errors.BadRequest(f"There is no action {action_id!r}.")
    ctx = context(plugins, request, cluster)
    api = ctx.cluster
    assert api is not None
    obj = visible(rt, await api.get(rt.name, name, namespace))
    action = next((a for a in await _actions(plugins, ctx, rt, obj) if a.id == action_id), None)
    if action is None:
        raise errors.BadRequest(f"There is no action {action_id!r} for {rt.kind} {name}.")
    allowed, reason = await _decide(ctx, action)
    if not allowed:
        raise errors.Forbidden(reason, status=403, cluster=cluster.slug, namespace=namespace)
    where = {
        "cluster": cluster.slug,
        "resource": rt.name,
        "namespace": namespace,
        "object_name": name,
    }

    async def run(target: Any, fields: dict[str, Any]) -> dict[str, Any]:
        data = {"action": action_id}
        try:
            result = await maybe_await(action.handler(ctx, obj, fields))
        except errors.KubelanternError as exc:
            failed = Event("action.failed", **where, data={**data, "error": exc.message})
            await emit(plugins, failed)
            raise
        except Exception as exc:
            plugins.report(action.plugin, f"action {action.name}", exc)
            failed = Event("action.failed", **where, data={**data, "error": describe(exc)})
            await emit(plugins, failed)
            raise errors.KubelanternError(
                f"{action.label} (plugin {action.plugin}) failed: {describe(exc)}. It was logged."
            ) from exc
        if isinstance(result, dict):
            out = dict(result)
            out.setdefault("message", f"{action.label}: done.")
        else:
            out = {"message": str(result) if result else f"{action.label}: done."}
        await emit(plugins, Event("action.done", **where, data={**data, "message": out["message"]}))
        return out

    return run


# ---- every page (Jinja globals; no I/O) ----------------------------------------------


def csp_sources(state: AppState) -> dict[str, list[str]]:
    """What the plugins add to the Content-Security-Policy (``extra_csp``), checked.

    Sources that would weaken the policy are refused and shown as the plugin's
    problem (``web/csp.py``); the rest is added by directive.
    """
    plugins = state.plugins
    if plugins is None or plugins.kl is None:
        return {}
    answers = plugins.call_named("extra_csp", kl=plugins.kl)

    def refused(plugin: str, message: str) -> None:
        plugins.report(plugin, "extra_csp", message)

    return csp.collect(answers, refused)


class Chrome:
    """What base.html and _appbar.html draw from plugins: CSS, JS, app-bar items, logo."""

    def __init__(self, state: AppState) -> None:
        self.state = state

    @property
    def plugins(self) -> Plugins | None:
        return self.state.plugins

    def _link(self, url: str) -> str:
        if "://" in url or url.startswith("//"):
            return url
        return self.state.settings.prefix + (url if url.startswith("/") else "/" + url)

    def _urls(self, hook: str, request: Request) -> list[str]:
        plugins = self.plugins
        if plugins is None or plugins.kl is None:
            return []
        answers = plugins.call_named(hook, ctx=context(plugins, request))
        return [self._link(u) for u in answers_of(plugins, hook, answers, str)]

    def css(self, request: Request) -> list[str]:
        return self._urls("extra_css_urls", request)

    def js(self, request: Request) -> list[str]:
        return self._urls("extra_js_urls", request)

    def appbar(self, request: Request) -> list[dict[str, Any]]:
        plugins = self.plugins
        if plugins is None or plugins.kl is None:
            return []
        answers = plugins.call_named("extra_appbar_items", ctx=context(plugins, request))
        items = []
        for item in answers_of(plugins, "extra_appbar_items", answers, AppBarItem):
            data = item.to_dict()
            data["href"] = self._link(item.url) if item.url else ""
            data["html"] = markup(item.html) if item.html else ""
            items.append(data)
        return items

    def logo(self) -> Markup | None:
        plugins = self.plugins
        if plugins is None or plugins.kl is None:
            return None
        answer = plugins.call("register_app_logo", kl=plugins.kl)
        return markup(answer) if isinstance(answer, str) and answer else None
