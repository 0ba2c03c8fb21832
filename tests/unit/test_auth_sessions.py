"""Encrypted session cookies: round trip, tampering, expiry, chunking."""

from __future__ import annotations

import time

import pytest

from kubelantern.auth.sessions import CHUNK, CookieCodec

B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def codec(secret: bytes = b"s" * 32, name: str = "kl_session", max_age: int = 60) -> CookieCodec:
    return CookieCodec(secret, name=name, max_age=max_age, path="/kl", secure=True)


def cookies_from(headers: list[str]) -> dict[str, str]:
    out = {}
    for header in headers:
        name, _, rest = header.partition("=")
        value = rest.split(";", 1)[0]
        if value:
            out[name] = value
    return out


def test_round_trip_hides_the_content() -> None:
    c = codec()
    value = c.encode({"token": "secret-token-value"})
    assert "secret-token-value" not in value
    assert c.decode(value) == {"token": "secret-token-value"}


@pytest.mark.parametrize("position", [3, 20, -1])
def test_a_tampered_value_is_no_session(position: int) -> None:
    c = codec()
    value = c.encode({"user": "alice"})
    # Toggle the top bit of the base64 digit: the last digit's low bits may be padding.
    flipped = B64[B64.index(value[position]) ^ 32]
    tampered = value[:position] + flipped + (value[position + 1 :] if position != -1 else "")
    assert c.decode(tampered) is None


def test_another_key_or_cookie_name_cannot_read_it() -> None:
    value = codec().encode({"user": "alice"})
    assert codec(secret=b"t" * 32).decode(value) is None
    assert codec(name="kl_other").decode(value) is None  # bound to the cookie name
    assert codec().decode("garbage") is None
    assert codec().decode("v1.!!!") is None


def test_expired_sessions_are_gone() -> None:
    c = codec(max_age=10)
    value = c.encode({"user": "alice"}, now=time.time() - 11)
    assert c.decode(value) is None


def test_large_sessions_are_chunked_and_rejoined() -> None:
    c = codec()
    data = {"oidc": {"id_token": "x" * 9000, "refresh_token": "y" * 3000}}
    headers = c.set_cookie_headers(data, sent=0)
    assert len(headers) >= 3
    assert all(len(h.split(";")[0]) <= CHUNK + 20 for h in headers)
    assert all("HttpOnly" in h and "Secure" in h and "SameSite=Lax" in h for h in headers)
    assert all("Path=/kl" in h for h in headers)
    jar = cookies_from(headers)
    assert c.read(jar) == data
    assert c.present(jar) == len(headers)


def test_shrinking_or_deleting_clears_stale_chunks() -> None:
    c = codec()
    headers = c.set_cookie_headers({"user": "alice"}, sent=4)
    assert len(headers) == 4
    assert [h.split("=")[0] for h in headers[1:]] == [
        "kl_session.1",
        "kl_session.2",
        "kl_session.3",
    ]
    assert all("Max-Age=0" in h for h in headers[1:])
    gone = c.set_cookie_headers(None, sent=2)
    assert [h.split(";")[0] for h in gone] == ["kl_session=", "kl_session.1="]
    assert all("Max-Age=0" in h for h in gone)
