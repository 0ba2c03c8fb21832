"""The auth settings, checked once at startup and turned into one object.

``Settings`` holds raw strings (flags, env vars); ``AuthConfig`` is what the
auth code uses: parsed networks, loaded secrets, one mode per cluster. Every
mistake an operator can make here is refused at startup with a message that
names the setting to change, because a half-configured auth mode would
otherwise fail open or fail on the first user's request.
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from kubelantern.settings import Settings

log = logging.getLogger(__name__)

MODES = ("kubeconfig", "bearer", "impersonate", "oidc")
BEARER_SOURCES = ("authorization", "access-token", "form")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class AuthConfigError(ValueError):
    """An auth setting that cannot work; the message says what to set."""


def _read_secret(path: str, setting: str) -> bytes:
    """A secret from a file (mounted from a Kubernetes Secret), without trailing newline."""
    try:
        data = Path(path).read_bytes().strip()
    except OSError as exc:
        raise AuthConfigError(f"cannot read {setting} {path}: {exc.strerror}") from exc
    if not data:
        raise AuthConfigError(f"{setting} {path} is empty")
    return data


def _networks(raw: str) -> tuple[Network, ...]:
    nets: list[Network] = []
    for part in raw.replace(" ", ",").split(","):
        if not part:
            continue
        try:
            nets.append(ipaddress.ip_network(part, strict=False))
        except ValueError as exc:
            raise AuthConfigError(
                f"--trusted-proxies (KUBELANTERN_TRUSTED_PROXIES): {part!r} is not an "
                "address or CIDR such as 10.0.0.0/8 or 127.0.0.1"
            ) from exc
    return tuple(nets)


def _cluster_modes(entries: tuple[str, ...]) -> dict[str, str]:
    modes: dict[str, str] = {}
    for entry in entries:
        name, sep, mode = entry.rpartition("=")
        if not sep or not name or mode not in MODES:
            raise AuthConfigError(
                f"--cluster-auth {entry!r}: expected NAME=MODE with MODE one of {', '.join(MODES)}"
            )
        modes[name] = mode
    return modes


@dataclass(frozen=True)
class OIDCClientConfig:
    """Kubelantern's own OIDC client (mode ``oidc``)."""

    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    scopes: tuple[str, ...]
    ca_file: str | None = None
    redirect_url: str | None = None
    token: str = "id_token"


@dataclass(frozen=True)
class AuthConfig:
    """Everything the auth code needs, validated."""

    default_mode: str = "kubeconfig"
    cluster_modes: dict[str, str] = field(default_factory=dict)
    trusted_networks: tuple[Network, ...] = ()
    proxy_secret: bytes | None = field(default=None, repr=False)
    proxy_secret_header: str = "X-Kubelantern-Proxy-Secret"
    user_header: str = "X-Forwarded-User"
    groups_header: str = "X-Forwarded-Groups"
    user_prefix: str = ""
    group_prefix: str = ""
    bearer_source: str = "authorization"
    oidc: OIDCClientConfig | None = None
    session_key: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    session_max_age: int = 8 * 3600
    session_idle_timeout: int = 3600
    sign_in_url: str = "/oauth2/start"
    sign_out_url: str = ""
    secure_cookies: bool = False
    cookie_path: str = "/"
    allowed_hosts: tuple[str, ...] = ()

    def host_allowed(self, host: str) -> bool:
        """Whether a request's Host (``name`` or ``name:port``) is one the operator named."""
        host = host.strip().lower()
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        for entry in self.allowed_hosts:
            if entry.startswith("."):
                if name.endswith(entry) or name == entry[1:]:
                    return True
            elif entry == host or (":" not in entry.strip("[]") and entry == name):
                return True
        return False

    def mode_for(self, *names: str) -> str:
        """The mode of a cluster known by any of ``names`` (URL name, context name)."""
        for name in names:
            if name in self.cluster_modes:
                return self.cluster_modes[name]
        return self.default_mode

    @property
    def modes(self) -> set[str]:
        return {self.default_mode, *self.cluster_modes.values()}

    @property
    def header_modes(self) -> bool:
        """Whether any cluster takes identity from request headers (so trust matters)."""
        modes = self.modes
        return "impersonate" in modes or ("bearer" in modes and self.bearer_source != "form")

    @property
    def has_trust(self) -> bool:
        return bool(self.trusted_networks) or self.proxy_secret is not None


