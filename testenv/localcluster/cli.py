"""Run a local Kubernetes test cluster for Kubelantern: real etcd, kube-apiserver,
kube-controller-manager and kube-scheduler, with two fake kwok nodes.

No containers run: kwok plays the kubelet. Pods scheduled onto kwok-node-0 and
kwok-node-1 go Running (Job pods complete, pods marked to fail stay in
ImagePullBackOff), and `kubectl logs/exec/attach/port-forward` reach kwok's fake
kubelet server through the real apiserver.

Sub-commands (each takes --name NAME, default "kubelantern", so clusters can run
side by side; state lives in $KUBELANTERN_CACHE/clusters/NAME, by default
~/.cache/kubelantern/clusters/NAME):

  up [--authentication-config FILE]
      Build or reuse the binaries (testenv/build k8s kwok), generate certificates,
      start etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok
      on free 127.0.0.1 ports, create the fake nodes, namespaces, users and RBAC,
      and wait until /readyz is ok and both nodes are Ready. A no-op if the
      cluster is already running (an error if it runs with a different
      --authentication-config). Processes left over by a run that died are
      stopped first. The last stdout line is the admin kubeconfig path.
  seed
      Server-side apply testenv/seed/*.yaml in file-name order (CRDs are waited
      for until Established), then wait until the seeded workloads are up.
      Idempotent.
  kubeconfig [--user USER]
      Print the path of USER's kubeconfig (admin, alice, bob, carol, kubelantern)
      as the last stdout line.
  status
      Print every component with pid, liveness and ports; exit 0 only if all are
      alive and /readyz is ok.
  down [--purge]
      Stop all processes of the cluster (SIGTERM, then SIGKILL), check that none
      is left and that the ports are free, and delete the etcd data. Certificates
      and kubeconfigs are kept (the next `up` reuses the CA and, when they are
      free, the same ports); --purge deletes the whole state directory.
  pod-log TEXT...
      Append lines (CRI log format) to the file that `kubectl logs` shows for
      every pod, and print its path.

Users (client certificates signed by the cluster CA):
  admin  O=system:masters                      everything
  alice  RoleBinding edit in team-a             nothing elsewhere, no cluster scope
  bob    ClusterRoleBinding view                read all namespaces, no secrets
  carol  O=devs; group devs has edit in team-b
  kubelantern  ServiceAccount kubelantern-system/kubelantern (token); may only
         impersonate users, groups, serviceaccounts, uids and userextras.

Exit codes: 0 ok, 1 failure (message on stderr), 2 usage error.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from .common import Fail
from .kwok import cri_line
from .layout import SA_USER, TESTENV, USERS, Cluster
from .lifecycle import cmd_down, cmd_status, cmd_up
from .seed import cmd_seed

Command = Callable[[Cluster, argparse.Namespace], int]


def cmd_kubeconfig(c: Cluster, args: argparse.Namespace) -> int:
    path = c.kubeconfig_path(args.user)
    if not os.path.exists(path):
        if not c.load():
            raise Fail(
                f"cluster {c.name} was never set up: run `testenv/cluster up --name {c.name}`"
            )
        raise Fail(
            f"no kubeconfig for user {args.user!r} in {c.dir} "
            f"(users: {', '.join([*USERS, SA_USER])})"
        )
    print(path)
    return 0


def cmd_pod_log(c: Cluster, args: argparse.Namespace) -> int:
    if not os.path.isdir(c.dir):
        raise Fail(f"cluster {c.name} was never set up")
    with open(c.pod_log, "a") as f:
        for t in args.text:
            f.write(cri_line(t, args.stream))
    print(c.pod_log)
    return 0


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="testenv/cluster",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    name_help = "cluster name (default: $KUBELANTERN_CLUSTER or kubelantern)"
    ap.add_argument(
        "--name", default=os.environ.get("KUBELANTERN_CLUSTER", "kubelantern"), help=name_help
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--name", default=argparse.SUPPRESS, help=name_help
    )  # before or after COMMAND
    sub = ap.add_subparsers(dest="cmd", required=True, metavar="COMMAND")
    p = sub.add_parser("up", parents=[common], help="start the cluster (no-op if running)")
    p.add_argument(
        "--authentication-config",
        metavar="FILE",
        default=None,
        help="kube-apiserver --authentication-config file (kept across a crash restart)",
    )
    p.set_defaults(func=cmd_up)
    p = sub.add_parser(
        "seed", parents=[common], help="server-side apply testenv/seed/*.yaml and wait"
    )
    p.add_argument(
        "--dir",
        default=os.path.join(TESTENV, "seed"),
        help="manifest directory (default testenv/seed)",
    )
    p.add_argument(
        "--timeout", type=float, default=120, help="seconds to wait for the workloads (default 120)"
    )
    p.set_defaults(func=cmd_seed)
    p = sub.add_parser("kubeconfig", parents=[common], help="print the path of a user's kubeconfig")
    p.add_argument(
        "--user", default="admin", help="admin (default), alice, bob, carol or kubelantern"
    )
    p.set_defaults(func=cmd_kubeconfig)
    p = sub.add_parser(
        "status", parents=[common], help="show components; exit 0 if all alive and ready"
    )
    p.set_defaults(func=cmd_status)
    p = sub.add_parser("down", parents=[common], help="stop the cluster and delete its etcd data")
    p.add_argument(
        "--purge", action="store_true", help="also delete certificates, kubeconfigs and logs"
    )
    p.set_defaults(func=cmd_down)
    p = sub.add_parser("pod-log", parents=[common], help="append lines to the log every pod shows")
    p.add_argument("--stream", choices=["stdout", "stderr"], default="stdout")
    p.add_argument("text", nargs="+")
    p.set_defaults(func=cmd_pod_log)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    func: Command = args.func
    try:
        return func(Cluster(args.name), args)
    except Fail as e:
        sys.stderr.write(f"error: {e}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 1
