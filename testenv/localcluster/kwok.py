"""kwok plays the kubelet: its configuration, command line and the pods' log file."""

from __future__ import annotations

import datetime
import glob
import os
from typing import Any

import yaml

from .common import write_file
from .layout import POD_CIDR, TESTENV, Cluster, Ports


def kwok_config(c: Cluster) -> str:
    """Write kwok.yaml (logs, attach, exec, port-forward for every pod) and return its path."""
    # No KwokConfiguration document: one in --config is taken as is, without kwok's
    # defaults (e.g. nodeLeaseParallelism 0 makes kwok exit). Flags cover what we need.
    docs: list[dict[str, Any]] = [
        {
            "apiVersion": "kwok.x-k8s.io/v1alpha1",
            "kind": "ClusterLogs",
            "metadata": {"name": "kubelantern-logs"},
            "spec": {
                "logs": [
                    {"logsFile": c.pod_log, "previousLogsFile": c.pod_prev_log, "follow": True}
                ]
            },
        },
        {
            "apiVersion": "kwok.x-k8s.io/v1alpha1",
            "kind": "ClusterAttach",
            "metadata": {"name": "kubelantern-attach"},
            "spec": {"attaches": [{"logsFile": c.pod_log}]},
        },
        {
            "apiVersion": "kwok.x-k8s.io/v1alpha1",
            "kind": "ClusterExec",
            "metadata": {"name": "kubelantern-exec"},
            "spec": {
                "execs": [
                    {
                        "local": {
                            "workDir": c.exec_dir,
                            "envs": [
                                {"name": "KUBELANTERN_TESTENV", "value": c.name},
                                {"name": "PATH", "value": "/usr/local/bin:/usr/bin:/bin"},
                            ],
                        }
                    }
                ]
            },
        },
        # Port-forward to any port of any pod is an echo server (`cat`).
        {
            "apiVersion": "kwok.x-k8s.io/v1alpha1",
            "kind": "ClusterPortForward",
            "metadata": {"name": "kubelantern-echo"},
            "spec": {"forwards": [{"command": ["cat"]}]},
        },
    ]
    path = os.path.join(c.kwok_dir, "kwok.yaml")
    write_file(path, yaml.safe_dump_all(docs, sort_keys=False))
    return path


def kwok_argv(c: Cluster, binary: str, ports: Ports) -> list[str]:
    stages = sorted(glob.glob(os.path.join(TESTENV, "kwok", "stages", "*.yaml")))
    return [
        binary,
        f"--kubeconfig={os.path.join(c.internal, 'kwok.kubeconfig')}",
        f"--config={os.path.join(c.kwok_dir, 'kwok.yaml')}",
        *[f"--config={s}" for s in stages],
        "--manage-all-nodes=false",
        "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
        f"--cidr={POD_CIDR}",
        "--node-ip=127.0.0.1",
        f"--node-port={ports['kwok']}",
        f"--server-address=127.0.0.1:{ports['kwok']}",
        f"--tls-cert-file={os.path.join(c.pki, 'kwok-serving.crt')}",
        f"--tls-private-key-file={os.path.join(c.pki, 'kwok-serving.key')}",
        "--node-lease-duration-seconds=40",
    ]


def cri_line(text: str, stream: str = "stdout") -> str:
    """One line in CRI log format, the only one kwok's logs understand."""
    ts = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f000Z")
    return f"{ts} {stream} F {text}\n"


def ensure_pod_logs(c: Cluster) -> None:
    """The log every pod shows (three lines to start with) and its previous container's."""
    if not os.path.exists(c.pod_log):
        write_file(
            c.pod_log, "".join(cri_line(f"kubelantern testenv pod log line {i}") for i in (1, 2, 3))
        )
    if not os.path.exists(c.pod_prev_log):
        write_file(c.pod_prev_log, cri_line("kubelantern testenv previous container log line"))
