"""``--base-url /kubelantern``: every page, asset, stream, JSON twin and redirect carries it.

The real server process runs under the prefix, as behind an Ingress that
routes only ``/kubelantern``. A few pages are crawled: every URL they name
(links, assets, htmx endpoints, SSE watch URLs) must start with the prefix and
answer; nothing may point at the bare root, which the Ingress would not route.
"""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from tests.conftest import RealCluster, ServerProcess, start_server, stop_server

PREFIX = "/kubelantern"
URL_ATTRS = {"href", "src", "action", "hx-get", "hx-post", "formaction"}
MAX_FETCH = 80


class Links(HTMLParser):
    """Every URL-valued attribute of a page: (attribute, value)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name in URL_ATTRS or (name.startswith("data-") and name.endswith("-url")):
                self.found.append((name, value))


@pytest.fixture(scope="module")
def prefixed(cluster: RealCluster) -> Iterator[ServerProcess]:
    srv = start_server("--kubeconfig", cluster.kubeconfig("admin"), "--base-url", PREFIX)
    yield srv
    stop_server(srv)


def root_of(srv: ServerProcess) -> str:
    return srv.url[: -len(PREFIX)]


def test_redirects_carry_the_prefix(prefixed: ServerProcess, cluster: RealCluster) -> None:
    root = root_of(prefixed)
    bare = httpx.get(root + "/")
    assert bare.status_code == 307 and bare.headers["location"] == PREFIX + "/"
    cluster_root = httpx.get(f"{prefixed.url}/c/{cluster.name}")
    assert cluster_root.status_code == 307
    assert cluster_root.headers["location"] == f"{PREFIX}/c/{cluster.name}/"
    # Pages outside the prefix are not served (the Ingress would not route them anyway).
    assert httpx.get(f"{root}/c/{cluster.name}/").status_code == 404


def test_json_twins_and_link_headers(prefixed: ServerProcess, cluster: RealCluster) -> None:
    twin = httpx.get(prefixed.url + "/clusters.json")
    assert twin.status_code == 200
    assert [c["name"] for c in twin.json()["clusters"]] == [cluster.name]
    page = httpx.get(f"{prefixed.url}/c/{cluster.name}/namespaces/team-a/pods")
    assert page.status_code == 200
    link = page.headers.get("link", "")
    assert f"<{PREFIX}/c/{cluster.name}/namespaces/team-a/pods.json>" in link


def test_every_url_on_the_pages_carries_the_prefix_and_answers(
    prefixed: ServerProcess, cluster: RealCluster
) -> None:
    root = root_of(prefixed)
    c = cluster.name
    pods = httpx.get(f"{prefixed.url}/c/{c}/namespaces/team-a/pods.json").json()["rows"]
    pod = next(r["name"] for r in pods if r["name"].startswith("web-"))
    pages = [
        "/",
        f"/c/{c}/",
        f"/c/{c}/namespaces/team-a/pods",
        f"/c/{c}/nodes",
        f"/c/{c}/namespaces/team-a/pods/{pod}",
        f"/c/{c}/namespaces/team-a/deployments.apps/web",
    ]
    seen: dict[str, str] = {}
    for page in pages:
        response = httpx.get(prefixed.url + page)
        assert response.status_code == 200, (page, response.status_code)
        parser = Links()
        parser.feed(response.text)
        for attr, value in parser.found:
            if value.startswith(("#", "http:", "https:", "mailto:", "javascript:")) or not value:
                continue
            if not value.startswith("/"):  # relative (?managedFields=1): resolves under the page
                value = urljoin(PREFIX + page, value)
            assert value.startswith(PREFIX + "/") or value == PREFIX, (page, attr, value)
            seen.setdefault(value, attr)
    assert any("/-/static/" in url for url in seen), "the pages load their assets"
    assert any("/-/watch" in url for url in seen), "the lists and details stream"

    fetched = 0
    for url, attr in sorted(seen.items()):
        if attr in ("action", "hx-post", "formaction") or "logout" in url:
            continue  # writes: not crawled
        if "/proxy/" in url:
            # "Open" links reach the workload itself through the API server's proxy;
            # the seeded pods' IPs are not on this machine, so nothing may be sent there.
            continue
        if fetched >= MAX_FETCH:
            break
        fetched += 1
        if "/-/watch" in url:
            with httpx.stream("GET", root + url, timeout=30) as stream:
                assert stream.status_code == 200, url
                assert stream.headers["content-type"].startswith("text/event-stream")
                assert next(stream.iter_lines()).startswith("retry:"), url
            continue
        as_json = {"Accept": "application/json"} if "/-/static/" not in url else {}
        response = httpx.get(root + url, headers=as_json, timeout=30)
        if response.is_redirect:
            location = urlsplit(response.headers["location"]).path
            assert location.startswith(PREFIX + "/"), (url, location)
            continue
        if response.status_code != 200:
            # Reached a view under the prefix, which answered with a reasoned error
            # (RBAC's 403, an object gone since): not a route miss at a bare path.
            assert "/-/static/" not in url, (url, response.status_code)
            assert response.json()["error"]["message"], (url, response.status_code)
    assert fetched > 20
