"""The values plugins hand to Kubelantern and get back from it: plain dataclasses.

They are data, not behaviour, so the JSON twin of a page can show what a
plugin added (``to_dict``) and the HTML is rendered from the same values.
The ``plugin`` field of each is filled in by the plugin manager with the name
of the plugin that returned it; a plugin leaves it empty. Callables inside
them (a route's endpoint, an action's handler, a column processor) may return
awaitables: the caller awaits them.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kubelantern.auth.access import Check

if TYPE_CHECKING:
    from starlette.responses import Response

    from kubelantern.plugins.api import Context

__all__ = [
    "Action",
    "AppBarItem",
    "ColumnProcessor",
    "DetailSection",
    "Event",
    "ListColumn",
    "ListRow",
    "ListTable",
    "PluginRoute",
    "Resource",
    "SectionRef",
    "Setting",
    "SidebarItem",
]

_NOT_WORD = re.compile(r"[^A-Za-z0-9]+")


def slug(text: str) -> str:
    """``"Cost per month"`` -> ``"cost-per-month"``: ids for anchors and action names."""
    return _NOT_WORD.sub("-", text).strip("-").lower()


@dataclass(frozen=True)
class Resource:
    """A kind as the cluster serves it, addressed as kubectl spells it (``deployments.apps``)."""

    name: str
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    verbs: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "group": self.group,
            "version": self.version,
            "kind": self.kind,
            "plural": self.plural,
            "namespaced": self.namespaced,
        }


# ---- settings ------------------------------------------------------------------

SETTING_TYPES = ("str", "int", "float", "bool", "list")


def _parse_bool(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"not a boolean: {raw!r}")


@dataclass
class Setting:
    """One setting of a plugin: shown on ``/-/plugins/<name>``, read with ``kl.plugin_settings``.

    Values come from (first wins) the environment variable
    ``KUBELANTERN_PLUGIN_<PLUGIN>_<NAME>``, ``--plugin-setting PLUGIN.NAME=VALUE``
    (or ``plugin_setting`` in the config file), then ``default``. A ``secret``
    is never shown.
    """

    name: str
    help: str = ""
    default: Any = None
    type: str = "str"  # str | int | float | bool | list
    secret: bool = False
    choices: tuple[str, ...] = ()
    plugin: str = ""

    def env_var(self, plugin: str | None = None) -> str:
        owner = plugin or self.plugin
        return "KUBELANTERN_PLUGIN_" + _NOT_WORD.sub("_", f"{owner}_{self.name}").upper()

    def convert(self, raw: Any) -> Any:
        """The value in this setting's type; ValueError says what is wrong."""
        if self.type not in SETTING_TYPES:
            raise ValueError(f"unknown setting type {self.type!r}")
        value: Any
        if self.type == "list":
            if isinstance(raw, str):
                value = [p.strip() for p in raw.split(",") if p.strip()]
            elif isinstance(raw, list | tuple):
                value = [str(p) for p in raw]
            else:
                raise ValueError(f"expected a list, got {raw!r}")
        elif self.type == "bool":
            value = raw if isinstance(raw, bool) else _parse_bool(str(raw))
        elif self.type == "int":
            if isinstance(raw, bool):
                raise ValueError(f"expected a whole number, got {raw!r}")
            value = int(raw)
        elif self.type == "float":
            value = float(raw)
        else:
            value = str(raw)
        if self.choices and value not in self.choices:
            raise ValueError(f"must be one of {', '.join(self.choices)}, not {value!r}")
        return value

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "help": self.help,
            "type": self.type,
            "default": None if self.secret else self.default,
            "secret": self.secret,
            "choices": list(self.choices),
            "env": self.env_var(),
        }


# ---- sidebar, app bar, pages --------------------------------------------------


@dataclass
class SidebarItem:
    """A link in a cluster's sidebar (Headlamp's ``registerSidebarEntry``).

    ``url`` is an app path (``/-/p/widgets/c/kind``): the base URL is added
    when it is drawn. ``section`` names an existing section ("Workloads",
    "Custom: example.com") or a new one, added at the end. ``check``, when
    given, is asked with the user's credentials: a refused entry gets the lock.
    """

    label: str
    url: str
    section: str = "Plugins"
    name: str = ""
    position: int | None = None
    check: Check | None = None
    allowed: bool | None = None
    plugin: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "resource": self.name or slug(self.label),
            "label": self.label,
            "kind": "",
            "namespaced": False,
            "allowed": self.allowed,
            "url": self.url,
            "plugin": self.plugin,
        }


