"""Prometheus metrics of this process, served at ``/metrics`` (``web/ops.py``).

The metrics live in their own registry so that tests which build several apps
in one process, and plugins that use prometheus-client's default registry for
their own purposes, never collide with ours. Labels are chosen to stay few:
routes are URL *patterns* (``/c/{cluster}/{resource}``), never concrete paths,
and clusters are the configured ones, so nobody can grow the series count by
requesting odd URLs.

Helpers for the rest of the code base (call them, do not touch the metric
objects directly, so the names can change in one place):

* ``httpx_hooks(cluster)`` / ``api_error(cluster, exc)``: every API server
  request of ``clusters/client.py`` (``api_call`` underneath);
* ``open_streams(kind)``: a context manager counting one open stream while it
  is entered (browser SSE and WebSocket streams are counted by the middleware;
  ``web/live.py`` counts its upstream watches as ``apiserver-watch``);
* ``plugin_error(plugin, hook)``: a plugin hook raised.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.exposition import choose_encoder

from kubelantern.version import __version__

REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)

# Page loads are tens of milliseconds to a few seconds (a slow API server).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

BUILD_INFO = Gauge(
    "kubelantern_build_info", "Always 1; the version is a label.", ["version"], registry=REGISTRY
)
BUILD_INFO.labels(version=__version__).set(1)

HTTP_REQUESTS = Counter(
    "kubelantern_http_requests",
    "HTTP requests served, by route pattern, method and status code.",
    ["route", "method", "status"],
    registry=REGISTRY,
)
HTTP_DURATION = Histogram(
    "kubelantern_http_request_duration_seconds",
    "Time to the end of the response (streams: until they close), by route pattern.",
    ["route", "method"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
API_REQUESTS = Counter(
    "kubelantern_apiserver_requests",
    "Requests to API servers, by cluster, HTTP method and status code "
    "('error' when no answer came: timeout, connection refused, TLS failure).",
    ["cluster", "method", "status"],
    registry=REGISTRY,
)
API_DURATION = Histogram(
    "kubelantern_apiserver_request_duration_seconds",
    "Time until an API server answered (the headers, for streams), by cluster and method.",
    ["cluster", "method"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
OPEN_STREAMS = Gauge(
    "kubelantern_open_streams",
    "Streams open now: sse and websocket to browsers, apiserver-watch upstream.",
    ["kind"],
    registry=REGISTRY,
)
PLUGIN_ERRORS = Counter(
    "kubelantern_plugin_errors",
    "Exceptions raised by plugin hooks, by plugin and hook name.",
    ["plugin", "hook"],
    registry=REGISTRY,
)
CLUSTER_REACHABLE = Gauge(
    "kubelantern_cluster_reachable",
    "1 if the cluster's API server answered the last background probe, 0 if not.",
    ["cluster"],
    registry=REGISTRY,
)


def api_call(cluster: str, method: str, status: int | str, seconds: float) -> None:
    """Count one API server request; ``status`` is the HTTP code or ``"error"``."""
    API_REQUESTS.labels(cluster=cluster, method=method.upper(), status=str(status)).inc()
    API_DURATION.labels(cluster=cluster, method=method.upper()).observe(seconds)


def httpx_hooks(cluster: str) -> dict[str, list[Callable[[Any], Awaitable[None]]]]:
    """Event hooks for a cluster's httpx client: every answer is one ``api_call``.

    The response hook runs when the headers arrive, for plain requests and
    streams (watch, logs) alike; failures without an answer go through
    ``api_error`` from the client's error mapping.
    """

    async def on_request(request: httpx.Request) -> None:
        request.extensions["kubelantern_started"] = time.monotonic()

    async def on_response(response: httpx.Response) -> None:
        request = response.request
        started = request.extensions.get("kubelantern_started", time.monotonic())
        api_call(cluster, request.method, response.status_code, time.monotonic() - started)

    return {"request": [on_request], "response": [on_response]}


def api_error(cluster: str, exc: httpx.TransportError) -> None:
    """Count a request to ``cluster`` that got no answer (timeout, refused, TLS)."""
    try:
        request = exc.request
    except RuntimeError:  # raised before a request existed
        return
    started = request.extensions.get("kubelantern_started", time.monotonic())
    api_call(cluster, request.method, "error", time.monotonic() - started)


@contextmanager
def open_streams(kind: str) -> Iterator[None]:
    """Count one open stream of ``kind`` for as long as the ``with`` block runs."""
    gauge = OPEN_STREAMS.labels(kind=kind)
    gauge.inc()
    try:
        yield
    finally:
        gauge.dec()


def plugin_error(plugin: str, hook: str) -> None:
    """Count an exception raised by ``plugin`` in ``hook``."""
    PLUGIN_ERRORS.labels(plugin=plugin, hook=hook).inc()


def exposition(accept: str | None) -> tuple[bytes, str]:
    """The registry in the text format the scraper asked for (OpenMetrics or 0.0.4)."""
    encoder, content_type = choose_encoder(accept or "")
    return encoder(REGISTRY), content_type


# Pre-create the stream kinds so dashboards see 0 instead of no series.
for _kind in ("sse", "websocket", "apiserver-watch"):
    OPEN_STREAMS.labels(kind=_kind)
