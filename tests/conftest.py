"""Fixtures: the real control plane (testenv/cluster), the app, a real server process.

The control plane is started once per test session (``testenv/cluster up``
then ``seed``) and stopped at the end. Set ``KUBELANTERN_TEST_KEEP=1`` to leave
it running for the next run, which then reuses it (a warm start is seconds).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from kubelantern.app import create_app
from kubelantern.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
CLUSTER_SCRIPT = ROOT / "testenv" / "cluster"
TEST_CLUSTER = os.environ.get("KUBELANTERN_TEST_CLUSTER", "kl-test")
USERS = ("admin", "alice", "bob", "carol", "kubelantern")


def run_cluster(*args: str, timeout: float = 3600) -> str:
    """Run testenv/cluster; on failure show its output in the test report."""
    proc = subprocess.run(
        [sys.executable, str(CLUSTER_SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"testenv/cluster {' '.join(args)} failed ({proc.returncode}):\n"
            f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        )
    return proc.stdout


@dataclass(frozen=True)
class RealCluster:
    """A running control plane and one kubeconfig per test user."""

    name: str
    kubeconfigs: dict[str, str]

    def kubeconfig(self, user: str = "admin") -> str:
        return self.kubeconfigs[user]


def start_cluster(name: str) -> RealCluster:
    run_cluster("up", "--name", name)
    run_cluster("seed", "--name", name)
    configs = {
        user: run_cluster("kubeconfig", "--name", name, "--user", user).strip().splitlines()[-1]
        for user in USERS
    }
    return RealCluster(name=name, kubeconfigs=configs)


@pytest.fixture(scope="session")
def cluster() -> Iterator[RealCluster]:
    tc = start_cluster(TEST_CLUSTER)
    yield tc
    if os.environ.get("KUBELANTERN_TEST_KEEP") != "1":
        run_cluster("down", "--name", tc.name)


def make_settings(kubeconfig: str, **kwargs: object) -> Settings:
    return Settings(kubeconfig=(kubeconfig,), **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def client_for(cluster: RealCluster) -> Iterator[Callable[[str], TestClient]]:
    """An in-process client of an app that talks to the cluster as the given user."""
    clients: dict[str, TestClient] = {}

    def get(user: str) -> TestClient:
        if user not in clients:
            app = create_app(make_settings(cluster.kubeconfig(user)))
            tc = TestClient(app, raise_server_exceptions=False)
            tc.__enter__()
            clients[user] = tc
        return clients[user]

    yield get
    for tc in clients.values():
        tc.__exit__(None, None, None)


@pytest.fixture
def admin(client_for: Callable[[str], TestClient]) -> TestClient:
    return client_for("admin")


@pytest.fixture
def bob(client_for: Callable[[str], TestClient]) -> TestClient:
    return client_for("bob")


@pytest.fixture
def alice(client_for: Callable[[str], TestClient]) -> TestClient:
    return client_for("alice")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(check: Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> None:
    """Poll ``check`` until it is true; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():
                return
        except Exception:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.05)


@dataclass(frozen=True)
class ServerProcess:
    url: str
    proc: subprocess.Popen[bytes]


def start_server(*args: str, env: dict[str, str] | None = None) -> ServerProcess:
    """Start the real ``kubelantern serve`` process and wait until it answers."""
    port = free_port()
    cmd = [sys.executable, "-m", "kubelantern", "serve", "--listen", f"127.0.0.1:{port}", *args]
    # Output goes to a file: a pipe nobody reads would block a chatty server.
    with tempfile.NamedTemporaryFile(
        prefix="kubelantern-serve-", suffix=".log", delete=False
    ) as log:
        proc = subprocess.Popen(cmd, env={**os.environ, **(env or {})}, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    prefix = ""
    if "--base-url" in args:
        prefix = args[args.index("--base-url") + 1].rstrip("/")

    def ready() -> bool:
        if proc.poll() is not None:
            out = Path(log.name).read_text(errors="replace")
            raise RuntimeError(f"kubelantern serve exited early:\n{out[-4000:]}")
        return httpx.get(url + prefix + "/clusters.json", timeout=2).status_code == 200

    wait_until(ready, 90, "kubelantern serve to answer")
    return ServerProcess(url=url + prefix, proc=proc)


def stop_server(server: ServerProcess) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(10)
    except subprocess.TimeoutExpired:
        server.proc.kill()
        server.proc.wait()


@pytest.fixture(scope="session")
def server(cluster: RealCluster) -> Iterator[ServerProcess]:
    srv = start_server("--kubeconfig", cluster.kubeconfig("admin"))
    yield srv
    stop_server(srv)


@pytest.fixture(scope="session")
def auth_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Real OAuth2 Proxy + OIDC provider + API server trusting it (tests/auth/conftest.py)."""
    from tests.auth.conftest import run_auth_stack  # it imports this module

    yield from run_auth_stack(tmp_path_factory)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run Chromium tests last, those with a Playwright of their own module first.

    Playwright's sync API keeps an asyncio loop running in the main thread
    while it is open, and code that calls ``asyncio.run`` after it would fail
    with "Already running asyncio in this thread"; a second sync Playwright
    cannot start either. tests/browser keeps one open for the rest of the
    session (its ``browser`` fixture), so the modules that open and close
    their own (tests/auth, tests/security) must run before it.
    """

    def order(item: pytest.Item) -> int:
        names = getattr(item, "fixturenames", ())
        if "browser" in names:
            return 2
        uses = "page" in names or item.get_closest_marker("browser") is not None
        return 1 if uses else 0

    items.sort(key=order)
