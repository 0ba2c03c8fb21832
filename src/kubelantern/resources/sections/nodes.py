"""Node: capacity vs allocatable vs requested, taints, addresses, versions, its pods."""

from __future__ import annotations

from decimal import Decimal

from kubelantern import errors
from kubelantern.resources.quantity import format_quantity, parse_quantity
from kubelantern.resources.relations import (
    Lookup,
    Obj,
    Related,
    attempt_all,
    brief_pod,
    failed,
    pod_requests,
    terminated,
)
from kubelantern.resources.sections.base import Section, builds, meta, spec, status

ROLE_PREFIX = "node-role.kubernetes.io/"


def roles(node: Obj) -> list[str]:
    labels = meta(node).get("labels") or {}
    return sorted(k[len(ROLE_PREFIX) :] for k in labels if k.startswith(ROLE_PREFIX))


def node_ready(node: Obj) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in status(node).get("conditions") or []
    )


def resource_rows(node: Obj, requested: dict[str, Decimal] | None) -> list[Obj]:
    """One row per resource: capacity, allocatable and (if known) requested with percent."""
    st = status(node)
    capacity, allocatable = st.get("capacity") or {}, st.get("allocatable") or {}
    rows = []
    for name in sorted(set(capacity) | set(allocatable)):
        alloc = parse_quantity(allocatable.get(name))
        row: Obj = {
            "resource": name,
            "capacity": capacity.get(name, ""),
            "allocatable": allocatable.get(name, ""),
            "requested": None,
            "percent": None,
        }
        if requested is not None:
            req = requested.get(name, Decimal(0))
            if name == "pods":
                req = requested.get("__pods__", Decimal(0))
            row["requested"] = format_quantity(name, req)
            row["percent"] = round(float(req / alloc * 100), 1) if alloc else None
        rows.append(row)
    return rows


@builds("", "Node")
async def node_section(lk: Lookup, node: Obj) -> Section:
    md, sp, st = meta(node), spec(node), status(node)
    (pods_raw,) = await attempt_all(
        lk.list("v1", "Pod", None, field_selector=f"spec.nodeName={md.get('name', '')}")
    )
    requested: dict[str, Decimal] | None = None
    if isinstance(pods_raw, errors.KubelanternError):
        pods = failed("Pods on this node", "pods", pods_raw)
    else:
        pods = Related("Pods on this node", "pods", [brief_pod(lk, p) for p in pods_raw])
        requested = {}
        running = [p for p in pods_raw if not terminated(p)]
        for p in running:
            for k, v in pod_requests(p).items():
                requested[k] = requested.get(k, Decimal(0)) + v
        requested["__pods__"] = Decimal(len(running))
    info = st.get("nodeInfo") or {}
    summary = {
        "ready": node_ready(node),
        "roles": roles(node),
        "unschedulable": bool(sp.get("unschedulable")),
        "resources": resource_rows(node, requested),
        "taints": [
            {"key": t.get("key", ""), "value": t.get("value", ""), "effect": t.get("effect", "")}
            for t in sp.get("taints") or []
        ],
        "addresses": [
            {"type": a.get("type", ""), "address": a.get("address", "")}
            for a in st.get("addresses") or []
        ],
        "podCIDRs": list(sp.get("podCIDRs") or []),
        "providerID": sp.get("providerID", ""),
        "info": {
            "kubeletVersion": info.get("kubeletVersion", ""),
            "containerRuntimeVersion": info.get("containerRuntimeVersion", ""),
            "osImage": info.get("osImage", ""),
            "kernelVersion": info.get("kernelVersion", ""),
            "operatingSystem": info.get("operatingSystem", ""),
            "architecture": info.get("architecture", ""),
        },
    }
    return Section("node", summary, [pods])
