"""The YAML config file (``--config FILE``) and ``kubelantern config check``.

The file holds the same settings as the flags, under the option names of
``settings.OPTIONS`` (``base_url`` or ``base-url``), plus a ``clusters``
section for per-cluster settings::

    listen: 0.0.0.0:4466
    in_cluster: true
    kubeconfig: [/etc/kubelantern/clusters/0/config]
    auth_mode: impersonate
    trusted_proxies: 127.0.0.1/32
    clusters:
      prod:                      # name as in /c/<name>/ or the context name
        auth_mode: bearer        # becomes cluster_auth "prod=bearer"
        read_only: true          # becomes read_only_clusters "prod"
        display_name: Production # becomes cluster_names "prod=Production"
        default_namespace: web   # becomes cluster_namespaces "prod=web"

Precedence is flag > ``KUBELANTERN_*`` env var > file > default, so one file
can be shared and a deployment can still override a value. Every mistake is
reported, not just the first, each naming the key and what is wrong, because
a config file is usually fixed in one go from a CI log or a crash-looping pod.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from kubelantern.settings import ENV_PREFIX, OPTIONS, Option, Settings, listen_problem, resolve

_BY_NAME = {o.name: o for o in OPTIONS}
# Per-cluster keys of the ``clusters`` section and the list option each one feeds.
CLUSTER_KEYS = ("auth_mode", "read_only", "display_name", "default_namespace")
AUTH_MODES = ("kubeconfig", "bearer", "impersonate", "oidc")


class ConfigFileError(ValueError):
    """A config file that cannot be used; ``problems`` lists every mistake found."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        super().__init__(f"{path}: " + "; ".join(problems))


@dataclass
class Loaded:
    """Values read from a file, as option name -> value, and what was wrong."""

    path: str
    values: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _suggest(key: str, known: list[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _type_name(value: Any) -> str:
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string"}.get(
        type(value), "a " + type(value).__name__
    )


def _convert(option: Option, key: str, value: Any) -> tuple[Any, str | None]:
    """The value for ``option``, or a problem: YAML types must match, no guessing."""
    kind = option.kind
    if kind == "bool":
        if isinstance(value, bool):
            return value, None
        return None, f"{key}: expected true or false, got {_type_name(value)} ({value!r})"
    if kind == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value, None
        return None, f"{key}: expected a whole number, got {_type_name(value)} ({value!r})"
    if kind == "float":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value), None
        return None, f"{key}: expected a number, got {_type_name(value)} ({value!r})"
    if kind == "list":
        items = [value] if isinstance(value, str) else value
        if isinstance(items, list) and all(isinstance(i, str) for i in items):
            return tuple(items), None
        return None, f"{key}: expected a list of strings, got {_type_name(value)}"
    if not isinstance(value, str):
        return None, f"{key}: expected a string, got {_type_name(value)} ({value!r})"
    if option.choices and value not in option.choices:
        return None, f"{key}: {value!r} is not one of {', '.join(option.choices)}"
    return value, None


def _clusters(section: Any, values: dict[str, Any], problems: list[str]) -> None:
    if not isinstance(section, Mapping):
        problems.append("clusters: expected a mapping of cluster name to its settings")
        return
    modes = list(values.get("cluster_auth", ()))
    read_only = list(values.get("read_only_clusters", ()))
    names = list(values.get("cluster_names", ()))
    namespaces = list(values.get("cluster_namespaces", ()))
    for name, body in section.items():
        where = f"clusters.{name}"
        if not isinstance(body, Mapping):
            problems.append(f"{where}: expected a mapping such as {{auth_mode: bearer}}")
            continue
        for key, value in body.items():
            norm = str(key).replace("-", "_")
            if norm == "auth_mode":
                if value not in AUTH_MODES:
                    problems.append(
                        f"{where}.auth_mode: {value!r} is not one of {', '.join(AUTH_MODES)}"
                    )
                else:
                    modes.append(f"{name}={value}")
            elif norm == "read_only":
                if not isinstance(value, bool):
                    problems.append(f"{where}.read_only: expected true or false, got {value!r}")
                elif value:
                    read_only.append(str(name))
            elif norm in ("display_name", "default_namespace"):
                if not isinstance(value, str) or not value.strip():
                    problems.append(f"{where}.{norm}: expected a non-empty string, got {value!r}")
                elif norm == "display_name":
                    names.append(f"{name}={value.strip()}")
                else:
                    namespaces.append(f"{name}={value.strip()}")
            else:
                problems.append(
                    f"{where}.{key}: unknown per-cluster setting"
                    f"{_suggest(norm, list(CLUSTER_KEYS))}; known: {', '.join(CLUSTER_KEYS)}"
                )
    if modes:
        values["cluster_auth"] = tuple(modes)
    if read_only:
        values["read_only_clusters"] = tuple(read_only)
    if names:
        values["cluster_names"] = tuple(names)
    if namespaces:
        values["cluster_namespaces"] = tuple(namespaces)


