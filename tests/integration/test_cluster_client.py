"""The cluster client against the real API server: TLS names, exec plugins, token files.

* ``tls-server-name``: the API server is reached through a plain TCP relay on
  127.0.0.2, an address its serving certificate does not hold (as through an
  SSH tunnel or a load balancer's IP). With ``tls-server-name: localhost``
  requests, streams and WebSockets work; without it the error names the
  mismatch and the setting that fixes it.
* An exec plugin that hands out client certificates rotates them under an open
  watch: the watch keeps running, and many requests noticing one rotation
  build one new pair of connection pools.
* A ``tokenFile`` is kept for a while, and read again after a 401 or when its
  time is up.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import json
import secrets
import stat
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import yaml
from starlette.testclient import TestClient

from kubelantern import errors
from kubelantern.app import create_app
from kubelantern.clusters.client import ClusterClient, PoolLimits
from kubelantern.clusters.credentials import KubeconfigCredentials
from kubelantern.clusters.kubeconfig import ClusterConfig, load_files
from kubelantern.clusters.store import ClusterStore
from kubelantern.settings import Settings
from kubelantern.streams.remote import open_channel
from tests.conftest import RealCluster
from tests.kube import kube_client

pytestmark = pytest.mark.cluster

WHOAMI = "/apis/authentication.k8s.io/v1/selfsubjectreviews"
REVIEW = {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}


async def whoami(client: ClusterClient) -> str:
    answer = await client.post_json(WHOAMI, REVIEW)
    return str(answer["status"]["userInfo"]["username"])


# -- a TCP relay: the API server seen at an address its certificate does not hold


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


@contextlib.asynccontextmanager
async def relay(target: str) -> AsyncIterator[str]:
    """``https://127.0.0.2:PORT``, a byte-for-byte relay to the server of ``target``."""
    url = httpx.URL(target)
    host, port = url.host, url.port or 443

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(host, port)
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    server = await asyncio.start_server(handle, "127.0.0.2", 0)
    try:
        yield f"https://127.0.0.2:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()
        await server.wait_closed()


def admin_config(cluster: RealCluster) -> ClusterConfig:
    (cfg,) = load_files([cluster.kubeconfig("admin")])
    return cfg


def test_tls_server_name_reaches_a_server_by_an_address_its_certificate_lacks(
    cluster: RealCluster,
) -> None:
    base = admin_config(cluster)

    async def go() -> None:
        async with relay(base.server) as address:
            named = dataclasses.replace(base, server=address, tls_server_name="localhost")
            store = ClusterStore(timeout=20)
            try:
                c = store.add(named)
                assert await whoami(c.client) == "admin"
                # The streaming pool too: a watch through the relay opens and answers.
                params = {"watch": "1", "timeoutSeconds": "1"}
                async with c.client.stream(
                    "GET", "/api/v1/namespaces/team-a/pods", params=params, timeout=20
                ) as response:
                    assert response.status_code == 200
                # The WebSocket too: TLS succeeds, so the API server itself answers
                # (no such pod) instead of the handshake failing.
                with pytest.raises(errors.NotFound):
                    async with open_channel(
                        c,
                        None,
                        "team-a",
                        "no-such-pod-kl",
                        action="exec",
                        container="main",
                        command=["true"],
                        tty=False,
                    ):
                        pass
            finally:
                await store.aclose()

            plain = dataclasses.replace(base, server=address, name="unnamed")
            store = ClusterStore(timeout=20)
            try:
                c = store.add(plain)
                with pytest.raises(errors.ClusterUnavailable) as info:
                    await whoami(c.client)
                message = info.value.message
                assert "TLS name mismatch" in message and "127.0.0.2" in message
                assert "tls-server-name" in message
                with pytest.raises(errors.ClusterUnavailable, match="TLS name mismatch"):
                    async with open_channel(
                        c,
                        None,
                        "team-a",
                        "no-such-pod-kl",
                        action="exec",
                        container="main",
                        command=["true"],
                        tty=False,
                    ):
                        pass
            finally:
                await store.aclose()

            wrong = dataclasses.replace(base, server=address, tls_server_name="elsewhere.test")
            client = ClusterClient(wrong, timeout=20)
            try:
                with pytest.raises(errors.ClusterUnavailable) as info:
                    await whoami(client)
                assert "'elsewhere.test' (tls-server-name)" in info.value.message
            finally:
                await client.aclose()

    asyncio.run(go())


