"""The terminal against the real control plane: browser WebSocket -> Kubelantern ->
apiserver exec/attach (v5/v4.channel.k8s.io) -> kwok's kubelet, which runs the
command on this machine (ClusterExec) and serves attach from the pods' log file."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson
import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from websockets.sync.client import ClientConnection, connect

from kubelantern.clusters.kubeconfig import load_files
from kubelantern.clusters.store import ClusterStore
from kubelantern.streams.remote import STDOUT, open_channel
from kubelantern.web.views import exec as exec_views
from tests.conftest import RealCluster, ServerProcess, wait_until
from tests.streamkit import append_log, open_streams, web_pods

pytestmark = pytest.mark.timeout(120)

NS = "team-a"


@pytest.fixture(scope="module")
def pod(cluster: RealCluster) -> str:
    return web_pods(cluster)[0]


def path(cluster: RealCluster, pod: str, action: str = "exec", ns: str = NS, **q: Any) -> str:
    query = urlencode({"container": "nginx", **q}, doseq=True)
    return f"/c/{cluster.name}/namespaces/{ns}/pods/{pod}/{action}?{query}"


# --- through the real `kubelantern serve` process ----------------------------------


@contextmanager
def terminal(server: ServerProcess, url: str, cols: int = 80, rows: int = 24) -> Iterator[Any]:
    """A browser-like session: the page's cookie and CSRF token, then the hello."""
    token = httpx.get(server.url + "/clusters.json").cookies["kl_csrf"]
    ws_url = "ws" + server.url[len("http") :] + url
    with connect(
        ws_url,
        additional_headers={"Cookie": f"kl_csrf={token}", "Origin": server.url},
        open_timeout=10,
    ) as ws:
        ws.send(orjson.dumps({"type": "hello", "csrf": token, "cols": cols, "rows": rows}).decode())
        yield ws


