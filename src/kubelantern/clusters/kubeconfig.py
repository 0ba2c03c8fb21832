"""Read kubeconfig files the way kubectl does, into one ClusterConfig per context.

Merging follows kubectl: files are read in order and the first definition of a
context, cluster or user name wins. Relative file paths inside a kubeconfig are
relative to that kubeconfig's directory.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml


class KubeconfigError(ValueError):
    """A kubeconfig that cannot be used, with the reason a person can act on."""


@dataclass(frozen=True)
class ExecConfig:
    """An exec credential plugin (client.authentication.k8s.io)."""

    command: str
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    api_version: str = "client.authentication.k8s.io/v1"
    interactive_mode: str = "IfAvailable"
    provide_cluster_info: bool = False
    base_dir: str = ""
    # Variables of the server's own environment the plugin also gets (``NAME``,
    # ``PREFIX*``, ``*``): the app's --exec-credential-env, set by ClusterStore.add.
    passed_env: tuple[str, ...] = field(default=(), compare=False, repr=False)


@dataclass(frozen=True)
class ClusterConfig:
    """Everything needed to reach one cluster as one identity."""

    name: str
    server: str
    ca_data: bytes | None = None
    insecure_skip_tls_verify: bool = False
    tls_server_name: str | None = None
    proxy_url: str | None = None
    client_cert_data: bytes | None = None
    client_key_data: bytes | None = None
    token: str | None = None
    token_file: str | None = None
    username: str | None = None
    password: str | None = None
    exec: ExecConfig | None = None
    namespace: str | None = None
    source: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    broken: str | None = None  # why this context cannot be used (parse_documents lenient)

    @property
    def fingerprint(self) -> str:
        """A short, non-reversible id of this identity, for per-user cache keys."""
        import hashlib

        h = hashlib.sha256()
        for part in (
            self.server,
            self.client_cert_data or b"",
            self.token or "",
            self.token_file or "",
            self.username or "",
            repr(self.exec),
        ):
            h.update(part if isinstance(part, bytes) else part.encode())
            h.update(b"\0")
        return h.hexdigest()[:16]

    def cluster_entry(self) -> dict[str, Any]:
        """The ``cluster`` entry of a kubeconfig (same keys in ExecCredential's ``spec.cluster``).

        Written once for both who hand the cluster on: a private kubeconfig for the
        helm binary, and exec plugins that ask for ``provideClusterInfo``.
        """
        entry: dict[str, Any] = {"server": self.server}
        if self.ca_data:
            entry["certificate-authority-data"] = base64.b64encode(self.ca_data).decode()
        if self.insecure_skip_tls_verify:
            entry["insecure-skip-tls-verify"] = True
        if self.tls_server_name:
            entry["tls-server-name"] = self.tls_server_name
        if self.proxy_url:
            entry["proxy-url"] = self.proxy_url
        return entry

    def __repr__(self) -> str:  # never print secrets
        return f"ClusterConfig(name={self.name!r}, server={self.server!r}, source={self.source!r})"


def _named(items: Any, kind: str, path: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for item in items or []:
        if not isinstance(item, dict) or "name" not in item:
            raise KubeconfigError(f"{path}: every entry of '{kind}' needs a name")
        body = item.get(kind[:-1]) or {}
        out[str(item["name"])] = {"__dir": os.path.dirname(os.path.abspath(path)), **body}
    return out


def _read_data(section: dict[str, Any], data_key: str, file_key: str) -> bytes | None:
    if section.get(data_key):
        try:
            return base64.b64decode(section[data_key])
        except (ValueError, TypeError) as exc:
            raise KubeconfigError(f"{data_key} is not valid base64") from exc
    path = section.get(file_key)
    if path:
        full = os.path.join(section["__dir"], os.path.expanduser(str(path)))
        try:
            with open(full, "rb") as fh:
                return fh.read()
        except OSError as exc:
            raise KubeconfigError(f"cannot read {file_key} {full}: {exc.strerror}") from exc
    return None


INTERACTIVE_MODES = ("Never", "IfAvailable", "Always")


def _exec_config(user: dict[str, Any]) -> ExecConfig | None:
    spec = user.get("exec")
    if not spec:
        return None
    if not isinstance(spec, dict) or not spec.get("command"):
        raise KubeconfigError("the exec credential plugin names no command")
    try:
        env = tuple((str(e["name"]), str(e.get("value", ""))) for e in spec.get("env") or [])
    except (KeyError, TypeError, AttributeError) as exc:
        raise KubeconfigError("every env entry of the exec plugin needs a name") from exc
    # client-go requires the mode for v1 and defaults it to IfAvailable for
    # v1beta1; a missing one is read as IfAvailable here (what kubectl did before v1).
    mode = str(spec.get("interactiveMode") or "IfAvailable")
    if mode not in INTERACTIVE_MODES:
        raise KubeconfigError(
            f"the exec plugin's interactiveMode {mode!r} is not one of "
            + ", ".join(INTERACTIVE_MODES)
        )
    return ExecConfig(
        command=str(spec["command"]),
        args=tuple(str(a) for a in spec.get("args") or []),
        env=env,
        api_version=str(spec.get("apiVersion", "client.authentication.k8s.io/v1")),
        interactive_mode=mode,
        provide_cluster_info=bool(spec.get("provideClusterInfo", False)),
        base_dir=user["__dir"],
    )


def parse_documents(
    docs: Iterable[tuple[str, dict[str, Any]]], *, lenient: bool = False
) -> list[ClusterConfig]:
    """Merge kubeconfig documents (path, parsed YAML) into configs, one per context.

    ``lenient``: a context that cannot be used (no server, an unreadable
    certificate file...) becomes a config with ``broken`` set instead of an
    error for the whole set (``kubelantern serve``; ``config check`` is strict).
    """
    contexts: dict[str, dict[str, Any]] = {}
    clusters: dict[str, dict[str, Any]] = {}
    users: dict[str, dict[str, Any]] = {}
    sources: dict[str, str] = {}
    for path, doc in docs:
        if not isinstance(doc, dict):
            raise KubeconfigError(f"{path}: not a kubeconfig (expected a mapping)")
        for name, ctx in _named(doc.get("contexts"), "contexts", path).items():
            if name not in contexts:
                contexts[name] = ctx
                sources[name] = path
        for name, cl in _named(doc.get("clusters"), "clusters", path).items():
            clusters.setdefault(name, cl)
        for name, us in _named(doc.get("users"), "users", path).items():
            users.setdefault(name, us)

    configs = []
    for name, ctx in contexts.items():
        try:
            configs.append(_config(name, ctx, clusters, users, sources[name]))
        except KubeconfigError as exc:
            if not lenient:
                raise
            # One broken context is one broken cluster, never a server that cannot start.
            server = str((clusters.get(str(ctx.get("cluster"))) or {}).get("server") or "")
            configs.append(
                ClusterConfig(name=name, server=server, source=sources[name], broken=str(exc))
            )
    return configs


def _config(
    name: str,
    ctx: dict[str, Any],
    clusters: dict[str, dict[str, Any]],
    users: dict[str, dict[str, Any]],
    source: str,
) -> ClusterConfig:
    cluster = clusters.get(str(ctx.get("cluster")))
    if cluster is None or not cluster.get("server"):
        raise KubeconfigError(
            f"{source}: context {name!r} names cluster {ctx.get('cluster')!r}, which has no server"
        )
    user = users.get(str(ctx.get("user")), {"__dir": cluster["__dir"]})
    token_file = user.get("tokenFile")
    if token_file:
        token_file = os.path.join(user["__dir"], os.path.expanduser(str(token_file)))
    return ClusterConfig(
        name=name,
        server=str(cluster["server"]).rstrip("/"),
        ca_data=_read_data(cluster, "certificate-authority-data", "certificate-authority"),
        insecure_skip_tls_verify=bool(cluster.get("insecure-skip-tls-verify", False)),
        tls_server_name=cluster.get("tls-server-name"),
        proxy_url=cluster.get("proxy-url"),
        client_cert_data=_read_data(user, "client-certificate-data", "client-certificate"),
        client_key_data=_read_data(user, "client-key-data", "client-key"),
        token=user.get("token"),
        token_file=token_file,
        username=user.get("username"),
        password=user.get("password"),
        exec=_exec_config(user),
        namespace=ctx.get("namespace"),
        source=source,
    )


def load_files(
    paths: Iterable[str], *, context: str | None = None, lenient: bool = False
) -> list[ClusterConfig]:
    """Read kubeconfig files; a missing or malformed file is an error that names it."""
    docs = []
    for path in paths:
        try:
            with open(os.path.expanduser(path), encoding="utf-8") as fh:
                doc = yaml.safe_load(fh) or {}
        except OSError as exc:
            raise KubeconfigError(f"cannot read kubeconfig {path}: {exc.strerror}") from exc
        except yaml.YAMLError as exc:
            raise KubeconfigError(f"kubeconfig {path} is not valid YAML: {exc}") from exc
        docs.append((path, doc))
    configs = parse_documents(docs, lenient=lenient)
    if context is not None:
        configs = [c for c in configs if c.name == context]
        if not configs:
            raise KubeconfigError(f"context {context!r} not found in {', '.join(paths)}")
    return configs
