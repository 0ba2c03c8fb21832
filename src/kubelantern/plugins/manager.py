"""Find, load and guard plugins; call their hooks; resolve their settings.

Plugins come from three places, in this order: ``DEFAULT_PLUGINS`` (core
features written as plugins, through the same ``register`` as anyone else),
installed packages' entry points in the group ``kubelantern``, and ``.py``
files or packages in each ``--plugins-dir``. ``--disable-plugin NAME`` skips
one (before it is imported); ``--allow-plugin NAME`` turns loading into an
allow-list for everything but the built-ins. ``--trace-plugins`` logs every
hook call through pluggy's hook-call monitoring.

A plugin must not take pages down. Every hook implementation is wrapped before
it is registered (pluggy is handed a stand-in holding the guarded functions,
found with pluggy's own ``parse_hookimpl_opts``): an exception (raised, or
raised by the awaitable it returned) is logged, kept as a ``Problem`` for
``/-/plugins`` and the app bar, and the implementation counts as having
returned nothing. Failing to import or to register (a signature that does not
match the hookspec, a hook name that does not exist) marks the plugin
``failed``; the app starts anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import datetime as dt
import functools
import importlib
import importlib.metadata
import importlib.util
import inspect
import logging
import os
import sys
import types
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pluggy

from kubelantern import metrics
from kubelantern.plugins import PROJECT, hookspecs
from kubelantern.plugins.types import ColumnProcessor, PluginRoute, Setting

if TYPE_CHECKING:
    from kubelantern.plugins.api import Kubelantern
    from kubelantern.plugins.host import Host
    from kubelantern.settings import Settings

log = logging.getLogger("kubelantern.plugins")
trace_log = logging.getLogger("kubelantern.plugins.trace")

DEFAULT_PLUGINS: tuple[str, ...] = ("kubelantern.plugins.builtin.problems",)
"""Core features that are plugins: loaded first, through the same ``register``."""

MAX_PROBLEMS = 100

# Hooks that run while a template renders: they must answer at once.
SYNC_HOOKS = frozenset(
    {
        "register_plugin_settings",
        "register_routes",
        "register_column_processors",
        "process_sidebar",
        "process_detail_sections",
        "process_object_actions",
        "extra_appbar_items",
        "extra_css_urls",
        "extra_js_urls",
        "extra_csp",
        "register_app_logo",
    }
)

# The hook being collected and (plugin, value) of each implementation that answered it,
# for callers that need to know who answered what.
_answers: contextvars.ContextVar[tuple[str, list[tuple[str, Any]]] | None] = contextvars.ContextVar(
    "kubelantern_plugin_answers", default=None
)


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Problem:
    """A plugin that failed: where (import, a hook, a route, an action), why, how often."""

    plugin: str
    where: str
    message: str
    time: str  # the last time
    count: int = 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "plugin": self.plugin,
            "where": self.where,
            "message": self.message,
            "time": self.time,
            "count": self.count,
        }


@dataclass
class PluginInfo:
    """What ``/-/plugins`` and ``kubelantern plugins`` show about one plugin."""

    name: str
    source: str  # builtin | entry point | plugins dir | app
    module: str
    version: str | None = None
    status: str = "loaded"  # loaded | disabled | not allowed | failed
    error: str = ""
    hooks: list[str] = field(default_factory=list)
    static_dir: Path | None = None
    templates_dir: Path | None = None
    obj: object | None = field(default=None, repr=False)

    @property
    def loaded(self) -> bool:
        return self.status == "loaded"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "source": self.source,
            "module": self.module,
            "status": self.status,
            "error": self.error,
            "hooks": self.hooks,
            "static": str(self.static_dir) if self.static_dir else None,
            "templates": str(self.templates_dir) if self.templates_dir else None,
        }


def describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _tag(value: Any, plugin: str) -> None:
    """Fill the ``plugin`` field of the dataclasses a plugin returned."""
    items = value if isinstance(value, list | tuple) else [value]
    for item in items:
        if getattr(item, "plugin", None) == "":
            with contextlib.suppress(AttributeError):  # frozen: leave it
                item.plugin = plugin


def package_dir(obj: object) -> Path | None:
    """The folder of a plugin's package, where ``static/`` and ``templates/`` live.

    Only a package has one: a single-file plugin in ``--plugins-dir`` would
    otherwise share the folder with every other single-file plugin.
    """
    module = obj if isinstance(obj, ModuleType) else sys.modules.get(type(obj).__module__)
    if module is None:
        return None
    paths = getattr(module, "__path__", None)
    if not paths and module.__package__:
        parent = sys.modules.get(module.__package__)
        paths = getattr(parent, "__path__", None)
    if not paths:
        return None
    return Path(next(iter(paths)))


def dir_plugins(path: Path) -> list[tuple[str, Path, Path | None]]:
    """(name, file to import, package folder or None) of each plugin in a plugins dir."""
    found: list[tuple[str, Path, Path | None]] = []
    if not path.is_dir():
        return found
    for entry in sorted(path.iterdir()):
        if entry.name.startswith(("_", ".")):
            continue
        if entry.is_file() and entry.suffix == ".py":
            found.append((entry.stem, entry, None))
        elif entry.is_dir() and (entry / "__init__.py").is_file():
            found.append((entry.name, entry / "__init__.py", entry))
    return found


class Plugins:
    """The plugin manager of one app: pluggy's, plus loading, guarding and settings."""

    def __init__(
        self,
        *,
        disabled: Iterable[str] = (),
        allowed: Iterable[str] | None = None,
        trace: bool = False,
    ) -> None:
        self.pm = pluggy.PluginManager(PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.disabled = frozenset(disabled)
        self.allowed = frozenset(allowed) if allowed is not None else None
        self.infos: dict[str, PluginInfo] = {}
        self.problems: deque[Problem] = deque(maxlen=MAX_PROBLEMS)
        self.schemas: dict[str, list[Setting]] = {}
        self.values: dict[str, dict[str, tuple[Any, str]]] = {}
        self.kl: Kubelantern | None = None  # set when the app is built (api.Kubelantern)
        self.host: Host | None = None  # what the web layer gave the plugin API (plugins.host)
        self.provided: dict[str, str] = {}  # cluster slug -> plugin that provides it
        self.refresh_lock = asyncio.Lock()
        self.column_processors: list[ColumnProcessor] = []  # register_column_processors, once
        self.routes: list[PluginRoute] = []  # register_routes, once
        if trace:
            self.pm.add_hookcall_monitoring(self._trace_before, self._trace_after)

    # ---- tracing ---------------------------------------------------------------------

    @staticmethod
    def _trace_before(hook_name: str, hook_impls: Sequence[Any], kwargs: Mapping[str, Any]) -> None:
        names = [impl.plugin_name for impl in hook_impls]
        trace_log.info("call %s(%s) -> %s", hook_name, ", ".join(kwargs), names)

    @staticmethod
    def _trace_after(
        outcome: Any, hook_name: str, hook_impls: Sequence[Any], kwargs: Mapping[str, Any]
    ) -> None:
        if outcome.exception is not None:
            trace_log.info("%s raised %s", hook_name, describe(outcome.exception))
        else:
            trace_log.info("%s returned %r", hook_name, outcome.get_result())

    # ---- problems ----------------------------------------------------------------------

    def report(self, plugin: str, where: str, error: BaseException | str) -> None:
        """Log a plugin's failure and keep it for the UI.

        A hook that fails on every page would otherwise flood both: the same
        failure again only counts up (and is logged at debug level).
        """
        message = error if isinstance(error, str) else describe(error)
        metrics.plugin_error(plugin, where)
        for index, seen in enumerate(self.problems):
            if (seen.plugin, seen.where, seen.message) == (plugin, where, message):
                del self.problems[index]
                seen.count += 1
                seen.time = _now()
                self.problems.append(seen)
                log.debug("plugin %s failed in %s again: %s", plugin, where, message)
                return
        if isinstance(error, BaseException):
            log.error("plugin %s failed in %s: %s", plugin, where, message, exc_info=error)
        else:
            log.error("plugin %s: %s: %s", plugin, where, message)
        self.problems.append(Problem(plugin, where, message, _now()))

    def problems_of(self, plugin: str) -> list[Problem]:
        return [p for p in self.problems if p.plugin == plugin]

    # ---- guarding ----------------------------------------------------------------------

    def _guard(self, plugin: str, hook: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                result = fn(*args, **kwargs)
            except Exception as exc:
                self.report(plugin, hook, exc)
                return None
            if inspect.isawaitable(result):
                if hook in SYNC_HOOKS:
                    if inspect.iscoroutine(result):
                        result.close()
                    self.report(plugin, hook, "must answer at once; it returned an awaitable")
                    return None
                result = self._guard_awaitable(plugin, hook, result)
            else:
                _tag(result, plugin)
            collecting = _answers.get()
            if collecting is not None and collecting[0] == hook and result is not None:
                collecting[1].append((plugin, result))
            return result

        return guarded

    def _guarded(self, obj: object, plugin: str) -> object:
        """A stand-in for ``obj`` that pluggy registers: its hook functions, each guarded.

        Hook implementations are found the way pluggy finds them
        (``parse_hookimpl_opts``) and keep their options (``tryfirst``,
        ``specname``...); wrappers (``wrapper``/``hookwrapper``) are generators
        that must see the other implementations' errors, so they stay as they are.
        """
        functions: dict[str, Any] = {}
        for attr in dir(obj):
            opts = self.pm.parse_hookimpl_opts(obj, attr)
            if opts is None:
                continue
            function = getattr(obj, attr)
            if not (opts.get("wrapper") or opts.get("hookwrapper")):
                function = self._guard(plugin, opts.get("specname") or attr, function)
                setattr(function, PROJECT + "_impl", opts)  # the marker, for pluggy to read
            functions[attr] = function
        return types.SimpleNamespace(**functions)

    async def _guard_awaitable(self, plugin: str, hook: str, awaitable: Awaitable[Any]) -> Any:
        try:
            value = await awaitable
        except Exception as exc:
            self.report(plugin, hook, exc)
            return None
        _tag(value, plugin)
        return value

    # ---- registering and loading ---------------------------------------------------------

    def enabled(self, name: str, source: str) -> str:
        """``loaded`` if this plugin may load, else why not."""
        if name in self.disabled:
            return "disabled"
        if source != "builtin" and self.allowed is not None and name not in self.allowed:
            return "not allowed"
        return "loaded"

    def register(
        self,
        obj: object,
        name: str,
        *,
        source: str = "app",
        module: str = "",
        version: str | None = None,
    ) -> PluginInfo:
        """Register one plugin object (a module, usually); failures are recorded, not raised."""
        if not module:
            module = getattr(obj, "__name__", type(obj).__name__)
        info = PluginInfo(name=name, source=source, module=module, version=version, obj=obj)
        if version is None:
            info.version = getattr(obj, "__version__", None)
        info.status = self.enabled(name, source)
        previous = self.infos.get(name)
        if previous is not None and previous.loaded and previous.obj is obj:
            return previous  # the same plugin, found twice (an entry point and in code)
        if previous is not None and previous.loaded:
            info.status, info.error = "failed", f"a plugin named {name!r} is already loaded"
            self.report(name, "register", f"{info.error} ({previous.module}); {module} skipped")
            self.infos[f"{name} ({module})"] = info
            return info
        self.infos[name] = info
        if not info.loaded:
            return info
        guarded = self._guarded(obj, name)
        try:
            self.pm.register(guarded, name=name)
        except Exception as exc:  # PluginValidationError: a signature that does not match
            info.status, info.error = "failed", describe(exc)
            self.report(name, "register", exc)
            return info
        callers = self.pm.get_hookcallers(guarded) or []
        unknown = sorted(c.name for c in callers if c.spec is None)
        if unknown:
            self.pm.unregister(guarded)
            info.status = "failed"
            info.error = f"implements hooks Kubelantern does not have: {', '.join(unknown)}"
            self.report(name, "register", info.error)
            return info
        info.hooks = sorted(c.name for c in callers)
        folder = package_dir(obj)
        if folder is not None:
            info.static_dir = folder / "static" if (folder / "static").is_dir() else None
            info.templates_dir = folder / "templates" if (folder / "templates").is_dir() else None
        return info

    def load_defaults(self) -> None:
        for dotted in DEFAULT_PLUGINS:
            name = dotted.rsplit(".", 1)[-1]
            if self.enabled(name, "builtin") != "loaded":
                self.infos[name] = PluginInfo(name, "builtin", dotted, status="disabled")
                continue
            self.register(importlib.import_module(dotted), name, source="builtin", module=dotted)

    def load_entry_points(self) -> None:
        """Installed packages that declare ``[project.entry-points.kubelantern]``."""
        seen: set[tuple[str, str]] = set()
        for ep in importlib.metadata.entry_points(group=PROJECT):
            if (ep.name, ep.value) in seen:
                continue
            seen.add((ep.name, ep.value))
            version = ep.dist.version if ep.dist is not None else None
            status = self.enabled(ep.name, "entry point")
            if status != "loaded":
                self.infos[ep.name] = PluginInfo(
                    ep.name, "entry point", ep.value, version, status=status
                )
                continue
            try:
                obj = ep.load()
            except Exception as exc:
                self._import_failed(ep.name, "entry point", ep.value, exc, version)
                continue
            self.register(obj, ep.name, source="entry point", module=ep.value, version=version)

    def load_dir(self, folder: str | Path) -> None:
        """Every ``name.py`` and ``name/__init__.py`` in a folder (not ``_*`` or ``.*``)."""
        path = Path(folder).expanduser().resolve()
        if not path.is_dir():
            self.report("(plugins dir)", "load", f"{path} is not a folder")
            return
        for name, file, package in dir_plugins(path):
            status = self.enabled(name, "plugins dir")
            if status != "loaded":
                self.infos[name] = PluginInfo(name, "plugins dir", str(file), status=status)
                continue
            try:
                module = self._import_file(name, file, package)
            except Exception as exc:
                self._import_failed(name, "plugins dir", str(file), exc)
                continue
            self.register(module, name, source="plugins dir", module=str(file))

    @staticmethod
    def _import_file(name: str, file: Path, package: Path | None) -> ModuleType:
        module_name = f"kubelantern_plugin_{name}"
        spec = importlib.util.spec_from_file_location(
            module_name,
            file,
            submodule_search_locations=[str(package)] if package is not None else None,
        )
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot import {file}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(module_name, None)
            raise
        return module

    def _import_failed(
        self, name: str, source: str, module: str, exc: BaseException, version: str | None = None
    ) -> None:
        self.infos[name] = PluginInfo(
            name, source, module, version, status="failed", error=describe(exc)
        )
        self.report(name, "import", exc)

    # ---- calling hooks -------------------------------------------------------------------------

    def call(self, hook: str, **kwargs: Any) -> Any:
        """Call a hook through pluggy: a list of answers (one answer for firstresult hooks)."""
        return getattr(self.pm.hook, hook)(**kwargs)

    def call_named(self, hook: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """(plugin, answer) for each implementation that answered."""
        answers: list[tuple[str, Any]] = []
        token = _answers.set((hook, answers))
        try:
            self.call(hook, **kwargs)
            return answers
        finally:
            _answers.reset(token)

    async def acall(self, hook: str, **kwargs: Any) -> list[Any]:
        """Call a hook whose answers may be awaitables; await them (guarded) and drop Nones."""
        out = []
        for answer in self.call(hook, **kwargs):
            value = await answer if inspect.isawaitable(answer) else answer
            if value is not None:
                out.append(value)
        return out

    async def acall_named(self, hook: str, **kwargs: Any) -> list[tuple[str, Any]]:
        out = []
        for plugin, answer in self.call_named(hook, **kwargs):
            value = await answer if inspect.isawaitable(answer) else answer
            if value is not None:
                out.append((plugin, value))
        return out

    # ---- what is loaded -------------------------------------------------------------------------

    def hook_names(self) -> list[str]:
        """Every hook in the hookspecs."""
        return sorted(
            name
            for name in dir(self.pm.hook)
            if not name.startswith("_") and getattr(self.pm.hook, name).spec is not None
        )

    def loaded(self) -> list[PluginInfo]:
        return [i for i in self.infos.values() if i.loaded]

    def template_dirs(self) -> list[Path]:
        return [i.templates_dir for i in self.loaded() if i.templates_dir is not None]

    def static_dirs(self) -> dict[str, Path]:
        return {i.name: i.static_dir for i in self.loaded() if i.static_dir is not None}

    # ---- settings -------------------------------------------------------------------------------

    def load_settings(
        self,
        *,
        flags: Sequence[str] = (),
        environ: Mapping[str, str] | None = None,
        config: Mapping[str, Any] | None = None,
    ) -> None:
        """Ask each plugin for its settings and resolve their values.

        Precedence: the setting's own environment variable, then ``plugin_setting``
        entries (``--plugin-setting``, ``KUBELANTERN_PLUGIN_SETTING`` or the config
        file's ``plugin_setting`` list), then ``config`` (a mapping given in code),
        then the default. The variable wins so a deployment can inject a secret
        from a Secret over a shared config file.
        """
        env = os.environ if environ is None else environ
        given: dict[str, dict[str, tuple[Any, str]]] = {}
        for plugin, values in (config or {}).items():
            if isinstance(values, Mapping):
                for key, value in values.items():
                    given.setdefault(str(plugin), {})[str(key)] = (value, "config")
            else:
                self.report(str(plugin), "settings", "its settings are not a mapping")
        for item in flags:
            key, sep, value = item.partition("=")
            plugin, dot, name = key.partition(".")
            if not sep or not dot or not plugin or not name:
                self.report("(settings)", "settings", f"{item!r} is not PLUGIN.NAME=VALUE")
                continue
            given.setdefault(plugin, {})[name] = (value, "plugin_setting")
        self.schemas = {}
        for plugin, answer in self.call_named("register_plugin_settings"):
            for setting in answer if isinstance(answer, list | tuple) else [answer]:
                if isinstance(setting, Setting):
                    self.schemas.setdefault(plugin, []).append(setting)
                else:
                    self.report(plugin, "register_plugin_settings", f"not a Setting: {setting!r}")
        self.values = {}
        for plugin, schema in self.schemas.items():
            resolved: dict[str, tuple[Any, str]] = {}
            mine = given.pop(plugin, {})
            for setting in schema:
                entry = mine.pop(setting.name, None)
                env_name = setting.env_var(plugin)
                if env_name in env:
                    raw, source = env[env_name], "environment"
                elif entry is not None:
                    raw, source = entry
                else:
                    raw, source = setting.default, "default"
                if source != "default":
                    try:
                        raw = setting.convert(raw)
                    except (TypeError, ValueError) as exc:
                        self.report(plugin, "settings", f"{setting.name} ({source}): {exc}")
                        raw, source = setting.default, "default"
                resolved[setting.name] = (raw, source)
            for unknown in mine:
                self.report(plugin, "settings", f"no setting named {unknown!r}")
            self.values[plugin] = resolved
        for plugin in given:
            if plugin in self.infos and self.infos[plugin].loaded:
                self.report(plugin, "settings", "settings given, but it declares none")

    def plugin_settings(self, plugin: str) -> dict[str, Any]:
        return {name: value for name, (value, _) in self.values.get(plugin, {}).items()}

    def settings_table(self, plugin: str) -> list[dict[str, Any]]:
        """Each setting with its value (secrets masked) and where the value came from."""
        rows = []
        for setting in self.schemas.get(plugin, []):
            value, source = self.values.get(plugin, {}).get(setting.name, (setting.default, ""))
            row = setting.to_dict()
            row["env"] = setting.env_var(plugin)
            row["value"] = ("••••••" if value else "") if setting.secret else value
            row["source"] = source
            rows.append(row)
        return rows


def load(settings: Settings, extra: Iterable[object | tuple[str, object]] = ()) -> Plugins:
    """The plugins of an app built from ``settings``, plus ``extra`` objects given in code.

    ``extra`` holds plugin objects (named after their module's last component)
    or ``(name, object)`` pairs; ``kubelantern.testing.make_app`` passes them.
    """
    trace = settings.trace_plugins or os.environ.get("KUBELANTERN_TRACE_PLUGINS", "") in (
        "1",
        "true",
        "yes",
    )
    plugins = Plugins(
        disabled=settings.disable_plugin,
        allowed=settings.allow_plugin or None,
        trace=trace,
    )
    plugins.load_defaults()
    plugins.load_entry_points()
    for folder in settings.plugins_dir:
        plugins.load_dir(folder)
    for item in extra:
        if isinstance(item, tuple):
            name, obj = item
        else:
            obj = item
            name = str(getattr(obj, "__name__", type(obj).__name__)).rsplit(".", 1)[-1]
        plugins.register(obj, name, source="app")
    config = settings.extra.get("plugins") if isinstance(settings.extra, Mapping) else None
    plugins.load_settings(
        flags=settings.plugin_setting,
        config=config if isinstance(config, Mapping) else None,
    )
    return plugins
