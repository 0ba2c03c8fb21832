"""Which credentials go with a request to the API server.

Kubelantern never decides what a user may do; it only picks the credentials
and lets RBAC decide. A ``Credentials`` object yields the headers of one
identity; the TLS client certificate, if any, lives in the cluster's client.
"""

from __future__ import annotations

import asyncio
import base64
import time
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


TOKEN_FILE_REFRESH = 60.0
"""Seconds a token read from ``tokenFile`` is used before the file is read again.

client-go re-reads it about once a minute too; the kubelet rotates projected
ServiceAccount tokens well before they expire, and a 401 re-reads at once."""


def _read_token(path: str) -> str:
    with open(path, encoding="utf-8") as fh:
        return fh.read().strip()


class KubeconfigCredentials:
    """The credentials of a kubeconfig context: token, token file, basic, exec plugin.

    A ``tokenFile`` is read in a worker thread (never blocking the event loop),
    kept for ``refresh`` seconds, and read again at once after a 401
    (``invalidate``), so a rotated projected token is picked up.
    """

    def __init__(self, config: ClusterConfig, *, refresh: float = TOKEN_FILE_REFRESH) -> None:
        self._config = config
        self._exec: ExecCredential | None = None
        self._lock = asyncio.Lock()
        self._refresh = refresh
        self._file_token: str | None = None
        self._file_read_at = 0.0
        self._file_lock = asyncio.Lock()

    @property
    def uses_exec(self) -> bool:
        return self._config.exec is not None

    @property
    def refreshable(self) -> bool:
        """Whether fetching again after a 401 may give another secret (exec plugin, token file)."""
        return self._config.exec is not None or bool(self._config.token_file)

    def _file_stale(self) -> bool:
        return self._file_token is None or time.monotonic() - self._file_read_at >= self._refresh

    async def _token_from_file(self, path: str) -> str:
        if self._file_stale():
            async with self._file_lock:  # one read however many requests arrive at once
                if self._file_stale():
                    self._file_token = await asyncio.to_thread(_read_token, path)
                    self._file_read_at = time.monotonic()
        assert self._file_token is not None
        return self._file_token

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
            return {"Authorization": f"Bearer {await self._token_from_file(cfg.token_file)}"}
        if cfg.token:
            return {"Authorization": f"Bearer {cfg.token}"}
        if cfg.username and cfg.password:
            raw = f"{cfg.username}:{cfg.password}".encode()
            return {"Authorization": "Basic " + base64.b64encode(raw).decode()}
        return {}

    def invalidate(self) -> None:
        self._exec = None
        self._file_token = None

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
