"""Which credentials go with a request to the API server.

Kubelantern never decides what a user may do; it only picks the credentials
and lets RBAC decide. A ``Credentials`` object yields the headers of one
identity; the TLS client certificate, if any, lives in the cluster's client.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import MutableMapping, Sequence
from typing import Protocol

import httpx

from kubelantern.clusters.execplugin import ExecCredential, run_exec_plugin
from kubelantern.clusters.kubeconfig import ClusterConfig


class Credentials(Protocol):
    """The identity of a request: extra headers, refreshed after a 401.

    ``headers()`` may repeat a name (``Impersonate-Group`` once per group), so
    it can return an ``httpx.Headers``: copy it with ``httpx.Headers(...)`` or
    ``.multi_items()``, never ``dict(...)``, which would keep one group only.
    """

    async def headers(self) -> MutableMapping[str, str]: ...

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


class Impersonation:
    """Kubelantern's own identity, acting as a user the sign-in proxy named.

    The API server checks that ``base`` (Kubelantern's ServiceAccount) may
    impersonate this user and each group, then authorizes the request as the
    user alone: the impersonated identity does not keep the ServiceAccount's
    groups, and ``system:authenticated`` is added by the server.
    """

    uses_own = True  # base is the cluster's own credentials: re-run exec plugins on 401

    def __init__(self, base: Credentials, user: str, groups: Sequence[str] = ()) -> None:
        self._base = base
        self.user = user
        self.groups = tuple(groups)

    async def headers(self) -> httpx.Headers:
        items = list(httpx.Headers(await self._base.headers()).multi_items())
        items.append(("Impersonate-User", self.user))
        items.extend(("Impersonate-Group", group) for group in self.groups)
        return httpx.Headers(items)

    def invalidate(self) -> None:
        self._base.invalidate()

    def __repr__(self) -> str:
        return f"Impersonation(user={self.user!r}, groups={self.groups!r})"
