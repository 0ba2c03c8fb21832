"""Every URL of Kubelantern, declared once: ``parse`` a path, build one with ``url_for``.

The URL scheme mirrors the Kubernetes API (``/c/{cluster}/namespaces/{ns}/
{resource}/{name}``), so a person who knows ``kubectl`` can type an address.
Before this module the scheme lived in many places (three parsers, three
``object_url`` helpers with two argument orders, URLs glued together in
f-strings and templates); a change to it had to find them all. Now the route
table ``ROUTES`` is the only place that knows the shapes:

* ``parse(path)`` finds the route of a path (the view dispatch, the POST
  dispatch and the metrics route label all ask it);
* ``url_for(name, **params)`` builds the path of a route, percent-encoding
  each segment, so an odd object name can never change which page a link
  opens;
* ``object_url`` / ``list_url`` / ``cluster_url`` are the typed shortcuts the
  code uses most (cluster, kind, namespace, name: always in this order).

Paths here are *app-relative*: they never carry ``--base-url``. Data (and so
the JSON twins) holds app-relative paths; templates add the base URL with the
Jinja global ``url_for`` (or ``url`` for a path already built), and redirects
add ``settings.prefix`` themselves.

This module is the bottom layer: it imports only ``errors`` (a leaf), so
``resources``, ``operate``, ``plugins`` and ``web`` may all use it.

Pattern syntax: ``{param}`` is one segment, ``{param:a|b}`` one of the listed
words, and a final ``{param:path}`` the rest of the path (zero or more
segments). Routes are tried in table order; the first match wins.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple, Protocol
from urllib.parse import quote, unquote, urlencode

from kubelantern import errors

# What a path segment keeps unescaped: RFC 3986 ``pchar`` minus the unreserved
# characters ``quote`` always keeps, so ``system:node:n1`` or ``web:8080``
# stay readable while ``/``, ``%``, ``?``, ``#`` and spaces are escaped.
SEGMENT_SAFE = ":@!$&'()*+,;="

_REFUSED = ("", ".", "..")

Query = Mapping[str, str] | Sequence[tuple[str, str]]


class BadSegment(errors.BadRequest, ValueError):
    """A value that cannot be one path segment: it would open another page than meant.

    A ``BadRequest`` (400 with a message) because such values come from the
    request itself (a ``..`` typed into an address), never from Kubernetes.
    """


class HasSlug(Protocol):
    """A cluster as the URL knows it: by its slug."""

    @property
    def slug(self) -> str: ...


class Kind(Protocol):
    """A resource type as the URL knows it: its URL name and whether it is namespaced."""

    @property
    def name(self) -> str: ...

    @property
    def namespaced(self) -> bool: ...


@dataclass(frozen=True)
class _Segment:
    literal: str | None = None
    param: str | None = None
    choices: frozenset[str] | None = None
    tail: bool = False

    def label(self) -> str:
        return self.literal if self.literal is not None else "{" + str(self.param) + "}"


@dataclass(frozen=True)
class Route:
    """One URL shape: its name, pattern, the view family that answers it, its methods."""

    name: str
    pattern: str
    family: str
    methods: frozenset[str] = frozenset({"GET"})
    label_override: str | None = None

    @cached_property
    def segments(self) -> tuple[_Segment, ...]:
        return _compile(self.pattern)

    @cached_property
    def params(self) -> tuple[str, ...]:
        return tuple(s.param for s in self.segments if s.param is not None)

    @cached_property
    def label(self) -> str:
        """The metrics route label: the pattern without its free tail (a bounded set)."""
        if self.label_override is not None:
            return self.label_override
        kept = [s.label() for s in self.segments if not s.tail]
        return "/" + "/".join(kept) + ("/" if self.pattern.endswith("/") else "")


class Match(NamedTuple):
    """What ``parse`` found: the route's name and its decoded parameters."""

    name: str
    params: dict[str, str]

    @property
    def route(self) -> Route:
        return ROUTES[self.name]


