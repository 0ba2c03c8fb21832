"""`up`, `down` and `status`: start the components in order, stop them in reverse."""

from __future__ import annotations

import argparse
import base64
import contextlib
import glob
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable

from .apiserver import apiserver_argv, controller_manager_argv, scheduler_argv
from .binaries import build_dirs
from .bootstrap import bootstrap_objects, node_ready
from .certs import ensure_pki
from .client import APIError, Kube, etcd_healthy, http_ok
from .common import Fail, PortConflict, log, now_rfc3339, poll, write_file
from .etcd import etcd_argv
from .kubeconfig import kubeconfig, write_kubeconfigs
from .kwok import ensure_pod_logs, kwok_argv, kwok_config
from .layout import (
    BINARIES_REV,
    CACHE,
    COMPONENT_PORTS,
    COMPONENTS,
    FIELD_MANAGER_UP,
    NODES,
    SA_NAMESPACE,
    SA_USER,
    USERS,
    Cluster,
    Ports,
    State,
)
from .processes import (
    cluster_procs,
    fail_with_log,
    file_lock,
    pick_ports,
    port_free,
    spawn,
    stop_pids,
    watch_procs,
)

# Clients first and etcd last: the apiserver's shutdown stalls when etcd goes away first.
STOP_ORDER = [["kwok", "kube-scheduler", "kube-controller-manager"], ["kube-apiserver"], ["etcd"]]


def admin_client(c: Cluster) -> Kube:
    return Kube(c.kubeconfig_path("admin"))


def healthz(port: int) -> Callable[[], bool]:
    """A component's /healthz on ``port`` as a ``poll`` condition."""
    return lambda: http_ok(f"https://127.0.0.1:{port}/healthz")


def cmd_up(c: Cluster, args: argparse.Namespace) -> int:
    t0 = time.monotonic()
    authn: str | None = args.authentication_config
    if authn:
        authn = os.path.abspath(authn)
        if not os.path.isfile(authn):
            raise Fail(f"--authentication-config {authn}: no such file")
    with file_lock(os.path.join(c.dir, ".lock")):  # one up/down per cluster at a time
        return up_locked(c, authn, t0)


def up_locked(c: Cluster, authn: str | None, t0: float) -> int:
    st = c.load() or {}
    live = c.live_components(st)
    if st.get("running") and set(live) == set(COMPONENTS):
        if authn is not None and authn != st.get("authentication_config"):
            raise Fail(
                f"cluster {c.name} is running with "
                f"--authentication-config={st.get('authentication_config')}; "
                f"run `testenv/cluster down --name {c.name}` first to change it"
            )
        try:
            with admin_client(c) as kube:
                ready = kube.readyz()
        except Fail as e:  # say its admin kubeconfig went missing: start it afresh
            log(str(e))
            ready = False
        if ready:
            log(f"cluster {c.name} is already running at {st['server']}")
            print(c.kubeconfig_path("admin"))
            return 0
        log(f"cluster {c.name}: processes alive but /readyz is not ok; restarting it")

    # A restart after a crash keeps the stored --authentication-config; `down` forgets it.
    if authn is None and st.get("running"):
        authn = st.get("authentication_config")
        if authn:
            log(f"reusing stored --authentication-config={authn}")

    # Clean up what a previous run left behind.
    if c.live_components(st) or cluster_procs(c.dir):
        log(f"cleaning up leftovers of a previous run of {c.name}")
        _, left = stop_cluster(c, st)
        if left:
            raise Fail(f"could not stop leftover processes {left}")

    bins = build_dirs()
    for d in (c.dir, c.logs, c.internal, c.kwok_dir, c.exec_dir, c.etcd_data):
        os.makedirs(d, exist_ok=True)
    os.chmod(c.etcd_data, 0o700)
    ensure_pki(c)
    ensure_pod_logs(c)
    previous = st.get("ports")
    for attempt in (1, 2, 3):
        try:
            return start_cluster(c, bins, previous, authn, t0)
        except PortConflict as e:
            if attempt == 3:
                raise
            log(f"port conflict ({str(e).splitlines()[0]}); retrying with other ports")
            previous = None
    return 1


def other_clusters_ports(c: Cluster) -> set[int]:
    """Ports recorded by the other clusters' state.json files (running or being started)."""
    taken: set[int] = set()
    for f in glob.glob(os.path.join(CACHE, "clusters", "*", "state.json")):
        if os.path.dirname(f) == c.dir:
            continue
        try:
            with open(f) as fh:
                st = json.load(fh)
        except (OSError, ValueError):
            continue
        if st.get("running"):
            taken.update(v for v in (st.get("ports") or {}).values() if isinstance(v, int))
    return taken


