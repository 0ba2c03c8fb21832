"""``kubelantern plugins`` (what would load, and why not) and ``kubelantern plugin new NAME``.

``plugins`` takes the same flags as ``serve`` (``--plugins-dir``,
``--disable-plugin``, ``--allow-plugin``, ``--plugin-setting``, ``--config``)
and loads the plugins exactly as the server would, without serving: the
quickest way to see a typo in a hook name or a plugin that fails to import.
It exits 1 when a plugin failed or reported a problem, so CI can run it.

``plugin new`` writes a plugin package that passes its own test as
generated: a pyproject with the entry point, a module with one hook (a page),
its template, and a test that builds the real app in process
(``kubelantern.testing.make_app``).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from kubelantern import settings
from kubelantern.plugins.manager import load
from kubelantern.version import __version__

NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{0,40}$")


def add_commands(sub: Any) -> None:
    """Add ``plugins`` and ``plugin new`` to the CLI's subcommands."""
    plugins = sub.add_parser(
        "plugins", help="list the plugins that load, their versions, hooks and problems"
    )
    settings.add_arguments(plugins)
    plugins.add_argument("--json", action="store_true", help="print JSON instead of a table")
    plugin = sub.add_parser("plugin", help="work on a plugin of your own")
    actions = plugin.add_subparsers(dest="plugin_command", metavar="ACTION", required=True)
    new = actions.add_parser("new", help="scaffold a plugin package (with a passing test)")
    new.add_argument("name", help="the plugin's name: lowercase letters, digits, - and _")
    new.add_argument("--dir", default=".", help="where to create kubelantern-NAME/ (default: .)")


def run(args: argparse.Namespace) -> int:
    if args.command == "plugins":
        return list_plugins(args)
    return scaffold(args.name, Path(args.dir))


# ---- kubelantern plugins ---------------------------------------------------------------


def list_plugins(args: argparse.Namespace) -> int:
    cfg = settings.resolve(args)
    plugins = load(cfg)
    rows = []
    for info in sorted(plugins.infos.values(), key=lambda i: (i.source != "builtin", i.name)):
        data = info.to_dict()
        data["settings"] = plugins.settings_table(info.name)
        data["problems"] = [p.to_dict() for p in plugins.problems_of(info.name)]
        rows.append(data)
    problems = [p.to_dict() for p in plugins.problems]
    failed = any(r["status"] == "failed" for r in rows) or bool(problems)
    if args.json:
        print(json.dumps({"plugins": rows, "problems": problems}, indent=2, default=str))
        return 1 if failed else 0
    header = ("NAME", "VERSION", "STATUS", "FROM", "HOOKS")
    table = [
        (r["name"], r["version"] or "-", r["status"], r["source"], ", ".join(r["hooks"]) or "-")
        for r in rows
    ]
    widths = [max(len(str(x)) for x in col) for col in zip(header, *table, strict=False)]
    for line in (header, *table):
        print("  ".join(str(v).ljust(w) for v, w in zip(line, widths, strict=True)).rstrip())
    for r in rows:
        extra = []
        if r["error"]:
            extra.append(f"error: {r['error']}")
        if r["static"]:
            extra.append(f"static: {r['static']}")
        if r["templates"]:
            extra.append(f"templates: {r['templates']}")
        extra += [f"setting {s['name']} = {s['value']!r} ({s['source']})" for s in r["settings"]]
        for text in extra:
            print(f"  {r['name']}: {text}")
    if problems:
        print(f"\n{len(problems)} problem(s):", file=sys.stderr)
        for p in problems:
            print(f"  {p['plugin']} ({p['where']}): {p['message']}", file=sys.stderr)
    return 1 if failed else 0


# ---- kubelantern plugin new NAME ---------------------------------------------------------

PYPROJECT = """\
[build-system]
requires = ["setuptools>=77"]
build-backend = "setuptools.build_meta"

[project]
name = "kubelantern-{name}"
version = "0.1.0"
description = "A Kubelantern plugin: {name}"
readme = "README.md"
requires-python = ">=3.11"
dependencies = ["kubelantern>={version}"]

[project.optional-dependencies]
test = ["pytest>=8"]

# This line makes it a plugin: Kubelantern loads the entry points of the group "kubelantern".
[project.entry-points.kubelantern]
{name} = "{module}"

[tool.setuptools.package-data]
{module} = ["templates/**/*", "static/**/*"]

[tool.pytest.ini_options]
pythonpath = ["src"]
testpaths = ["tests"]
"""

