"""Operations, with the real ``kubelantern serve`` process against the real API server.

/healthz, /readyz and /metrics (open to probes whatever the sign-in mode),
request ids on every log line of a request, streams that end cleanly on
SIGTERM, and the config file with its precedence and ``config check``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from tests.conftest import (
    RealCluster,
    ServerProcess,
    free_port,
    start_server,
    stop_server,
    wait_until,
)


def dead_kubeconfig(tmp: Path) -> str:
    """A cluster nobody answers for (a closed port)."""
    path = tmp / "dead.yaml"
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "dead",
                "cluster": {
                    "server": f"https://127.0.0.1:{free_port()}",
                    "insecure-skip-tls-verify": True,
                },
            }
        ],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "dead", "context": {"cluster": "dead", "user": "u"}}],
    }
    path.write_text(yaml.safe_dump(doc))
    return str(path)


LOGS: dict[int, Path] = {}


def output(server: ServerProcess) -> str:
    """Everything a ``launch``-ed process printed."""
    return LOGS[server.proc.pid].read_text(errors="replace")


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text format (0 if absent)."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


@pytest.fixture(scope="module")
def signed_in_server(cluster: RealCluster) -> Iterator[ServerProcess]:
    """Impersonate mode: pages need a proxy's identity; ops endpoints must not."""
    srv = start_server(
        "--kubeconfig",
        cluster.kubeconfig("admin"),
        "--auth-mode",
        "impersonate",
        "--trusted-proxies",
        "10.99.0.0/16",  # never the test client: every identity header is refused
        "--log-format",
        "json",
    )
    yield srv
    stop_server(srv)


def launch(*args: str, env: dict[str, str] | None = None) -> ServerProcess:
    """``kubelantern serve`` on a free port, ready when /healthz answers (any base URL).

    Its output goes to a file (``output()`` reads it), never to a pipe nobody reads.
    """
    srv = start_server(*args, env=env, name="kl-ops", ready_path="/healthz")
    assert srv.log is not None
    LOGS[srv.proc.pid] = srv.log
    return srv


def test_ops_endpoints_answer_without_sign_in(
    signed_in_server: ServerProcess, cluster: RealCluster
) -> None:
    url = signed_in_server.url
    assert httpx.get(f"{url}/c/{cluster.name}/pods.json").status_code in (401, 403)
    health = httpx.get(url + "/healthz")
    assert (health.status_code, health.text) == (200, "ok\n")
    wait_until(lambda: httpx.get(url + "/readyz").status_code == 200, 30, "/readyz")
    verbose = httpx.get(url + "/readyz?verbose").text
    assert "[+]config ok" in verbose and "readyz check passed" in verbose
    scraped = httpx.get(url + "/metrics")
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain")
    assert "kubelantern_build_info" in scraped.text
    # Never secrets: no server addresses, tokens or users in what the probes see.
    for text in (
        verbose,
        scraped.text,
        httpx.get(url + "/readyz", headers={"Accept": "application/json"}).text,
    ):
        assert "127.0.0.1:" not in text and "token" not in text.lower()


def test_request_id_is_on_every_log_line_of_the_request(cluster: RealCluster) -> None:
    srv = launch(
        "--kubeconfig",
        cluster.kubeconfig("admin"),
        "--auth-mode",
        "impersonate",
        "--trusted-proxies",
        "10.99.0.0/16",
        "--log-format",
        "json",
    )
    try:
        # A forged identity from an untrusted client: a warning inside the request.
        forged = httpx.get(srv.url + "/clusters.json", headers={"X-Forwarded-User": "admin"})
        assert forged.status_code == 403
        rid = forged.headers["x-request-id"]
        given = httpx.get(srv.url + "/healthz-not", headers={"X-Request-Id": "ingress-abc-123"})
        assert given.headers["x-request-id"] == "ingress-abc-123"
    finally:
        stop_server(srv)
    lines = [json.loads(line) for line in output(srv).splitlines() if line.startswith("{")]
    mine = [line for line in lines if line.get("request_id") == rid]
    loggers = {line["logger"] for line in mine}
    assert {"kubelantern.auth.identity", "kubelantern.access"} <= loggers, mine
    assert any(line.get("request_id") == "ingress-abc-123" for line in lines)


