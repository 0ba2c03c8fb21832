"""Ended sessions, so a copied session cookie stops working after sign-out.

Session cookies are encrypted and need no server state to be read, so on
their own they would stay valid until they expire, whatever the user did.
Each session therefore carries an id (``sid``); signing out records that id
here until the session would have expired anyway, and every request with a
session asks ``is_revoked`` first.

Two stores (``--session-store``):

* ``memory``: one process (desktop mode, a single replica). Nothing to set up.
* ``kubernetes``: several replicas behind one Service share one Secret in
  Kubelantern's own namespace, written with the pod's ServiceAccount. Writes
  are read-modify-write guarded by ``metadata.resourceVersion`` (a conflict
  reads again and retries), and prune entries whose session has expired, so
  the Secret stays small. Reads go through a short cache (``CACHE_SECONDS``):
  a sign-out on one replica is refused on the replica that took it at once,
  and on every other replica within that many seconds. No database: the API
  server already stores, replicates and guards it.

If the store cannot be read before it was ever read, sessions are refused
(fail closed); after that, the last list read is used and the failure logged.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import re
import time
from typing import Any, Protocol

import orjson

from kubelantern import errors
from kubelantern.clusters.client import ClusterClient
from kubelantern.clusters.incluster import in_cluster_config
from kubelantern.clusters.kubeconfig import KubeconfigError, load_files
from kubelantern.settings import Settings

log = logging.getLogger(__name__)

CACHE_SECONDS = 2.0
WRITE_ATTEMPTS = 8
# Session ids are token_urlsafe; a Secret's data keys allow exactly these characters.
SID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


class StoreUnavailable(Exception):
    """The shared store could not be read; the session cannot be trusted."""


class RevocationStore(Protocol):
    async def is_revoked(self, sid: str) -> bool: ...

    async def revoke(self, sid: str, until: float) -> None: ...

    async def aclose(self) -> None: ...


def _live(entries: dict[str, float], now: float) -> dict[str, float]:
    return {sid: until for sid, until in entries.items() if until > now}


class MemoryRevocations:
    """Revoked session ids of this process (lost on restart, like its sessions' key)."""

    def __init__(self) -> None:
        self._revoked: dict[str, float] = {}

    async def is_revoked(self, sid: str) -> bool:
        return self._revoked.get(sid, 0.0) > time.time()

    async def revoke(self, sid: str, until: float) -> None:
        self._revoked = _live(self._revoked, time.time())
        self._revoked[sid] = until

    async def aclose(self) -> None:
        return None


class KubernetesRevocations:
    """Revoked session ids in one Secret, shared by every replica (see module doc)."""

    def __init__(
        self, client: ClusterClient, *, namespace: str, name: str, owns_client: bool = True
    ) -> None:
        self.client = client
        self.namespace = namespace
        self.name = name
        self._owns_client = owns_client
        self._revoked: dict[str, float] = {}
        self._read_at: float | None = None
        self._lock = asyncio.Lock()
        self._write_lock = asyncio.Lock()  # this process's sign-outs one at a time

    @property
    def _path(self) -> str:
        return f"/api/v1/namespaces/{self.namespace}/secrets/{self.name}"

    async def _get(self) -> dict[str, Any] | None:
        try:
            return await self.client.json("GET", self._path, timeout=10.0)
        except errors.NotFound:
            return None

    @staticmethod
    def _entries(secret: dict[str, Any] | None) -> dict[str, float]:
        out: dict[str, float] = {}
        for sid, value in ((secret or {}).get("data") or {}).items():
            try:
                out[str(sid)] = float(base64.b64decode(value))
            except ValueError:
                continue
        return out

    def _secret(self, entries: dict[str, float], resource_version: str | None) -> bytes:
        meta: dict[str, Any] = {
            "name": self.name,
            "namespace": self.namespace,
            "labels": {"app.kubernetes.io/component": "sessions"},
        }
        if resource_version:
            meta["resourceVersion"] = resource_version
        data = {
            sid: base64.b64encode(str(int(until)).encode()).decode()
            for sid, until in entries.items()
        }
        return orjson.dumps(
            {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": "Opaque", "data": data}
        )

    async def _refresh(self) -> None:
        async with self._lock:
            if self._read_at is not None and time.monotonic() - self._read_at < CACHE_SECONDS:
                return  # another request refreshed while this one waited
            try:
                secret = await self._get()
            except errors.KubelanternError as exc:
                if self._read_at is None:
                    raise StoreUnavailable(
                        f"cannot read the session store Secret {self.namespace}/{self.name}: "
                        f"{exc.message}"
                    ) from exc
                log.warning(
                    "cannot read the session store Secret %s/%s, using the last one read: %s",
                    self.namespace,
                    self.name,
                    exc.message,
                )
                self._read_at = time.monotonic()
                return
            # Keep what this process revoked but a racing write has not shown yet.
            self._revoked = {**self._entries(secret), **_live(self._revoked, time.time())}
            self._read_at = time.monotonic()

    async def is_revoked(self, sid: str) -> bool:
        if self._read_at is None or time.monotonic() - self._read_at >= CACHE_SECONDS:
            await self._refresh()
        return self._revoked.get(sid, 0.0) > time.time()

    async def revoke(self, sid: str, until: float) -> None:
        """Record ``sid`` until ``until`` (epoch seconds); retries on write conflicts."""
        if not SID.match(sid):
            raise ValueError("not a session id")
        self._revoked[sid] = until  # refused here at once, whatever the API server says
        async with self._write_lock:
            await self._write(sid, until)

    async def _write(self, sid: str, until: float) -> None:
        headers = {"Content-Type": "application/json"}
        for _attempt in range(WRITE_ATTEMPTS):
            secret = await self._get()
            now = time.time()
            entries = {**_live(self._entries(secret), now), sid: until}
            try:
                if secret is None:
                    path = f"/api/v1/namespaces/{self.namespace}/secrets"
                    body = self._secret(entries, None)
                    await self.client.request("POST", path, content=body, headers=headers)
                else:
                    rv = str((secret.get("metadata") or {}).get("resourceVersion") or "")
                    body = self._secret(entries, rv)
                    await self.client.request("PUT", self._path, content=body, headers=headers)
            except (
                errors.Conflict
            ):  # 409: AlreadyExists on create, a stale resourceVersion on update
                continue  # another replica wrote in between: read again, merge, retry
            self._revoked = {**entries, **_live(self._revoked, now)}
            self._read_at = time.monotonic()
            return
        raise StoreUnavailable(
            f"could not record the sign-out in {self.namespace}/{self.name}: "
            f"{WRITE_ATTEMPTS} write conflicts in a row"
        )

    async def aclose(self) -> None:
        if self._owns_client:
            await self.client.aclose()


def store_for(settings: Settings) -> RevocationStore:
    """The store ``--session-store`` names; a setting that cannot work raises
    ``KubeconfigError`` or ``ValueError`` with one line that says what to set."""
    if settings.session_store != "kubernetes":
        return MemoryRevocations()
    try:
        if settings.session_store_context:
            paths = settings.kubeconfig_paths()
            (config,) = load_files(paths, context=settings.session_store_context)
        else:
            config = in_cluster_config("session-store")
    except KubeconfigError as exc:
        raise ValueError(
            f"--session-store kubernetes: {exc} (outside a pod, set --session-store-context "
            "to a kubeconfig context that may get and update the session store Secret)"
        ) from exc
    namespace = settings.session_store_namespace or config.namespace
    if not namespace:
        raise ValueError(
            "--session-store kubernetes: set --session-store-namespace "
            "(KUBELANTERN_SESSION_STORE_NAMESPACE) to the namespace of Kubelantern's "
            "session store Secret"
        )
    client = ClusterClient(config, timeout=settings.request_timeout)
    return KubernetesRevocations(client, namespace=namespace, name=settings.session_store_name)
