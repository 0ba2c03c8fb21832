"""The ``kubelantern`` command: serve, desktop (the default), config check, version.

``kubelantern`` with no command is the local desktop mode (``kubelantern.desktop``):
127.0.0.1, the user's kubeconfig, the browser opened on a per-run key.

A bad flag or value ends the start with one line naming it and exit status 2,
never a traceback or the whole usage text (``--help`` has that).
"""

from __future__ import annotations

import argparse
import logging
import os
import socket
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import uvicorn

from kubelantern import configcheck, logsetup, settings
from kubelantern import desktop as desktop_mode
from kubelantern.app import create_app
from kubelantern.auth.config import AuthConfigError
from kubelantern.clusters.kubeconfig import KubeconfigError
from kubelantern.lifecycle import GracefulServer, Lifecycle
from kubelantern.plugins import cli as plugin_cli
from kubelantern.version import __version__
from kubelantern.web import assets


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors; subcommands inherit it (``add_subparsers``)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="kubelantern",
        description="A Kubernetes web UI: every cluster, every resource, with your RBAC rights.",
    )
    parser.add_argument("--version", action="version", version=f"kubelantern {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = sub.add_parser("serve", help="serve the web UI")
    settings.add_arguments(serve)
    desktop = sub.add_parser(
        "desktop",
        help="the default: serve on 127.0.0.1 behind a per-run key and open the browser",
    )
    settings.add_arguments(desktop)
    desktop.add_argument(
        "--browser",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="open the browser (--no-browser: print the URL only)",
    )
    desktop.add_argument(
        "--window",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="a native window (pywebview) instead of the browser; see docs/desktop.md",
    )
    config = sub.add_parser("config", help="work with the config file")
    config_sub = config.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    check = config_sub.add_parser(
        "check", help="validate a config file and the settings it makes; exit 1 on problems"
    )
    check.add_argument("--config", help="the file (default: $KUBELANTERN_CONFIG)")
    sub.add_parser("version", help="print the version")
    plugin_cli.add_commands(sub)  # kubelantern plugins; kubelantern plugin new NAME
    return parser


def serve(args: argparse.Namespace) -> int:
    cfg = settings.resolve(args)
    logsetup.configure(cfg.log_format, cfg.log_level)

    def refuse(message: str) -> int:
        """One line on stderr; a JSON record when the logs are JSON."""
        if cfg.log_format == "json":
            logging.getLogger("kubelantern").error(message)
        else:
            print(f"kubelantern: {message}", file=sys.stderr)
        return 2

    try:
        assets.check()
    except assets.AssetsMissing as exc:
        return refuse(f"refusing to start: {exc}")
    local = args.command == "desktop"
    token = desktop_mode.new_token() if local else None
    webview = desktop_mode.load_webview() if local and args.window else None
    if local and args.window and webview is None:
        print(f"kubelantern: {desktop_mode.WINDOW_HELP}", file=sys.stderr)
        return 2
    try:
        lifecycle = Lifecycle()
        app = create_app(cfg, local_token=token, lifecycle=lifecycle)
    except (KubeconfigError, AuthConfigError) as exc:
        return refuse(str(exc))
    sockets: list[socket.socket] | None = None
    if local:
        # 4466 if free, else any free port (only when no address was chosen).
        default = settings.Settings().listen
        try:
            sock = desktop_mode.bind(cfg.host, cfg.port, fallback=cfg.listen == default)
        except OSError as exc:
            return refuse(f"cannot listen on {cfg.listen}: {exc.strerror}")
        sockets = [sock]
        host = f"[{cfg.host}]" if ":" in cfg.host else cfg.host
        url = f"http://{host}:{sock.getsockname()[1]}{cfg.prefix}/?token={token}"
        print(f"Kubelantern {__version__} is running. Open {url}", flush=True)
    elif cfg.log_format == "json":  # log collectors read stdout too: JSON only
        logging.getLogger("kubelantern").info(
            "Kubelantern %s serving on http://%s%s/", __version__, cfg.listen, cfg.prefix
        )
    else:
        print(f"Kubelantern {__version__} serving on http://{cfg.listen}{cfg.prefix}/", flush=True)
    config: dict[str, Any] = {
        "log_config": None,
        "access_log": False,
        "proxy_headers": False,
        # Streams end on their own at shutdown (kubelantern.lifecycle); this bounds the rest.
        "timeout_graceful_shutdown": 5,
    }
    if sockets is None:
        config.update(host=cfg.host, port=cfg.port)
    server = GracefulServer(uvicorn.Config(app, **config), lifecycle)
    if webview is not None and sockets is not None:
        return desktop_mode.run_window(webview, server, sockets, url)
    if local and args.browser:
        desktop_mode.open_browser_when(lambda: server.started, url)
    server.run(sockets=sockets)
    return 0 if server.started else 1  # not started: the app refused (logged why)


def config_check(args: argparse.Namespace) -> int:
    path = args.config or os.environ.get(settings.ENV_PREFIX + "CONFIG")
    resolved, problems = configcheck.check_file(path, os.environ)
    name = path or "(no config file: env vars and defaults)"
    if problems:
        print(f"{name}: {len(problems)} problem(s)", file=sys.stderr)
        for problem in problems:
            print(f"  error: {problem}", file=sys.stderr)
        return 1
    assert resolved is not None
    print(f"{name}: OK (auth mode {resolved.auth_mode}, listen {resolved.listen})")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version")):
        argv = ["desktop", *argv]  # `kubelantern [flags]`: the local desktop mode
    args = parser.parse_args(argv)
    try:
        return run(parser, args)
    except settings.SettingsError as exc:
        print(exc.message, file=sys.stderr)
        return 2


def run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    if args.command == "version":
        print(f"kubelantern {__version__}")
        return 0
    if args.command in ("serve", "desktop"):
        return serve(args)
    if args.command == "config":
        return config_check(args)
    if args.command in ("plugins", "plugin"):
        return plugin_cli.run(args)
    parser.print_help()
    return 0
