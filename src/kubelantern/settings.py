"""Every option of ``kubelantern serve``, in one table: flag, env var, default.

One table feeds argparse, the ``KUBELANTERN_*`` environment variables and the
docs, so an option cannot exist in one place and be missing from another.
Precedence: command-line flag > environment variable > config file (``--config``,
see ``kubelantern.configfile``) > default.
"""

from __future__ import annotations

import argparse
import importlib.util
import ipaddress
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from kubelantern import configfile

ENV_PREFIX = "KUBELANTERN_"


class SettingsError(ValueError):
    """A setting that cannot work; ``kubelantern`` (cli.py) prints it and exits 2 (usage error).

    An ordinary exception, not ``SystemExit``: ``config check`` reports it as one
    problem among others, and only the command line decides to end the process.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def listen_problem(value: str) -> str | None:
    """Why ``value`` is not HOST:PORT (port 1-65535, IPv6 in brackets), or None."""
    host, sep, port = value.rpartition(":")
    example = "e.g. 127.0.0.1:4466, 0.0.0.0:4466 or [::1]:4466"
    if not sep:
        return f"{value!r} is not HOST:PORT ({example})"
    if not port.isdigit() or not 0 < int(port) < 65536:
        return f"{value!r}: the port must be a number from 1 to 65535 ({example})"
    if host.startswith("[") or host.endswith("]"):
        try:
            ipaddress.IPv6Address(host.removeprefix("[").removesuffix("]"))
        except ValueError:
            return f"{value!r}: {host} is not an IPv6 address in brackets ({example})"
    elif ":" in host:
        return f"{value!r}: write an IPv6 address in brackets ({example})"
    return None


def _listen(value: str) -> str:
    problem = listen_problem(value)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return value


@dataclass(frozen=True)
class Option:
    """One setting: its flag, type and documentation."""

    name: str
    help: str
    default: Any = None
    kind: str = "str"  # str | int | float | bool | list
    choices: tuple[str, ...] | None = None
    separator: str = os.pathsep
    """How a list is split in its environment variable."""

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()


OPTIONS: tuple[Option, ...] = (
    Option(
        "config",
        "YAML file with any of these settings (snake_case keys) and per-cluster ones; "
        "flags and env vars win over it. Check it with `kubelantern config check`.",
    ),
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
    Option("in_cluster_name", "Name of the --in-cluster cluster in URLs.", default="in-cluster"),
    Option(
        "require_clusters",
        "Report not ready (/readyz 503) while any configured cluster is unreachable; "
        "refuse to start when no cluster is configured at all.",
        default=False,
        kind="bool",
    ),
    Option(
        "listen",
        "Address and port to serve on, HOST:PORT ([::1]:PORT for IPv6).",
        default="127.0.0.1:4466",
    ),
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
        "upstream_connections",
        "Most connections open to one API server for ordinary requests (watches and log "
        "follows have their own pool without a limit); more wait for a free one.",
        default=100,
        kind="int",
    ),
    Option(
        "upstream_keepalive",
        "Idle connections kept open to each API server, so a request needs no new TLS "
        "handshake (at most --upstream-connections).",
        default=20,
        kind="int",
    ),
    Option(
        "upstream_http2",
        "Speak HTTP/2 to API servers for ordinary requests, many of them sharing one "
        "connection (needs the h2 package: pip install 'kubelantern[http2]'); watches, "
        "log follows and terminals stay on HTTP/1.1.",
        default=False,
        kind="bool",
    ),
    Option(
        "watch_cache",
        "Serve lists (whole-list sorting and filtering) and live updates from a shared "
        "watch cache: one upstream list+watch per cluster, kind, namespace and reading "
        "identity for every tab allowed to see it (each person is checked with a "
        "SelfSubjectAccessReview first).",
        default=False,
        kind="bool",
    ),
    Option(
        "watch_cache_identity",
        "Whose credentials the watch cache reads with behind a sign-in proxy or OIDC: "
        "'service' = the cluster's own credentials (in a pod, its ServiceAccount, which "
        "needs list/watch on what people browse), shared by everyone the access check lets "
        "in; 'person' = each person's own, shared by all of that person's tabs. Kubeconfig "
        "mode always reads as the kubeconfig's user.",
        default="person",
        choices=("person", "service"),
    ),
    Option(
        "watch_cache_idle",
        "Seconds a cached list+watch stays open after its last tab closed or its last read.",
        default=60.0,
        kind="float",
    ),
    Option(
        "helm_binary",
        "The helm binary that changes Helm releases (rollback, upgrade, uninstall); "
        "empty: helm on PATH. Without one, releases are shown read-only.",
        default="",
    ),
    Option(
        "namespaces",
        "Namespaces the chooser offers when a user may not list namespaces; repeatable "
        "(env: ':'-separated).",
        default=(),
        kind="list",
    ),
    Option(
        "read_only",
        "Refuse every write (edit, create, actions, exec) in every cluster, whatever RBAC allows.",
        default=False,
        kind="bool",
    ),
    Option(
        "read_only_clusters",
        "Refuse every write in these clusters (the name in /c/<name>/, the display name "
        "or the kubeconfig context name); repeatable "
        "(env: ':'-separated).",
        default=(),
        kind="list",
    ),
    Option(
        "cluster_names",
        "Display name of a cluster, NAME=Display name (NAME as in /c/<name>/ or the "
        "context name); repeatable.",
        default=(),
        kind="list",
    ),
    Option(
        "cluster_namespaces",
        "Default namespace of a cluster, NAME=namespace; repeatable.",
        default=(),
        kind="list",
    ),
    Option(
        "add_clusters",
        "Let cluster admins add clusters from the UI: auto = on in desktop mode only, off "
        "in every other mode (also plain `kubelantern serve`).",
        default="auto",
        choices=("auto", "on", "off"),
    ),
    Option(
        "cluster_admins",
        "Who may add, rename, remove and share clusters from the UI when adding is on: user "
        "names, `group:NAME` for groups, `*` for everyone who gets in (single-user servers "
        "only); repeatable (env: ':'-separated). Desktop mode's lone user always may.",
        default=(),
        kind="list",
    ),
    Option(
        "added_cluster_allow",
        "Lift one refusal for pasted kubeconfigs: exec, auth-provider, proxy-url, http, "
        "insecure-skip-tls-verify, files, loopback, link-local, private (or none); "
        "repeatable (env: ':'-separated). Default: all of them in desktop mode, none "
        "elsewhere.",
        default=(),
        kind="list",
    ),
    Option(
        "max_added_clusters",
        "How many clusters may be added from the UI, in all.",
        default=20,
        kind="int",
    ),
    Option(
        "exec_credential_env",
        "Environment variables of the server passed on to exec credential plugins, besides "
        "PATH, HOME and the plugin's own `env:` (e.g. AWS_ROLE_ARN; NAME* for a prefix); "
        "repeatable (env: ':'-separated).",
        default=(),
        kind="list",
    ),
    Option(
        "clusters_file",
        "Where clusters added from the UI are kept (default locally: "
        "~/.config/kubelantern/clusters.yaml; in a cluster: memory only).",
    ),
    Option(
        "secure_cookies",
        "Mark cookies Secure (set when users reach Kubelantern over HTTPS).",
        default=False,
        kind="bool",
    ),
    # Sign-in and identity (docs/operator-guide.md, "Authentication").
    Option(
        "auth_mode",
        "How requests authenticate to clusters: the kubeconfig's own credentials, the "
        "user's bearer token, impersonation of the user a trusted proxy names, or "
        "Kubelantern's own OIDC login.",
        default="kubeconfig",
        choices=("kubeconfig", "bearer", "impersonate", "oidc"),
    ),
    Option(
        "cluster_auth",
        "Auth mode of one cluster, as NAME=MODE (NAME as in /c/<name>/ or the context "
        "name); repeatable (env: ':'-separated). Overrides --auth-mode.",
        default=(),
        kind="list",
    ),
    Option(
        "trusted_proxies",
        "Comma-separated addresses/CIDRs of the sign-in proxy (OAuth2 Proxy); identity "
        "headers from anywhere else are refused.",
        default="",
    ),
    Option(
        "proxy_secret_file",
        "File with a secret the sign-in proxy sends in --proxy-secret-header; requests "
        "with identity headers must carry it.",
    ),
    Option(
        "proxy_secret_header",
        "Header that carries the proxy's shared secret.",
        default="X-Kubelantern-Proxy-Secret",
    ),
    Option(
        "user_header",
        "Header naming the user to impersonate (X-Auth-Request-* variants are read too).",
        default="X-Forwarded-User",
    ),
    Option(
        "groups_header",
        "Header with the user's comma-separated groups.",
        default="X-Forwarded-Groups",
    ),
    Option("impersonate_user_prefix", "Prefix added to impersonated user names.", default=""),
    Option("impersonate_group_prefix", "Prefix added to impersonated group names.", default=""),
    Option(
        "bearer_source",
        "Where mode bearer finds the token: the Authorization header (ID token from "
        "--pass-authorization-header), X-Forwarded-Access-Token (--pass-access-token), or a "
        "sign-in form.",
        default="authorization",
        choices=("authorization", "access-token", "form"),
    ),
    Option("oidc_issuer", "OIDC issuer URL for mode oidc."),
    Option("oidc_client_id", "OIDC client id for mode oidc."),
    Option("oidc_client_secret_file", "File with the OIDC client secret for mode oidc."),
    Option(
        "oidc_scopes", "Scopes Kubelantern asks for in mode oidc.", default="openid email profile"
    ),
    Option("oidc_ca_file", "CA bundle to trust for the OIDC issuer (default: system CAs)."),
    Option(
        "oidc_redirect_url",
        "Callback URL registered at the provider, e.g. "
        "https://kubelantern.example.com/-/oidc/callback. Mode oidc needs it or --allowed-hosts.",
    ),
    Option(
        "allowed_hosts",
        "Comma-separated host names (host, host:port, or .example.com for every subdomain) "
        "users reach Kubelantern by; the only Host headers Kubelantern builds absolute URLs "
        "from (the OIDC callback) when --oidc-redirect-url is not set.",
        default="",
    ),
    Option(
        "oidc_token",
        "Which token mode oidc sends to the API server.",
        default="id_token",
        choices=("id_token", "access_token"),
    ),
    Option(
        "session_secret_file",
        "File with the key that encrypts session cookies; every replica needs the same one "
        "(default: a key per process).",
    ),
    Option(
        "session_max_age",
        "Seconds a sign-in lasts at most, counted from sign-in (token refreshes do not extend it).",
        default=8 * 3600,
        kind="int",
    ),
    Option(
        "session_idle_timeout",
        "Seconds without a request after which a session ends (0: no idle timeout).",
        default=3600,
        kind="int",
    ),
    Option(
        "session_store",
        "Where signed-out sessions are remembered, so a copied cookie is refused: this "
        "process's memory (one replica, desktop) or a Secret in the Kubernetes API shared "
        "by every replica.",
        default="memory",
        choices=("memory", "kubernetes"),
    ),
    Option(
        "session_store_namespace",
        "Namespace of the session store Secret (default: the pod's own namespace).",
    ),
    Option(
        "session_store_name",
        "Name of the session store Secret.",
        default="kubelantern-sessions",
    ),
    Option(
        "session_store_context",
        "Kubeconfig context whose credentials keep the session store Secret (default: the "
        "pod's ServiceAccount).",
    ),
    Option(
        "sign_in_url",
        "Where the sign-in proxy starts a sign-in; rd=<page> is appended.",
        default="/oauth2/start",
    ),
    Option(
        "sign_out_url",
        "Where sign-out goes after clearing Kubelantern's session, e.g. /oauth2/sign_out.",
        default="",
    ),
    # Plugins (docs/plugins.md).
    Option(
        "plugins_dir",
        "Load plugins from the .py files and packages in this folder; repeatable "
        "(env: ':'-separated).",
        default=(),
        kind="list",
    ),
    Option(
        "disable_plugin",
        "Do not load the plugin of this name (it is not even imported); repeatable "
        "(env: ':'-separated).",
        default=(),
        kind="list",
    ),
    Option(
        "allow_plugin",
        "Load only these plugins, besides the built-in ones; repeatable (env: ':'-separated). "
        "Default: every installed plugin and every one in --plugins-dir.",
        default=(),
        kind="list",
    ),
    Option(
        "port_forward",
        "Offer port-forward (a listener on 127.0.0.1 of the machine Kubelantern runs on): "
        "auto = only when it is the person's own machine (auth mode kubeconfig, not "
        "--in-cluster, listening on a loopback address).",
        default="auto",
        choices=("auto", "on", "off"),
    ),
    Option(
        "node_shell",
        "Offer Shell on nodes: a privileged pod (hostPID, hostNetwork, nsenter into PID 1) "
        "created with the person's own credentials. Off unless turned on.",
        default=False,
        kind="bool",
    ),
    Option("node_shell_image", "Image of node shell pods (needs nsenter).", default="busybox"),
    Option("node_shell_namespace", "Namespace node shell pods are created in.", default="default"),
    Option(
        "node_shell_ttl",
        "Seconds a node shell pod may live (activeDeadlineSeconds, and Kubelantern deletes "
        "it then if the browser went away).",
        default=3600,
        kind="int",
    ),
    Option(
        "debug_images",
        "Images offered by Debug on a pod (an ephemeral container); the first is the "
        "default; repeatable (env: ','-separated, as images have ':' tags). Only these "
        "can be started.",
        default=("busybox",),
        kind="list",
        separator=",",
    ),
    Option(
        "plugin_setting",
        "A plugin setting as PLUGIN.NAME=VALUE; repeatable. The variable "
        "KUBELANTERN_PLUGIN_<PLUGIN>_<NAME> overrides it.",
        default=(),
        kind="list",
    ),
    Option(
        "trace_plugins",
        "Log every plugin hook call and its result (pluggy's hook call monitoring).",
        default=False,
        kind="bool",
    ),
)


@dataclass(frozen=True)
class Settings:
    """The resolved settings of one Kubelantern process."""

    config: str | None = None
    kubeconfig: tuple[str, ...] = ()
    context: str | None = None
    in_cluster: bool = False
    in_cluster_name: str = "in-cluster"
    require_clusters: bool = False
    listen: str = "127.0.0.1:4466"
    base_url: str = ""
    log_format: str = "text"
    log_level: str = "info"
    request_timeout: float = 15.0
    page_size: int = 100
    upstream_connections: int = 100
    upstream_keepalive: int = 20
    upstream_http2: bool = False
    watch_cache: bool = False
    watch_cache_identity: str = "person"
    watch_cache_idle: float = 60.0
    helm_binary: str = ""
    read_only: bool = False
    read_only_clusters: tuple[str, ...] = ()
    secure_cookies: bool = False
    add_clusters: str = "auto"
    cluster_admins: tuple[str, ...] = ()
    added_cluster_allow: tuple[str, ...] = ()
    max_added_clusters: int = 20
    exec_credential_env: tuple[str, ...] = ()
    cluster_names: tuple[str, ...] = ()
    cluster_namespaces: tuple[str, ...] = ()
    clusters_file: str | None = None
    namespaces: tuple[str, ...] = ()
    auth_mode: str = "kubeconfig"
    cluster_auth: tuple[str, ...] = ()
    trusted_proxies: str = ""
    proxy_secret_file: str | None = None
    proxy_secret_header: str = "X-Kubelantern-Proxy-Secret"
    user_header: str = "X-Forwarded-User"
    groups_header: str = "X-Forwarded-Groups"
    impersonate_user_prefix: str = ""
    impersonate_group_prefix: str = ""
    bearer_source: str = "authorization"
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret_file: str | None = None
    oidc_scopes: str = "openid email profile"
    oidc_ca_file: str | None = None
    oidc_redirect_url: str | None = None
    oidc_token: str = "id_token"
    allowed_hosts: str = ""
    session_secret_file: str | None = None
    session_max_age: int = 8 * 3600
    session_idle_timeout: int = 3600
    session_store: str = "memory"
    session_store_namespace: str | None = None
    session_store_name: str = "kubelantern-sessions"
    session_store_context: str | None = None
    sign_in_url: str = "/oauth2/start"
    sign_out_url: str = ""
    plugins_dir: tuple[str, ...] = ()
    disable_plugin: tuple[str, ...] = ()
    allow_plugin: tuple[str, ...] = ()
    plugin_setting: tuple[str, ...] = ()
    port_forward: str = "auto"
    debug_images: tuple[str, ...] = ("busybox",)
    node_shell: bool = False
    node_shell_image: str = "busybox"
    node_shell_namespace: str = "default"
    node_shell_ttl: int = 3600
    trace_plugins: bool = False
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
        return tuple(p.strip() for p in raw.split(option.separator) if p.strip())
    if option.choices and raw not in option.choices:
        raise ValueError(f"{option.env} must be one of {', '.join(option.choices)}")
    if option.name == "listen":
        _listen(raw)
    return raw


_TYPES: dict[str, Any] = {"int": int, "float": float}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add every option as a flag; defaults are resolved later from env.

    Booleans get ``--no-<flag>`` too: a flag must be able to switch off what an
    env var or the config file switched on.
    """
    for option in OPTIONS:
        help_text = f"{option.help} [env {option.env}]"
        if option.kind == "bool":
            parser.add_argument(
                option.flag,
                dest=option.name,
                action=argparse.BooleanOptionalAction,
                default=None,
                help=help_text,
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
                type=_listen if option.name == "listen" else _TYPES.get(option.kind, str),
                help=help_text,
            )