class Screen:
    """What the browser got: output bytes and JSON events."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.output = b""
        self.events: list[dict[str, Any]] = []

    def read_until(self, done: Callable[[Screen], bool], timeout: float = 15) -> Screen:
        deadline = time.monotonic() + timeout
        while not done(self):
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"output so far: {self.output!r}, events: {self.events}")
            message = self.ws.recv(timeout=left)
            if isinstance(message, bytes):
                self.output += message
            else:
                self.events.append(orjson.loads(message))
        return self

    def event(self, kind: str) -> dict[str, Any]:
        return next(e for e in self.events if e["type"] == kind)

    def has(self, kind: str) -> bool:
        return any(e["type"] == kind for e in self.events)


def test_exec_runs_a_command_and_shows_its_output(
    server: ServerProcess, cluster: RealCluster, pod: str
) -> None:
    # No TTY: kwok's pty copier may lose the output of a command that exits at once.
    url = path(cluster, pod, command=["sh", "-c", "echo hi-$((6*7))"], tty="0")
    with terminal(server, url) as ws:
        screen = Screen(ws).read_until(lambda s: s.has("exit"))
    connected = screen.event("connected")
    assert connected["protocol"] == "v5.channel.k8s.io"
    assert connected["command"] == ["sh", "-c", "echo hi-$((6*7))"]
    assert b"hi-42" in screen.output
    assert screen.event("exit") | {"message": ""} == {
        "type": "exit",
        "success": True,
        "exitCode": 0,
        "message": "",
        "reason": "",
    }


def until_size(ws: ClientConnection, screen: Screen, size: bytes) -> None:
    """Ask ``stty size`` until the pty has ``size``: a resize travels on its own
    stream (channel 4), so it may land just after the next keystrokes."""
    deadline = time.monotonic() + 15
    while size not in screen.output:
        assert time.monotonic() < deadline, f"pty never got {size!r}: {screen.output!r}"
        ws.send(b"stty size\n")
        with suppress(TimeoutError):
            screen.read_until(lambda s: size in s.output, 1)


def test_interactive_shell_with_stdin_and_resize(
    server: ServerProcess, cluster: RealCluster, pod: str
) -> None:
    with terminal(server, path(cluster, pod, shell="/bin/sh"), cols=100, rows=30) as ws:
        screen = Screen(ws).read_until(lambda s: s.has("connected"))
        ws.send(b"echo mark-$((2+3))\n")
        screen.read_until(lambda s: b"mark-5" in s.output)
        until_size(ws, screen, b"30 100")  # the hello's size
        ws.send(orjson.dumps({"type": "resize", "cols": 120, "rows": 40}).decode())
        until_size(ws, screen, b"40 120")
        ws.send(b"exit 0\n")
        screen.read_until(lambda s: s.has("exit"))
    assert screen.event("exit")["success"] is True


def test_failing_command_reports_its_status(
    server: ServerProcess, cluster: RealCluster, pod: str
) -> None:
    with terminal(server, path(cluster, pod, command=["sh", "-c", "exit 3"], tty="0")) as ws:
        screen = Screen(ws).read_until(lambda s: s.has("exit"))
    end = screen.event("exit")
    assert end["success"] is False
    # kwok reports "exit status 3" as an InternalError; a real kubelet sends
    # NonZeroExitCode with the code, which arrives as exitCode (unit-tested).
    assert "exit status 3" in end["message"]


def test_attach_shows_new_output_and_ends_with_the_tab(
    server: ServerProcess, cluster: RealCluster, pod: str
) -> None:
    line = f"kl-attach-{uuid.uuid4().hex[:8]}"
    before = open_streams(cluster, "attach")
    with terminal(server, path(cluster, pod, action="attach")) as ws:
        screen = Screen(ws).read_until(lambda s: s.has("connected"))
        assert screen.event("connected")["stdin"] is False
        # v4 first: with v5 the API server keeps an attach open after the client left.
        assert screen.event("connected")["protocol"] == "v4.channel.k8s.io"
        wait_until(lambda: open_streams(cluster, "attach") > before, 15, "the upstream attach")
        append_log(cluster, line)
        screen.read_until(lambda s: line.encode() in s.output)
    wait_until(lambda: open_streams(cluster, "attach") <= before, 15, "the attach to be closed")


def test_closing_the_tab_closes_the_upstream_exec(
    server: ServerProcess, cluster: RealCluster, pod: str
) -> None:
    """The API server keeps an exec open until the remote process ends; closing the tab
    closes our socket and hangs up the shell (Ctrl-D at its prompt), so both end."""
    before = open_streams(cluster, "exec")
    with terminal(server, path(cluster, pod, shell="/bin/sh")) as ws:
        Screen(ws).read_until(lambda s: s.has("connected"))
        wait_until(lambda: open_streams(cluster, "exec") > before, 15, "the upstream exec")
    wait_until(lambda: open_streams(cluster, "exec") <= before, 15, "the upstream to be closed")


def test_cross_site_page_cannot_open_a_shell(
    server: ServerProcess, cluster: RealCluster, pod: str
) -> None:
    token = httpx.get(server.url + "/clusters.json").cookies["kl_csrf"]
    ws_url = "ws" + server.url[len("http") :] + path(cluster, pod)
    with pytest.raises(Exception, match="HTTP 403"):
        connect(
            ws_url,
            additional_headers={"Cookie": f"kl_csrf={token}", "Origin": "https://evil.example"},
        )


# --- in process (TestClient) -------------------------------------------------------


def csrf(client: TestClient) -> str:
    client.get("/clusters.json")
    return str(client.cookies["kl_csrf"])


def messages(ws: Any) -> tuple[bytes, list[dict[str, Any]], int]:
    """Everything until the server closes: output, events, close code."""
    output = b""
    events: list[dict[str, Any]] = []
    while True:
        message = ws.receive()
        if message["type"] == "websocket.close":
            return output, events, int(message.get("code", 1000))
        if message.get("bytes") is not None:
            output += message["bytes"]
        else:
            events.append(orjson.loads(message["text"]))


def test_bad_csrf_token_is_refused(admin: TestClient, cluster: RealCluster, pod: str) -> None:
    csrf(admin)
    with admin.websocket_connect(path(cluster, pod)) as ws:
        ws.send_text(orjson.dumps({"type": "hello", "csrf": "forged"}).decode())
        _, events, code = messages(ws)
    assert code == 1008
    assert events[0]["type"] == "error" and events[0]["title"] == "Request refused (CSRF)"


def test_auto_shell_falls_back_to_sh(
    admin: TestClient, cluster: RealCluster, pod: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exec_views, "AUTO_SHELLS", (("/no/such/shell",), ("/bin/sh",)))
    token = csrf(admin)
    with admin.websocket_connect(path(cluster, pod)) as ws:
        ws.send_text(orjson.dumps({"type": "hello", "csrf": token}).decode())
        seen: list[dict[str, Any]] = []
        while sum(e["type"] == "connected" for e in seen) < 2:
            message = ws.receive()
            if message.get("text"):
                seen.append(orjson.loads(message["text"]))
        ws.send_bytes(b"echo fb-$((2*3))\n")
        output = b""
        while b"fb-6" not in output:
            output += ws.receive().get("bytes") or b""
        ws.send_bytes(b"exit\n")
        _, events, code = messages(ws)
    assert [e["command"] for e in seen if e["type"] == "connected"] == [
        ["/no/such/shell"],
        ["/bin/sh"],
    ]
    info = next(e for e in seen if e["type"] == "info")
    assert info["message"] == "/no/such/shell is not in this container; trying /bin/sh"
    assert b"fb-6" in output and events[-1]["type"] == "exit" and code == 1000


def test_bob_may_not_exec(
    client_for: Callable[[str], TestClient], cluster: RealCluster, pod: str
) -> None:
    bob = client_for("bob")
    data = bob.get(path(cluster, pod), headers={"Accept": "application/json"}).json()
    assert data["access"]["exec"]["allowed"] is False
    assert data["problem"] == "RBAC does not let you create pods/exec in namespace team-a"
    page = bob.get(path(cluster, pod))
    assert "data-refused" in page.text and "data-terminal" not in page.text
    token = csrf(bob)
    with bob.websocket_connect(path(cluster, pod)) as ws:
        ws.send_text(orjson.dumps({"type": "hello", "csrf": token}).decode())
        _, events, code = messages(ws)
    (error,) = events
    assert code == 4403 and error["status"] == 403
    assert error["refused"] == "create pods/exec in namespace team-a"
    assert "is forbidden" in error["message"] and 'resource "pods/exec"' in error["message"]


def test_alice_may_exec_in_team_a_only(
    client_for: Callable[[str], TestClient], cluster: RealCluster, pod: str
) -> None:
    alice = client_for("alice")
    data = alice.get(path(cluster, pod), headers={"Accept": "application/json"}).json()
    assert data["access"]["exec"]["allowed"] is True and data["problem"] == ""
    token = csrf(alice)
    with alice.websocket_connect(path(cluster, pod, command=["echo", "alice-ok"], tty="0")) as ws:
        ws.send_text(orjson.dumps({"type": "hello", "csrf": token}).decode())
        output, events, _ = messages(ws)
    assert b"alice-ok" in output and events[-1]["success"] is True

    team_b = f"/c/{cluster.name}/namespaces/team-b/pods/api-0/exec?container=api"
    assert alice.get(team_b, headers={"Accept": "application/json"}).status_code == 403
    with alice.websocket_connect(team_b) as ws:
        ws.send_text(orjson.dumps({"type": "hello", "csrf": token}).decode())
        _, events, code = messages(ws)
    assert code == 4403 and events[0]["refused"] == "create pods/exec in namespace team-b"


def test_unknown_pod_and_container(admin: TestClient, cluster: RealCluster, pod: str) -> None:
    r = admin.get(path(cluster, pod, container="nope"), headers={"Accept": "application/json"})
    assert r.status_code == 400 and "no running container 'nope'" in r.json()["error"]["message"]
    token = csrf(admin)
    with admin.websocket_connect(path(cluster, "no-such-pod", action="attach")) as ws:
        ws.send_text(orjson.dumps({"type": "hello", "csrf": token}).decode())
        _, events, code = messages(ws)
    assert code == 4404 and events[0]["status"] == 404


def test_origin_check_happens_before_accept(admin: TestClient, cluster: RealCluster) -> None:
    with (
        pytest.raises(WebSocketDisconnect),
        admin.websocket_connect(
            path(cluster, "x"), headers={"Origin": "https://evil.example"}
        ) as ws,
    ):
        ws.receive()


# --- the channel protocol directly ---------------------------------------------------


def test_v4_channel_protocol_works_too(cluster: RealCluster, pod: str) -> None:
    """Servers without v5 answer v4; the same session code speaks it."""

    async def run() -> tuple[str, bytes]:
        store = ClusterStore()
        (config,) = load_files([cluster.kubeconfig("admin")])
        c = store.add(config)
        out = b""
        try:
            async with open_channel(
                c,
                None,
                NS,
                pod,
                action="exec",
                container="nginx",
                command=["echo", "v4-ok"],
                stdin=False,
                tty=False,
                protocols=[("v4.channel.k8s.io",)],
            ) as session:
                async for channel, data in session.frames():
                    if channel == STDOUT:
                        out += data
                return session.protocol, out
        finally:
            await store.aclose()

    protocol, out = asyncio.run(run())
    assert protocol == "v4.channel.k8s.io" and out == b"v4-ok\n"


def test_detail_page_offers_only_what_rbac_allows(
    client_for: Callable[[str], TestClient], cluster: RealCluster, pod: str
) -> None:
    base = f"/c/{cluster.name}/namespaces/{NS}/pods/{pod}"
    assert f'hx-get="{base}/logs/links"' in client_for("admin").get(base).text
    alice = client_for("alice").get(base + "/logs/links").text
    assert 'data-action="logs"' in alice and 'data-action="exec"' in alice
    bob = client_for("bob").get(base + "/logs/links").text
    assert 'data-action="logs"' in bob
    assert 'data-action="exec"' not in bob and 'data-denied="exec"' in bob
    assert "RBAC does not let you create pods/exec in namespace team-a" in bob


def test_terminal_and_logs_under_a_base_url(cluster: RealCluster, pod: str) -> None:
    from kubelantern.app import create_app
    from tests.conftest import make_settings

    app = create_app(make_settings(cluster.kubeconfig("admin"), base_url="/kl"))
    with TestClient(app) as client:
        page = client.get("/kl" + path(cluster, pod))
        assert (
            f'data-socket-url="/kl/c/{cluster.name}/namespaces/{NS}/pods/{pod}/exec?' in page.text
        )
        logs = client.get(f"/kl/c/{cluster.name}/namespaces/{NS}/pods/{pod}/logs")
        assert f'data-stream-url="/kl/c/{cluster.name}/namespaces/{NS}/pods/{pod}/logs/stream?' in (
            logs.text
        )
        token = str(client.cookies["kl_csrf"])
        with client.websocket_connect(
            "/kl" + path(cluster, pod, command=["echo", "prefixed"], tty="0")
        ) as ws:
            ws.send_text(orjson.dumps({"type": "hello", "csrf": token}).decode())
            output, events, _ = messages(ws)
    assert output == b"prefixed\n" and events[-1]["success"] is True


def test_shell_sessions_are_audited(
    client_for: Callable[[str], TestClient], cluster: RealCluster, pod: str
) -> None:
    admin, bob = client_for("admin"), client_for("bob")
    token = csrf(admin)
    with admin.websocket_connect(path(cluster, pod, command="echo", tty="0")) as ws:
        ws.send_text(orjson.dumps({"type": "hello", "csrf": token}).decode())
        messages(ws)
    mine = admin.get("/-/activity.json").json()["activity"]
    session = next(e for e in mine if e["resource"] == "pods/exec" and e["name"] == pod)
    assert session["result"] == "ok" and session["verb"] == "create"
    token = csrf(bob)
    with bob.websocket_connect(path(cluster, pod)) as ws:
        ws.send_text(orjson.dumps({"type": "hello", "csrf": token}).decode())
        messages(ws)
    refused = bob.get("/-/activity.json").json()["activity"]
    assert any(e["resource"] == "pods/exec" and e["status"] == 403 for e in refused)
