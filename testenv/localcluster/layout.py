"""Names, users, ports and where a cluster keeps its state ($KUBELANTERN_CACHE/clusters/NAME)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from typing import Any

from .common import Fail, log, write_file
from .procfs import proc_alive, proc_exe_name

TESTENV = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
REPO = os.path.dirname(TESTENV)
CACHE = os.environ.get("KUBELANTERN_CACHE") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "kubelantern"
)

COMPONENTS = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"]
BINARIES = {
    "etcd": "etcd",
    "kube-apiserver": "kube-apiserver",
    "kube-controller-manager": "kube-controller-manager",
    "kube-scheduler": "kube-scheduler",
    "kwok": "kwok",
}
BINARIES_REV = {v: k for k, v in BINARIES.items()}
PORT_NAMES = ["etcd_client", "etcd_peer", "apiserver", "controller_manager", "scheduler", "kwok"]
COMPONENT_PORTS = {
    "etcd": ["etcd_client", "etcd_peer"],
    "kube-apiserver": ["apiserver"],
    "kube-controller-manager": ["controller_manager"],
    "kube-scheduler": ["scheduler"],
    "kwok": ["kwok"],
}
USERS: dict[str, tuple[str, list[str]]] = {  # user -> (CN, [O...])
    "admin": ("admin", ["system:masters"]),
    "alice": ("alice", []),
    "bob": ("bob", []),
    "carol": ("carol", ["devs"]),
}
SA_USER = "kubelantern"
NODES = ["kwok-node-0", "kwok-node-1"]
TEAM_NAMESPACES = ["team-a", "team-b", "monitoring"]
SA_NAMESPACE = "kubelantern-system"
FIELD_MANAGER_UP = "kubelantern-testenv"
FIELD_MANAGER_SEED = "kubelantern-seed"
SERVICE_CIDR = "10.96.0.0/16"
POD_CIDR = "10.244.0.0/16"
SA_ISSUER = "https://kubernetes.default.svc.cluster.local"

Ports = dict[str, int]  # PORT_NAMES entry -> port
State = dict[str, Any]  # the JSON of state.json


class Cluster:
    """One named cluster: its paths, its state.json and the processes this run started."""

    def __init__(self, name: str) -> None:
        if not re.fullmatch(r"[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?", name):
            raise Fail(f"invalid cluster name {name!r} (lower-case letters, digits and '-')")
        self.name = name
        self.dir = os.path.join(CACHE, "clusters", name)
        self.pki = os.path.join(self.dir, "pki")
        self.logs = os.path.join(self.dir, "logs")
        self.internal = os.path.join(self.dir, "internal")
        self.etcd_data = os.path.join(self.dir, "etcd")
        self.kwok_dir = os.path.join(self.dir, "kwok")
        self.exec_dir = os.path.join(self.dir, "exec")
        self.pod_log = os.path.join(self.dir, "pod.log")
        self.pod_prev_log = os.path.join(self.dir, "pod-previous.log")
        self.state_file = os.path.join(self.dir, "state.json")
        # component -> Popen, only for processes started by this invocation
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    # state.json ------------------------------------------------------------
    def load(self) -> State | None:
        try:
            with open(self.state_file) as f:
                st: State = json.load(f)
                return st
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as e:
            log(f"ignoring unreadable {self.state_file}: {e}")
            return None

    def save(self, st: State) -> None:
        write_file(self.state_file, json.dumps(st, indent=2, sort_keys=True) + "\n")

    def kubeconfig_path(self, user: str) -> str:
        return os.path.join(self.dir, f"kubeconfig-{user}.yaml")

    def log_path(self, comp: str) -> str:
        return os.path.join(self.logs, f"{comp}.log")

    def url(self, ports: Ports) -> str:
        return f"https://127.0.0.1:{ports['apiserver']}"

    # liveness ------------------------------------------------------------------
    def live_components(self, st: State | None) -> dict[str, int]:
        """component -> pid for recorded pids that still run our binary."""
        out = {}
        for comp, pid in (st or {}).get("pids", {}).items():
            if pid and proc_alive(pid) and proc_exe_name(pid) == BINARIES.get(comp):
                out[comp] = pid
        return out
