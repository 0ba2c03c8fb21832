"""Fixtures: the real control plane (testenv/cluster), the app, a real server process.

The control plane is started once per test session (``testenv/cluster up``
then ``seed``) and stopped at the end. Set ``KUBELANTERN_TEST_KEEP=1`` to leave
it running for the next run, which then reuses it (a warm start is seconds).
"""

from __future__ import annotations

import gc
import os
import socket
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from kubelantern.app import create_app
from kubelantern.settings import Settings
from tests.processkit import Started, start_process
from tests.processkit import wait_until as wait_until  # re-exported: tests import it here

ROOT = Path(__file__).resolve().parent.parent
CLUSTER_SCRIPT = ROOT / "testenv" / "cluster"
TEST_CLUSTER = os.environ.get("KUBELANTERN_TEST_CLUSTER", "kl-test")
USERS = ("admin", "alice", "bob", "carol", "kubelantern")


def run_cluster(*args: str, timeout: float = 3600) -> str:
    """Run testenv/cluster; on failure show its output in the test report."""
    no_go_binaries(f"testenv/cluster {args[0]}")
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


@dataclass(frozen=True)
class ServerProcess:
    """A running ``kubelantern serve``: its URL (with any base URL) and its process."""

    url: str
    proc: subprocess.Popen[bytes]
    log: Path | None = None  # stdout and stderr, shown when it fails

    def started(self) -> Started:
        return Started(name="kubelantern serve", popen=self.proc, log=self.log or Path("-"))


def start_server(
    *args: str,
    env: dict[str, str] | None = None,
    log_dir: Path | None = None,
    name: str = "kubelantern-serve",
    timeout: float = 120,
    ready_path: str = "/clusters.json",
) -> ServerProcess:
    """Start the real ``kubelantern serve`` process and wait until it answers.

    If it exits or does not answer within ``timeout`` the test fails with its
    log and the process is stopped (``processkit.wait_until``).
    """
    port = free_port()
    cmd = [sys.executable, "-m", "kubelantern", "serve", "--listen", f"127.0.0.1:{port}", *args]
    proc = start_process(name, cmd, log_dir=log_dir, env={**os.environ, **(env or {})})
    url = f"http://127.0.0.1:{port}"
    if "--base-url" in args:
        url += args[args.index("--base-url") + 1].rstrip("/")
    wait_until(
        lambda: http_ok(url + ready_path),
        timeout,
        f"{name} to answer",
        procs=[proc],
    )
    return ServerProcess(url=url, proc=proc.popen, log=proc.log)


def http_ok(url: str, **kwargs: Any) -> bool:
    """Whether ``url`` answers 200; connection errors propagate (``wait_until`` keeps them)."""
    return httpx.get(url, timeout=5, **kwargs).status_code == 200


def stop_server(server: ServerProcess) -> None:
    server.started().stop()


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


# Markers are facts about a test's fixtures, not something to remember to write
# (testenv/README.md, "Markers"): a test that uses one of these fixtures, directly
# or through another fixture, is marked ``cluster``; one that uses ``page``, ``browser``
# or a ``*_browser`` fixture (each launches Chromium) is marked ``browser``.
CLUSTER_FIXTURES = frozenset({"cluster", "auth_stack"})
AUTO_MARKERS = ("cluster", "browser")
FAST_ENV = "KUBELANTERN_TEST_FAST"  # set by `make test-fast`: no Go binaries, no control plane


# ResourceWarning is an error (pyproject.toml) everywhere but in tests that use the
# API server. Their own clients are closed (the auth stack closes the signed-in
# clients it handed out after each test, in-process apps run inside their
# lifespan), but one socket of a synchronous TLS client is still left to the
# garbage collector (collected in tests/integration/test_live.py). Their garbage
# is collected in their own teardown (collect_cluster_garbage), so it cannot
# fail the next, plain test.
CLUSTER_RESOURCE_WARNINGS = "ignore::ResourceWarning"
CLUSTER_TESTS_RAN: list[str] = []


@pytest.fixture(autouse=True)
def collect_cluster_garbage(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a ``cluster`` test, collect what it left while its warning filter applies."""
    yield
    if "auth_stack" in request.fixturenames:
        request.getfixturevalue("auth_stack").close_clients()
    if request.node.get_closest_marker("cluster") is not None:
        CLUSTER_TESTS_RAN.append(request.node.nodeid)
        gc.collect()


@pytest.fixture(scope="session", autouse=True)
def collect_session_garbage() -> Iterator[None]:
    """At the very end (after the session fixtures), collect what ``cluster`` tests left.

    Requested first, so torn down last: the session's servers and clients are
    closed by then, and nothing they leave reaches pytest's final collection.
    """
    yield
    if not CLUSTER_TESTS_RAN:  # the fast tier: a leak found at the end still fails
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


def uses_browser(names: Iterable[str]) -> bool:
    return any(n in ("page", "browser") or n.endswith("_browser") for n in names)


def honest_markers(item: pytest.Item) -> set[str]:
    """The automatic markers ``item`` deserves, from its fixture closure."""
    names = set(getattr(item, "fixturenames", ()))
    found = set()
    if names & CLUSTER_FIXTURES:
        found.add("cluster")
    if uses_browser(names):
        found.add("browser")
    return found


def no_go_binaries(what: str) -> None:
    """Fail a test in the fast tier that reaches for a Go binary without saying so.

    The fast tier (``make test-fast``) deselects ``cluster`` and ``binaries``
    tests; a test that still gets here is missing its ``binaries`` marker.
    """
    if os.environ.get(FAST_ENV) == "1":
        pytest.fail(
            f"{what} needs the Go binaries of testenv, which the fast tier does not have: "
            "mark the test @pytest.mark.binaries (or use the cluster fixture)",
            pytrace=False,
        )


@pytest.hookimpl(tryfirst=True)  # before -m deselects by these markers
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Derive the ``cluster``/``browser`` markers, then order the tests.

    A hand-written ``cluster`` or ``browser`` marker (say a module's
    ``pytestmark``) is replaced by what the fixtures say, so a module mixing
    API-server tests with plain ones never drags the plain ones out of the
    fast tier.

    Chromium tests run last, those with a Playwright of their own module
    first: Playwright's sync API keeps an asyncio loop running in the main
    thread while it is open, and code that calls ``asyncio.run`` after it
    would fail with "Already running asyncio in this thread"; a second sync
    Playwright cannot start either. tests/browser keeps one open for the rest
    of the session (its ``browser`` fixture), so the modules that open and
    close their own (tests/auth, tests/security) must run before it.
    """
    honest = {item.nodeid: honest_markers(item) for item in items}
    for item in items:
        for node in item.listchain():
            node.own_markers[:] = [m for m in node.own_markers if m.name not in AUTO_MARKERS]
    for item in items:
        for name in sorted(honest[item.nodeid]):
            item.add_marker(name)
        if "cluster" in honest[item.nodeid]:
            item.add_marker(pytest.mark.filterwarnings(CLUSTER_RESOURCE_WARNINGS))

    def order(item: pytest.Item) -> int:
        names = getattr(item, "fixturenames", ())
        if "browser" in names:
            return 2
        return 1 if "browser" in honest[item.nodeid] else 0

    items.sort(key=order)
