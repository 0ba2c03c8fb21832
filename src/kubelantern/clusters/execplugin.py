"""Exec credential plugins (kubelogin, aws eks get-token, gke-gcloud-auth-plugin...).

The plugin is run without a shell, its ExecCredential is cached until its
``expirationTimestamp`` (minus a margin), and it is run again after a 401.

It gets a minimal environment, never the server's whole one (which may hold
the pod's cloud credentials and Kubelantern's own secrets): ``BASE_ENV``
(paths and locale, no secrets), the variables the operator names with
``--exec-credential-env`` (``NAME``, ``PREFIX*``, or ``*`` for everything), the
plugin's own ``env:`` entries from the kubeconfig, and
``KUBERNETES_EXEC_INFO``.

``interactiveMode`` is honoured as client-go does, for a process that never
has a terminal to lend (a server; its standard input is not the person's
keyboard): ``Never`` and ``IfAvailable`` run the plugin with no standard input
and ``"interactive": false`` in ``KUBERNETES_EXEC_INFO``; ``Always`` is refused
before the plugin runs, with what to do instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
from dataclasses import dataclass

from kubelantern.clusters.kubeconfig import ClusterConfig, ExecConfig

BASE_ENV = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "LC_ALL",
    "TMPDIR",
    "TZ",
    "XDG_CONFIG_HOME",
    "XDG_CACHE_HOME",
    "XDG_RUNTIME_DIR",
)


def passed_names(names: tuple[str, ...]) -> tuple[str, ...]:
    """``--exec-credential-env`` cleaned up: the names and patterns, without blanks."""
    return tuple(n.strip() for n in names if n.strip())


def plugin_environment(
    spec_env: tuple[tuple[str, str], ...],
    environ: dict[str, str],
    passed: tuple[str, ...] = (),
) -> dict[str, str]:
    """The environment of one plugin run (see the module doc); ``passed`` is what
    ``--exec-credential-env`` names (``ExecConfig.passed_env``)."""

    def given(name: str) -> bool:
        if name in BASE_ENV:
            return True
        for pattern in passed:
            if pattern.endswith("*") and name.startswith(pattern[:-1]):
                return True
            if name == pattern:
                return True
        return False

    env = {k: v for k, v in environ.items() if given(k)}
    env.update(dict(spec_env))
    return env


class ExecPluginError(RuntimeError):
    """The credential plugin failed; the message says how (never the token)."""


@dataclass
class ExecCredential:
    token: str | None
    client_cert: bytes | None
    client_key: bytes | None
    expires: dt.datetime | None

    def fresh(self, margin: float = 30.0) -> bool:
        if self.expires is None:
            return True
        remaining = (self.expires - dt.datetime.now(dt.UTC)).total_seconds()
        return remaining > margin


def interactive(spec: ExecConfig) -> bool:
    """Whether the plugin runs interactively: never here, and ``Always`` cannot run at all.

    client-go lends a plugin its standard input only when that is a terminal
    and the mode is not ``Never``, and refuses ``Always`` without one.
    Kubelantern has no terminal to lend: its plugins run behind web requests.
    """
    if spec.interactive_mode == "Always":
        raise ExecPluginError(
            f"credential plugin {spec.command!r} has interactiveMode: Always (it needs a "
            "terminal to ask for a login), and Kubelantern runs plugins without one. Log in "
            "once in a terminal so the plugin caches its credential and set "
            "interactiveMode: IfAvailable, or use a plugin mode that needs no prompt"
        )
    return False


def _exec_info(cfg: ClusterConfig, spec: ExecConfig) -> str:
    body: dict[str, object] = {"interactive": interactive(spec)}
    if spec.provide_cluster_info:
        body["cluster"] = cfg.cluster_entry()
    info = {"apiVersion": spec.api_version, "kind": "ExecCredential", "spec": body}
    return json.dumps(info)


async def run_exec_plugin(cfg: ClusterConfig, timeout: float = 60.0) -> ExecCredential:
    """Run the plugin of cfg and parse its ExecCredential."""
    spec = cfg.exec
    if spec is None:
        raise ExecPluginError("no exec plugin configured")
    command = spec.command
    if os.sep in command and not os.path.isabs(command):
        command = os.path.join(spec.base_dir, command)
    info = _exec_info(cfg, spec)  # refuses interactiveMode: Always before anything runs
    env = plugin_environment(spec.env, dict(os.environ), spec.passed_env)
    env["KUBERNETES_EXEC_INFO"] = info
    try:
        proc = await asyncio.create_subprocess_exec(
            command,
            *spec.args,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except OSError as exc:
        raise ExecPluginError(f"cannot run credential plugin {spec.command!r}: {exc}") from exc
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError as exc:
        proc.kill()
        await proc.wait()
        raise ExecPluginError(f"credential plugin {spec.command!r} timed out") from exc
    except asyncio.CancelledError:  # shutting down mid-run: leave no process behind
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        with contextlib.suppress(BaseException):
            await proc.wait()
        raise
    if proc.returncode != 0:
        tail = err.decode(errors="replace").strip().splitlines()[-1:] or [""]
        raise ExecPluginError(
            f"credential plugin {spec.command!r} exited with {proc.returncode}: {tail[0][:300]}"
        )
    try:
        doc = json.loads(out)
        status = doc["status"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ExecPluginError(
            f"credential plugin {spec.command!r} did not print an ExecCredential"
        ) from exc
    expires = None
    if status.get("expirationTimestamp"):
        expires = dt.datetime.fromisoformat(status["expirationTimestamp"].replace("Z", "+00:00"))
    cert = status.get("clientCertificateData")
    key = status.get("clientKeyData")
    return ExecCredential(
        token=status.get("token"),
        client_cert=cert.encode() if cert else None,
        client_key=key.encode() if key else None,
        expires=expires,
    )