def test_readiness_can_require_every_cluster(cluster: RealCluster, tmp_path: Path) -> None:
    dead = dead_kubeconfig(tmp_path)
    args = ("--kubeconfig", cluster.kubeconfig("admin"), "--kubeconfig", dead)
    strict = start_server(*args, "--require-clusters")
    lenient = start_server(*args)
    try:
        wait_until(
            lambda: "cluster dead: unreachable" in httpx.get(strict.url + "/readyz?verbose").text,
            30,
            "the dead cluster's first probe",
        )
        answer = httpx.get(strict.url + "/readyz", headers={"Accept": "application/json"})
        assert answer.status_code == 503
        body = answer.json()
        assert body["checks"]["clusters"] is False
        assert body["clusters"] == {cluster.name: True, "dead": False}
        assert httpx.get(lenient.url + "/readyz").status_code == 200  # not required: ready
        scraped = httpx.get(strict.url + "/metrics").text
        assert metric(scraped, "kubelantern_cluster_reachable", cluster="dead") == 0
        assert (
            metric(scraped, "kubelantern_apiserver_requests_total", cluster="dead", status="error")
            >= 1
        )
    finally:
        stop_server(strict)
        stop_server(lenient)


def test_metrics_count_requests_api_calls_and_streams(
    server: ServerProcess, cluster: RealCluster
) -> None:
    url = server.url
    c = cluster.name
    assert httpx.get(f"{url}/c/{c}/namespaces/team-a/pods.json").status_code == 200
    assert httpx.get(f"{url}/c/{c}/no-such-kind.json").status_code == 404
    scraped = httpx.get(url + "/metrics").text
    route = "/c/{cluster}/namespaces/{namespace}/{resource}"
    assert metric(scraped, "kubelantern_http_requests_total", route=route, status="200") >= 1
    assert (
        metric(
            scraped,
            "kubelantern_http_requests_total",
            route="/c/{cluster}/{resource}",
            status="404",
        )
        >= 1
    )
    assert metric(scraped, "kubelantern_http_request_duration_seconds_count", route=route) >= 1
    assert (
        metric(
            scraped, "kubelantern_apiserver_requests_total", cluster=c, method="GET", status="200"
        )
        >= 1
    )
    assert "kubelantern_plugin_errors" in scraped  # defined for plugins to count into

    def gauges() -> tuple[float, float]:
        text = httpx.get(url + "/metrics").text
        return (
            metric(text, "kubelantern_open_streams", kind="sse"),
            metric(text, "kubelantern_open_streams", kind="apiserver-watch"),
        )

    before = gauges()
    watch = f"{url}/c/{c}/-/watch?resource=pods&namespaces=team-a"
    with httpx.stream("GET", watch, timeout=30) as stream:
        lines = stream.iter_lines()
        assert next(lines).startswith("retry:")
        wait_until(lambda: gauges() >= (before[0] + 1, before[1] + 1), 10, "the stream gauges")
    wait_until(lambda: gauges() == before, 30, "the stream gauges to drop back")


def test_sigterm_ends_open_streams_cleanly(cluster: RealCluster) -> None:
    srv = launch("--kubeconfig", cluster.kubeconfig("admin"))
    watch = f"{srv.url}/c/{cluster.name}/-/watch?resource=pods&namespaces=team-a"
    try:
        with httpx.stream("GET", watch, timeout=30) as stream:
            lines = stream.iter_lines()
            assert next(lines).startswith("retry:")
            srv.proc.send_signal(signal.SIGTERM)
            # The stream ends as a complete HTTP response: iterating raises nothing.
            rest = list(lines)
        assert not any("problem" in line for line in rest)
        # Well inside uvicorn's 5 s graceful limit: nothing was left to cancel.
        # (uvicorn re-raises the captured SIGTERM once it has shut down cleanly.)
        assert srv.proc.wait(4) in (0, -signal.SIGTERM)
    finally:
        stop_server(srv)
    log = output(srv)
    assert "ending 1 open stream" in log
    assert "Finished server process" in log
    assert "timeout graceful shutdown exceeded" not in log


