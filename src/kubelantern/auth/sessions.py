"""Sessions in encrypted cookies: no server state, so replicas scale out.

A session holds tokens (a typed-in bearer token, or the ID/refresh tokens of
Kubelantern's own OIDC login), so it is encrypted, not merely signed: AES-GCM
with a key derived (HKDF) from ``--session-secret-file``. The cookie name is
bound in as associated data, so one cookie cannot be replayed as another, and
an expiry inside the ciphertext ends the session even if a browser keeps the
cookie. A tampered, foreign or expired cookie reads as "no session".

Browsers keep about 4 kB per cookie; OIDC tokens are often bigger, so a
large value is split over ``name``, ``name.1``, ``name.2``...
"""

from __future__ import annotations

import base64
import binascii
import os
import time
from collections.abc import Mapping
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

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

    def encode(self, data: Mapping[str, Any], *, now: float | None = None) -> str:
        issued = int(time.time() if now is None else now)
        plain = orjson.dumps({"exp": issued + self.max_age, "d": data})
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
        value = self.encode(data) if data is not None else ""
        chunks = [value[i : i + CHUNK] for i in range(0, len(value), CHUNK)] if value else []
        if len(chunks) > MAX_CHUNKS:
            raise ValueError(f"session too large ({len(value)} bytes) for {MAX_CHUNKS} cookies")
        names = self.chunk_names()
        headers = [self._cookie(names[i], chunk, self.max_age) for i, chunk in enumerate(chunks)]
        headers += [self._cookie(names[i], "", 0) for i in range(len(chunks), max(sent, 1))]
        return headers

    def _cookie(self, name: str, value: str, max_age: int) -> str:
        parts = [f"{name}={value}", f"Path={self.path}", f"Max-Age={max_age}", "HttpOnly"]
        parts.append(f"SameSite={self.same_site}")
        if self.secure:
            parts.append("Secure")
        return "; ".join(parts)
