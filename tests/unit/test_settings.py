from __future__ import annotations

import argparse
import asyncio

import pytest

from kubelantern import settings
from kubelantern.cli import build_parser
from kubelantern.clusters.client import ClusterClient, PoolLimits
from kubelantern.clusters.kubeconfig import ClusterConfig


def parse(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["serve", *argv])


def test_defaults() -> None:
    cfg = settings.resolve(parse(), environ={})
    assert cfg.listen == "127.0.0.1:4466"
    assert cfg.host == "127.0.0.1" and cfg.port == 4466
    assert cfg.base_url == "" and cfg.prefix == ""
    assert cfg.log_format == "text"


def test_every_flag_has_an_env_var() -> None:
    env = {
        "KUBELANTERN_KUBECONFIG": "/a:/b",
        "KUBELANTERN_CONTEXT": "prod",
        "KUBELANTERN_IN_CLUSTER": "true",
        "KUBELANTERN_LISTEN": "0.0.0.0:8080",
        "KUBELANTERN_BASE_URL": "/kl/",
        "KUBELANTERN_LOG_FORMAT": "json",
    }
    cfg = settings.resolve(parse(), environ=env)
    assert cfg.kubeconfig == ("/a", "/b")
    assert cfg.context == "prod"
    assert cfg.in_cluster is True
    assert cfg.port == 8080
    assert cfg.prefix == "/kl"
    assert cfg.log_format == "json"
    for option in settings.OPTIONS:
        assert option.env == "KUBELANTERN_" + option.name.upper()


def test_flags_win_over_env() -> None:
    args = parse("--kubeconfig", "/x", "--kubeconfig", "/y", "--listen", "127.0.0.1:1")
    cfg = settings.resolve(args, environ={"KUBELANTERN_LISTEN": "0.0.0.0:2"})
    assert cfg.kubeconfig == ("/x", "/y")
    assert cfg.port == 1


def test_bad_env_value_is_a_clear_error() -> None:
    with pytest.raises(settings.SettingsError, match="KUBELANTERN_LOG_FORMAT"):
        settings.resolve(parse(), environ={"KUBELANTERN_LOG_FORMAT": "xml"})


def test_kubeconfig_paths_follow_kubectl(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", "/one:/two")
    assert settings.Settings().kubeconfig_paths() == ["/one", "/two"]
    assert settings.Settings(kubeconfig=("/flag",)).kubeconfig_paths() == ["/flag"]


def test_debug_images_env_keeps_image_tags() -> None:
    env = {"KUBELANTERN_DEBUG_IMAGES": "busybox:1.36, nicolaka/netshoot:v0.13"}
    cfg = settings.resolve(parse(), environ=env)
    assert cfg.debug_images == ("busybox:1.36", "nicolaka/netshoot:v0.13")
    assert settings.resolve(parse(), environ={}).debug_images == ("busybox",)


def test_upstream_pool_sizes_are_settings() -> None:
    cfg = settings.resolve(
        parse("--upstream-connections", "7"), environ={"KUBELANTERN_UPSTREAM_KEEPALIVE": "3"}
    )
    assert (cfg.upstream_connections, cfg.upstream_keepalive) == (7, 3)
    with pytest.raises(settings.SettingsError, match="upstream_connections must be at least 1"):
        settings.resolve(parse("--upstream-connections", "0"), environ={})


def test_the_cluster_client_pools_follow_the_settings() -> None:
    client = ClusterClient(
        ClusterConfig(name="c", server="https://k8s.test"), pool=PoolLimits(7, 3)
    )

    async def limits() -> tuple[object, ...]:
        try:
            pools = await client._current()
            ordinary = pools.http._transport._pool  # type: ignore[attr-defined]
            streams = pools.stream_http._transport._pool  # type: ignore[attr-defined]
            return (
                ordinary._max_connections,
                ordinary._max_keepalive_connections,
                streams._max_keepalive_connections,
            )
        finally:
            await client.aclose()

    assert asyncio.run(limits()) == (7, 3, 3)