def from_settings(settings: Settings) -> AuthConfig:
    """Validate the auth settings; raise ``AuthConfigError`` naming what to fix."""
    if settings.auth_mode not in MODES:
        raise AuthConfigError(f"--auth-mode must be one of {', '.join(MODES)}")
    if settings.bearer_source not in BEARER_SOURCES:
        raise AuthConfigError(f"--bearer-source must be one of {', '.join(BEARER_SOURCES)}")
    cluster_modes = _cluster_modes(settings.cluster_auth)
    modes = {settings.auth_mode, *cluster_modes.values()}

    proxy_secret = None
    if settings.proxy_secret_file:
        proxy_secret = _read_secret(settings.proxy_secret_file, "--proxy-secret-file")
    nets = _networks(settings.trusted_proxies)

    allowed_hosts = tuple(
        h.strip().lower() for h in settings.allowed_hosts.replace(" ", ",").split(",") if h.strip()
    )
    oidc = None
    if "oidc" in modes:
        missing = [
            flag
            for flag, value in (
                ("--oidc-issuer", settings.oidc_issuer),
                ("--oidc-client-id", settings.oidc_client_id),
                ("--oidc-client-secret-file", settings.oidc_client_secret_file),
            )
            if not value
        ]
        if missing:
            raise AuthConfigError(f"auth mode 'oidc' needs {', '.join(missing)}")
        if not settings.oidc_redirect_url and not allowed_hosts:
            raise AuthConfigError(
                "auth mode 'oidc' needs --oidc-redirect-url (the callback registered at the "
                "provider, e.g. https://kubelantern.example.com/-/oidc/callback) or "
                "--allowed-hosts (the host names users reach Kubelantern by): a request's Host "
                "header never decides where the provider sends the browser back"
            )
        assert settings.oidc_issuer and settings.oidc_client_id
        assert settings.oidc_client_secret_file
        secret = _read_secret(settings.oidc_client_secret_file, "--oidc-client-secret-file")
        oidc = OIDCClientConfig(
            issuer=settings.oidc_issuer.rstrip("/"),
            client_id=settings.oidc_client_id,
            client_secret=secret.decode(),
            scopes=tuple(settings.oidc_scopes.replace(",", " ").split()),
            ca_file=settings.oidc_ca_file or None,
            redirect_url=settings.oidc_redirect_url or None,
            token=settings.oidc_token,
        )

    if settings.session_max_age <= 0:
        raise AuthConfigError("--session-max-age must be a positive number of seconds")
    if settings.session_idle_timeout < 0:
        raise AuthConfigError("--session-idle-timeout must be 0 (none) or a number of seconds")
    if settings.session_secret_file:
        session_key = _read_secret(settings.session_secret_file, "--session-secret-file")
    else:
        session_key = secrets.token_bytes(32)
    config = AuthConfig(
        default_mode=settings.auth_mode,
        cluster_modes=cluster_modes,
        trusted_networks=nets,
        proxy_secret=proxy_secret,
        proxy_secret_header=settings.proxy_secret_header,
        user_header=settings.user_header,
        groups_header=settings.groups_header,
        user_prefix=settings.impersonate_user_prefix,
        group_prefix=settings.impersonate_group_prefix,
        bearer_source=settings.bearer_source,
        oidc=oidc,
        session_key=session_key,
        session_max_age=settings.session_max_age,
        session_idle_timeout=settings.session_idle_timeout,
        sign_in_url=settings.sign_in_url,
        sign_out_url=settings.sign_out_url,
        secure_cookies=settings.secure_cookies,
        cookie_path=settings.prefix or "/",
        allowed_hosts=allowed_hosts,
    )
    if config.header_modes and not config.has_trust:
        which = "impersonate" if "impersonate" in modes else "bearer"
        raise AuthConfigError(
            f"auth mode {which!r} takes the user's identity from request headers, so "
            "Kubelantern must know which requests come from your sign-in proxy: set "
            "--trusted-proxies (KUBELANTERN_TRUSTED_PROXIES) to the proxy's address or "
            "network, e.g. 127.0.0.1/32 for a sidecar, and/or --proxy-secret-file "
            "(KUBELANTERN_PROXY_SECRET_FILE) to a secret the proxy sends in the "
            f"{settings.proxy_secret_header} header"
        )
    if not settings.session_secret_file and modes != {"kubeconfig"}:
        log.warning(
            "no --session-secret-file: sessions are encrypted with a key made for this "
            "process, so they end when it restarts and other replicas cannot read them; "
            "give every replica the same secret"
        )
    return config
