"""Session ids, absolute and idle lifetimes, and revocation (no cluster needed)."""

from __future__ import annotations

import asyncio

import pytest

from kubelantern.auth.config import AuthConfigError, from_settings
from kubelantern.auth.revocation import MemoryRevocations
from kubelantern.auth.sessions import CookieCodec, SessionLifetime
from kubelantern.settings import Settings

T0 = 1_900_000_000.0


def lifetime(idle: int = 600) -> SessionLifetime:
    return SessionLifetime(max_age=3600, idle_timeout=idle, store=MemoryRevocations())


def test_a_new_session_has_its_own_id_and_times() -> None:
    life = lifetime()
    one, two = life.start({"token": "t"}, now=T0), life.start({"token": "t"}, now=T0)
    assert one["sid"] != two["sid"] and one["iat"] == one["seen"] == int(T0)
    assert asyncio.run(life.check(one, now=T0 + 1))


@pytest.mark.parametrize(
    ("age", "idle", "ok"),
    [(10, 10, True), (599, 599, True), (600, 600, False), (3000, 100, True), (3600, 1, False)],
)
def test_idle_and_absolute_lifetimes(age: int, idle: int, ok: bool) -> None:
    life = lifetime()
    session = {**life.start({}, now=T0), "seen": int(T0 + age - idle)}
    assert asyncio.run(life.check(session, now=T0 + age)) is ok


def test_no_idle_timeout_when_zero() -> None:
    life = lifetime(idle=0)
    session = life.start({}, now=T0)
    assert asyncio.run(life.check(session, now=T0 + 3000))
    assert not life.touch_due(session, T0 + 3000)


def test_sign_out_revokes_every_rewrite_of_the_session() -> None:
    life = lifetime()
    session = life.start({"token": "t"})
    rewritten = {**session, "seen": session["seen"] + 1, "oidc": {"refreshed": True}}
    asyncio.run(life.end(session))
    assert not asyncio.run(life.check(session))
    assert not asyncio.run(life.check(rewritten))
    assert asyncio.run(life.check(life.start({"token": "t"})))  # a new sign-in works


def test_sessions_without_an_id_are_refused() -> None:
    assert not asyncio.run(lifetime().check({"token": "t"}))
    assert not asyncio.run(lifetime().check({"sid": "../x", "iat": T0, "seen": T0}, now=T0))


def test_refreshing_a_session_does_not_extend_its_absolute_lifetime() -> None:
    codec = CookieCodec(b"k" * 32, name="kl_session", max_age=3600)
    session = {"sid": "a" * 22, "iat": int(T0), "seen": int(T0)}
    value = codec.encode(session, now=T0 + 3000)  # rewritten late in its life
    assert codec.decode(value, now=T0 + 3500) is not None
    assert codec.decode(value, now=T0 + 3601) is None


def test_lifetimes_must_make_sense() -> None:
    with pytest.raises(AuthConfigError, match="--session-idle-timeout"):
        from_settings(Settings(session_idle_timeout=-1))
    with pytest.raises(AuthConfigError, match="--session-max-age"):
        from_settings(Settings(session_max_age=0))


def test_mode_oidc_needs_a_redirect_url_or_allowed_hosts(tmp_path: object) -> None:
    import pathlib

    secret = pathlib.Path(str(tmp_path)) / "s"
    secret.write_text("x")
    base = {
        "auth_mode": "oidc",
        "oidc_issuer": "https://idp.example.com",
        "oidc_client_id": "kl",
        "oidc_client_secret_file": str(secret),
    }
    with pytest.raises(AuthConfigError, match=r"--oidc-redirect-url .* or --allowed-hosts"):
        from_settings(Settings(**base))  # type: ignore[arg-type]
    cfg = from_settings(Settings(**base, allowed_hosts="kl.example.com, .corp.example"))  # type: ignore[arg-type]
    assert cfg.host_allowed("kl.example.com") and cfg.host_allowed("KL.example.com:443")
    assert cfg.host_allowed("a.corp.example") and not cfg.host_allowed("evil.example")
    assert not cfg.host_allowed("kl.example.com.evil.example")
