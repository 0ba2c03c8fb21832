"""The URL module: every route round-trips, odd names stay one segment, labels stay bounded."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

import pytest

from kubelantern import errors, urls

SRC = Path(urls.__file__).parent

# Values a segment may hold: spaces, %, unicode, URL syntax, a literal "%2e%2e".
ODD = [
    "n1",
    "a b",
    "100%",
    "%2e%2e",
    "ünï€-💩",
    "system:node:n1",
    "x?y#z",
    "a&b=c+d",
    "<script>",
    "nul\x00byte",
    "~.dotted.",
]


def sample(route: urls.Route, value: str) -> dict[str, str]:
    """Parameters for ``route``: ``value`` everywhere it may go."""
    out = {}
    for seg in route.segments:
        if seg.param is None:
            continue
        if seg.choices:
            out[seg.param] = sorted(seg.choices)[0]
        elif seg.tail:
            out[seg.param] = f"{value}/tail {value}"
        else:
            out[seg.param] = value
    return out


@pytest.mark.parametrize("name", sorted(urls.ROUTES))
@pytest.mark.parametrize("value", ODD)
def test_every_route_round_trips(name: str, value: str) -> None:
    route = urls.ROUTES[name]
    params = sample(route, value)
    path = urls.url_for(name, None, **params)
    assert path.startswith("/")
    assert "?" not in path and "#" not in path and " " not in path
    for method in route.methods:
        assert urls.parse(path, method) == (name, params), method
    # The same path as the ASGI server hands it over (decoded), split by Starlette.
    if path.startswith("/c/") and "/" not in params.get("cluster", ""):
        rest = path.split("/", 3)[3] if path.count("/") >= 3 else ""
        decoded = "/".join(unquote(p) for p in rest.split("/"))
        for method in route.methods:
            assert urls.parse_in_cluster(params["cluster"], decoded, method) == (name, params)


@pytest.mark.parametrize("bad", ["..", ".", "", "a/b"])
def test_segments_that_would_open_another_page_are_refused(bad: str) -> None:
    with pytest.raises(urls.BadSegment) as caught:
        urls.object_url("c1", "configmaps", "team-a", bad)
    assert isinstance(caught.value, errors.BadRequest)  # 400 with a message, never a 500
    with pytest.raises(urls.BadSegment):
        urls.cluster_url(bad)


def test_programming_errors_are_value_errors() -> None:
    with pytest.raises(ValueError, match="no route"):
        urls.url_for("nope")
    with pytest.raises(ValueError, match="needs name"):
        urls.url_for("object", cluster="c", namespace="n", resource="pods")
    with pytest.raises(ValueError, match="no parameter"):
        urls.url_for("overview", cluster="c", namespace="n")
    with pytest.raises(ValueError, match="one of"):
        urls.url_for("proxy", cluster="c", namespace="n", resource="nodes", target="t", path="")


@dataclass(frozen=True)
class Kind:
    name: str
    namespaced: bool


@dataclass(frozen=True)
class Cluster:
    slug: str


def test_typed_helpers_take_cluster_kind_namespace_name() -> None:
    pods, nodes = Kind("pods", True), Kind("nodes", False)
    assert urls.object_url(Cluster("c1"), pods, "ns", "p") == "/c/c1/namespaces/ns/pods/p"
    # A namespace is dropped for cluster-scoped kinds, so metadata can be passed as is.
    assert urls.object_url("c1", nodes, "ns", "n1") == "/c/c1/nodes/n1"
    assert urls.object_url("c1", "nodes", None, "n1", "drain") == "/c/c1/nodes/n1/drain"
    assert urls.object_url("c1", "nodes", None, "n1", "shell") == "/c/c1/nodes/n1/shell"
    assert urls.object_url("c1", "namespaces", None, "a", "edit") == "/c/c1/namespaces/a/edit"
    assert urls.object_url("c1", pods, "ns", "p", "logs") == "/c/c1/namespaces/ns/pods/p/logs"
    assert urls.object_url("c1", pods, "ns", "p", "debug") == "/c/c1/namespaces/ns/pods/p/debug"
    assert (
        urls.object_url("c1", pods, "ns", "p", action="delete")
        == "/c/c1/namespaces/ns/pods/p/actions/delete"
    )
    assert (
        urls.object_url("c1", pods, "ns", "p", "exec", query=[("container", "a b")])
        == "/c/c1/namespaces/ns/pods/p/exec?container=a+b"
    )
    assert urls.list_url("c1", pods, "ns") == "/c/c1/namespaces/ns/pods"
    assert urls.list_url("c1", pods) == "/c/c1/pods"
    assert urls.list_url("c1", nodes, "ns") == "/c/c1/nodes"
    assert urls.cluster_url("c1") == "/c/c1/"
    assert urls.helm_url("c1") == "/c/c1/helm"
    assert urls.helm_url("c1", "ns", "r1") == "/c/c1/namespaces/ns/helm/r1"
    assert urls.object_url("c1", "configmaps", "ns", "a b%") == (
        "/c/c1/namespaces/ns/configmaps/a%20b%25"
    )
    with pytest.raises(ValueError, match="no page"):
        urls.object_url("c1", pods, "ns", "p", "yaml")


def test_the_first_route_in_table_order_wins() -> None:
    """Words of the scheme win over a kind of that name, as they did in the old dispatch."""
    assert urls.parse("/c/c1/-/watch") == ("cluster_watch", {"cluster": "c1"})
    assert urls.parse("/c/c1/helm") == ("helm_list", {"cluster": "c1"})
    # /namespaces/<ns>/edit edits the Namespace; /namespaces/<ns> is the Namespace.
    assert urls.parse("/c/c1/namespaces/a/edit", "GET") == (
        "cluster_object_edit",
        {"cluster": "c1", "resource": "namespaces", "name": "a"},
    )
    assert urls.parse("/c/c1/namespaces/a") == (
        "cluster_object",
        {"cluster": "c1", "resource": "namespaces", "name": "a"},
    )
    # A POST-only shape is no GET page: GET finds the list of "apply" instead.
    assert urls.parse("/c/c1/namespaces/a/apply", "GET") == (
        "list",
        {"cluster": "c1", "namespace": "a", "resource": "apply"},
    )
    assert urls.parse("/c/c1//nodes/") == ("cluster_list", {"cluster": "c1", "resource": "nodes"})
    assert urls.parse("/c/c1/a/b/c/d/e/f") is None
    assert urls.parse("/c/c1/nodes/n1/yaml") is None


NS = "/c/{cluster}/namespaces/{namespace}"


@pytest.mark.parametrize(
    ("path", "label"),
    [
        (
            "/c/p/namespaces/a/pods/x/actions/delete",
            "/c/{cluster}/namespaces/{namespace}/{resource}/{name}/actions/{action}",
        ),
        ("/c/p/nodes/n1/shell", "/c/{cluster}/{resource}/{name}/shell"),
        (
            "/c/p/namespaces/a/pods/x/debug",
            "/c/{cluster}/namespaces/{namespace}/{resource}/{name}/debug",
        ),
        (
            "/c/p/namespaces/a/services/s:80/proxy/x/y",
            "/c/{cluster}/namespaces/{namespace}/{resource}/{target}/proxy",
        ),
        ("/c/p/namespaces/a/helm/r1", "/c/{cluster}/namespaces/{namespace}/helm/{release}"),
        ("/-/p/hello/anything/here", "/-/p"),
        ("/-/plugins/hello", "/-/plugins"),
        ("/-/oidc/callback", "/-/oidc"),
        ("/-/portforwards/abc/stop", "/-/portforwards"),
        ("/-/no-such-page", "other"),
    ],
)
def test_labels_are_the_pattern_of_each_route_family(path: str, label: str) -> None:
    assert urls.route_label(path) == label


def test_labels_are_a_bounded_set() -> None:
    labels = {r.label for r in urls.ROUTES.values()}
    assert all("{path}" not in label and "{rest}" not in label for label in labels)
    assert len(labels) <= len(urls.ROUTES)


def _hand_built(tree: ast.AST) -> list[int]:
    """Lines that glue a ``/c/...`` path together by hand (f-string or ``+``)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            literal = "".join(
                v.value
                for v in node.values
                if isinstance(v, ast.Constant) and isinstance(v.value, str)
            )
            if "/c/" in literal:
                found.append(node.lineno)
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            for side in (node.left, node.right):
                if (
                    isinstance(side, ast.Constant)
                    and isinstance(side.value, str)
                    and "/c/" in side.value
                ):
                    found.append(node.lineno)
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") in ("format", "join"):
            owner = getattr(node.func, "value", None)
            if isinstance(owner, ast.Constant) and "/c/" in str(owner.value):
                found.append(node.lineno)
    return found


