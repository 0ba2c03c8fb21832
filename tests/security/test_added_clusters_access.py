"""Attacks: token theft through an added cluster, clusters changed by others (issue 11).

All real parts: a mock OIDC provider, OAuth2 Proxy passing each person's ID
token, and ``kubelantern serve`` in mode bearer with adding on for the group
``devs`` (carol). The operator's cluster and the attacker's "API server" are
both ``Recorder``s on 127.0.0.1, so the test sees every credential that
reached each: a person's ID token must reach the operator's cluster (the
control: it shows the recorders do see tokens) and never the added one, which
gets only the token pasted with it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from tests.auth.conftest import (
    AuthStack,
    _start_proxy,
    build,
    start_kubelantern,
    start_mock_oidc,
)
from tests.conftest import RealCluster, stop_server
from tests.security.clusters_kit import Recorder, kubeconfig

OPERATOR_TOKEN = "operator-kubeconfig-token"
PASTED_TOKEN = "pasted-token"


class Stack(AuthStack):
    operator: Recorder
    attacker: Recorder


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("added-clusters")
    proxy_bin, oidc_bin = build("oauth2-proxy", "oidc")
    (tmp / "client.secret").write_text("kubelantern-test-secret")
    secret = os.urandom(16).hex()
    (tmp / "proxy.secret").write_text(secret)
    (tmp / "session.secret").write_text(os.urandom(32).hex())
    operator, attacker = Recorder(), Recorder()
    kc = tmp / "operator.kubeconfig"
    kc.write_text(
        kubeconfig(
            "operator", operator.url, ca_pem=operator.cert_pem, user={"token": OPERATOR_TOKEN}
        )
    )
    mock = start_mock_oidc(oidc_bin, tmp)
    procs = [mock.proc]
    server = None
    try:
        server = start_kubelantern(
            tmp,
            "kubelantern-added",
            "--kubeconfig",
            str(kc),
            "--auth-mode",
            "bearer",
            "--trusted-proxies",
            "127.0.0.1/32",
            "--proxy-secret-file",
            str(tmp / "proxy.secret"),
            "--user-header",
            "X-Forwarded-Preferred-Username",
            "--session-secret-file",
            str(tmp / "session.secret"),
            "--add-clusters",
            "on",
            "--cluster-admins",
            "group:devs",
            "--added-cluster-allow",
            "loopback",
            "--clusters-file",
            str(tmp / "clusters.yaml"),
        )
        proxy_url, proxy_proc = _start_proxy(proxy_bin, mock, server.url, tmp)
        procs.append(proxy_proc)
        stack = Stack(
            cluster=RealCluster(name="none", kubeconfigs={}),
            oidc=mock,
            kubelantern=server,
            proxy_url=proxy_url,
            proxy_secret=secret,
            tmp=tmp,
        )
        stack.operator, stack.attacker = operator, attacker
        yield stack
    finally:
        for proc in reversed(procs):
            proc.stop()
        if server is not None:
            stop_server(server)
        operator.close()
        attacker.close()


def post(client: httpx.Client, url: str, **form: str) -> httpx.Response:
    if "kl_csrf" not in client.cookies:
        client.get("/clusters.json")
    return client.post(
        url,
        data={**form, "_csrf": client.cookies["kl_csrf"]},
        headers={"Accept": "application/json"},
    )


def names(client: httpx.Client) -> list[str]:
    return [c["name"] for c in client.get("/clusters.json").json()["clusters"]]


@pytest.mark.binaries
def test_only_cluster_admins_add_and_nobody_else_gets_their_tokens(stack: Stack) -> None:
    alice, carol = stack.sign_in("alice"), stack.sign_in("carol")  # carol is in devs
    anonymous = httpx.Client(base_url=stack.kubelantern.url, timeout=30)  # past the proxy
    attack = kubeconfig("attacker", stack.attacker.url, ca_pem=stack.attacker.cert_pem)
    try:
        # Neither a view-only person nor an anonymous visitor may add, nor sees the form.
        assert "Add cluster" not in alice.get("/").text
        assert alice.get("/-/clusters/add").status_code == 403
        assert post(alice, "/-/clusters/add", kubeconfig=attack).status_code == 403
        assert post(anonymous, "/-/clusters/add", kubeconfig=attack).status_code == 403
        assert stack.attacker.requests == []
        # A cluster admin may; the cluster is theirs alone until shared.
        assert "Add cluster" in carol.get("/").text
        resp = post(carol, "/-/clusters/add", kubeconfig=attack)
        assert resp.status_code == 200, resp.text
        assert [a["name"] for a in resp.json()["added"]] == ["attacker"]
        assert names(carol) == ["operator", "attacker"]
        assert names(alice) == ["operator"]
        for url in ("/c/attacker/", "/-/list/pods?clusters=attacker", "/-/whoami?cluster=attacker"):
            assert alice.get(url, headers={"Accept": "application/json"}).status_code == 404, url
        assert post(alice, "/-/clusters/attacker/remove").status_code == 404
        # Shared by the admin: alice sees it, browses with the pasted token only.
        assert post(carol, "/-/clusters/attacker/share", shared="on").json()["shared"] is True
        assert names(alice) == ["operator", "attacker"]
        for url in ("/", "/-/whoami", "/-/search?q=kube", "/-/list/pods", "/c/attacker/"):
            alice.get(url)
            carol.get(url)
        # Only the person who added it and cluster admins change it.
        assert post(alice, "/-/clusters/attacker/rename", name="mine").status_code == 403
        assert post(alice, "/-/clusters/attacker/remove").status_code == 403
        assert names(alice) == ["operator", "attacker"]
    finally:
        for client in (alice, carol, anonymous):
            client.close()
    # The control: the operator's cluster (mode bearer) got each person's ID token...
    people = {
        a for a in stack.operator.authorizations() if a != f"authorization: Bearer {OPERATOR_TOKEN}"
    }
    assert len(people) >= 2, stack.operator.authorizations()
    # ...and the added cluster never did: only the token pasted with it.
    assert stack.attacker.requests, "the added cluster was never asked anything"
    assert stack.attacker.authorizations() == {f"authorization: Bearer {PASTED_TOKEN}"}


@pytest.mark.binaries
def test_the_owner_and_admins_may_remove_and_the_file_records_the_owner(stack: Stack) -> None:
    carol = stack.sign_in("carol")
    text = kubeconfig("carols", stack.attacker.url, ca_pem=stack.attacker.cert_pem)
    try:
        assert post(carol, "/-/clusters/add", kubeconfig=text).status_code == 200
        stored = yaml.safe_load(Path(stack.tmp / "clusters.yaml").read_text())["clusters"]
        entry = next(e for e in stored if e["name"] == "carols")
        assert entry["owner"] == "carol" and entry["shared"] is False
        assert post(carol, "/-/clusters/carols/remove").json()["removed"] == "carols"
        assert "carols" not in names(carol)
    finally:
        carol.close()
