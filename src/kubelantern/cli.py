"""The ``kubelantern`` command: serve, version."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from kubelantern import __version__, settings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kubelantern",
        description="A Kubernetes web UI: every cluster, every resource, with your RBAC rights.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = sub.add_parser("serve", help="serve the web UI")
    settings.add_arguments(serve)
    sub.add_parser("version", help="print the version")
    return parser


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from kubelantern import logsetup
    from kubelantern.app import create_app
    from kubelantern.clusters.kubeconfig import KubeconfigError

    cfg = settings.resolve(args)
    logsetup.configure(cfg.log_format, cfg.log_level)
    try:
        app = create_app(cfg)
    except KubeconfigError as exc:
        print(f"kubelantern: {exc}", file=sys.stderr)
        return 2
    print(f"Kubelantern {__version__} serving on http://{cfg.listen}{cfg.prefix}/", flush=True)
    uvicorn.run(
        app,
        host=cfg.host,
        port=cfg.port,
        log_config=None,
        access_log=False,
        proxy_headers=False,
        timeout_graceful_shutdown=5,
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "version":
        print(f"kubelantern {__version__}")
        return 0
    if args.command == "serve":
        return serve(args)
    parser.print_help()
    return 0
