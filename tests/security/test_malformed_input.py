"""Malformed input gets a clear message and a proper status; the server keeps serving.

Against the real ``kubelantern serve`` process and API server: each bad
request is answered with its 4xx and an explanation (never a 500 or a stack
trace), and the next ordinary request still works.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import RealCluster, ServerProcess


@pytest.fixture
def client(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60) as c:
        c.get("/clusters.json")
        c.headers["X-CSRF-Token"] = c.cookies["kl_csrf"]
        c.headers["Accept"] = "application/json"
        yield c


CASES: list[tuple[str, str, dict[str, str], bytes, int, str]] = [
    # (what, path suffix, headers, body, status, words in the message)
    ("a tab in YAML", "", {}, b'{"yaml": "a: 1\\n\\tb: 2\\n"}', 400, "line"),
    ("unclosed flow", "", {}, b'{"yaml": "a: [1, 2"}', 400, "line"),
    (
        "unknown kind",
        "",
        {},
        b'{"yaml": "apiVersion: v1\\nkind: Gizmo\\nmetadata: {name: x}"}',
        400,
        "Gizmo",
    ),
    ("not a mapping", "", {}, b'{"yaml": "- 1\\n- 2\\n"}', 400, "mapping"),
    ("broken JSON", "", {}, b'{"yaml": ', 400, ""),
    ("JSON not an object", "", {}, b"[1, 2]", 400, ""),
    ("not UTF-8", "", {"Content-Type": "application/yaml"}, b"\xff\xfe\x00bad", 400, ""),
    ("oversized", "", {"Content-Type": "application/yaml"}, b"#" * (2 * 1024 * 1024), 413, ""),
    (
        "billion laughs",
        "",
        {"Content-Type": "application/yaml"},
        b"a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
        b"c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
        b"e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
        b"g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\nh: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n",
        400,
        "",
    ),
]


@pytest.mark.parametrize(
    ("what", "suffix", "headers", "body", "status", "words"),
    CASES,
    ids=[c[0] for c in CASES],
)
def test_bad_create_input_is_explained_and_the_server_keeps_serving(
    client: httpx.Client,
    cluster: RealCluster,
    what: str,
    suffix: str,
    headers: dict[str, str],
    body: bytes,
    status: int,
    words: str,
) -> None:
    hdrs = {"Content-Type": "application/json", **headers}
    r = client.post(f"/c/{cluster.name}/-/create{suffix}", content=body, headers=hdrs)
    assert r.status_code == status, f"{what}: {r.status_code} {r.text[:300]}"
    data = r.json()
    message = data["error"]["message"] if "error" in data else str(data["documents"])
    assert message and "Traceback" not in r.text, what
    assert words in message, message
    assert client.get(f"/c/{cluster.name}/namespaces/team-a/configmaps.json").status_code == 200


def test_bad_input_on_a_page_is_shown_in_the_page(
    client: httpx.Client, cluster: RealCluster
) -> None:
    r = client.post(
        f"/c/{cluster.name}/-/create",
        data={"yaml": "a: [1, 2", "_csrf": client.headers["X-CSRF-Token"]},
        headers={"Accept": "text/html"},
    )
    assert r.status_code == 400
    assert "<html" in r.text.lower() and "line" in r.text and "Traceback" not in r.text
