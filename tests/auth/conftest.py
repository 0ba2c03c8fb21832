"""The sign-in stack, all real parts, started once per test session.

    browser/httpx ─► oauth2-proxy ─► kubelantern serve ─► kube-apiserver (RBAC)
                        │                                   │
                        └──────── mock-oidc (HTTPS) ◄───────┘ (verifies ID tokens)

* ``mock-oidc`` (testenv/gobuild/oidc, around oauth2-proxy/mockoidc) serves
  HTTPS on 127.0.0.1 with its own CA; users alice, bob and carol (group devs).
* The control plane gets its own cluster (``kl-auth``, or
  $KUBELANTERN_TEST_AUTH_CLUSTER) started with a structured
  AuthenticationConfiguration that trusts the mock (CA inline), usernames from
  ``preferred_username`` and groups from ``groups``, both without prefix, so
  the RBAC that ``testenv/cluster`` creates for alice, bob, carol and devs
  applies to OIDC tokens and to impersonation alike.
* ``kubelantern serve`` sees that cluster twice: as ``bearer`` (the ID token
  OAuth2 Proxy passes in ``Authorization``; its kubeconfig context deliberately
  holds the *admin* client certificate, which Kubelantern must never present
  in that mode) and as ``impersonate`` (Kubelantern's ServiceAccount token plus
  ``Impersonate-*`` from the proxy's headers).
* ``oauth2-proxy`` (built from the Go module proxy) runs with an alpha config
  that passes the identity headers and a shared secret; Kubelantern trusts
  127.0.0.1 *and* requires that secret.

The cluster is stopped at the end unless KUBELANTERN_TEST_KEEP=1.
"""

from __future__ import annotations

import json
import os
import select
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.conftest import (
    ROOT,
    TEST_CLUSTER,
    RealCluster,
    ServerProcess,
    free_port,
    http_ok,
    no_go_binaries,
    run_cluster,
    start_server,
    stop_server,
    wait_until,
)
from tests.helmkit import helm_binary
from tests.processkit import ProcessExited, Started, start_process

# Derived from the session cluster's name, so concurrent runs with their own
# KUBELANTERN_TEST_CLUSTER never stop each other's auth cluster.
AUTH_CLUSTER = os.environ.get("KUBELANTERN_TEST_AUTH_CLUSTER", f"{TEST_CLUSTER}-auth")
CLIENT_ID = "kubelantern"
CLIENT_SECRET = "kubelantern-test-secret"
BEARER = "bearer"  # Kubelantern's name for the cluster in mode bearer
IMPERSONATE = "impersonate"  # ... and for the same cluster in mode impersonate


def build(*components: str) -> list[Path]:
    """testenv/build (cached in ~/.cache/kubelantern/bin); one directory per component."""
    no_go_binaries(f"testenv/build {' '.join(components)}")
    proc = subprocess.run(
        [str(ROOT / "testenv" / "build"), "--print-dir", *components],
        capture_output=True,
        text=True,
        timeout=3000,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"testenv/build {' '.join(components)} failed:\n{proc.stderr[-3000:]}")
    return [Path(line) for line in proc.stdout.split()]


@dataclass
class MockOIDC:
    """The running mock provider and its test controls."""

    issuer: str
    ca_file: Path
    proc: Started
    ssl: ssl.SSLContext = field(init=False)

    def __post_init__(self) -> None:
        self.ssl = ssl.create_default_context(cafile=str(self.ca_file))

    @property
    def base(self) -> str:
        return self.issuer.removesuffix("/oidc")

    def queue(self, user: str, id_ttl: str = "") -> None:
        """The next /authorize without login_hint signs in ``user``."""
        params = {"user": user, **({"id_ttl": id_ttl} if id_ttl else {})}
        httpx.post(self.base + "/admin/next", params=params, verify=self.ssl).raise_for_status()

    def token(self, user: str, ttl: str = "10m") -> str:
        """A signed ID token for ``user`` (negative ttl: already expired)."""
        r = httpx.get(
            self.base + "/admin/token", params={"user": user, "ttl": ttl}, verify=self.ssl
        )
        r.raise_for_status()
        return str(r.json()["id_token"])


