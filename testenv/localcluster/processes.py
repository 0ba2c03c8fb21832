"""Our processes: finding leftovers, free ports, locks, starting and stopping components."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator

from .common import Fail, now_rfc3339, tail
from .layout import BINARIES, PORT_NAMES, Cluster, Ports
from .procfs import proc_alive, proc_cmdline, proc_exe_name


def cluster_procs(state_dir: str) -> dict[int, str]:
    """pid -> binary for every live process of ours that belongs to state_dir."""
    marker = (state_dir.rstrip("/") + "/").encode()
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        exe = proc_exe_name(pid)
        if exe is None or exe not in BINARIES.values() or not proc_alive(pid):
            continue
        if any(marker in arg for arg in proc_cmdline(pid)):
            found[pid] = exe
    return found


def port_free(port: int) -> bool:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def pick_ports(previous: Ports | None, taken: Iterable[int] = ()) -> Ports:
    """Ports for every PORT_NAMES entry: the previous ones when all are still free (so
    kubeconfigs stay valid across restarts), else new free ones not in taken."""
    taken = set(taken)
    if previous and all(isinstance(previous.get(k), int) for k in PORT_NAMES):
        prev = [previous[k] for k in PORT_NAMES]
        if (
            len(set(prev)) == len(prev)
            and not taken & set(prev)
            and all(port_free(p) for p in prev)
        ):
            return {k: previous[k] for k in PORT_NAMES}
    socks: list[socket.socket] = []
    ports: Ports = {}
    try:
        while len(ports) < len(PORT_NAMES):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)  # keep it open so the next bind gets another port
            port = int(s.getsockname()[1])
            if port not in taken:
                ports[PORT_NAMES[len(ports)]] = port
    finally:
        for s in socks:
            s.close()
    return ports


@contextlib.contextmanager
def file_lock(path: str) -> Iterator[None]:
    """An exclusive flock on ``path`` (one up/down per cluster, one port choice at a time)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def stop_pids(pids: list[int], timeout: float = 15) -> list[int]:
    """SIGTERM the process groups (then SIGKILL); wait until all are gone. Returns those left."""

    def send(sig: signal.Signals) -> None:
        for pid in pids:
            if not proc_alive(pid):
                continue
            try:
                os.killpg(pid, sig)  # each component leads its own session/group
            except (ProcessLookupError, PermissionError):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)

    send(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while any(proc_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    if any(proc_alive(p) for p in pids):
        send(signal.SIGKILL)
        deadline = time.monotonic() + 5
        while any(proc_alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
    return [p for p in pids if proc_alive(p)]


def spawn(
    c: Cluster, comp: str, argv: list[str], env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start a component in its own session, its output in logs/<comp>.log (the old one kept)."""
    lp = c.log_path(comp)
    if os.path.exists(lp) and os.path.getsize(lp) > 0:
        os.replace(lp, lp + ".1")
    with open(lp, "wb") as logf:
        logf.write(f"# {now_rfc3339()} {' '.join(argv)}\n".encode())
        logf.flush()
        p = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=logf,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=c.dir,
            env=env,
            close_fds=True,
        )
    c.procs[comp] = p
    return p


def watch_procs(c: Cluster, comps: Iterable[str] | None = None) -> Callable[[], None]:
    """A ``poll`` watch that fails at once, with the log, when a started component exited."""
    only = set(comps) if comps else None

    def check() -> None:
        for comp, p in c.procs.items():
            if only and comp not in only:
                continue
            rc = p.poll()
            if rc is not None:
                lp = c.log_path(comp)
                raise Fail(f"{comp} exited with code {rc}\n--- tail of {lp} ---\n{tail(lp)}")

    return check


def fail_with_log(c: Cluster, comp: str, e: object) -> Fail:
    return Fail(f"{comp}: {e}\n--- tail of {c.log_path(comp)} ---\n{tail(c.log_path(comp))}")