# -- exec plugins: interactiveMode, and rotating client certificates


def write_plugin(tmp_path: Path, body: str) -> Path:
    plugin = tmp_path / "plugin"
    plugin.write_text("#!/bin/sh\n" + body)
    plugin.chmod(plugin.stat().st_mode | stat.S_IEXEC)
    return plugin


def exec_config(base: ClusterConfig, plugin: Path, mode: str | None, api: str) -> ClusterConfig:
    """``base`` with its user replaced by the exec plugin (read by the real loader)."""
    user: dict[str, Any] = {"command": str(plugin), "apiVersion": api}
    if mode is not None:
        user["interactiveMode"] = mode
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "c",
                "cluster": {
                    "server": base.server,
                    "certificate-authority-data": base64.b64encode(base.ca_data or b"").decode(),
                },
            }
        ],
        "users": [{"name": "u", "user": {"exec": user}}],
        "contexts": [{"name": "plugin", "context": {"cluster": "c", "user": "u"}}],
    }
    path = plugin.parent / f"kubeconfig-{mode}-{api.rsplit('/', 1)[-1]}.yaml"
    path.write_text(yaml.safe_dump(doc))
    (cfg,) = load_files([str(path)])
    return cfg


def sa_token(cluster: RealCluster) -> str:
    doc = yaml.safe_load(Path(cluster.kubeconfig("kubelantern")).read_text())
    return str(doc["users"][0]["user"]["token"])


@pytest.mark.parametrize(
    ("mode", "api"),
    [
        ("Never", "client.authentication.k8s.io/v1"),
        ("IfAvailable", "client.authentication.k8s.io/v1"),
        (None, "client.authentication.k8s.io/v1beta1"),
    ],
)
def test_exec_plugins_run_without_a_terminal(
    cluster: RealCluster, tmp_path: Path, mode: str | None, api: str
) -> None:
    calls = tmp_path / "calls"
    credential = {
        "apiVersion": api,
        "kind": "ExecCredential",
        "status": {"token": sa_token(cluster)},
    }
    plugin = write_plugin(
        tmp_path,
        f'if [ -t 0 ]; then echo terminal >> "{calls}"; else echo no-terminal >> "{calls}"; fi\n'
        f'echo "$KUBERNETES_EXEC_INFO" >> "{calls}"\n'
        f"cat <<'EOF'\n{json.dumps(credential)}\nEOF\n",
    )
    cfg = exec_config(admin_config(cluster), plugin, mode, api)

    async def go() -> None:
        client = ClusterClient(cfg, timeout=20)
        try:
            assert await whoami(client) == "system:serviceaccount:kubelantern-system:kubelantern"
        finally:
            await client.aclose()

    asyncio.run(go())
    terminal, info = calls.read_text().splitlines()[:2]
    assert terminal == "no-terminal"
    assert json.loads(info)["spec"]["interactive"] is False
    assert json.loads(info)["apiVersion"] == api


def test_an_always_interactive_exec_plugin_is_refused_with_a_reason(
    cluster: RealCluster, tmp_path: Path
) -> None:
    ran = tmp_path / "ran"
    plugin = write_plugin(tmp_path, f'touch "{ran}"\nexit 1\n')
    cfg = exec_config(admin_config(cluster), plugin, "Always", "client.authentication.k8s.io/v1")

    async def go() -> None:
        client = ClusterClient(cfg, timeout=20)
        try:
            with pytest.raises(errors.CredentialsUnavailable) as info:
                await whoami(client)
            assert "interactiveMode: Always" in info.value.message
            assert "terminal" in info.value.message
        finally:
            await client.aclose()

    asyncio.run(go())
    assert not ran.exists()  # refused before it ran


