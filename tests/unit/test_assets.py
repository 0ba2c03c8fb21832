"""Static assets: fingerprinted URLs, a year of caching only for the current hash, gzip."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from kubelantern.app import create_app
from kubelantern.settings import Settings
from kubelantern.web import assets


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app(Settings(), clusters=[]))


def test_pages_link_assets_with_their_content_hash(client: TestClient) -> None:
    page = client.get("/").text
    manifest = assets.check()
    assert f'/-/static/dist/app.js?v={manifest["dist/app.js"]}"' in page
    css = re.search(r'/-/static/app\.css\?v=([0-9a-f]{12})"', page)
    assert css, "app.css is fingerprinted too (hashed at run time)"


def test_the_current_hash_is_cached_for_a_year_anything_else_revalidated(
    client: TestClient,
) -> None:
    version = assets.check()["dist/app.js"]
    fresh = client.get(f"/-/static/dist/app.js?v={version}")
    assert fresh.headers["cache-control"] == "public, max-age=31536000, immutable"
    for url in ("/-/static/dist/app.js", "/-/static/dist/app.js?v=000000000000"):
        assert client.get(url).headers["cache-control"] == "no-cache"
    etag = fresh.headers["etag"]
    again = client.get("/-/static/dist/app.js", headers={"If-None-Match": etag})
    assert again.status_code == 304


def test_assets_are_gzipped_when_accepted(client: TestClient) -> None:
    source = (assets.STATIC_DIR / "dist" / "editor.js").read_bytes()
    zipped = client.get("/-/static/dist/editor.js", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.headers["content-type"].startswith("text/javascript")
    assert int(zipped.headers["content-length"]) < len(source) // 2
    assert zipped.content == source
    plain = client.get("/-/static/dist/editor.js", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.content == source
    assert plain.headers["vary"] == "Accept-Encoding"


def test_unknown_and_escaping_paths_are_404(client: TestClient) -> None:
    assert client.get("/-/static/dist/nope.js").status_code == 404
    assert client.get("/-/static/../app.py").status_code == 404


def test_check_names_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(assets.AssetsMissing, match="make frontend"):
        assets.check(tmp_path)
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "manifest.json").write_text(json.dumps({"files": {"app.js": "x"}}))
    with pytest.raises(assets.AssetsMissing, match=r"app\.js"):
        assets.check(tmp_path)
    (tmp_path / "dist" / "app.js").write_text("x")
    assert assets.check(tmp_path) == {"dist/app.js": "x"}


def test_a_changed_file_gets_a_new_hash(tmp_path: Path) -> None:
    store = assets.Assets(tmp_path)
    (tmp_path / "a.css").write_text("body { color: red }" * 100)
    first = store.version("a.css")
    (tmp_path / "a.css").write_text("body { color: blue }" * 100)
    assert store.version("a.css") != first
    entry = store.entry(tmp_path / "a.css")
    assert entry is not None and entry.gzipped is not None
    assert gzip.decompress(entry.gzipped) == (tmp_path / "a.css").read_bytes()


def test_a_rebuild_changes_the_bundle_urls_without_a_restart(tmp_path: Path) -> None:
    """make frontend while the dev server runs: the next page links the new hashes."""
    import os

    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "app.js").write_text("one")
    manifest = dist / "manifest.json"
    manifest.write_text(json.dumps({"files": {"app.js": "aaaaaaaaaaaa"}}))
    store = assets.Assets(tmp_path)
    assert store.version("dist/app.js") == "aaaaaaaaaaaa"
    manifest.write_text(json.dumps({"files": {"app.js": "bbbbbbbbbbbb"}}))
    stat = manifest.stat()
    os.utime(manifest, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert store.version("dist/app.js") == "bbbbbbbbbbbb"
