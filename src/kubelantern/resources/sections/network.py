"""Service (ports, endpoints from EndpointSlices, selected pods) and Ingress (rules, TLS)."""

from __future__ import annotations

import asyncio

from kubelantern import errors
from kubelantern.resources.relations import (
    Lookup,
    Obj,
    Related,
    guarded,
    map_selector_string,
    pods_selected,
    refusal,
)
from kubelantern.resources.sections.base import Section, builds, meta, spec, status

SERVICE_NAME_LABEL = "kubernetes.io/service-name"


def service_ports(svc: Obj) -> list[Obj]:
    return [
        {
            "name": p.get("name", ""),
            "port": p.get("port"),
            "targetPort": p.get("targetPort", p.get("port")),
            "nodePort": p.get("nodePort"),
            "protocol": p.get("protocol", "TCP"),
            "appProtocol": p.get("appProtocol", ""),
        }
        for p in spec(svc).get("ports") or []
    ]


def endpoint_rows(lk: Lookup, slices: list[Obj]) -> list[Obj]:
    """One row per endpoint of every EndpointSlice of the Service."""
    rows = []
    for sl in slices:
        ports = [
            f"{p.get('port')}/{p.get('protocol', 'TCP')}"
            + (f" ({p['name']})" if p.get("name") else "")
            for p in sl.get("ports") or []
        ]
        for ep in sl.get("endpoints") or []:
            cond = ep.get("conditions") or {}
            target = ep.get("targetRef") or {}
            rows.append(
                {
                    "addresses": list(ep.get("addresses") or []),
                    "ready": cond.get("ready"),
                    "serving": cond.get("serving"),
                    "terminating": cond.get("terminating"),
                    "target": lk.link(
                        "v1",
                        target.get("kind", ""),
                        target.get("name", ""),
                        target.get("namespace"),
                    )
                    if target
                    else None,
                    "node": ep.get("nodeName", ""),
                    "zone": ep.get("zone", ""),
                    "ports": ports,
                    "slice": meta(sl).get("name", ""),
                }
            )
    return rows


@builds("", "Service")
async def service_section(lk: Lookup, svc: Obj) -> Section:
    md, sp = meta(svc), spec(svc)
    ns, name = md.get("namespace"), md.get("name", "")

    async def slices() -> list[Obj]:
        found = await lk.list(
            "discovery.k8s.io/v1",
            "EndpointSlice",
            ns,
            label_selector=f"{SERVICE_NAME_LABEL}={name}",
        )
        return endpoint_rows(lk, found)

    selector = map_selector_string(sp.get("selector"))
    endpoints, pods = await asyncio.gather(
        guarded("Endpoints", "endpoints", slices()),
        pods_selected(lk, ns, selector, title="Selected pods"),
    )
    lb = status(svc).get("loadBalancer") or {}
    summary = {
        "type": sp.get("type", "ClusterIP"),
        "clusterIP": sp.get("clusterIP", ""),
        "clusterIPs": list(sp.get("clusterIPs") or []),
        "externalIPs": list(sp.get("externalIPs") or []),
        "externalName": sp.get("externalName", ""),
        "loadBalancer": [i.get("ip") or i.get("hostname") for i in lb.get("ingress") or []],
        "ports": service_ports(svc),
        "selector": selector or "",
        "sessionAffinity": sp.get("sessionAffinity", "None"),
        "ipFamilies": list(sp.get("ipFamilies") or []),
        "internalTrafficPolicy": sp.get("internalTrafficPolicy", ""),
        "externalTrafficPolicy": sp.get("externalTrafficPolicy", ""),
    }
    return Section("service", summary, [endpoints, pods])


def backend(lk: Lookup, b: Obj | None, ns: str | None) -> Obj | None:
    """An Ingress backend: a service and port, or a resource reference."""
    if not b:
        return None
    if "service" in b:
        svc = b["service"] or {}
        port = svc.get("port") or {}
        return {
            "service": lk.link("v1", "Service", svc.get("name", ""), ns),
            "port": port.get("name") or port.get("number"),
        }
    res = b.get("resource") or {}
    group = res.get("apiGroup") or ""
    rt = next(
        (t for t in lk.discovery.types if t.group == group and t.kind == res.get("kind")), None
    )
    return {
        "resource": lk.link(rt.api_version, rt.kind, res.get("name", ""), ns)
        if rt
        else {"kind": res.get("kind", ""), "name": res.get("name", ""), "url": None},
        "port": None,
    }


async def backend_services(lk: Lookup, ns: str | None, names: list[str]) -> Related:
    """Each Service the Ingress routes to, fetched to show it exists (or not)."""
    title = "Backend services"
    results = await asyncio.gather(
        *(lk.get("v1", "Service", ns, n) for n in names), return_exceptions=True
    )
    items = []
    for name, res in zip(names, results, strict=True):
        item = lk.link("v1", "Service", name, ns)
        if isinstance(res, errors.NotFound):
            item["missing"] = True
        elif isinstance(res, errors.KubelanternError):
            return Related(
                title, "services", error=refusal(res), forbidden=isinstance(res, errors.Forbidden)
            )
        elif isinstance(res, BaseException):
            raise res
        else:
            item.update(
                missing=False,
                type=spec(res).get("type", "ClusterIP"),
                clusterIP=spec(res).get("clusterIP", ""),
                ports=[f"{p['port']}/{p['protocol']}" for p in service_ports(res)],
            )
        items.append(item)
    return Related(title, "services", items)


@builds("networking.k8s.io", "Ingress")
async def ingress_section(lk: Lookup, ing: Obj) -> Section:
    md, sp = meta(ing), spec(ing)
    ns = md.get("namespace")
    rules = []
    raw_backends = [sp.get("defaultBackend")]
    for rule in sp.get("rules") or []:
        paths = (rule.get("http") or {}).get("paths") or [{}]
        for path in paths:
            raw_backends.append(path.get("backend"))
            rules.append(
                {
                    "host": rule.get("host") or "*",
                    "path": path.get("path", "/" if path else ""),
                    "pathType": path.get("pathType", ""),
                    "backend": backend(lk, path.get("backend"), ns),
                }
            )
    tls = [
        {
            "hosts": list(t.get("hosts") or []),
            "secret": lk.link("v1", "Secret", t["secretName"], ns) if t.get("secretName") else None,
        }
        for t in sp.get("tls") or []
    ]
    names: list[str] = []
    for b in raw_backends:
        name = ((b or {}).get("service") or {}).get("name")
        if name and name not in names:
            names.append(name)
    klass = sp.get("ingressClassName") or (md.get("annotations") or {}).get(
        "kubernetes.io/ingress.class", ""
    )
    lb = status(ing).get("loadBalancer") or {}
    summary = {
        "ingressClassName": klass,
        "ingressClass": lk.link("networking.k8s.io/v1", "IngressClass", klass, None)
        if klass
        else None,
        "rules": rules,
        "defaultBackend": backend(lk, sp.get("defaultBackend"), ns),
        "tls": tls,
        "addresses": [i.get("ip") or i.get("hostname") for i in lb.get("ingress") or []],
    }
    return Section("ingress", summary, [await backend_services(lk, ns, names)])