def _compile(pattern: str) -> tuple[_Segment, ...]:
    out = []
    for part in (p for p in pattern.split("/") if p):
        if part.startswith("{") and part.endswith("}"):
            param, _, kind = part[1:-1].partition(":")
            if kind == "path":
                out.append(_Segment(param=param, tail=True))
            elif kind:
                out.append(_Segment(param=param, choices=frozenset(kind.split("|"))))
            else:
                out.append(_Segment(param=param))
        else:
            out.append(_Segment(literal=part))
    return tuple(out)


_GET = frozenset({"GET"})
_POST = frozenset({"POST"})
_BOTH = frozenset({"GET", "POST"})
_NS = "/c/{cluster}/namespaces/{namespace}"
_OBJ = _NS + "/{resource}/{name}"
_COBJ = "/c/{cluster}/{resource}/{name}"

_TABLE: tuple[Route, ...] = (
    # The application's own pages (Starlette routes in app.py use these patterns).
    Route("home", "/", "clusters", label_override="/"),
    Route("clusters", "/clusters", "clusters"),
    Route("favicon", "/favicon.ico", "icons"),
    Route("global_search", "/-/search", "search"),
    Route("multi_list", "/-/list/{resource}", "multicluster", label_override="/-/list"),
    Route("multi_watch", "/-/watch", "multicluster"),
    Route("switch", "/-/switch", "switch"),
    Route("cluster_add", "/-/clusters/add", "addcluster", _BOTH, "/-/clusters"),
    Route("cluster_remove", "/-/clusters/{cluster}/remove", "addcluster", _POST, "/-/clusters"),
    Route("cluster_rename", "/-/clusters/{cluster}/rename", "addcluster", _POST, "/-/clusters"),
    Route("cluster_share", "/-/clusters/{cluster}/share", "addcluster", _POST, "/-/clusters"),
    Route("whoami", "/-/whoami", "auth"),
    Route("activity", "/-/activity", "activity"),
    Route("portforwards", "/-/portforwards", "portforward"),
    Route("portforward_stop", "/-/portforwards/{id}/stop", "portforward", _POST, "/-/portforwards"),
    Route("login", "/-/login", "auth", _BOTH),
    Route("logout", "/-/logout", "auth", _POST),
    Route("oidc_login", "/-/oidc/login", "auth", label_override="/-/oidc"),
    Route("oidc_callback", "/-/oidc/callback", "auth", label_override="/-/oidc"),
    Route("plugins", "/-/plugins", "plugins"),
    Route("plugins_refresh", "/-/plugins/refresh", "plugins", _POST, "/-/plugins"),
    Route("plugin", "/-/plugins/{name}", "plugins", label_override="/-/plugins"),
    Route("plugin_page", "/-/p/{plugin}/{path:path}", "plugins", _BOTH, "/-/p"),
    Route("static", "/-/static/{file:path}", "static", label_override="/-/static/{file}"),
    # One cluster: /c/{cluster}/... mirrors the API. Order matters (first match wins).
    Route("overview", "/c/{cluster}/", "overview"),
    Route("cluster_watch", "/c/{cluster}/-/watch", "live"),
    Route("cluster_search", "/c/{cluster}/-/search", "search"),
    Route("create", "/c/{cluster}/-/create", "edit", _BOTH),
    Route("bulk", "/c/{cluster}/-/bulk", "bulk", _POST),
    Route("helm_list", "/c/{cluster}/helm", "helm"),
    Route("namespace_helm_list", _NS + "/helm", "helm"),
    Route("helm_release", _NS + "/helm/{release}", "helm"),
    Route("helm_action", _NS + "/helm/{release}/{action}", "helm", _POST),
    Route(
        "proxy",
        _NS + "/{resource:services|pods}/{target}/proxy/{path:path}",
        "proxy",
    ),
    # Before lists: /namespaces/<ns>/edit edits a Namespace.
    Route("cluster_object_edit", _COBJ + "/edit", "edit"),
    Route("object_edit", _OBJ + "/edit", "edit"),
    Route("cluster_object_review", _COBJ + "/review", "edit", _POST),
    Route("object_review", _OBJ + "/review", "edit", _POST),
    Route("cluster_object_apply", _COBJ + "/apply", "edit", _POST),
    Route("object_apply", _OBJ + "/apply", "edit", _POST),
    Route("cluster_object_action", _COBJ + "/actions/{action}", "actions", _POST),
    Route("object_action", _OBJ + "/actions/{action}", "actions", _POST),
    Route("node_shell", "/c/{cluster}/nodes/{name}/shell", "nodeshell", _BOTH, _COBJ + "/shell"),
    Route("node_drain", "/c/{cluster}/nodes/{name}/drain", "actions", _GET, _COBJ + "/drain"),
    Route("cluster_list", "/c/{cluster}/{resource}", "list"),
    Route("list", _NS + "/{resource}", "list"),
    Route("object", _OBJ, "detail"),
    Route("object_logs", _OBJ + "/logs/{rest:path}", "logs"),
    Route("object_portforward", _OBJ + "/portforward", "portforward", _BOTH),
    Route("object_debug", _NS + "/pods/{name}/debug", "debug", _BOTH, _OBJ + "/debug"),
    Route("object_exec", _OBJ + "/exec", "terminal"),
    Route("object_attach", _OBJ + "/attach", "terminal"),
    Route("cluster_object", _COBJ, "detail"),
)

