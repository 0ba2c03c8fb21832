"""No 500 from any URL (issue 11, item 9): odd paths give 404 or 400.

Non-Latin-1 characters (``/-/static/%ff``, a ConfigMap named with ``€``) used
to answer 500, because the decoded path went into the ``Link`` header; a NUL
in an object name escaped as ``httpx.InvalidURL``. Every route family is
walked with odd segments, in process and through the real server (uvicorn
parses the raw request line itself), against the real API server.
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

from starlette.testclient import TestClient

from tests.conftest import RealCluster, ServerProcess

ODD = [
    "%ff",
    "%E2%82%AC",  # €
    "%c0%ae%c0%ae",  # overlong "."
    "%00",
    "a%00b",
    "%0d%0aX-Injected:%201",
    "..",
    "%2e%2e",
    "..%2f..%2fetc%2fpasswd",
    "%",
    "%zz",
    "%25ff",
    "%F0%9F%92%A9",
    "x" * 3000,
    "%ef%bf%bf",
    "<script>",
    "%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E",
]


def families(cluster: str) -> list[str]:
    """Paths with a ``{x}`` where the odd segment goes, one per route family."""
    c = f"/c/{cluster}"
    return [
        "/{x}",
        "/-/{x}",
        "/-/static/{x}",
        "/-/static/dist/{x}",
        "/-/p/{x}/",
        "/-/plugins/{x}",
        "/-/list/{x}",
        "/-/search?q={x}",
        "/-/whoami?x={x}",
        "/-/login?next={x}",
        "/c/{x}/",
        c + "/{x}",
        c + "/{x}/{x}",
        c + "/namespaces/{x}/pods",
        c + "/namespaces/team-a/{x}",
        c + "/namespaces/team-a/configmaps/{x}",
        c + "/namespaces/team-a/configmaps/{x}/edit",
        c + "/namespaces/team-a/pods/{x}/logs",
        c + "/namespaces/team-a/pods/{x}/exec",
        c + "/nodes/{x}",
        c + "/nodes/{x}/drain",
        c + "/clusterroles/{x}",
        c + "/-/search?q={x}",
        c + "/-/watch?kinds={x}",
        c + "/pods?sort={x}&namespaces={x}&continue={x}",
    ]


def test_odd_paths_never_answer_5xx_in_process(admin: TestClient, cluster: RealCluster) -> None:
    failures = []
    for family in families(cluster.name):
        for odd in ODD:
            for suffix, headers in (("", {}), (".json", {}), ("", {"Accept": "application/json"})):
                path = family.replace("{x}", odd)
                if suffix:
                    path = path.replace("?", ".json?", 1) if "?" in path else path + suffix
                r = admin.get(path, headers=headers, follow_redirects=False)
                if r.status_code >= 500:
                    failures.append((path[:120], r.status_code))
    assert not failures, failures


def raw_status(url: str, target: str) -> int:
    """Send ``GET target`` byte for byte (no client normalises it) and read the status."""
    parts = urlsplit(url)
    assert parts.hostname and parts.port
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(
            f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n\r\n".encode(
                "latin-1"
            )
        )
        head = b""
        while b"\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                break
            head += chunk
    return int(head.split(b" ", 2)[1])


def test_odd_paths_never_answer_5xx_from_the_real_server(
    server: ServerProcess, cluster: RealCluster
) -> None:
    failures = []
    for family in families(cluster.name):
        for odd in ODD:
            target = family.replace("{x}", odd)
            if "<" in target:
                target = target.replace("<", "%3C").replace(">", "%3E")
            status = raw_status(server.url, target)
            if status >= 500:
                failures.append((target[:120], status))
    # A raw non-ASCII byte in the request line, and a ConfigMap named with €.
    for target in (
        "/-/static/\xff",
        f"/c/{cluster.name}/namespaces/team-a/configmaps/\xe2\x82\xac",
        f"/c/{cluster.name}/namespaces/team-a/configmaps/%E2%82%AC.json",
    ):
        status = raw_status(server.url, target)
        if status >= 500:
            failures.append((target, status))
    assert not failures, failures


def test_the_link_header_is_percent_encoded(admin: TestClient, cluster: RealCluster) -> None:
    r = admin.get(f"/c/{cluster.name}/namespaces/team-a/configmaps/%E2%82%AC")
    assert r.status_code == 404
    link = r.headers["link"]
    assert link.startswith(f"</c/{cluster.name}/namespaces/team-a/configmaps/%E2%82%AC.json>")
    link.encode("ascii")