def test_an_unknown_interactive_mode_is_a_kubeconfig_error(
    cluster: RealCluster, tmp_path: Path
) -> None:
    plugin = write_plugin(tmp_path, "exit 1\n")
    with pytest.raises(ValueError, match="interactiveMode 'Sometimes' is not one of"):
        exec_config(admin_config(cluster), plugin, "Sometimes", "client.authentication.k8s.io/v1")


def cert_credential(kubeconfig: str) -> dict[str, Any]:
    user = yaml.safe_load(Path(kubeconfig).read_text())["users"][0]["user"]
    return {
        "apiVersion": "client.authentication.k8s.io/v1",
        "kind": "ExecCredential",
        "status": {
            "clientCertificateData": base64.b64decode(user["client-certificate-data"]).decode(),
            "clientKeyData": base64.b64decode(user["client-key-data"]).decode(),
            "expirationTimestamp": "2099-01-01T00:00:00Z",
        },
    }


@pytest.fixture
def rotating(cluster: RealCluster, tmp_path: Path) -> Iterator[tuple[ClusterConfig, Path]]:
    """An exec plugin printing the certificate named in ``which`` (admin or bob)."""
    for user in ("admin", "bob"):
        (tmp_path / f"{user}.json").write_text(
            json.dumps(cert_credential(cluster.kubeconfig(user)))
        )
    which = tmp_path / "which"
    which.write_text("admin")
    plugin = write_plugin(tmp_path, f'cat "{tmp_path}/$(cat "{which}").json"\n')
    yield (
        exec_config(admin_config(cluster), plugin, "Never", "client.authentication.k8s.io/v1"),
        which,
    )


def test_a_certificate_rotation_keeps_open_watches_and_is_done_once(
    rotating: tuple[ClusterConfig, Path], cluster: RealCluster
) -> None:
    cfg, which = rotating
    name = f"kl-rotate-{secrets.token_hex(3)}"
    kube = kube_client(cluster.kubeconfig("admin"))
    cm_path = "/api/v1/namespaces/team-a/configmaps"

    async def go() -> None:
        client = ClusterClient(cfg, timeout=20)
        try:
            assert await whoami(client) == "admin"
            params = {
                "watch": "1",
                "timeoutSeconds": "120",
                "fieldSelector": f"metadata.name={name}",
            }
            async with client.stream("GET", cm_path, params=params, timeout=120) as watch:
                lines = watch.aiter_lines()
                # Rotate: the plugin now hands out bob's certificate; twenty
                # requests notice it at once.
                which.write_text("bob")
                client.own_credentials.invalidate()
                names = await asyncio.gather(*(whoami(client) for _ in range(20)))
                assert set(names) == {"bob"}
                assert client.rotations == 1  # one new pair of pools, not twenty
                # The watch opened before the rotation still delivers events.
                created = kube.post(cm_path, json={"metadata": {"name": name}, "data": {}})
                assert created.status_code == 201, created.text
                line = await asyncio.wait_for(anext(lines), 60)
                event = orjson.loads(line)
                assert event["type"] == "ADDED" and event["object"]["metadata"]["name"] == name
            # The old pools closed once the watch ended; the new ones still work.
            await asyncio.wait_for(_idle(client), 30)
            assert await whoami(client) == "bob"
        finally:
            await client.aclose()

    try:
        asyncio.run(go())
    finally:
        kube.delete(f"{cm_path}/{name}")
        kube.close()


async def _idle(client: ClusterClient) -> None:
    """Wait until no retired pool is left (each closed when its last user left)."""
    while client._retired:  # the observable of "closed when idle"
        await asyncio.sleep(0.05)


# -- token files