ROUTES: dict[str, Route] = {r.name: r for r in _TABLE}
_COMPILED = tuple((r, r.segments) for r in _TABLE)


def _decode(segment: str) -> str:
    """Invalid UTF-8 becomes U+FFFD, as the ASGI servers decode paths (never a surrogate)."""
    return unquote(segment)


def _match(
    segments: list[_Segment] | tuple[_Segment, ...], parts: list[str]
) -> dict[str, str] | None:
    params: dict[str, str] = {}
    for i, seg in enumerate(segments):
        if seg.tail:
            params[str(seg.param)] = "/".join(parts[i:])
            return params
        if i >= len(parts):
            return None
        part = parts[i]
        if seg.literal is not None:
            if part != seg.literal:
                return None
        elif seg.choices is not None:
            if part not in seg.choices:
                return None
            params[str(seg.param)] = part
        else:
            params[str(seg.param)] = part
    return params if len(parts) == len(segments) else None


def _parse_parts(parts: list[str], method: str | None) -> Match | None:
    for route, segments in _COMPILED:
        if method is not None and method not in route.methods:
            continue
        params = _match(segments, parts)
        if params is not None:
            return Match(route.name, params)
    return None


def parse(path: str, method: str | None = None, *, decoded: bool = False) -> Match | None:
    """The route of ``path`` (app-relative, no query), or None when no route has its shape.

    ``path`` is percent-encoded as in a URL; ``decoded=True`` takes a path as
    the ASGI server hands it over (already decoded), whose segments are then
    taken as they are. Empty segments are ignored (``/c/x//pods`` is
    ``/c/x/pods``). ``method`` limits the match to routes answering it; None
    matches any route (the metrics label).
    """
    raw = [p for p in path.split("/") if p]
    return _parse_parts(raw if decoded else [_decode(p) for p in raw], method)


def parse_in_cluster(cluster: str, rest: str, method: str | None = None) -> Match | None:
    """``parse`` of ``/c/{cluster}/{rest}`` from the decoded parts Starlette's catch-all gives.

    Taking the parts keeps a decoded ``/`` or ``%`` in them from being read twice.
    """
    return _parse_parts(["c", cluster, *(p for p in rest.split("/") if p)], method)


def _segment(param: str, value: str) -> str:
    if value in _REFUSED or "/" in value:
        raise BadSegment(f"{param}={value[:100]!r} cannot be one segment of a URL path")
    return quote(value, safe=SEGMENT_SAFE)