def test_no_hand_built_cluster_url_remains_outside_the_url_module() -> None:
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        if path == Path(urls.__file__):
            continue
        for line in _hand_built(ast.parse(path.read_text(), str(path))):
            offenders.append(f"{path.relative_to(SRC)}:{line}")
    assert not offenders, f"build these with kubelantern.urls: {offenders}"


def test_no_template_glues_a_cluster_url_together() -> None:
    offenders = []
    for path in sorted((SRC / "web" / "templates").rglob("*.html")):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if "'/c/'" in line or '"/c/"' in line or "'/c/' ~" in line:
                offenders.append(f"{path.name}:{n}")
    assert not offenders, f"use url_for(...) in these templates: {offenders}"


def test_the_checks_can_fail() -> None:
    """The AST check finds each way of gluing a path (so the tests above can fail)."""
    code = 'a = f"/c/{x}/pods"\nb = "/c/" + x\nc = "/c/{}".format(x)\nd = prefix + f"/c/{x}"\n'
    assert _hand_built(ast.parse(code)) == [1, 2, 3, 4]


def test_page_url_links_a_page_of_the_object_the_data_names() -> None:
    pod = urls.object_url("c1", "pods", "ns", "p q")
    assert urls.page_url(pod, "logs", rest="links") == "/c/c1/namespaces/ns/pods/p%20q/logs/links"
    assert urls.page_url(pod, action="delete") == "/c/c1/namespaces/ns/pods/p%20q/actions/delete"
    assert urls.page_url("/c/c1/namespaces/a", "edit") == "/c/c1/namespaces/a/edit"
    with pytest.raises(ValueError, match="not the path of an object"):
        urls.page_url("/c/c1/namespaces/a/pods", "edit")