def token_request(kube: httpx.Client, namespace: str, account: str, **spec: Any) -> str:
    response = kube.post(
        f"/api/v1/namespaces/{namespace}/serviceaccounts/{account}/token",
        json={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["status"]["token"])


def test_a_token_file_is_cached_and_reread_after_a_401_or_its_period(
    cluster: RealCluster, tmp_path: Path
) -> None:
    kube = kube_client(cluster.kubeconfig("admin"))
    secret = f"kl-token-{secrets.token_hex(3)}"
    made = kube.post(
        "/api/v1/namespaces/kubelantern-system/secrets", json={"metadata": {"name": secret}}
    )
    assert made.status_code == 201, made.text
    uid = made.json()["metadata"]["uid"]
    token_file = tmp_path / "token"
    # A token bound to the Secret: deleting the Secret revokes it.
    bound = {"kind": "Secret", "apiVersion": "v1", "name": secret, "uid": uid}
    token_file.write_text(
        token_request(kube, "kubelantern-system", "kubelantern", boundObjectRef=bound)
    )
    default_sa = "system:serviceaccount:team-a:default"
    cfg = dataclasses.replace(
        admin_config(cluster),
        client_cert_data=None,
        client_key_data=None,
        token_file=str(token_file),
    )

    async def go() -> None:
        client = ClusterClient(cfg, timeout=20)
        try:
            assert await whoami(client) == "system:serviceaccount:kubelantern-system:kubelantern"
            # Rotated on disk: still the kept token, the file is not read per request.
            token_file.write_text(token_request(kube, "team-a", "default"))
            assert await whoami(client) == "system:serviceaccount:kubelantern-system:kubelantern"
            # The kept token is revoked: the 401 reads the file again, the retry works.
            assert (
                kube.delete(f"/api/v1/namespaces/kubelantern-system/secrets/{secret}").status_code
                == 200
            )
            await _until_refused(client)
        finally:
            await client.aclose()

        # With a short period, a rotation is picked up without any 401.
        client = ClusterClient(cfg, timeout=20)
        client.own_credentials = KubeconfigCredentials(cfg, refresh=0.2)
        try:
            assert await whoami(client) == default_sa
            token_file.write_text(token_request(kube, "kubelantern-system", "kubelantern"))
            async with asyncio.timeout(60):
                while await whoami(client) == default_sa:
                    await asyncio.sleep(0.1)
        finally:
            await client.aclose()

    async def _until_refused(client: ClusterClient) -> None:
        # The API server may take a moment to see the deletion; then each
        # request gets a 401 on the old token and succeeds with the new one.
        async with asyncio.timeout(60):
            while (who := await whoami(client)) != default_sa:
                assert who == "system:serviceaccount:kubelantern-system:kubelantern"
                await asyncio.sleep(0.2)

    try:
        asyncio.run(go())
    finally:
        kube.delete(f"/api/v1/namespaces/kubelantern-system/secrets/{secret}")
        kube.close()


# -- HTTP/2 to the API server (--upstream-http2)


def test_http2_for_requests_while_streams_and_websockets_keep_http11(
    cluster: RealCluster,
) -> None:
    async def go() -> None:
        store = ClusterStore(timeout=20, pool=PoolLimits(http2=True))
        try:
            c = store.add(admin_config(cluster))
            answers = await asyncio.gather(
                *(c.client.request("GET", "/api/v1/namespaces/team-a/pods") for _ in range(20))
            )
            assert {a.http_version for a in answers} == {"HTTP/2"}
            assert await whoami(c.client) == "admin"
            params = {"watch": "1", "timeoutSeconds": "1"}
            async with c.client.stream(
                "GET", "/api/v1/namespaces/team-a/pods", params=params, timeout=20
            ) as watch:
                assert watch.http_version == "HTTP/1.1"
            # The WebSocket handshake reaches the API server (no such pod), over HTTP/1.1.
            with pytest.raises(errors.NotFound):
                async with open_channel(
                    c,
                    None,
                    "team-a",
                    "no-such-pod-kl",
                    action="exec",
                    container="main",
                    command=["true"],
                    tty=False,
                ):
                    pass
        finally:
            await store.aclose()

    asyncio.run(go())


def test_pages_work_over_http2(cluster: RealCluster) -> None:
    settings = Settings(kubeconfig=(cluster.kubeconfig("admin"),), upstream_http2=True)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        pods = client.get(f"/c/{cluster.name}/namespaces/team-a/pods.json")
        assert pods.status_code == 200 and pods.json()["rows"]
        name = pods.json()["rows"][0]["name"]
        detail = client.get(f"/c/{cluster.name}/namespaces/team-a/pods/{name}")
        assert detail.status_code == 200
