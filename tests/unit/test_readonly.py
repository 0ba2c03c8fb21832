"""The read-only switches: settings, and the guard in front of every route."""

from __future__ import annotations

from starlette.testclient import TestClient

from kubelantern import settings
from kubelantern.app import create_app
from kubelantern.cli import build_parser
from kubelantern.operate.readonly import is_read_only
from kubelantern.settings import Settings


def test_flag_and_env() -> None:
    args = build_parser().parse_args(["serve", "--read-only"])
    assert settings.resolve(args, environ={}).read_only is True
    env = {"KUBELANTERN_READ_ONLY": "true", "KUBELANTERN_READ_ONLY_CLUSTERS": "prod:staging"}
    cfg = settings.resolve(build_parser().parse_args(["serve"]), environ=env)
    assert cfg.read_only is True and cfg.read_only_clusters == ("prod", "staging")
    args = build_parser().parse_args(["serve", "--read-only-clusters", "prod"])
    assert settings.resolve(args, environ={}).read_only_clusters == ("prod",)


def test_which_clusters_are_read_only() -> None:
    assert is_read_only(Settings(read_only=True), "any")
    assert is_read_only(Settings(read_only_clusters=("prod",)), "prod")
    assert not is_read_only(Settings(read_only_clusters=("prod",)), "dev")
    assert not is_read_only(Settings(), "prod")


def test_guard_refuses_writes_before_any_handler() -> None:
    tc = TestClient(create_app(Settings(read_only_clusters=("prod",)), clusters=[]))
    tc.get("/")
    headers = {"X-CSRF-Token": tc.cookies["kl_csrf"], "Accept": "application/json"}
    r = tc.post("/c/prod/-/create", json={"yaml": "a: 1"}, headers=headers)
    assert r.status_code == 403 and r.json()["error"]["title"] == "Read-only"
    r = tc.post("/c/dev/-/create", json={"yaml": "a: 1"}, headers=headers)
    assert r.status_code == 404  # not read-only: reaches the handler (no such cluster)
    assert tc.get("/c/prod/").status_code == 404  # reads pass the guard
