"""Plugins: Python packages that extend every part of the UI.

``hookspecs.py`` lists every extension point, ``manager.py`` finds, loads and
guards plugins, ``api.py`` is what a plugin may touch (re-exported from the
top-level ``kubelantern`` package), built on ``host.py``, the narrow API the
web layer hands it; ``builtin/`` holds core features written as plugins. The
call sites, which take requests and render, are web code
(``kubelantern.web.plugin_calls``): nothing here imports ``kubelantern.web``.

Plugin authors need only ``hookimpl``::

    from kubelantern import hookimpl

    @hookimpl
    def register_sidebar_entries(ctx):
        ...
"""

from __future__ import annotations

import pluggy

PROJECT = "kubelantern"
"""The pluggy project name and the entry-point group plugins register under."""

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

__all__ = ["PROJECT", "hookimpl", "hookspec"]