def start_mock_oidc(bindir: Path, tmp: Path) -> MockOIDC:
    """Start the provider; it prints its issuer as one JSON line on stdout when it listens."""
    port = free_port()
    ca_file = tmp / "mock-oidc-ca.pem"
    cmd = [
        str(bindir / "mock-oidc"),
        *("--addr", f"127.0.0.1:{port}", "--ca-file", str(ca_file)),
        *("--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET),
    ]
    proc = start_process("mock-oidc", cmd, log_dir=tmp, stdout_pipe=True)
    stdout = proc.popen.stdout
    assert stdout is not None
    announced: list[str] = []

    def listening() -> bool:
        ready, _, _ = select.select([stdout], [], [], 0.5)
        if ready:
            announced.append(stdout.readline().decode())
        return bool(announced)

    wait_until(listening, 30, "mock-oidc to print its issuer", procs=[proc])
    try:
        info = json.loads(announced[0])
    except ValueError as exc:
        proc.stop()
        raise ProcessExited(f"mock-oidc printed {announced[0]!r}\n{proc.report()}") from exc
    mock = MockOIDC(issuer=info["issuer"], ca_file=ca_file, proc=proc)
    discovery = mock.issuer + "/.well-known/openid-configuration"
    wait_until(lambda: http_ok(discovery, verify=mock.ssl), 30, "mock-oidc", procs=[proc])
    return mock


def authentication_config(mock: MockOIDC) -> str:
    """kube-apiserver --authentication-config trusting the mock (B.1 of the notes)."""
    doc = {
        "apiVersion": "apiserver.config.k8s.io/v1",
        "kind": "AuthenticationConfiguration",
        "jwt": [
            {
                "issuer": {
                    "url": mock.issuer,
                    "audiences": [CLIENT_ID],
                    "certificateAuthority": mock.ca_file.read_text(),
                },
                "claimMappings": {
                    "username": {"claim": "preferred_username", "prefix": ""},
                    "groups": {"claim": "groups", "prefix": ""},
                },
            }
        ],
    }
    return yaml.safe_dump(doc, sort_keys=False)


def kubelantern_kubeconfig(cluster: RealCluster) -> dict[str, Any]:
    """Two contexts on one API server: ``bearer`` and ``impersonate``.

    ``bearer``'s user is the admin (client certificate): in mode bearer
    Kubelantern must not present it, so a request without a user's token must
    fail instead of running as admin. ``impersonate``'s user is Kubelantern's
    ServiceAccount, which may only impersonate.
    """
    admin = yaml.safe_load(Path(cluster.kubeconfig("admin")).read_text())
    sa = yaml.safe_load(Path(cluster.kubeconfig("kubelantern")).read_text())
    server = admin["clusters"][0]
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "kl-auth", "cluster": server["cluster"]}],
        "users": [
            {"name": "admin-cert", "user": admin["users"][0]["user"]},
            {"name": "kubelantern-sa", "user": sa["users"][0]["user"]},
        ],
        "contexts": [
            {"name": BEARER, "context": {"cluster": "kl-auth", "user": "admin-cert"}},
            {"name": IMPERSONATE, "context": {"cluster": "kl-auth", "user": "kubelantern-sa"}},
        ],
        "current-context": BEARER,
    }


def proxy_alpha_config(mock: MockOIDC, upstream: str, port: int, tmp: Path) -> str:
    """OAuth2 Proxy in reverse-proxy mode: pass-* headers only, never set-* (A.1)."""

    def claim(name: str, header: str, prefix: str = "") -> dict[str, Any]:
        source: dict[str, Any] = {"claim": name}
        if prefix:
            source["prefix"] = prefix
        return {"name": header, "values": [{"claimSource": source}]}

    doc = {
        "server": {"bindAddress": f"127.0.0.1:{port}"},
        "upstreamConfig": {
            "upstreams": [
                {"id": "kubelantern", "path": "/", "uri": upstream, "proxyWebSockets": True}
            ]
        },
        "injectRequestHeaders": [
            claim("user", "X-Forwarded-User"),
            claim("email", "X-Forwarded-Email"),
            claim("groups", "X-Forwarded-Groups"),
            claim("preferred_username", "X-Forwarded-Preferred-Username"),
            claim("id_token", "Authorization", prefix="Bearer "),
            {
                "name": "X-Kubelantern-Proxy-Secret",
                "values": [{"secretSource": {"fromFile": str(tmp / "proxy.secret")}}],
            },
        ],
        "injectResponseHeaders": [],
        "providers": [
            {
                "id": "mock",
                "provider": "oidc",
                "clientID": CLIENT_ID,
                "clientSecretFile": str(tmp / "client.secret"),
                "scope": "openid email profile groups",
                "caFiles": [str(mock.ca_file)],
                "code_challenge_method": "S256",
                "oidcConfig": {
                    "issuerURL": mock.issuer,
                    "emailClaim": "email",
                    "groupsClaim": "groups",
                    "userIDClaim": "email",
                    "audienceClaims": ["aud"],
                },
            }
        ],
    }
    return yaml.safe_dump(doc, sort_keys=False)


@dataclass
class AuthStack:
    cluster: RealCluster
    oidc: MockOIDC
    kubelantern: ServerProcess
    proxy_url: str
    proxy_secret: str
    tmp: Path
    clients: list[httpx.Client] = field(default_factory=list)

    def track(self, client: httpx.Client) -> httpx.Client:
        """Close ``client`` after the test (close_clients): its sockets would leak.

        Signed-in clients are handed to tests that use them to the end, so the
        stack owns them instead of every test writing ``with``.
        """
        self.clients.append(client)
        return client

    def close_clients(self) -> None:
        """Close every client handed out during the test that just ran."""
        while self.clients:
            self.clients.pop().close()

    def proxy_client(self) -> httpx.Client:
        """A cookie-keeping client of the proxy that also trusts the mock provider."""
        return self.track(httpx.Client(base_url=self.proxy_url, verify=self.oidc.ssl, timeout=30))

    def sign_in(self, user: str, *, id_ttl: str = "") -> httpx.Client:
        """Sign in through OAuth2 Proxy at the provider, as a browser would."""
        client = self.proxy_client()
        self.oidc.queue(user, id_ttl)
        r = client.get("/oauth2/start", params={"rd": "/-/whoami"}, follow_redirects=True)
        assert r.status_code == 200, r.text[:500]
        assert str(r.url).startswith(self.proxy_url + "/-/whoami")
        return client