def resolve(
    args: argparse.Namespace | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Build Settings from parsed flags, then env vars, then the config file, then defaults."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    file_values = _file_values(args, env)
    for option in OPTIONS:
        value = getattr(args, option.name, None) if args is not None else None
        if value is None and option.env in env:
            try:
                value = _convert(option, env[option.env])
            except (ValueError, argparse.ArgumentTypeError) as exc:
                raise SettingsError(f"kubelantern: invalid {option.env}: {exc}") from exc
        if value is None:
            value = file_values.get(option.name)
        if value is None:
            continue
        if option.kind == "list":
            value = tuple(value)
        values[option.name] = value
    problem = listen_problem(str(values.get("listen", Settings.listen)))
    if problem:
        raise SettingsError(f"kubelantern: listen: {problem}")
    if int(values.get("upstream_connections", Settings.upstream_connections)) < 1:
        raise SettingsError("kubelantern: upstream_connections must be at least 1")
    if int(values.get("upstream_keepalive", Settings.upstream_keepalive)) < 0:
        raise SettingsError("kubelantern: upstream_keepalive must be 0 or more")
    if values.get("upstream_http2") and importlib.util.find_spec("h2") is None:
        raise SettingsError(
            "kubelantern: upstream_http2 needs the h2 package (pip install 'kubelantern[http2]')"
        )
    known = {f.name for f in fields(Settings)}
    return Settings(**{k: v for k, v in values.items() if k in known})


def _file_values(args: argparse.Namespace | None, env: Mapping[str, str]) -> dict[str, Any]:
    """The settings in ``--config`` / ``KUBELANTERN_CONFIG``; every mistake ends the start."""
    path = getattr(args, "config", None) if args is not None else None
    path = path or env.get(ENV_PREFIX + "CONFIG")
    if not path:
        return {}
    try:
        return configfile.load(path, OPTIONS)
    except configfile.ConfigFileError as exc:
        lines = "\n".join(f"  {p}" for p in exc.problems)
        raise SettingsError(f"kubelantern: config file {path} is not valid:\n{lines}") from exc


def describe() -> Sequence[Option]:
    """The option table, for docs and tests."""
    return OPTIONS
