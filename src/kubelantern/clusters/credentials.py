"""Which credentials go with a request to the API server.

Kubelantern never decides what a user may do; it only picks the credentials
and lets RBAC decide. A ``Credentials`` object yields the headers of one
identity; the TLS client certificate, if any, lives in the cluster's client.
"""

from __future__ import annotations

import asyncio
import base64
from typing import Protocol

from kubelantern.clusters.execplugin import ExecCredential, run_exec_plugin
from kubelantern.clusters.kubeconfig import ClusterConfig


class Credentials(Protocol):
    """The identity of a request: extra headers, refreshed after a 401."""

    async def headers(self) -> dict[str, str]: ...

    def invalidate(self) -> None:
        """Forget cached secrets so the next call fetches fresh ones."""


class NoCredentials:
    """Only what the TLS layer presents (a client certificate) or anonymous."""

    async def headers(self) -> dict[str, str]:
        return {}

    def invalidate(self) -> None:
        return None


class BearerToken:
    """A fixed bearer token (typed in, or passed by the proxy)."""

    def __init__(self, token: str) -> None:
        self._token = token

    async def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"}

    def invalidate(self) -> None:
        return None

    def __repr__(self) -> str:
        return "BearerToken(***)"


class KubeconfigCredentials:
    """The credentials of a kubeconfig context: token, token file, basic, exec plugin."""

    def __init__(self, config: ClusterConfig) -> None:
        self._config = config
        self._exec: ExecCredential | None = None
        self._lock = asyncio.Lock()

    @property
    def uses_exec(self) -> bool:
        return self._config.exec is not None

    async def exec_credential(self) -> ExecCredential:
        async with self._lock:
            if self._exec is None or not self._exec.fresh():
                self._exec = await run_exec_plugin(self._config)
            return self._exec

    async def headers(self) -> dict[str, str]:
        cfg = self._config
        if cfg.exec is not None:
            cred = await self.exec_credential()
            return {"Authorization": f"Bearer {cred.token}"} if cred.token else {}
        if cfg.token_file:
            # Re-read every time: projected ServiceAccount tokens rotate on disk.
            with open(cfg.token_file, encoding="utf-8") as fh:
                return {"Authorization": f"Bearer {fh.read().strip()}"}
        if cfg.token:
            return {"Authorization": f"Bearer {cfg.token}"}
        if cfg.username and cfg.password:
            raw = f"{cfg.username}:{cfg.password}".encode()
            return {"Authorization": "Basic " + base64.b64encode(raw).decode()}
        return {}

    def invalidate(self) -> None:
        self._exec = None

    def __repr__(self) -> str:
        return f"KubeconfigCredentials({self._config.name!r})"
