"""Sessions in encrypted cookies: no server state, so replicas scale out.

A session holds tokens (a typed-in bearer token, or the ID/refresh tokens of
Kubelantern's own OIDC login), so it is encrypted, not merely signed: AES-GCM
with a key derived (HKDF) from ``--session-secret-file``. The cookie name is
bound in as associated data, so one cookie cannot be replayed as another, and
an expiry inside the ciphertext ends the session even if a browser keeps the
cookie. A tampered, foreign or expired cookie reads as "no session".

Being stateless, a cookie alone cannot be taken back, so ``SessionLifetime``
gives every session an id, its sign-in time and its last use: the absolute
lifetime counts from sign-in (a refresh of the OIDC tokens does not extend
it), the idle timeout from the last use, and sign-out records the id in a
revocation store (``kubelantern.auth.revocation``) shared by every replica.

Browsers keep about 4 kB per cookie; OIDC tokens are often bigger, so a
large value is split over ``name``, ``name.1``, ``name.2``...
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from kubelantern.auth.revocation import SID, RevocationStore

CHUNK = 3800  # bytes of cookie value per cookie, under the ~4096 browsers keep
MAX_CHUNKS = 8
_VERSION = "v1."


def derive_key(secret: bytes) -> bytes:
    """A 256-bit AES key from a secret of any length."""
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"kubelantern session v1"
    ).derive(secret)


class CookieCodec:
    """Encrypts dicts into cookie values and back, and writes the Set-Cookie headers."""

    def __init__(
        self,
        secret: bytes,
        *,
        name: str,
        max_age: int,
        path: str = "/",
        secure: bool = False,
        same_site: str = "Lax",
    ) -> None:
        self._aead = AESGCM(derive_key(secret))
        self.name = name
        self.max_age = max_age
        self.path = path
        self.secure = secure
        self.same_site = same_site

    def expiry(self, data: Mapping[str, Any], now: float) -> int:
        """When a value written now expires: ``max_age`` after the session's
        sign-in time (``iat``) if it has one, else after now."""
        issued = data.get("iat")
        start = issued if isinstance(issued, int | float) else now
        return int(start) + self.max_age

    def encode(self, data: Mapping[str, Any], *, now: float | None = None) -> str:
        now = time.time() if now is None else now
        plain = orjson.dumps({"exp": self.expiry(data, now), "d": data})
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plain, self.name.encode())
        return _VERSION + base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")

    def decode(self, value: str, *, now: float | None = None) -> dict[str, Any] | None:
        """The data, or None if the value is tampered, foreign or expired."""
        if not value.startswith(_VERSION):
            return None
        raw = value[len(_VERSION) :]
        try:
            blob = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
            plain = self._aead.decrypt(blob[:12], blob[12:], self.name.encode())
            doc = orjson.loads(plain)
        except (InvalidTag, ValueError, binascii.Error, orjson.JSONDecodeError):
            return None
        if not isinstance(doc, dict) or not isinstance(doc.get("d"), dict):
            return None
        if int(doc.get("exp", 0)) < (time.time() if now is None else now):
            return None
        data: dict[str, Any] = doc["d"]
        return data

    def chunk_names(self) -> list[str]:
        return [self.name] + [f"{self.name}.{i}" for i in range(1, MAX_CHUNKS)]

    def read(self, cookies: Mapping[str, str]) -> dict[str, Any] | None:
        """The session from a request's cookies (joined from its chunks)."""
        parts = []
        for name in self.chunk_names():
            if name not in cookies:
                break
            parts.append(cookies[name])
        return self.decode("".join(parts)) if parts else None

    def present(self, cookies: Mapping[str, str]) -> int:
        """How many chunk cookies the browser sent (to clear stale ones)."""
        return sum(1 for name in self.chunk_names() if name in cookies)

    def set_cookie_headers(self, data: Mapping[str, Any] | None, *, sent: int) -> list[str]:
        """Set-Cookie values that store ``data`` (None: delete the session)."""
        now = time.time()
        value = self.encode(data, now=now) if data is not None else ""
        chunks = [value[i : i + CHUNK] for i in range(0, len(value), CHUNK)] if value else []
        if len(chunks) > MAX_CHUNKS:
            raise ValueError(f"session too large ({len(value)} bytes) for {MAX_CHUNKS} cookies")
        names = self.chunk_names()
        left = max(self.expiry(data, now) - int(now), 0) if data is not None else 0
        headers = [self._cookie(names[i], chunk, left) for i, chunk in enumerate(chunks)]
        headers += [self._cookie(names[i], "", 0) for i in range(len(chunks), max(sent, 1))]
        return headers

    def _cookie(self, name: str, value: str, max_age: int) -> str:
        parts = [f"{name}={value}", f"Path={self.path}", f"Max-Age={max_age}", "HttpOnly"]
        parts.append(f"SameSite={self.same_site}")
        if self.secure:
            parts.append("Secure")
        return "; ".join(parts)


@dataclass
class SessionLifetime:
    """Starts, checks and ends sessions: id, absolute and idle lifetime, revocation.

    ``start`` gives a new session a fresh id (a sign-in never reuses the id of
    the session it replaces, so a cookie planted before sign-in is worth
    nothing after it). Rewrites of a session (token refresh, the idle clock)
    keep the id, so a revocation covers every cookie the session ever had.
    """

    max_age: int
    idle_timeout: int  # seconds; 0: no idle timeout
    store: RevocationStore

    def start(self, data: Mapping[str, Any], *, now: float | None = None) -> dict[str, Any]:
        now = int(time.time() if now is None else now)
        return {**data, "sid": secrets.token_urlsafe(16), "iat": now, "seen": now}

    def touch_due(self, session: Mapping[str, Any], now: float) -> bool:
        """Whether to write the last-use time again (at most about once a minute)."""
        if not self.idle_timeout:
            return False
        step = min(60.0, self.idle_timeout / 10)
        return now - float(session.get("seen", 0)) >= step

    async def check(self, session: Mapping[str, Any], *, now: float | None = None) -> bool:
        """Whether this (decrypted) session may be used: has an id, is within both
        lifetimes and not revoked. ``StoreUnavailable`` when the revocation
        store cannot say (the caller refuses the session but keeps the cookie)."""
        now = time.time() if now is None else now
        sid, issued, seen = session.get("sid"), session.get("iat"), session.get("seen")
        if not isinstance(sid, str) or not SID.match(sid):
            return False  # a cookie from before sessions had ids: sign in again
        if not isinstance(issued, int | float) or not isinstance(seen, int | float):
            return False
        if now >= issued + self.max_age:
            return False
        if self.idle_timeout and now >= seen + self.idle_timeout:
            return False
        return not await self.store.is_revoked(sid)

    async def end(self, session: Mapping[str, Any] | None) -> None:
        """Revoke the session's id until it would have expired anyway."""
        sid = (session or {}).get("sid")
        issued = (session or {}).get("iat")
        if not isinstance(sid, str) or not SID.match(sid) or not isinstance(issued, int | float):
            return
        await self.store.revoke(sid, float(issued) + self.max_age + 60)
