"""The proxied application's headers: what survives, what is rewritten, what is dropped."""

from __future__ import annotations

import pytest

from kubelantern import errors
from kubelantern.web.views.proxy import parse_target, response_headers, rewrite_location

UP = "/api/v1/namespaces/ns/services/web:80/proxy"
LOCAL = "/kl/c/dev/namespaces/ns/services/web:80/proxy"


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("next", "next"),
        ("../up?x=1", "../up?x=1"),
        (f"{LOCAL}/ok", f"{LOCAL}/ok"),
        (f"{UP}/login", f"{LOCAL}/login"),
        ("/login", f"{LOCAL}/login"),
        ("https://evil.example/x", None),
        ("//evil.example/x", None),
    ],
)
def test_locations(location: str, expected: str | None) -> None:
    assert rewrite_location(location, UP, LOCAL) == expected


def test_dangerous_and_hop_by_hop_headers_are_dropped() -> None:
    upstream = [
        ("Content-Type", "text/plain"),
        ("Set-Cookie", "a=1"),
        ("Connection", "keep-alive, X-Secret"),
        ("X-Secret", "hop"),
        ("Transfer-Encoding", "chunked"),
        ("Content-Security-Policy", "default-src *"),
        ("Access-Control-Allow-Origin", "*"),
        ("Location", "https://elsewhere.example/"),
        ("ETag", '"v1"'),
    ]
    out = dict(response_headers(upstream, UP, LOCAL))
    assert out["content-type"] == "text/plain"
    assert out["etag"] == '"v1"'
    for gone in ("set-cookie", "connection", "x-secret", "transfer-encoding", "location"):
        assert gone not in out
    assert "access-control-allow-origin" not in out
    csp = out["content-security-policy"]
    assert csp.startswith("sandbox ") and "allow-same-origin" not in csp


@pytest.mark.parametrize("target", ["web:80", "web", "https:web:443", "web:http"])
def test_targets(target: str) -> None:
    assert parse_target(target) == target


@pytest.mark.parametrize("target", ["web:80/../x", "Web", "a b", "web:80:90:1", ""])
def test_bad_targets(target: str) -> None:
    with pytest.raises(errors.BadRequest):
        parse_target(target)