@dataclass
class AppBarItem:
    """An item in the top bar of every page (Headlamp's ``registerAppBarAction``).

    Either a link (``label`` + ``url``, an app path or an ``https://`` URL) or
    ready HTML (``html``, e.g. from ``kl.render_string``). Rendered inside every
    page, so producing it must not do I/O: load data with htmx from a route.
    """

    label: str = ""
    url: str = ""
    html: str = ""
    title: str = ""
    name: str = ""
    plugin: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name or slug(self.label),
            "label": self.label,
            "url": self.url,
            "title": self.title,
            "plugin": self.plugin,
        }


@dataclass
class PluginRoute:
    """A page of a plugin, served at ``/-/p/<plugin><path>`` (Headlamp's ``registerRoute``).

    ``path`` is a Starlette path and may capture parameters (``/{kind}``); a
    parameter named ``cluster`` binds ``ctx.cluster`` to that cluster with the
    user's credentials. ``endpoint(ctx)`` returns a Response (``await
    ctx.page(...)`` gives an HTML page with its JSON twin), a ``str`` (HTML) or a
    ``dict`` (JSON); it may be a coroutine function.
    """

    path: str
    endpoint: Callable[
        [Context],
        Response | str | dict[str, Any] | Awaitable[Response | str | dict[str, Any]],
    ]
    methods: tuple[str, ...] = ("GET",)
    name: str = ""
    plugin: str = ""


# ---- lists ---------------------------------------------------------------------


@dataclass
class ListColumn:
    """A column of a list page, as ``kubectl get`` names it."""

    name: str
    type: str = "string"
    description: str = ""
    format: str = ""
    priority: int = 0
    plugin: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "format": self.format,
            "description": self.description,
            "priority": self.priority,
        }


@dataclass
class ListRow:
    """One row of a list page: its cells (aligned with the columns) and its object.

    ``object`` is the full object when a processor that asked for objects runs
    for this kind, else its metadata only (``PartialObjectMetadata``).
    """

    name: str
    namespace: str | None
    cells: list[Any]
    object: dict[str, Any] = field(default_factory=dict)
    created: str | None = None
    _names: list[str] = field(default_factory=list, repr=False)

    def get(self, column: str, default: Any = None) -> Any:
        """The cell under a column name (``row.get("Ready")``)."""
        try:
            return self.cells[self._names.index(column)]
        except (ValueError, IndexError):
            return default


class ListTable:
    """The columns and rows of one list page, for column processors to change.

    Processors run after the page picked kubectl's columns (and NAMESPACE when
    several namespaces are shown) and before sorting, so a column added here
    can be sorted by. Every change keeps rows and columns aligned.
    """

    def __init__(self, resource: Resource, columns: list[ListColumn], rows: list[ListRow]) -> None:
        self.resource = resource
        self.columns = columns
        self.rows = rows
        self._sync()

    def _sync(self) -> None:
        names = [c.name for c in self.columns]
        for row in self.rows:
            row._names = names

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def index(self, name: str) -> int:
        """The position of a column; ValueError names the columns there are."""
        names = self.column_names
        if name not in names:
            raise ValueError(f"no column {name!r}; columns are {', '.join(names)}")
        return names.index(name)

    def _position(self, after: str | None, before: str | None, at: int | None) -> int:
        if after is not None:
            return self.index(after) + 1
        if before is not None:
            return self.index(before)
        if at is not None:
            return at if at >= 0 else len(self.columns) + at + 1
        return len(self.columns)

    def add_column(
        self,
        column: ListColumn | str,
        value: Callable[[ListRow], Any],
        *,
        after: str | None = None,
        before: str | None = None,
        at: int | None = None,
    ) -> None:
        """Add a column whose cells are ``value(row)``; at the end unless placed."""
        col = ListColumn(column) if isinstance(column, str) else column
        pos = self._position(after, before, at)
        values = [value(row) for row in self.rows]
        self.columns.insert(pos, col)
        for row, cell in zip(self.rows, values, strict=True):
            row.cells.insert(pos, cell)
        self._sync()

    def remove_column(self, name: str) -> None:
        """Drop a column (nothing happens if there is none of that name)."""
        if name not in self.column_names:
            return
        pos = self.index(name)
        del self.columns[pos]
        for row in self.rows:
            if pos < len(row.cells):
                del row.cells[pos]
        self._sync()

    def move_column(
        self,
        name: str,
        *,
        after: str | None = None,
        before: str | None = None,
        at: int | None = None,
    ) -> None:
        """Move a column next to another one, or to a position."""
        pos = self.index(name)
        col = self.columns.pop(pos)
        cells = [row.cells.pop(pos) if pos < len(row.cells) else None for row in self.rows]
        new = self._position(after, before, at)
        self.columns.insert(new, col)
        for row, cell in zip(self.rows, cells, strict=True):
            row.cells.insert(new, cell)
        self._sync()

    def reorder(self, names: Sequence[str]) -> None:
        """The named columns first, in that order; the others after them as they were."""
        order = [self.index(n) for n in names if n in self.column_names]
        order += [i for i in range(len(self.columns)) if i not in order]
        self.columns = [self.columns[i] for i in order]
        for row in self.rows:
            row.cells = [row.cells[i] if i < len(row.cells) else None for i in order]
        self._sync()


