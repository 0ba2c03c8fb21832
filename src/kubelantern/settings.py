"""Every option of ``kubelantern serve``, in one table: flag, env var, default.

One table feeds argparse, the ``KUBELANTERN_*`` environment variables and the
docs, so an option cannot exist in one place and be missing from another.
Precedence: command-line flag > environment variable > default.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

ENV_PREFIX = "KUBELANTERN_"


@dataclass(frozen=True)
class Option:
    """One setting: its flag, type and documentation."""

    name: str
    help: str
    default: Any = None
    kind: str = "str"  # str | int | float | bool | list
    choices: tuple[str, ...] | None = None

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()


OPTIONS: tuple[Option, ...] = (
    Option(
        "kubeconfig",
        "Kubeconfig file to read clusters from; repeatable. In the env var, separate "
        "paths with ':'. Default: $KUBECONFIG, else ~/.kube/config.",
        default=(),
        kind="list",
    ),
    Option("context", "Only use this kubeconfig context (default: every context)."),
    Option(
        "in_cluster",
        "Add the cluster Kubelantern runs in (ServiceAccount token and CA).",
        default=False,
        kind="bool",
    ),
    Option("listen", "Address and port to serve on.", default="127.0.0.1:4466"),
    Option("base_url", "Serve under this path prefix, e.g. /kubelantern.", default=""),
    Option("log_format", "Log line format.", default="text", choices=("text", "json")),
    Option(
        "log_level", "Log level.", default="info", choices=("debug", "info", "warning", "error")
    ),
    Option(
        "request_timeout",
        "Seconds to wait for an API server before calling it slow.",
        default=15.0,
        kind="float",
    ),
    Option("page_size", "Objects per page in lists.", default=100, kind="int"),
    Option(
        "secure_cookies",
        "Mark cookies Secure (set when users reach Kubelantern over HTTPS).",
        default=False,
        kind="bool",
    ),
)


@dataclass(frozen=True)
class Settings:
    """The resolved settings of one Kubelantern process."""

    kubeconfig: tuple[str, ...] = ()
    context: str | None = None
    in_cluster: bool = False
    listen: str = "127.0.0.1:4466"
    base_url: str = ""
    log_format: str = "text"
    log_level: str = "info"
    request_timeout: float = 15.0
    page_size: int = 100
    secure_cookies: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def host(self) -> str:
        host, _, _port = self.listen.rpartition(":")
        return host.strip("[]") or "127.0.0.1"

    @property
    def port(self) -> int:
        return int(self.listen.rpartition(":")[2])

    @property
    def prefix(self) -> str:
        """The base URL normalised to ``""`` or ``/something`` (no trailing slash)."""
        base = self.base_url.strip().rstrip("/")
        if base and not base.startswith("/"):
            base = "/" + base
        return base

    def kubeconfig_paths(self) -> list[str]:
        """Kubeconfig files in kubectl's order: flags, $KUBECONFIG, ~/.kube/config."""
        if self.kubeconfig:
            return list(self.kubeconfig)
        env = os.environ.get("KUBECONFIG", "")
        paths = [p for p in env.split(os.pathsep) if p]
        if paths:
            return paths
        default = os.path.expanduser("~/.kube/config")
        return [default] if os.path.exists(default) else []


def _parse_bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"not a boolean: {value!r}")


def _convert(option: Option, raw: str) -> Any:
    if option.kind == "int":
        return int(raw)
    if option.kind == "float":
        return float(raw)
    if option.kind == "bool":
        return _parse_bool(raw)
    if option.kind == "list":
        return tuple(p for p in raw.split(os.pathsep) if p)
    if option.choices and raw not in option.choices:
        raise ValueError(f"{option.env} must be one of {', '.join(option.choices)}")
    return raw


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add every option as a flag; defaults are resolved later from env."""
    for option in OPTIONS:
        help_text = f"{option.help} [env {option.env}]"
        if option.kind == "bool":
            parser.add_argument(
                option.flag, dest=option.name, action="store_true", default=None, help=help_text
            )
        elif option.kind == "list":
            parser.add_argument(
                option.flag, dest=option.name, action="append", default=None, help=help_text
            )
        else:
            parser.add_argument(
                option.flag,
                dest=option.name,
                default=None,
                choices=option.choices,
                type={"int": int, "float": float}.get(option.kind, str),
                help=help_text,
            )


def resolve(
    args: argparse.Namespace | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Build Settings from parsed flags, then env vars, then defaults."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for option in OPTIONS:
        value = getattr(args, option.name, None) if args is not None else None
        if value is None and option.env in env:
            try:
                value = _convert(option, env[option.env])
            except ValueError as exc:
                raise SystemExit(f"kubelantern: invalid {option.env}: {exc}") from exc
        if value is None:
            continue
        if option.kind == "list":
            value = tuple(value)
        values[option.name] = value
    known = {f.name for f in fields(Settings)}
    return Settings(**{k: v for k, v in values.items() if k in known})


def describe() -> Sequence[Option]:
    """The option table, for docs and tests."""
    return OPTIONS
