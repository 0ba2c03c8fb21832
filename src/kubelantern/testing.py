"""Helpers for testing plugins: the real app, in process, with your plugins.

``make_app`` builds the same app ``kubelantern serve`` runs (``create_app``)
and returns Starlette's in-process ``TestClient`` for it, so a plugin's test
exercises its hooks through real pages, templates and JSON twins::

    from kubelantern.testing import make_app

    def test_my_page():
        with make_app(plugins={"hello": my_plugin}) as client:
            assert client.get("/-/p/hello/").status_code == 200

Use it in a ``with`` block: that runs startup (cluster providers, your
``startup`` hook) and shutdown. Without ``kubeconfig`` or ``clusters`` the app
has no cluster at all (it never reads your own ``~/.kube/config``). Only the
plugins you pass (and those in ``plugins_dir``) are loaded, plus the built-in
ones: installed plugins stay out unless ``load_installed=True``, so a test
does not depend on what else is installed next to it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from kubelantern.app import create_app
from kubelantern.clusters.kubeconfig import ClusterConfig
from kubelantern.plugins.manager import dir_plugins
from kubelantern.settings import Settings

__all__ = ["csrf_headers", "make_app"]


def _named(plugins: Iterable[object] | Mapping[str, object]) -> list[tuple[str, object]]:
    if isinstance(plugins, Mapping):
        return [(str(k), v) for k, v in plugins.items()]
    out = []
    for obj in plugins:
        if isinstance(obj, tuple):
            out.append((str(obj[0]), obj[1]))
        else:
            name = str(getattr(obj, "__name__", type(obj).__name__)).rsplit(".", 1)[-1]
            out.append((name, obj))
    return out


def make_app(
    plugins: Iterable[object] | Mapping[str, object] = (),
    *,
    kubeconfig: str | None = None,
    clusters: list[ClusterConfig] | None = None,
    settings: Settings | None = None,
    load_installed: bool = False,
    **options: Any,
) -> TestClient:
    """An in-process client of the app with ``plugins`` (objects, ``{name: obj}`` or pairs).

    ``options`` are settings by name (``plugin_setting=("hello.greeting=hi",)``,
    ``base_url="/kl"``...); ``settings`` replaces them all.
    """
    named = _named(plugins)
    if settings is None:
        kubeconfigs = (kubeconfig,) if kubeconfig else ()
        settings = Settings(kubeconfig=kubeconfigs, **options)
    if not load_installed:  # what is given here and in plugins_dir, no installed package
        in_dirs = [n for d in settings.plugins_dir for n, _, _ in dir_plugins(Path(d))]
        allowed = (*settings.allow_plugin, *(name for name, _ in named), *in_dirs)
        settings = dataclasses.replace(settings, allow_plugin=allowed or ("-",))
    if clusters is None and not settings.kubeconfig and not settings.in_cluster:
        clusters = []
    app = create_app(settings, clusters=clusters, plugins=named)
    return TestClient(app, raise_server_exceptions=False)


def csrf_headers(client: TestClient) -> dict[str, str]:
    """Headers for a POST from a test: the CSRF token the app set (asked for first)."""
    if "kl_csrf" not in client.cookies:
        client.get("/clusters.json")
    return {"X-CSRF-Token": str(client.cookies["kl_csrf"])}