def _start_proxy(bindir: Path, mock: MockOIDC, upstream: str, tmp: Path) -> tuple[str, Started]:
    port = free_port()
    cfg = tmp / "oauth2-proxy.yaml"
    cfg.write_text(proxy_alpha_config(mock, upstream, port, tmp))
    url = f"http://127.0.0.1:{port}"
    cmd = [
        str(bindir / "oauth2-proxy"),
        f"--alpha-config={cfg}",
        "--cookie-secret=" + "0123456789abcdef0123456789abcdef",
        "--cookie-secure=false",
        "--email-domain=*",
        f"--redirect-url={url}/oauth2/callback",
        "--skip-provider-button",
    ]
    proc = start_process("oauth2-proxy", cmd, log_dir=tmp)
    wait_until(lambda: http_ok(url + "/ping"), 30, "oauth2-proxy to answer /ping", procs=[proc])
    return url, proc


def start_kubelantern(tmp: Path, name: str, *args: str) -> ServerProcess:
    """``kubelantern serve`` with its output in ``tmp/<name>.log`` (shown if it fails)."""
    return start_server(*args, log_dir=tmp, name=name, timeout=120)


def run_auth_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthStack]:
    """The whole stack for the session: the ``auth_stack`` fixture of tests/conftest.py.

    The fixture lives in the root conftest so tests/auth and tests/security
    share one stack (a fixture defined in two conftests would start two, and
    the second would restart the cluster under the first).
    """
    t0 = time.monotonic()
    tmp = tmp_path_factory.mktemp("auth")
    proxy_bin, oidc_bin = build("oauth2-proxy", "oidc")
    (tmp / "client.secret").write_text(CLIENT_SECRET)
    proxy_secret = os.urandom(16).hex()
    (tmp / "proxy.secret").write_text(proxy_secret)
    (tmp / "session.secret").write_text(os.urandom(32).hex())
    mock = start_mock_oidc(oidc_bin, tmp)
    procs: list[Started] = [mock.proc]
    server: ServerProcess | None = None
    try:
        authn = tmp / "authentication-config.yaml"
        authn.write_text(authentication_config(mock))
        # A running kl-auth trusts an earlier session's mock: start it afresh.
        run_cluster("down", "--name", AUTH_CLUSTER)
        run_cluster("up", "--name", AUTH_CLUSTER, "--authentication-config", str(authn))
        run_cluster("seed", "--name", AUTH_CLUSTER)
        configs = {
            user: run_cluster("kubeconfig", "--name", AUTH_CLUSTER, "--user", user)
            .strip()
            .splitlines()[-1]
            for user in ("admin", "alice", "bob", "carol", "kubelantern")
        }
        cluster = RealCluster(name=AUTH_CLUSTER, kubeconfigs=configs)
        kubeconfig = tmp / "kubelantern.kubeconfig"
        kubeconfig.write_text(yaml.safe_dump(kubelantern_kubeconfig(cluster)))
        kubeconfig.chmod(0o600)
        server = start_kubelantern(
            tmp,
            "kubelantern-proxied",
            "--kubeconfig",
            str(kubeconfig),
            "--auth-mode",
            "bearer",
            "--cluster-auth",
            f"{IMPERSONATE}=impersonate",
            "--trusted-proxies",
            "127.0.0.1/32",
            "--proxy-secret-file",
            str(tmp / "proxy.secret"),
            "--user-header",
            "X-Forwarded-Preferred-Username",
            "--session-secret-file",
            str(tmp / "session.secret"),
            "--sign-out-url",
            "/oauth2/sign_out",
            "--helm-binary",
            helm_binary(),
        )
        proxy_url, proxy_proc = _start_proxy(proxy_bin, mock, server.url, tmp)
        procs.append(proxy_proc)
        print(f"\nauth stack up in {time.monotonic() - t0:.1f} s")
        yield AuthStack(
            cluster=cluster,
            oidc=mock,
            kubelantern=server,
            proxy_url=proxy_url,
            proxy_secret=proxy_secret,
            tmp=tmp,
        )
    finally:
        for proc in reversed(procs):
            proc.stop()
        if server is not None:
            stop_server(server)
        if os.environ.get("KUBELANTERN_TEST_KEEP") != "1":
            run_cluster("down", "--name", AUTH_CLUSTER)
