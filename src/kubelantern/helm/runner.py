"""Running the helm binary as the person who asked, never as Kubelantern.

Changes to releases go through helm itself, so release storage stays exactly
as Helm writes it. Each run gets a fresh private directory (mode 0700) with a
kubeconfig (0600) holding only the person's identity: the bearer token they
signed in with (bearer and OIDC modes); in impersonate mode the server's own
credentials plus ``as``/``as-groups`` (helm's ``--kube-as-user``/
``--kube-as-group``), so RBAC judges the person; in kubeconfig mode the
kubeconfig's user, who is the person running Kubelantern. The process gets a
minimal environment (no inherited KUBECONFIG, proxies or cloud credentials),
no shell, a timeout, and the directory is removed afterwards.
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from kubelantern import errors
from kubelantern.clusters.client import ClusterClient
from kubelantern.clusters.credentials import Credentials
from kubelantern.clusters.store import Cluster

TIMEOUT = 300.0
OUTPUT_LIMIT = 4000


class HelmUnavailable(errors.KubelanternError):
    status = 501
    title = "Helm is not available"


class HelmFailed(errors.KubelanternError):
    status = 422
    title = "helm failed"


# Helm's own rule for release names (DNS-1123 subdomain, at most 53 characters).
RELEASE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def check_names(namespace: str, name: str) -> None:
    """Refuse names helm would not accept, before they become arguments of a process."""
    if not (NAMESPACE.match(namespace) and len(namespace) <= 63):
        raise errors.BadRequest(f"{namespace!r} is not a namespace name")
    if not (RELEASE_NAME.match(name) and len(name) <= 53):
        raise errors.BadRequest(f"{name!r} is not a Helm release name")


def find_binary(configured: str) -> str | None:
    """The helm to run: the ``helm_binary`` setting, else ``helm`` on PATH."""
    if configured:
        path = Path(configured)
        return str(path) if path.is_file() and os.access(path, os.X_OK) else None
    return shutil.which("helm")


def unavailable_reason(configured: str) -> str:
    if configured:
        return f"the configured helm binary ({configured}) is missing or not executable"
    return "no helm binary was found on PATH (set --helm-binary)"


async def kubeconfig_for(client: ClusterClient, credentials: Credentials | None) -> dict[str, Any]:
    """A kubeconfig with this person's identity only (see the module docstring)."""
    config = client.config
    creds = credentials if credentials is not None else client.own_credentials
    headers = httpx.Headers(await creds.headers())
    user: dict[str, Any] = {}
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        user["token"] = auth[7:]
    elif auth.lower().startswith("basic "):
        name, _, password = base64.b64decode(auth[6:]).decode().partition(":")
        user["username"], user["password"] = name, password
    if "impersonate-user" in headers:
        user["as"] = headers["impersonate-user"]
        groups = headers.get_list("impersonate-group")
        if groups:
            user["as-groups"] = groups
    # The TLS identity goes with the cluster's own credentials only (kubeconfig and
    # impersonate modes), exactly as ClusterClient presents it; never with a token.
    cert, key = config.client_cert_data, config.client_key_data
    if not client.anonymous and client.own_credentials.uses_exec:
        cred = await client.own_credentials.exec_credential()
        if cred.client_cert and cred.client_key:
            cert, key = cred.client_cert, cred.client_key
    if not client.anonymous and cert and key:
        user["client-certificate-data"] = base64.b64encode(cert).decode()
        user["client-key-data"] = base64.b64encode(key).decode()
    entry = config.cluster_entry()
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": entry}],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "c",
    }


@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: str
    stderr: str


def _scrub(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text[-OUTPUT_LIMIT:]


async def run(
    binary: str,
    cluster: Cluster,
    credentials: Credentials | None,
    args: Sequence[str],
    *,
    files: dict[str, bytes] | None = None,
    timeout: float = TIMEOUT,
) -> Result:
    """``helm <args>`` as this person; ``files`` are written next to the kubeconfig.

    ``{dir}`` in an argument is replaced by the private directory's path.
    Raises ``HelmFailed`` with helm's own message when it exits non-zero.
    """
    kubeconfig = await kubeconfig_for(cluster.client, credentials)
    secrets = [str(u["user"].get("token", "")) for u in kubeconfig["users"]]
    with tempfile.TemporaryDirectory(prefix="kl-helm-") as tmp:
        os.chmod(tmp, 0o700)
        config_path = Path(tmp) / "kubeconfig"
        fd = os.open(config_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            yaml.safe_dump(kubeconfig, fh)
        for name, content in (files or {}).items():
            path = Path(tmp) / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
            path.chmod(0o600)
        env = {
            "HOME": tmp,
            "PATH": "/usr/bin:/bin",
            "KUBECONFIG": str(config_path),
            "HELM_CACHE_HOME": f"{tmp}/cache",
            "HELM_CONFIG_HOME": f"{tmp}/config",
            "HELM_DATA_HOME": f"{tmp}/data",
            "HELM_DRIVER": "secret",
        }
        # --kubeconfig first: everything after a "--" in args is positional.
        argv = [
            binary,
            args[0],
            "--kubeconfig",
            str(config_path),
            *(a.replace("{dir}", tmp) for a in args[1:]),
        ]
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            cwd=tmp,
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(), timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise HelmFailed(f"helm {args[0]} did not finish in {int(timeout)}s") from None
    result = Result(
        proc.returncode or 0,
        _scrub(out.decode(errors="replace"), secrets),
        _scrub(err.decode(errors="replace"), secrets),
    )
    if result.returncode != 0:
        message = result.stderr.strip() or result.stdout.strip() or f"exit {result.returncode}"
        if "forbidden" in message.lower():
            raise errors.Forbidden(message.removeprefix("Error: "), status=403)
        raise HelmFailed(message.removeprefix("Error: "))
    return result
