"""A small synchronous Kubernetes client for setting the cluster up: JSON in and out.

It reads the admin kubeconfig with the product's own loader and TLS code
(``kubelantern.clusters.kubeconfig``, ``kubelantern.clusters.tls``), so the
kubeconfigs testenv writes are proven readable by Kubelantern on every `up`.
The requests themselves are plain httpx: server-side apply and GETs during
bootstrap, where the product's async, per-user client would add nothing.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import httpx

from kubelantern.clusters.kubeconfig import KubeconfigError, load_files
from kubelantern.clusters.tls import make_ssl_context

from .common import Fail, poll

Obj = dict[str, Any]  # a Kubernetes object as JSON


class APIError(Exception):
    """The API server answered with an error status."""

    def __init__(self, code: int, body: str, method: str, path: str) -> None:
        self.code, self.body = code, body
        try:
            msg = json.loads(body).get("message", body)
        except (ValueError, AttributeError):
            msg = body
        super().__init__(f"{method} {path}: HTTP {code}: {msg}")


class Kube:
    """The admin's client (client certificate from its kubeconfig)."""

    def __init__(self, kubeconfig_path: str) -> None:
        try:
            (cfg,) = load_files([kubeconfig_path])
        except (KubeconfigError, ValueError) as e:
            raise Fail(f"cannot use {kubeconfig_path}: {e}") from None
        ctx = make_ssl_context(
            ca_data=cfg.ca_data,
            insecure=cfg.insecure_skip_tls_verify,
            client_cert=cfg.client_cert_data,
            client_key=cfg.client_key_data,
        )
        self.server = cfg.server
        # trust_env=False: an HTTPS_PROXY of the machine must not see 127.0.0.1 traffic.
        self.http = httpx.Client(base_url=cfg.server, verify=ctx, trust_env=False, timeout=30)
        self._disc: dict[str, dict[str, dict[str, Any]]] = {}

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Kube:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(
        self,
        method: str,
        path: str,
        body: Obj | bytes | None = None,
        ctype: str = "application/json",
        timeout: float = 30,
    ) -> Any:
        """JSON of the answer (None if empty); an error status raises APIError."""
        data = None
        headers = {"Accept": "application/json"}
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            headers["Content-Type"] = ctype
        r = self.http.request(method, path, content=data, headers=headers, timeout=timeout)
        if r.status_code >= 400:
            raise APIError(r.status_code, r.text, method, path)
        return r.json() if r.content else None

    def get(self, path: str, default: Any = KeyError) -> Any:
        """GET ``path``; a 404 returns ``default`` when one is given."""
        try:
            return self.request("GET", path)
        except APIError as e:
            if e.code == 404 and default is not KeyError:
                return default
            raise

    def readyz(self) -> bool:
        try:
            r = self.http.get("/readyz", timeout=5)
        except httpx.HTTPError:
            return False
        return r.status_code == 200 and r.text.strip() == "ok"

    # discovery -------------------------------------------------------------
    def resources(self, api_version: str, refresh: bool = False) -> dict[str, dict[str, Any]]:
        """kind -> {name, namespaced, status} of one group version (cached)."""
        if refresh or api_version not in self._disc:
            path = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
            lst = self.get(path, default=None)
            res = {}
            if lst:
                subs = {r["name"] for r in lst["resources"] if "/" in r["name"]}
                for r in lst["resources"]:
                    if "/" not in r["name"]:
                        res[r["kind"]] = {
                            "name": r["name"],
                            "namespaced": r["namespaced"],
                            "status": f"{r['name']}/status" in subs,
                        }
            self._disc[api_version] = res
        return self._disc[api_version]

    def resource_for(self, obj: Obj, wait: float = 0) -> dict[str, Any]:
        """Discovery of ``obj``'s kind; ``wait`` seconds for a CRD's kind to appear."""
        av, kind = obj["apiVersion"], obj["kind"]

        def find() -> dict[str, Any] | None:
            return self.resources(av, refresh=True).get(kind)

        r = self.resources(av).get(kind) or (
            poll(find, wait, f"API {av} {kind}") if wait else find()
        )
        if not r:
            raise Fail(f"the API server does not serve {av} {kind}")
        return r

    def path_for(self, obj: Obj, wait: float = 0, name: bool = True) -> tuple[str, dict[str, Any]]:
        r = self.resource_for(obj, wait)
        prefix = "/api/v1" if obj["apiVersion"] == "v1" else f"/apis/{obj['apiVersion']}"
        md = obj.get("metadata", {})
        if r["namespaced"]:
            prefix += f"/namespaces/{md.get('namespace') or 'default'}"
        p = f"{prefix}/{r['name']}"
        return (p + "/" + md["name"]) if name else p, r

    def apply(self, obj: Obj, manager: str, wait: float = 0, status: bool = False) -> Any:
        """Server-side apply (forced); with ``status``, the status subresource too."""
        path, r = self.path_for(obj, wait)
        q = "?" + urlencode({"fieldManager": manager, "force": "true"})
        out = self.request("PATCH", path + q, obj, ctype="application/apply-patch+yaml")
        if status and "status" in obj and r["status"]:
            out = self.request(
                "PATCH", path + "/status" + q, obj, ctype="application/apply-patch+yaml"
            )
        return out


def http_ok(url: str, timeout: float = 2) -> bool:
    """A component's /healthz (self-signed serving certificates: not verified)."""
    try:
        return httpx.get(url, verify=False, trust_env=False, timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def etcd_healthy(port: int) -> bool:
    r = httpx.get(f"http://127.0.0.1:{port}/health", trust_env=False, timeout=2)
    return b'"health":"true"' in r.content
