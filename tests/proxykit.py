"""A real HTTP application the API server's services/pods proxy reaches on this machine.

The API server proxies only to an endpoint backed by a pod whose IP it knows (1.37
skips endpoints without a pod target ref) and never to loopback addresses. So
this runs a tiny HTTP server on this machine's non-loopback address, makes a
pod on a kwok node, sets that pod's IP to this machine's address (kwok leaves
the status alone once the pod runs), and puts a Service with a selector in
front of it: the EndpointSlice controller then points the Service at us.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson
import pytest

from tests.conftest import RealCluster, wait_until
from tests.integration.operate_kit import Kube, unique


def host_address() -> str:
    """This machine's address on its default route (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.254", 9))
        except OSError:
            return ""
        addr = str(s.getsockname()[0])
    return "" if addr.startswith("127.") else addr


class App(BaseHTTPRequestHandler):
    """The proxied application: a few pages that try what a hostile one would."""

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes, ctype: str, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers.items():
            self.send_header(k.replace("_", "-"), v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path == "/":
            html = (
                b'<html><body><h1 id="app">proxied app</h1><a id="next" href="/page">next</a>'
                b'<script>document.title = "script ran"</script></body></html>'
            )
            self._send(
                200,
                html,
                "text/html; charset=utf-8",
                Set_Cookie="stolen=1; Path=/",
                Content_Security_Policy="default-src *",
            )
        elif path == "/headers":
            seen = {k.lower(): v for k, v in self.headers.items()}
            self._send(200, orjson.dumps({"headers": seen, "path": self.path}), "application/json")
        elif path == "/redirect":
            self._send(302, b"", "text/plain", Location="/target")
        elif path == "/away":
            self._send(302, b"", "text/plain", Location="http://example.invalid/x")
        elif path == "/private":
            self._send(
                401, b'{"app":"needs a password"}', "application/json", WWW_Authenticate="Basic"
            )
        elif path == "/data.json":
            self._send(200, b'{"from":"app"}', "application/json")
        else:
            self._send(404, b"the app says: no such page", "text/plain")


@dataclass
class Target:
    ns: str
    port: int
    service: str = "proxied"
    pod: str = "proxied"


@contextmanager
def proxied_target(cluster: RealCluster) -> Iterator[Target]:
    """A Service and pod in a namespace of their own, proxied to a local App server."""
    addr = host_address()
    if not addr:
        pytest.skip("this machine has no non-loopback address for the API server to proxy to")
    server = ThreadingHTTPServer(("0.0.0.0", 0), App)
    port = int(server.server_address[1])
    threading.Thread(target=server.serve_forever, daemon=True).start()
    kube = Kube(cluster)
    ns = unique("proxy")
    t = Target(ns=ns, port=port)
    try:
        kube.http.post("/api/v1/namespaces", json={"metadata": {"name": ns}}).raise_for_status()
        pod = {
            "metadata": {"name": t.pod, "labels": {"app": "proxied"}},
            "spec": {
                "nodeName": "kwok-node-0",
                "tolerations": [{"operator": "Exists"}],
                "containers": [{"name": "web", "image": "web", "ports": [{"containerPort": port}]}],
            },
        }
        kube.http.post(f"/api/v1/namespaces/{ns}/pods", json=pod).raise_for_status()
        pod_path = f"/api/v1/namespaces/{ns}/pods/{t.pod}"
        wait_until(
            lambda: (kube.must(pod_path).get("status") or {}).get("phase") == "Running",
            timeout=60,
            what="the pod runs",
        )
        kube.http.patch(
            pod_path + "/status",
            json={"status": {"podIP": addr, "podIPs": [{"ip": addr}]}},
            headers={"Content-Type": "application/merge-patch+json"},
        ).raise_for_status()
        svc = {
            "metadata": {"name": t.service},
            "spec": {"selector": {"app": "proxied"}, "ports": [{"port": 80, "targetPort": port}]},
        }
        kube.http.post(f"/api/v1/namespaces/{ns}/services", json=svc).raise_for_status()
        proxied = f"/api/v1/namespaces/{ns}/services/{t.service}:80/proxy/headers"
        wait_until(
            lambda: kube.http.get(proxied).status_code == 200,
            timeout=60,
            what="the API server proxies to the Service",
        )
        yield t
    finally:
        kube.http.delete(f"/api/v1/namespaces/{ns}", params={"gracePeriodSeconds": "0"})
        # Gone before the next tests, which count namespaces.
        kube.wait_gone(f"/api/v1/namespaces/{ns}", timeout=90)
        kube.close()
        server.shutdown()
        server.server_close()  # its listening socket, else a ResourceWarning
        kube.close()
        server.shutdown()


def base(cluster: RealCluster, t: Target, kind: str = "services", port: int = 80) -> str:
    name = t.service if kind == "services" else t.pod
    return f"/c/{cluster.name}/namespaces/{t.ns}/{kind}/{name}:{port}/proxy"