def test_url_templates_leave_what_script_fills_in() -> None:
    assert urls.url_template("list", cluster="c 1", resource="pods") == (
        "/c/c%201/namespaces/{namespace}/pods"
    )
    assert urls.url_template("overview") == "/c/{cluster}/"


@pytest.mark.parametrize(
    ("path", "slug"),
    [
        ("/c/kind-a/", "kind-a"),
        ("/c/kind-a", "kind-a"),
        ("/c/kind a/namespaces/x/pods/y/edit", "kind a"),
        ("/c/", None),
        ("/c", None),
        ("/c//pods", None),
        ("/-/clusters/add", None),
        ("/cx/a/", None),
        ("c/a/", None),
    ],
)
def test_cluster_of_names_the_cluster_of_every_path_under_c(path: str, slug: str | None) -> None:
    assert urls.cluster_of(path) == slug


def test_plugin_paths_sit_under_the_plugins_own_prefix() -> None:
    assert urls.plugin_path("hello") == "/-/p/hello/"
    assert urls.plugin_path("hello", "/c/{cluster}") == "/-/p/hello/c/{cluster}"
    assert urls.plugin_static_url("hello") == "/-/p/hello/static"
    assert urls.plugin_static_url("hello", "/app.js") == "/-/p/hello/static/app.js"
    for bad in ("", "..", "a/b"):
        with pytest.raises(urls.BadSegment):
            urls.plugin_path(bad)
