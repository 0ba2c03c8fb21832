"""The browser assets under ``/-/static/``: present, fingerprinted, compressed, cached.

* ``check()``: the built bundles (``static/dist/``, made by ``frontend/build.mjs``
  and carried by every wheel and sdist) must be there; without them every page
  would load but no editor, log view, terminal or palette would work, so
  ``kubelantern serve`` refuses to start instead of failing quietly.
* ``version()``: a short content hash per file (from ``dist/manifest.json`` for
  the bundles, computed for the rest). Templates' ``url('/-/static/...')``
  appends it as ``?v=<hash>``, so a new release changes every asset URL.
* ``AssetFiles``: serves the folder. A request whose ``v`` matches the file's
  current hash may be cached for a year (``immutable``); anything else is
  ``no-cache`` (revalidated by ETag), so a stale ``v`` from an old page never
  pins new content. Text assets are sent gzip-compressed when the browser
  accepts it, compressed once per file version and kept in memory (the whole
  folder is well under a megabyte compressed).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import mimetypes
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from starlette.datastructures import Headers, QueryParams
from starlette.responses import Response
from starlette.staticfiles import NotModifiedResponse, PathLike, StaticFiles
from starlette.types import Scope

STATIC_DIR = Path(__file__).parent / "static"
MANIFEST = Path("dist") / "manifest.json"
IMMUTABLE = "public, max-age=31536000, immutable"
COMPRESSIBLE = (".js", ".css", ".json", ".svg", ".html", ".txt", ".map")


class AssetsMissing(Exception):
    """The built browser bundles are not where the server serves them from."""


def check(static_dir: Path = STATIC_DIR) -> dict[str, str]:
    """The manifest's file hashes; ``AssetsMissing`` with one line saying what to do."""
    manifest = static_dir / MANIFEST
    how = (
        "in a source checkout run `make frontend` (or `cd frontend && npm ci && npm run build`); "
        "wheels and sdists carry them"
    )
    try:
        files = json.loads(manifest.read_text())["files"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise AssetsMissing(
            f"the browser bundles are not built ({manifest} is missing): {how}"
        ) from exc
    missing = sorted(name for name in files if not (static_dir / "dist" / name).is_file())
    if missing:
        raise AssetsMissing(
            f"browser bundles missing from {static_dir / 'dist'}: {', '.join(missing)}: {how}"
        )
    return {f"dist/{name}": str(digest) for name, digest in files.items()}


@dataclass(frozen=True)
class _Entry:
    mtime_ns: int
    size: int
    digest: str
    body: bytes
    gzipped: bytes | None


class Assets:
    """Content hashes and compressed copies of the files in one static folder."""

    def __init__(self, static_dir: Path = STATIC_DIR) -> None:
        self.static_dir = static_dir.resolve()  # StaticFiles resolves links in paths too
        self._entries: dict[str, _Entry] = {}
        self._manifest: tuple[int, dict[str, str]] | None = None

    def version(self, relative: str) -> str | None:
        """The file's short content hash, or None when there is no such file."""
        manifest = self._current_manifest()
        if relative in manifest:
            return manifest[relative]
        entry = self.entry(self.static_dir / relative)
        return entry.digest if entry else None

    def _current_manifest(self) -> dict[str, str]:
        """The manifest's hashes, read again when a rebuild (make frontend) rewrote it."""
        try:
            mtime = (self.static_dir / MANIFEST).stat().st_mtime_ns
        except OSError:
            return {}
        if self._manifest is None or self._manifest[0] != mtime:
            try:
                self._manifest = (mtime, check(self.static_dir))
            except AssetsMissing:
                self._manifest = (mtime, {})
        return self._manifest[1]

    def entry(self, path: Path, known: os.stat_result | None = None) -> _Entry | None:
        """The file's bytes, hash and gzip copy, reloaded when it changed on disk."""
        try:
            st = known or path.stat()
        except OSError:
            return None
        key = str(path)
        cached = self._entries.get(key)
        if cached and cached.mtime_ns == st.st_mtime_ns and cached.size == st.st_size:
            return cached
        body = path.read_bytes()
        gzipped = None
        if path.suffix in COMPRESSIBLE and len(body) > 512:
            gzipped = gzip.compress(body, compresslevel=9, mtime=0)
        digest = hashlib.sha256(body).hexdigest()[:12]
        entry = _Entry(st.st_mtime_ns, st.st_size, digest, body, gzipped)
        self._entries[key] = entry
        return entry


class AssetFiles(StaticFiles):
    """StaticFiles (path checks, 404/405, ETags) with gzip and long-lived caching."""

    def __init__(self, assets: Assets) -> None:
        super().__init__(directory=assets.static_dir)
        self.assets = assets

    def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
        """StaticFiles runs this in a worker thread: read and compress there, off the loop."""
        full_path, stat_result = super().lookup_path(path)
        if stat_result is not None and stat.S_ISREG(stat_result.st_mode):
            self.assets.entry(Path(full_path), stat_result)
        return full_path, stat_result

    def file_response(
        self,
        full_path: PathLike,
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        path = Path(full_path)
        entry = self.assets.entry(path, stat_result)
        if entry is None:  # vanished between lookup and read
            return super().file_response(full_path, stat_result, scope, status_code)
        request_headers = Headers(scope=scope)
        relative = path.relative_to(self.assets.static_dir).as_posix()
        wanted = QueryParams(scope.get("query_string", b"")).get("v")
        current = self.assets.version(relative)
        headers = {
            "etag": f'"{entry.digest}"',
            "cache-control": IMMUTABLE if wanted and wanted == current else "no-cache",
            "vary": "Accept-Encoding",
        }
        if self.is_not_modified(Headers(headers), request_headers):
            return NotModifiedResponse(Headers(headers))
        body = entry.body
        if entry.gzipped is not None and accepts_gzip(request_headers):
            body = entry.gzipped
            headers["content-encoding"] = "gzip"
        media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if media_type.startswith("text/") or media_type.endswith("javascript"):
            media_type += "; charset=utf-8"
        return Response(body, status_code, headers=headers, media_type=media_type)


def accepts_gzip(headers: Headers) -> bool:
    """``Accept-Encoding`` names gzip (or ``*``) without ``q=0``."""
    for part in headers.get("accept-encoding", "").split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip().lower() in ("gzip", "*"):
            q = params.strip().lower().removeprefix("q=")
            return q not in ("0", "0.0", "0.00", "0.000")
    return False
