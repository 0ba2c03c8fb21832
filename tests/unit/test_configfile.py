"""The config file: keys, types, per-cluster settings and precedence under env and flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubelantern import configfile, settings
from kubelantern.cli import build_parser
from kubelantern.settings import OPTIONS


def test_keys_in_either_spelling_and_yaml_types() -> None:
    loaded = configfile.parse(
        {
            "base-url": "/kl",
            "page_size": 50,
            "request_timeout": 3,
            "read_only": True,
            "kubeconfig": "/one",
            "namespaces": ["a", "b"],
        },
        "f.yaml",
        OPTIONS,
    )
    assert loaded.problems == []
    assert loaded.values == {
        "base_url": "/kl",
        "page_size": 50,
        "request_timeout": 3.0,
        "read_only": True,
        "kubeconfig": ("/one",),
        "namespaces": ("a", "b"),
    }


@pytest.mark.parametrize(
    ("doc", "problem"),
    [
        ({"listn": "x"}, "listn: unknown setting (did you mean 'listen'?)"),
        ({"read_only": "yes"}, "read_only: expected true or false, got a string ('yes')"),
        ({"page_size": True}, "page_size: expected a whole number, got a boolean"),
        ({"request_timeout": "slow"}, "request_timeout: expected a number"),
        ({"kubeconfig": [1]}, "kubeconfig: expected a list of strings"),
        ({"log_level": "loud"}, "log_level: 'loud' is not one of debug, info, warning, error"),
        ({"listen": 4466}, "listen: expected a string, got a number"),
        ({"config": "other.yaml"}, "config: a config file cannot name another config file"),
        ({"clusters": ["prod"]}, "clusters: expected a mapping"),
        ({"clusters": {"prod": {"auth-mode": "x"}}}, "clusters.prod.auth_mode: 'x' is not one of"),
        ({"clusters": {"prod": {"readonly": True}}}, "(did you mean 'read_only'?)"),
    ],
)
def test_each_mistake_is_named(doc: object, problem: str) -> None:
    loaded = configfile.parse(doc, "f.yaml", OPTIONS)
    assert any(problem in p for p in loaded.problems), loaded.problems


def test_all_problems_are_reported_at_once() -> None:
    loaded = configfile.parse({"a": 1, "b": 2, "read_only": 3}, "f.yaml", OPTIONS)
    assert len(loaded.problems) == 3


def test_per_cluster_settings_feed_the_list_options() -> None:
    loaded = configfile.parse(
        {
            "cluster_auth": ["dev=kubeconfig"],
            "clusters": {
                "prod": {"auth_mode": "bearer", "read_only": True},
                "stage": {"read_only": False},
            },
        },
        "f.yaml",
        OPTIONS,
    )
    assert loaded.problems == []
    assert loaded.values["cluster_auth"] == ("dev=kubeconfig", "prod=bearer")
    assert loaded.values["read_only_clusters"] == ("prod",)


def test_precedence_flag_env_file_default(tmp_path: Path) -> None:
    path = tmp_path / "k.yaml"
    path.write_text("listen: 0.0.0.0:1\nbase_url: /file\nlog_format: json\npage_size: 7\n")
    args = build_parser().parse_args(["serve", "--config", str(path), "--listen", "127.0.0.1:2"])
    cfg = settings.resolve(args, environ={"KUBELANTERN_BASE_URL": "/env"})
    assert cfg.listen == "127.0.0.1:2"  # flag
    assert cfg.prefix == "/env"  # env over file
    assert cfg.log_format == "json" and cfg.page_size == 7  # file over default
    assert cfg.log_level == "info"  # default
    assert cfg.config == str(path)
    # the file can also come from the environment
    cfg = settings.resolve(
        build_parser().parse_args(["serve"]), environ={"KUBELANTERN_CONFIG": str(path)}
    )
    assert cfg.page_size == 7


def test_a_bad_file_stops_the_start_with_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "k.yaml"
    path.write_text("pagesize: 7\nread_only: maybe\n")
    args = build_parser().parse_args(["serve", "--config", str(path)])
    with pytest.raises(settings.SettingsError) as exc:
        settings.resolve(args, environ={})
    message = str(exc.value)
    assert "pagesize: unknown setting (did you mean 'page_size'?)" in message
    assert "read_only: expected true or false" in message


def test_unreadable_and_invalid_yaml(tmp_path: Path) -> None:
    assert (
        "cannot read the config file"
        in configfile.read(str(tmp_path / "no.yaml"), OPTIONS).problems[0]
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [\n")
    assert "not valid YAML" in configfile.read(str(bad), OPTIONS).problems[0]
    top = tmp_path / "list.yaml"
    top.write_text("- a\n")
    assert "mapping" in configfile.read(str(top), OPTIONS).problems[0]


def test_per_cluster_display_name_and_namespace() -> None:
    loaded = configfile.parse(
        {"clusters": {"prod": {"display_name": "Production", "default_namespace": "web"}}},
        "f",
        OPTIONS,
    )
    assert loaded.problems == []
    assert loaded.values["cluster_names"] == ("prod=Production",)
    assert loaded.values["cluster_namespaces"] == ("prod=web",)
    bad = configfile.parse({"clusters": {"prod": {"display_name": 3}}}, "f", OPTIONS)
    assert bad.problems == ["clusters.prod.display_name: expected a non-empty string, got 3"]