def url_for(name: str, /, query: Query | None = None, **params: str) -> str:
    """The app-relative path of route ``name`` with ``params``, each segment percent-encoded.

    Refuses a parameter that is empty, ``.``/``..`` or holds a ``/``
    (``BadSegment``: such a value would open another page than the one meant)
    and, as the programming errors they are, an unknown route or a missing or
    unknown parameter (``ValueError``). ``query`` is appended url-encoded.
    """
    route = ROUTES.get(name)
    if route is None:
        raise ValueError(f"no route named {name!r}")
    unknown = set(params) - set(route.params)
    if unknown:
        raise ValueError(f"route {name} has no parameter {', '.join(sorted(unknown))}")
    out: list[str] = []
    for seg in route.segments:
        if seg.literal is not None:
            out.append(seg.literal)
            continue
        param = str(seg.param)
        if param not in params:
            raise ValueError(f"route {name} needs {param}")
        value = params[param]
        if seg.tail:
            out.extend(_segment(param, v) for v in value.split("/") if value)
            continue
        if seg.choices is not None and value not in seg.choices:
            raise ValueError(f"route {name}: {param} is one of {sorted(seg.choices)}")
        out.append(_segment(param, value))
    path = "/" + "/".join(out)
    if route.pattern.endswith("/") and path != "/":
        path += "/"
    return path + (f"?{urlencode(query)}" if query else "")


def url_template(name: str, /, **params: str) -> str:
    """A URL template (RFC 6570, level 1) for script: ``params`` filled in, the rest ``{param}``.

    A TypeScript island that must build a URL from a value only the browser
    knows (the namespace a person picks) gets this from a data attribute and
    replaces ``{param}`` with the percent-encoded value, so the shape of the
    path still comes from the route table.
    """
    route = ROUTES[name]
    out: list[str] = []
    for seg in route.segments:
        if seg.literal is not None:
            out.append(seg.literal)
        elif seg.param in params:
            out.append(_segment(str(seg.param), params[str(seg.param)]))
        else:
            out.append("{" + str(seg.param) + "}")
    return "/" + "/".join(out) + ("/" if route.pattern.endswith("/") and out else "")


def pattern(name: str) -> str:
    """The pattern of an application route, for Starlette's ``Route`` (same ``{param}`` syntax)."""
    route = ROUTES[name]
    if any(s.choices for s in route.segments):
        raise ValueError(f"route {name} has choices, which Starlette patterns cannot express")
    return route.pattern


def _slug(cluster: str | HasSlug) -> str:
    return cluster if isinstance(cluster, str) else cluster.slug


def _scoped(rt: Kind | str, namespace: str | None) -> tuple[str, str | None]:
    """The URL name of the kind and the namespace the URL carries (none for cluster-scoped)."""
    if isinstance(rt, str):
        return rt, namespace or None
    return rt.name, namespace if rt.namespaced and namespace else None


def cluster_url(cluster: str | HasSlug) -> str:
    """The overview of a cluster."""
    return url_for("overview", cluster=_slug(cluster))


def list_url(cluster: str | HasSlug, rt: Kind | str, namespace: str | None = None) -> str:
    """The list of a kind, in one namespace or in all (cluster-scoped kinds: always all)."""
    resource, ns = _scoped(rt, namespace)
    if ns is None:
        return url_for("cluster_list", cluster=_slug(cluster), resource=resource)
    return url_for("list", cluster=_slug(cluster), namespace=ns, resource=resource)


# Sub-pages of one object (the route name is ``[cluster_]object_<page>``).
_OBJECT_PAGES = {
    "edit",
    "review",
    "apply",
    "logs",
    "portforward",
    "debug",
    "exec",
    "attach",
    "shell",
    "drain",
}