def parse(doc: Any, path: str) -> Loaded:
    """Check a parsed YAML document; values are keyed by option name."""
    loaded = Loaded(path=path)
    if doc is None:
        return loaded
    if not isinstance(doc, Mapping):
        loaded.problems.append("expected a mapping of setting names to values at the top level")
        return loaded
    known = [*_BY_NAME, "clusters"]
    clusters_section = None
    for raw_key, value in doc.items():
        key = str(raw_key)
        name = key.replace("-", "_")
        if name == "clusters":
            clusters_section = value
            continue
        if name == "config":
            loaded.problems.append("config: a config file cannot name another config file")
            continue
        option = _BY_NAME.get(name)
        if option is None:
            loaded.problems.append(f"{key}: unknown setting{_suggest(name, known)}")
            continue
        converted, problem = _convert(option, key, value)
        if problem:
            loaded.problems.append(problem)
        else:
            loaded.values[name] = converted
    if clusters_section is not None:
        _clusters(clusters_section, loaded.values, loaded.problems)
    return loaded


def read(path: str) -> Loaded:
    """Read and check ``path``; an unreadable file or bad YAML is one problem."""
    try:
        with open(os.path.expanduser(path), encoding="utf-8") as fh:
            doc = yaml.safe_load(fh)
    except OSError as exc:
        return Loaded(path=path, problems=[f"cannot read the config file: {exc.strerror}"])
    except yaml.YAMLError as exc:
        return Loaded(path=path, problems=[f"not valid YAML: {exc}"])
    return parse(doc, path)


def load(path: str) -> dict[str, Any]:
    """Values of a valid file; ``ConfigFileError`` listing every problem otherwise."""
    loaded = read(path)
    if loaded.problems:
        raise ConfigFileError(path, loaded.problems)
    return loaded.values


def check(settings: Settings) -> list[str]:
    """What stops these (resolved) settings from working here; empty when all is well.

    Beyond the file's own keys and types, this tries what ``serve`` does at
    start: read every kubeconfig, find the in-cluster ServiceAccount, and build
    the auth config (impersonate or bearer without a trusted proxy, unreadable
    secret files, incomplete OIDC).
    """
    from kubelantern.auth.config import AuthConfigError, from_settings
    from kubelantern.clusters.incluster import in_cluster_config
    from kubelantern.clusters.kubeconfig import KubeconfigError, load_files

    problems: list[str] = []
    listen = listen_problem(settings.listen)
    if listen:
        problems.append(f"listen: {listen}")
    if settings.base_url and not settings.prefix.startswith("/"):
        problems.append(f"base_url: {settings.base_url!r} must be a path such as /kubelantern")
    paths = list(settings.kubeconfig) if settings.kubeconfig else []
    if not paths and not settings.in_cluster:
        paths = settings.kubeconfig_paths()
        if not paths:
            problems.append(
                "no clusters: set kubeconfig, or in_cluster when running in a pod "
                "(and there is no $KUBECONFIG or ~/.kube/config here)"
            )
    if paths:
        try:
            load_files(paths, context=settings.context)
        except KubeconfigError as exc:
            problems.append(f"kubeconfig: {exc}")
    if settings.in_cluster:
        try:
            in_cluster_config()
        except KubeconfigError as exc:
            problems.append(f"in_cluster: {exc}")
    try:
        from_settings(settings)
    except AuthConfigError as exc:
        problems.append(f"auth: {exc}")
    problems += _adding_problems(settings)
    return problems


def _adding_problems(settings: Settings) -> list[str]:
    """Adding clusters from the UI, as ``kubelantern serve`` would check it at start."""
    from kubelantern.auth.admins import AdminRule
    from kubelantern.clusters.addpolicy import AddPolicy, AddPolicyError

    problems = []
    try:
        AddPolicy.from_settings(settings, desktop=False)
    except AddPolicyError as exc:
        problems.append(f"added_cluster_allow: {exc}")
    if (
        settings.add_clusters == "on"
        and not AdminRule(settings.cluster_admins, desktop=False).names_anyone
    ):
        problems.append(
            "add_clusters: on needs cluster_admins (the users, or group:NAME, who may add)"
        )
    return problems


def check_file(path: str | None, environ: Mapping[str, str]) -> tuple[Settings | None, list[str]]:
    """``kubelantern config check``: every problem of the file and of the settings it makes.

    Problems in the file's keys do not hide the others: the valid keys are
    still resolved (under the env vars, as ``serve`` would) and checked.
    """
    env = {k: v for k, v in environ.items() if k != ENV_PREFIX + "CONFIG"}
    problems: list[str] = []
    values: dict[str, Any] = {}
    if path:
        loaded = read(path)
        problems += loaded.problems
        values = loaded.values
    try:
        base = resolve(None, environ=env)
    except SystemExit as exc:  # a bad KUBELANTERN_* variable
        return None, [*problems, str(exc.code).removeprefix("kubelantern: ")]
    overrides = {k: v for k, v in values.items() if _BY_NAME[k].env not in env}
    known = {f.name for f in dataclasses.fields(Settings)}
    resolved = dataclasses.replace(
        base, config=path, **{k: v for k, v in overrides.items() if k in known}
    )
    return resolved, problems + check(resolved)