@pytest.fixture
def config_path(tmp_path: Path, cluster: RealCluster) -> Path:
    path = tmp_path / "kubelantern.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "kubeconfig": [cluster.kubeconfig("admin")],
                "listen": "127.0.0.1:1",  # the test's --listen flag must win
                "base-url": "/from-file",
                "log_format": "json",
                "clusters": {cluster.name: {"read_only": True}},
            }
        )
    )
    return path


def test_config_file_flag_env_precedence(config_path: Path, cluster: RealCluster) -> None:
    # The file says base URL /from-file and listen 127.0.0.1:1; launch's --listen
    # flag wins over the file, KUBELANTERN_BASE_URL wins over the file.
    srv = launch("--config", str(config_path), env={"KUBELANTERN_BASE_URL": "/from-env"})
    try:
        assert httpx.get(srv.url + "/from-env/clusters.json").status_code == 200
        assert httpx.get(srv.url + "/from-file/clusters.json").status_code == 404
        # per-cluster settings from the file: this cluster is read-only
        write = httpx.post(
            f"{srv.url}/from-env/c/{cluster.name}/namespaces/team-a/configmaps/x/delete",
            headers={"X-CSRF-Token": "t", "Cookie": "kl_csrf=t", "Accept": "application/json"},
        )
        assert write.status_code == 403 and "read-only" in write.text, write.text
    finally:
        stop_server(srv)
    srv = launch("--config", str(config_path))
    try:
        assert httpx.get(srv.url + "/from-file/clusters.json").status_code == 200
    finally:
        stop_server(srv)
    log_lines = [line for line in output(srv).splitlines() if line.strip()]
    assert any(line.startswith("{") for line in log_lines)  # log_format json, from the file


def config_check(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kubelantern", "config", "check", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "KUBECONFIG": "", **(env or {})},
    )


def test_config_check_accepts_a_good_file(config_path: Path) -> None:
    proc = config_check("--config", str(config_path))
    assert proc.returncode == 0, proc.stderr
    assert "OK" in proc.stdout


def test_config_check_lists_every_problem(tmp_path: Path, cluster: RealCluster) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        yaml.safe_dump(
            {
                "kubeconfig": [str(tmp_path / "missing.yaml")],
                "base_urll": "/x",
                "page_size": "many",
                "log_format": "xml",
                "auth_mode": "impersonate",
                "clusters": {"prod": {"auth_mode": "magic", "colour": "red"}},
            }
        )
    )
    proc = config_check("--config", str(bad))
    assert proc.returncode == 1
    err = proc.stderr
    for expected in (
        "base_urll: unknown setting (did you mean 'base_url'?)",
        "page_size: expected a whole number",
        "log_format: 'xml' is not one of text, json",
        "clusters.prod.auth_mode: 'magic' is not one of",
        "clusters.prod.colour: unknown per-cluster setting",
        "missing.yaml",  # the unreadable kubeconfig
        "auth mode 'impersonate' takes the user's identity from request headers",
    ):
        assert expected in err, err
    # env vars are checked too, and a file that does not exist is one clear problem
    proc = config_check(env={"KUBELANTERN_CONFIG": str(tmp_path / "nope.yaml")})
    assert proc.returncode == 1 and "cannot read the config file" in proc.stderr
    # serve refuses the same file at start, naming the problems
    serve = subprocess.run(
        [sys.executable, "-m", "kubelantern", "serve", "--config", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert serve.returncode != 0 and "base_urll: unknown setting" in serve.stderr