def component_argv(
    c: Cluster, bins: dict[str, str], ports: Ports, authn: str | None
) -> dict[str, list[str]]:
    return {
        "etcd": etcd_argv(c, bins["etcd"], ports),
        "kube-apiserver": apiserver_argv(c, bins["kube-apiserver"], ports, authn),
        "kube-controller-manager": controller_manager_argv(
            c, bins["kube-controller-manager"], ports
        ),
        "kube-scheduler": scheduler_argv(c, bins["kube-scheduler"], ports),
        "kwok": kwok_argv(c, bins["kwok"], ports),
    }


def start_cluster(
    c: Cluster, bins: dict[str, str], previous: Ports | None, authn: str | None, t0: float
) -> int:
    # Choose ports and record them under a lock shared by all clusters, so that two
    # `up`s running at the same time never pick the same ports.
    with file_lock(os.path.join(CACHE, "clusters", ".ports.lock")):
        ports = pick_ports(previous, other_clusters_ports(c))
        server = c.url(ports)
        st: State = {
            "name": c.name,
            "state_dir": c.dir,
            "server": server,
            "ports": ports,
            "pids": {},
            "binaries": bins,
            "authentication_config": authn,
            "running": True,
            "started_at": now_rfc3339(),
            "ca_file": os.path.join(c.pki, "ca.crt"),
            "kubeconfigs": {u: c.kubeconfig_path(u) for u in [*USERS, SA_USER]},
            "context": c.name,
            "pod_log": c.pod_log,
            "pod_previous_log": c.pod_prev_log,
            "logs_dir": c.logs,
            "nodes": NODES,
        }
        c.save(st)
    write_kubeconfigs(c, server)
    kwok_config(c)
    argv = component_argv(c, bins, ports, authn)
    c.procs = {}

    def start(comp: str, env: dict[str, str] | None = None) -> None:
        p = spawn(c, comp, argv[comp], env)
        st["pids"][comp] = p.pid
        c.save(st)

    kube = admin_client(c)
    try:
        start("etcd")
        poll(lambda: etcd_healthy(ports["etcd_client"]), 30, "etcd /health", watch=watch_procs(c))
        start("kube-apiserver")
        poll(kube.readyz, 120, "kube-apiserver /readyz", watch=watch_procs(c))
        t_api = time.monotonic() - t0
        for obj in bootstrap_objects():
            try:
                kube.apply(obj, FIELD_MANAGER_UP, status=True)
            except APIError as e:
                raise fail_with_log(c, "kube-apiserver", e) from None
        start("kube-controller-manager")
        start("kube-scheduler")
        start("kwok", env=dict(os.environ, KWOK_WORKDIR=c.kwok_dir))
        watch = watch_procs(c)
        poll(
            lambda: all(node_ready(kube.get(f"/api/v1/nodes/{n}")) for n in NODES),
            60,
            f"nodes {', '.join(NODES)} to be Ready (kwok)",
            watch=watch,
        )
        for port, what in (
            (ports["controller_manager"], "kube-controller-manager"),
            (ports["scheduler"], "kube-scheduler"),
            (ports["kwok"], "kwok"),
        ):
            poll(
                healthz(port),
                30 if what == "kwok" else 60,
                f"{what} /healthz",
                watch=watch,
            )
        poll(
            lambda: kube.get("/api/v1/namespaces/default/serviceaccounts/default", default=None),
            60,
            "the default ServiceAccount (kube-controller-manager)",
            watch=watch,
        )
        secret: str = poll(
            lambda: (
                kube.get(f"/api/v1/namespaces/{SA_NAMESPACE}/secrets/{SA_USER}-token").get("data")
                or {}
            ).get("token"),
            60,
            f"the token of ServiceAccount {SA_NAMESPACE}/{SA_USER}",
            watch=watch,
        )
        write_file(
            c.kubeconfig_path(SA_USER),
            kubeconfig(c, server, SA_USER, token=base64.b64decode(secret).decode()),
            0o600,
        )
        if not kube.readyz():
            raise Fail("kube-apiserver /readyz went bad")
    except BaseException as e:
        failed = c.procs
        log("up failed; stopping the processes it started")
        for group in STOP_ORDER:
            stop_pids([p.pid for comp, p in failed.items() if comp in group])
        for p in failed.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(timeout=5)
        st["running"] = False
        st["pids"] = {}
        c.save(st)
        if isinstance(e, Fail):
            msg = str(e)
            if "--- tail of" not in msg:
                # Point at the component that most likely explains it.
                culprit = next((comp for comp in reversed(COMPONENTS) if comp in failed), None)
                if culprit:
                    msg = str(fail_with_log(c, culprit, e))
            if re.search(r"address already in use|bind: ", msg):
                raise PortConflict(msg) from None
            raise Fail(msg) from None
        raise
    finally:
        kube.close()
    st["up_seconds"] = round(time.monotonic() - t0, 1)
    st["apiserver_ready_seconds"] = round(t_api, 1)
    c.save(st)
    log(
        f"cluster {c.name} is up at {server} in {st['up_seconds']} s "
        f"(apiserver ready after {st['apiserver_ready_seconds']} s); state: {c.state_file}"
    )
    print(c.kubeconfig_path("admin"))
    return 0


