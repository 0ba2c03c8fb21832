"""Exec credential plugins (kubelogin, aws eks get-token, gke-gcloud-auth-plugin...).

The plugin is run without a shell, its ExecCredential is cached until its
``expirationTimestamp`` (minus a margin), and it is run again after a 401.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
from dataclasses import dataclass

from kubelantern.clusters.kubeconfig import ClusterConfig, ExecConfig


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


def _exec_info(cfg: ClusterConfig, spec: ExecConfig) -> str:
    info: dict[str, object] = {
        "apiVersion": spec.api_version,
        "kind": "ExecCredential",
        "spec": {"interactive": False},
    }
    if spec.provide_cluster_info:
        cluster: dict[str, object] = {"server": cfg.server}
        if cfg.ca_data:
            import base64

            cluster["certificate-authority-data"] = base64.b64encode(cfg.ca_data).decode()
        if cfg.insecure_skip_tls_verify:
            cluster["insecure-skip-tls-verify"] = True
        info["spec"] = {"interactive": False, "cluster": cluster}
    return json.dumps(info)


async def run_exec_plugin(cfg: ClusterConfig, timeout: float = 60.0) -> ExecCredential:
    """Run the plugin of cfg and parse its ExecCredential."""
    spec = cfg.exec
    if spec is None:
        raise ExecPluginError("no exec plugin configured")
    command = spec.command
    if os.sep in command and not os.path.isabs(command):
        command = os.path.join(spec.base_dir, command)
    env = dict(os.environ)
    env.update(dict(spec.env))
    env["KUBERNETES_EXEC_INFO"] = _exec_info(cfg, spec)
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
        raise ExecPluginError(f"credential plugin {spec.command!r} timed out") from exc
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
