"""Auth settings: startup refuses what cannot work, naming the setting to fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubelantern.app import create_app
from kubelantern.auth.config import AuthConfigError, from_settings
from kubelantern.cli import main
from kubelantern.settings import Settings


def test_default_is_kubeconfig_everywhere() -> None:
    cfg = from_settings(Settings())
    assert cfg.modes == {"kubeconfig"} and not cfg.header_modes
    assert cfg.mode_for("anything") == "kubeconfig"


def test_impersonate_without_trust_is_refused_with_the_setting_named() -> None:
    with pytest.raises(AuthConfigError) as exc:
        from_settings(Settings(auth_mode="impersonate"))
    assert "--trusted-proxies" in str(exc.value)
    assert "KUBELANTERN_TRUSTED_PROXIES" in str(exc.value)
    assert "--proxy-secret-file" in str(exc.value)


def test_per_cluster_impersonate_also_needs_trust() -> None:
    with pytest.raises(AuthConfigError, match="trusted-proxies"):
        from_settings(Settings(cluster_auth=("prod=impersonate",)))


def test_serve_exits_with_the_message(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # serve() configures logging for the process; keep pytest's handlers as they are.
    monkeypatch.setattr("kubelantern.logsetup.configure", lambda *a, **k: None)
    code = main(["serve", "--auth-mode", "impersonate", "--kubeconfig", "/nonexistent"])
    assert code == 2
    assert "--trusted-proxies" in capsys.readouterr().err


def test_trust_settings_and_per_cluster_modes(tmp_path: Path) -> None:
    secret = tmp_path / "proxy.secret"
    secret.write_text("s3cret\n")
    cfg = from_settings(
        Settings(
            auth_mode="bearer",
            cluster_auth=("gh=impersonate", "local=kubeconfig"),
            trusted_proxies="10.0.0.0/8, 127.0.0.1,fd00::/8",
            proxy_secret_file=str(secret),
        )
    )
    assert cfg.proxy_secret == b"s3cret"
    assert [str(n) for n in cfg.trusted_networks] == ["10.0.0.0/8", "127.0.0.1/32", "fd00::/8"]
    assert cfg.mode_for("gh") == "impersonate"
    assert cfg.mode_for("local", "whatever") == "kubeconfig"
    assert cfg.mode_for("other") == "bearer"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (Settings(trusted_proxies="10.0.0.0/33", auth_mode="bearer"), "not an address or CIDR"),
        (Settings(cluster_auth=("prod",)), "NAME=MODE"),
        (Settings(cluster_auth=("prod=root",)), "NAME=MODE"),
        (Settings(auth_mode="oidc"), "--oidc-issuer, --oidc-client-id, --oidc-client-secret-file"),
        (Settings(proxy_secret_file="/nonexistent/secret"), "cannot read --proxy-secret-file"),
    ],
)
def test_bad_settings_are_explained(settings: Settings, message: str) -> None:
    with pytest.raises(AuthConfigError, match=message):
        from_settings(settings)


def test_form_tokens_need_no_proxy_trust(tmp_path: Path) -> None:
    cfg = from_settings(Settings(auth_mode="bearer", bearer_source="form"))
    assert not cfg.header_modes


def test_create_app_refuses_too() -> None:
    with pytest.raises(AuthConfigError):
        create_app(Settings(auth_mode="impersonate"), clusters=[])


def test_without_session_secret_a_warning_says_replicas_need_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from_settings(Settings(auth_mode="bearer", bearer_source="form"))
    assert "give every replica the same secret" in caplog.text