README = """\
# kubelantern-{name}

A [Kubelantern](https://github.com/kubelantern/kubelantern) plugin. It adds a page at
`/-/p/{name}/`.

    pip install -e '.[test]'
    pytest                              # builds the real app in process, with this plugin
    kubelantern plugins                 # is it loaded? which hooks?
    kubelantern serve                   # then open http://127.0.0.1:4466/-/p/{name}/

Hooks, the API and the Headlamp mapping: Kubelantern's docs/plugins.md.
"""

MODULE = '''\
"""The {name} plugin for Kubelantern.

One hook so far: ``register_routes`` adds a page at ``/-/p/{name}/`` (HTML with
Kubelantern's chrome, and JSON for ``.json`` or ``Accept: application/json``).
Add more hooks from docs/plugins.md; ``kubelantern plugins`` lists what loads.
"""

from __future__ import annotations

from typing import Any

from kubelantern import Context, Kubelantern, PluginRoute, hookimpl

__version__ = "0.1.0"
NAME = "{name}"


async def index(ctx: Context) -> Any:
    data = {{"greeting": f"Hello from {{NAME}}", "clusters": ctx.cluster_names()}}
    return await ctx.page("{module}/index.html", data, title=NAME)


@hookimpl
def register_routes(kl: Kubelantern) -> list[PluginRoute]:
    return [PluginRoute("/", index, name="index")]
'''

TEMPLATE = """\
{{% extends "plugins/page.html" %}}
{{% block content %}}
<h1>{{{{ greeting }}}}</h1>
<p>This page comes from the <code>{name}</code> plugin.
  Clusters: {{{{ clusters | join(", ") or "none" }}}}.</p>
{{% endblock %}}
"""

TEST = '''\
"""The plugin, tested in the real Kubelantern app (in process, no cluster needed)."""

from __future__ import annotations

import {module}
from kubelantern.testing import make_app


def test_the_page_and_its_json_twin() -> None:
    with make_app(plugins={{"{name}": {module}}}) as client:
        page = client.get("/-/p/{name}/")
        assert page.status_code == 200
        assert "Hello from {name}" in page.text
        data = client.get("/-/p/{name}/", headers={{"Accept": "application/json"}}).json()
        assert data["greeting"] == "Hello from {name}"


def test_it_is_listed_as_loaded() -> None:
    with make_app(plugins={{"{name}": {module}}}) as client:
        plugins = {{p["name"]: p for p in client.get("/-/plugins.json").json()["plugins"]}}
        assert plugins["{name}"]["status"] == "loaded"
        assert plugins["{name}"]["hooks"] == ["register_routes"]
        assert plugins["{name}"]["templates"]
'''


def scaffold(name: str, where: Path) -> int:
    """Write ``kubelantern-NAME/`` under ``where``; refuse to overwrite anything."""
    if not NAME_RE.match(name):
        print(
            f"kubelantern: {name!r} is not a plugin name: start with a letter, then lowercase "
            "letters, digits, - or _",
            file=sys.stderr,
        )
        return 2
    module = "kubelantern_" + name.replace("-", "_")
    root = where / f"kubelantern-{name}"
    if root.exists():
        print(f"kubelantern: {root} exists; not overwriting it", file=sys.stderr)
        return 2
    values = {"name": name, "module": module, "version": __version__}
    files = {
        "pyproject.toml": PYPROJECT,
        "README.md": README,
        f"src/{module}/__init__.py": MODULE,
        f"src/{module}/templates/{module}/index.html": TEMPLATE,
        f"tests/test_{module}.py": TEST,
    }
    for path, text in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text.format(**values))
    print(f"Created {root}:")
    for path in files:
        print(f"  {path}")
    print(f"Next: cd {root} && pip install -e '.[test]' && pytest")
    return 0
