"""Attack: server-side request forgery through added clusters (issue 11, 3).

An added cluster makes the server connect to its ``server:`` (and
``proxy-url``) every 30 s and report what answered. Every refusal here happens
by validation, before any connection: the tests never open a connection to
anything but 127.0.0.1, and only where they allow loopback.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from kubelantern import errors
from kubelantern.app import create_app
from kubelantern.clusters.client import ClusterClient
from kubelantern.clusters.kubeconfig import ClusterConfig
from kubelantern.settings import Settings
from tests.security.clusters_kit import Recorder, kubeconfig


def app(tmp_path: Path, *allow: str, limit: int = 20) -> TestClient:
    settings = Settings(
        add_clusters="on",
        cluster_admins=("*",),
        added_cluster_allow=allow or ("none",),
        max_added_clusters=limit,
        clusters_file=str(tmp_path / "clusters.yaml"),
    )
    tc = TestClient(create_app(settings, clusters=[]), raise_server_exceptions=False)
    tc.__enter__()
    tc.get("/")
    return tc


def add(tc: TestClient, text: str) -> tuple[int, str]:
    resp = tc.post("/-/clusters/add", data={"kubeconfig": text, "_csrf": tc.cookies["kl_csrf"]})
    return resp.status_code, resp.text


@pytest.mark.parametrize(
    ("server", "kind"),
    [
        ("https://169.254.169.254", "link-local"),  # cloud metadata
        ("https://[fe80::1]:6443", "link-local"),
        ("https://168.63.129.16", "link-local"),  # Azure's wire server
        ("https://127.0.0.1:6443", "loopback"),
        ("https://localhost:6443", "loopback"),
        ("https://0.0.0.0:6443", "loopback"),
        ("https://[::1]:6443", "loopback"),
        ("https://[::ffff:127.0.0.1]:6443", "loopback"),
        ("https://2130706433:6443", "loopback"),  # 127.0.0.1 as one number
        ("https://10.96.0.1", "private"),  # a Service network
        ("https://192.168.1.10:6443", "private"),
        ("https://100.64.0.1", "private"),  # carrier-grade NAT, used by pod networks
        ("https://[fd00::1]", "private"),
        ("https://[64:ff9b::a9fe:a9fe]", "link-local"),  # NAT64 of 169.254.169.254
    ],
)
def test_server_addresses_are_refused(tmp_path: Path, server: str, kind: str) -> None:
    tc = app(tmp_path)
    try:
        status, text = add(tc, kubeconfig("probe", server))
        assert status == 400
        assert f"{kind} address" in text and f"--added-cluster-allow {kind}" in text
        assert tc.get("/clusters.json").json()["clusters"] == []
    finally:
        tc.__exit__(None, None, None)


@pytest.mark.parametrize(
    ("cluster", "lifted_by"),
    [
        ({"server": "http://127.0.0.1:1"}, "http"),
        ({"server": "https://127.0.0.1:1", "proxy-url": "http://127.0.0.1:3128"}, "proxy-url"),
        ({"server": "https://127.0.0.1:1", "insecure-skip-tls-verify": True}, "insecure-skip"),
        ({"server": "https://127.0.0.1:1", "certificate-authority": "/etc/hostname"}, "files"),
    ],
)
def test_risky_cluster_fields_are_refused(
    tmp_path: Path, cluster: dict[str, object], lifted_by: str
) -> None:
    import yaml

    doc = yaml.safe_load(kubeconfig("probe", "https://127.0.0.1:1"))
    doc["clusters"][0]["cluster"] = cluster
    tc = app(tmp_path, "loopback")
    try:
        status, text = add(tc, yaml.safe_dump(doc))
        assert status == 400
        assert f"--added-cluster-allow {lifted_by}" in text
    finally:
        tc.__exit__(None, None, None)


def test_token_file_and_auth_provider_are_refused(tmp_path: Path) -> None:
    tc = app(tmp_path, "loopback")
    try:
        for user, lifted_by in (
            ({"tokenFile": "/var/run/secrets/kubernetes.io/serviceaccount/token"}, "files"),
            ({"auth-provider": {"name": "oidc", "config": {}}}, "auth-provider"),
        ):
            status, text = add(tc, kubeconfig("probe", "https://127.0.0.1:1", user=user))
            assert status == 400 and f"--added-cluster-allow {lifted_by}" in text
    finally:
        tc.__exit__(None, None, None)


def test_there_is_a_cap_on_added_clusters(tmp_path: Path) -> None:
    recorder = Recorder()
    tc = app(tmp_path, "loopback", limit=2)
    try:
        for name in ("one", "two"):
            status, _ = add(tc, kubeconfig(name, recorder.url, ca_pem=recorder.cert_pem))
            assert status == 303 or status == 200
        status, text = add(tc, kubeconfig("three", recorder.url, ca_pem=recorder.cert_pem))
        assert status == 400 and "at most 2 clusters" in text
        names = [c["name"] for c in tc.get("/clusters.json").json()["clusters"]]
        assert names == ["one", "two"]
    finally:
        tc.__exit__(None, None, None)
        recorder.close()


def test_the_address_is_checked_again_at_connect_time(tmp_path: Path) -> None:
    """DNS rebinding: a name that was public when added may resolve to 127.0.0.1 later.

    The added cluster's client checks every connection; here the address is
    loopback and loopback is not allowed, so the recorder must see nothing,
    while the same client with loopback allowed does reach it (the control).
    """
    recorder = Recorder()
    try:
        config = ClusterConfig(name="rebound", server=recorder.url, ca_data=recorder.cert_pem)

        async def version(guard: frozenset[str]) -> str:
            client = ClusterClient(config, guard=guard)
            try:
                return str((await client.json("GET", "/version"))["gitVersion"])
            finally:
                await client.aclose()

        with pytest.raises(errors.ClusterUnavailable, match="loopback address"):
            asyncio.run(version(frozenset()))
        assert recorder.requests == []
        assert asyncio.run(version(frozenset({"loopback"}))) == "v1.99.0-attacker"
        assert [path for path, _ in recorder.requests] == ["/version"]
    finally:
        recorder.close()


def test_exec_sockets_of_added_clusters_are_checked_too() -> None:
    """The terminal's WebSocket goes around httpx: it checks the address itself."""
    from kubelantern.clusters.store import ClusterStore
    from kubelantern.streams.remote import open_channel

    recorder = Recorder()
    store = ClusterStore()
    config = ClusterConfig(
        name="rebound", server=recorder.url, ca_data=recorder.cert_pem, token="pasted"
    )
    cluster = store.add(config, added_by="mallory", guard=frozenset())

    async def attempt() -> None:
        try:
            async with open_channel(
                cluster, None, "default", "pod", action="exec", container="c", command=["sh"]
            ):
                pass
        finally:
            await store.aclose()

    try:
        with pytest.raises(errors.ClusterUnavailable, match="loopback address"):
            asyncio.run(attempt())
        assert recorder.requests == []
    finally:
        recorder.close()