def object_url(
    cluster: str | HasSlug,
    rt: Kind | str,
    namespace: str | None,
    name: str,
    page: str | None = None,
    *,
    action: str | None = None,
    rest: str = "",
    query: Query | None = None,
) -> str:
    """The detail page of one object, or one of its pages (``page="edit"``, ``"logs"``, …).

    ``action`` builds the POST target of one action (``…/actions/<action>``);
    ``rest`` is what follows ``logs/`` (``stream``, ``download``, ``links``).
    A namespace is left out for cluster-scoped kinds, so callers may pass
    whatever namespace the object's metadata holds.
    """
    resource, ns = _scoped(rt, namespace)
    params = {"cluster": _slug(cluster), "resource": resource, "name": name}
    if action is not None:
        route, params["action"] = "object_action", action
    elif page is None:
        route = "object"
    elif page in ("shell", "drain"):
        del params["resource"]
        return url_for(f"node_{page}", query, **params)
    elif page in _OBJECT_PAGES:
        route = f"object_{page}"
    else:
        raise ValueError(f"objects have no page {page!r}")
    if route == "object_logs":
        params["rest"] = rest
    if route == "object_debug":
        del params["resource"]
    if ns is None:
        route = "cluster_" + route
    else:
        params["namespace"] = ns
    return url_for(route, query, **params)


def page_url(
    object_path: str,
    page: str | None = None,
    *,
    action: str | None = None,
    rest: str = "",
    query: Query | None = None,
) -> str:
    """A page of the object whose detail path is ``object_path`` (as data carries it).

    Templates get an object's path in their data (``objectUrl``) and link its
    pages with this, so the shape of those pages stays in the route table.
    """
    found = parse(object_path.partition("?")[0])
    if found is None or found.name not in ("object", "cluster_object"):
        raise ValueError(f"{object_path!r} is not the path of an object")
    p = found.params
    return object_url(
        p["cluster"],
        p["resource"],
        p.get("namespace"),
        p["name"],
        page,
        action=action,
        rest=rest,
        query=query,
    )


def helm_url(
    cluster: str | HasSlug, namespace: str | None = None, release: str | None = None
) -> str:
    """Helm releases: of the cluster, of one namespace, or one release."""
    if namespace is None:
        return url_for("helm_list", cluster=_slug(cluster))
    if release is None:
        return url_for("namespace_helm_list", cluster=_slug(cluster), namespace=namespace)
    return url_for("helm_release", cluster=_slug(cluster), namespace=namespace, release=release)


def plugin_path(plugin: str, path: str = "/") -> str:
    """A page of a plugin: its own path under ``/-/p/<plugin>``.

    Plugins own the shape of what follows their name (``register_routes``), so
    this builds a pattern or a path, never parses one; the plugin name is a
    Python distribution/entry-point name, always one safe segment.
    """
    if not plugin or "/" in plugin or plugin in {".", ".."}:
        raise BadSegment(f"{plugin!r} cannot be a plugin name in a URL")
    return f"/-/p/{plugin}" + (path if path.startswith("/") else "/" + path)


def plugin_static_url(plugin: str, path: str = "") -> str:
    """A file in a plugin package's ``static/`` folder (or the folder with ``path=""``)."""
    return plugin_path(plugin, "/static" + ("/" + path.lstrip("/") if path else ""))


def cluster_of(path: str) -> str | None:
    """The cluster slug of an app-relative, decoded path under ``/c/``; None elsewhere.

    For guards that must know the cluster of every path under ``/c/{cluster}``,
    those no route answers included (the read-only guard refuses writes before
    any view runs, so an unknown sub-page must not slip past it).
    """
    parts = path.split("/", 3)
    if len(parts) < 3 or parts[0] != "" or parts[1] != "c" or not parts[2]:
        return None
    return parts[2]


def route_label(path: str) -> str:
    """The metrics label of ``path`` (decoded, app-relative): its route's pattern, or ``other``.

    An unknown shape is ``other`` rather than the path itself, so odd URLs
    cannot create new time series.
    """
    if path.endswith(".json"):
        path = path[: -len(".json")]
    found = parse(path, decoded=True)
    return found.route.label if found else "other"