def stop_cluster(c: Cluster, st: State | None) -> tuple[list[int], list[int]]:
    """Stop every process of the cluster in STOP_ORDER. Returns (stopped pids, pids left)."""
    procs = {pid: BINARIES_REV.get(exe, exe) for pid, exe in cluster_procs(c.dir).items()}
    procs.update({pid: comp for comp, pid in c.live_components(st).items()})
    if procs:
        log(
            f"stopping {c.name}: "
            + ", ".join(f"{comp} {pid}" for pid, comp in sorted(procs.items()))
        )
    left: list[int] = []
    for group in [*STOP_ORDER, None]:
        pids = [
            p
            for p, comp in procs.items()
            if (comp in group if group else all(comp not in g for g in STOP_ORDER))
        ]
        left += stop_pids(pids)
    left += [p for p in cluster_procs(c.dir) if p not in left]
    return sorted(procs), left


def cmd_down(c: Cluster, args: argparse.Namespace) -> int:
    if not os.path.isdir(c.dir):
        log(f"cluster {c.name} was never set up")
        return 0
    with file_lock(os.path.join(c.dir, ".lock")):
        return down_locked(c, args)


def down_locked(c: Cluster, args: argparse.Namespace) -> int:
    st = c.load()
    pids, left = stop_cluster(c, st)
    if left:
        raise Fail(f"processes still running after SIGKILL: {left}")
    ports: Ports = (st or {}).get("ports") or {}
    if ports and pids:  # ports of a cluster that was not running may belong to others by now
        try:
            poll(
                lambda: all(port_free(p) for p in ports.values()),
                15,
                "the cluster's ports to be free",
            )
        except Fail:
            busy = {k: p for k, p in ports.items() if not port_free(p)}
            raise Fail(f"ports still in use after stopping {c.name}: {busy}") from None
    if args.purge:
        shutil.rmtree(c.dir, ignore_errors=True)
        log(f"removed {c.dir}")
        return 0
    for d in (c.etcd_data, c.kwok_dir, c.exec_dir):
        shutil.rmtree(d, ignore_errors=True)
    if st:
        st.update(running=False, pids={}, authentication_config=None, stopped_at=now_rfc3339())
        c.save(st)
    log(f"cluster {c.name} is down" if pids else f"cluster {c.name} was not running")
    return 0


def cmd_status(c: Cluster, args: argparse.Namespace) -> int:
    st = c.load()
    if not st:
        print(f"cluster {c.name}: never set up ({c.dir})")
        return 1
    ports = st.get("ports", {})
    print(f"cluster {c.name}  state {c.dir}")
    print(f"server  {st.get('server')}")
    print(f"authentication-config  {st.get('authentication_config') or '-'}")
    if not st.get("running"):
        print(f"state  stopped (last ports shown; run `testenv/cluster up --name {c.name}`)")
    all_alive = True
    live = c.live_components(st)
    for comp in COMPONENTS:
        pid = st.get("pids", {}).get(comp)
        alive = comp in live
        all_alive &= alive
        pp = " ".join(f"{k}={ports.get(k)}" for k in COMPONENT_PORTS[comp])
        print(
            f"{comp:<24} pid {pid or '-':<8} {'alive' if alive else 'DEAD' if pid else '-':<6} {pp}"
        )
    ready = False
    if all_alive:
        with admin_client(c) as kube:
            ready = kube.readyz()
    print(f"readyz  {'ok' if ready else 'not ok'}")
    return 0 if ready else 1
