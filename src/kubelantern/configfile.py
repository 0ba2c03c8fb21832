"""The YAML config file (``--config FILE``): reading it against the option table.

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

This module sits below ``settings`` (which reads the file while resolving) and
so is handed the option table instead of importing it; ``kubelantern config
check`` (kubeconfigs, auth) lives above both, in ``kubelantern.configcheck``.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import yaml

# Per-cluster keys of the ``clusters`` section and the list option each one feeds.
CLUSTER_KEYS = ("auth_mode", "read_only", "display_name", "default_namespace")
AUTH_MODES = ("kubeconfig", "bearer", "impersonate", "oidc")


class FileOption(Protocol):
    """What the file reader needs of one option of ``settings.OPTIONS``."""

    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def choices(self) -> Sequence[str] | None: ...


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


def _convert(option: FileOption, key: str, value: Any) -> tuple[Any, str | None]:
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


def parse(doc: Any, path: str, options: Sequence[FileOption]) -> Loaded:
    """Check a parsed YAML document against ``options``; values are keyed by option name."""
    loaded = Loaded(path=path)
    if doc is None:
        return loaded
    if not isinstance(doc, Mapping):
        loaded.problems.append("expected a mapping of setting names to values at the top level")
        return loaded
    by_name = {o.name: o for o in options}
    known = [*by_name, "clusters"]
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
        option = by_name.get(name)
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


def read(path: str, options: Sequence[FileOption]) -> Loaded:
    """Read and check ``path``; an unreadable file or bad YAML is one problem."""
    try:
        with open(os.path.expanduser(path), encoding="utf-8") as fh:
            doc = yaml.safe_load(fh)
    except OSError as exc:
        return Loaded(path=path, problems=[f"cannot read the config file: {exc.strerror}"])
    except yaml.YAMLError as exc:
        return Loaded(path=path, problems=[f"not valid YAML: {exc}"])
    return parse(doc, path, options)


def load(path: str, options: Sequence[FileOption]) -> dict[str, Any]:
    """Values of a valid file; ``ConfigFileError`` listing every problem otherwise."""
    loaded = read(path, options)
    if loaded.problems:
        raise ConfigFileError(path, loaded.problems)
    return loaded.values