@dataclass
class ColumnProcessor:
    """Changes the columns of list pages (Headlamp's ``registerResourceTableColumnsProcessor``).

    ``process(ctx, table)`` adds, removes or reorders columns of a ``ListTable``
    and may be a coroutine function. ``resources`` limits it to kinds by kubectl
    name (``deployments.apps``); empty means every kind. ``objects=True`` asks
    the API server for full objects in the list (``includeObject=Object``), so
    cells can be computed from ``row.object``: ask only if you need them.
    Live rows (watch) go through the same processors, one row at a time.
    """

    process: Callable[[Context, ListTable], Awaitable[None] | None]
    resources: tuple[str, ...] = ()
    objects: bool = False
    name: str = ""
    plugin: str = ""

    def applies(self, resource: str) -> bool:
        return not self.resources or resource in self.resources


# ---- detail pages ----------------------------------------------------------------

BUILTIN_SECTIONS = ("metadata", "summary", "related", "conditions", "events", "yaml")


@dataclass
class DetailSection:
    """A section of an object's page (Headlamp's ``registerDetailsViewSection``).

    Give ``html`` (ready, e.g. ``ctx.render_string(...)``) or ``template`` (a
    template name from the plugin's ``templates/`` folder, rendered with
    ``section`` and ``data`` on top of the page's variables). ``data`` is also
    what the JSON twin shows. ``after`` names the built-in section it follows:
    metadata, summary (the kind's own), related, conditions, events or yaml
    ("" puts it first).
    """

    title: str
    html: str = ""
    template: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    id: str = ""
    after: str = "related"
    plugin: str = ""

    def key(self) -> str:
        return self.id or f"{self.plugin}-{slug(self.title)}".strip("-")


@dataclass
class SectionRef:
    """A section as ``process_detail_sections`` sees it: built-in or a plugin's."""

    id: str
    title: str
    plugin: str = ""

    @property
    def builtin(self) -> bool:
        return not self.plugin


# ---- object actions ------------------------------------------------------------------


@dataclass
class Action:
    """A button on an object's page whose handler runs with the user's credentials.

    Headlamp's ``registerDetailsViewHeaderAction``. ``handler(ctx, obj, fields)``
    gets the object as the user may read it and the submitted form fields; it
    returns a message (``str``) or a dict with ``message`` (shown to the user
    and in the JSON answer), and may be a coroutine function. ``confirm`` is a
    question the browser asks first; ``checks`` are SelfSubjectAccessReviews
    that must pass for the button to be enabled (the API server still decides
    on the real request). The URL is ``{object}/actions/<plugin>.<name>``.
    """

    name: str
    label: str
    handler: Callable[[Context, dict[str, Any], dict[str, Any]], Any]
    confirm: str = ""
    danger: bool = False
    checks: tuple[Check, ...] = ()
    plugin: str = ""

    @property
    def id(self) -> str:
        return f"{self.plugin}.{self.name}"


# ---- events ------------------------------------------------------------------------------


@dataclass
class Event:
    """Something that happened, for ``on_event`` (Headlamp's ``registerHeadlampEventCallback``).

    Names: ``plugins.loaded``, ``plugin.problem``, ``clusters.refreshed``,
    ``list.viewed``, ``detail.viewed``, ``action.done``, ``action.failed``.
    """

    name: str
    cluster: str | None = None
    resource: str | None = None
    namespace: str | None = None
    object_name: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "cluster": self.cluster,
            "resource": self.resource,
            "namespace": self.namespace,
            "objectName": self.object_name,
            "data": self.data,
        }
