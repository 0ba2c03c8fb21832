"""The local token gate in-process (the real process is in tests/integration/test_desktop.py)."""

from __future__ import annotations

import socket

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from kubelantern import desktop
from kubelantern.app import create_app
from kubelantern.settings import Settings


@pytest.fixture
def client() -> TestClient:
    app = create_app(Settings(base_url="/kl"), clusters=[], local_token="sekret")
    return TestClient(app, follow_redirects=False)


def test_websockets_need_the_cookie_too(client: TestClient) -> None:
    with (
        pytest.raises(WebSocketDisconnect) as exc,
        client.websocket_connect("/kl/c/x/namespaces/a/pods/p/exec"),
    ):
        pass
    assert exc.value.code == 1008


def test_cookie_path_follows_the_base_url(client: TestClient) -> None:
    welcome = client.get("/kl/?token=sekret")
    assert welcome.status_code == 303 and welcome.headers["location"] == "/kl/"
    assert "Path=/kl;" in welcome.headers["set-cookie"]
    assert client.get("/kl/clusters.json").status_code == 200  # the cookie jar has it now
    assert client.get("/healthz").status_code == 200


def test_bind_falls_back_to_a_free_port_only_when_allowed() -> None:
    holder = desktop.bind("127.0.0.1", 0, fallback=False)
    taken = holder.getsockname()[1]
    try:
        moved = desktop.bind("127.0.0.1", taken, fallback=True)
        assert moved.getsockname()[1] not in (taken, 0)
        moved.close()
        with pytest.raises(OSError):
            desktop.bind("127.0.0.1", taken, fallback=False)
    finally:
        holder.close()
    assert isinstance(holder, socket.socket)


def test_a_malformed_unrelated_cookie_keeps_the_desktop_key(client: TestClient) -> None:
    client.get("/kl/?token=sekret")
    key = client.cookies.get("kl_local")
    assert key
    client.cookies.clear()
    bad = {"Cookie": f'tracker=a b"c; bad{{=1; kl_local={key}'}
    assert client.get("/kl/clusters.json", headers=bad).status_code == 200
    assert client.get("/kl/clusters.json", headers={"Cookie": 'tracker=a b"c'}).status_code != 200
