"""A tidy start: one line naming the bad flag or variable, exit 2, no traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest

from kubelantern import __version__, cli, settings
from kubelantern.cli import build_parser


def run(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kubelantern", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("127.0.0.1:notaport", "port must be a number from 1 to 65535"),
        ("127.0.0.1:99999", "port must be a number from 1 to 65535"),
        ("127.0.0.1:0", "port must be a number from 1 to 65535"),
        ("localhost", "is not HOST:PORT"),
        ("::1:4466", "IPv6 address in brackets"),
        ("[nope]:4466", "not an IPv6 address"),
    ],
)
def test_a_bad_listen_is_one_line_naming_the_flag(value: str, says: str) -> None:
    out = run("serve", "--listen", value)
    assert out.returncode == 2
    assert out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert "--listen" in lines[0] and says in lines[0]


@pytest.mark.parametrize("value", ["127.0.0.1:4466", "0.0.0.0:1", "[::1]:65535", "[::]:80"])
def test_good_listen_values_pass(value: str) -> None:
    assert settings.listen_problem(value) is None
    assert settings.resolve(build_parser().parse_args(["serve", "--listen", value]), {}).listen


def test_an_unknown_flag_is_one_line_not_the_usage() -> None:
    out = run("serve", "--no-such-flag")
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "kubelantern: unrecognized arguments: --no-such-flag (see kubelantern --help)"
    ]


def test_a_bad_env_var_is_one_line_naming_it() -> None:
    import os

    out = run("serve", env={**os.environ, "KUBELANTERN_LISTEN": "0.0.0.0:http"})
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "kubelantern: invalid KUBELANTERN_LISTEN: '0.0.0.0:http': the port must be a number "
        "from 1 to 65535 (e.g. 127.0.0.1:4466, 0.0.0.0:4466 or [::1]:4466)"
    ]
    assert "Traceback" not in out.stderr


def test_version_flag_and_command() -> None:
    for argv in (["--version"], ["version"]):
        out = run(*argv)
        assert out.returncode == 0 and out.stdout.strip() == f"kubelantern {__version__}"


def test_every_boolean_can_be_switched_off_by_a_flag() -> None:
    env = {o.env: "true" for o in settings.OPTIONS if o.kind == "bool"}
    flags = [f"--no-{o.flag[2:]}" for o in settings.OPTIONS if o.kind == "bool"]
    assert "--no-read-only" in flags
    cfg = settings.resolve(build_parser().parse_args(["serve", *flags]), environ=env)
    for option in settings.OPTIONS:
        if option.kind == "bool":
            assert getattr(cfg, option.name) is False, option.flag
    on = settings.resolve(build_parser().parse_args(["serve", "--read-only"]), environ={})
    assert on.read_only is True


def test_desktop_browser_and_window_have_both_forms() -> None:
    args = build_parser().parse_args(["desktop", "--no-browser", "--no-window"])
    assert args.browser is False and args.window is False
    assert build_parser().parse_args(["desktop"]).browser is True


def test_main_turns_a_settings_error_into_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    import os

    os.environ["KUBELANTERN_PAGE_SIZE"] = "many"
    try:
        assert cli.main(["serve"]) == 2
    finally:
        del os.environ["KUBELANTERN_PAGE_SIZE"]
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "KUBELANTERN_PAGE_SIZE" in err[0]
