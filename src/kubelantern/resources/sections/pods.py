"""Pod: containers (state, restarts, probes, resources, mounts), volumes, node, IPs."""

from __future__ import annotations

from typing import Any

from kubelantern.resources.quantity import format_quantity
from kubelantern.resources.relations import (
    Lookup,
    Obj,
    Related,
    guarded,
    map_selects,
    pod_requests,
    pod_status,
)
from kubelantern.resources.sections.base import Section, builds, meta, spec, status


def container_state(state: Obj | None) -> Obj | None:
    """running/waiting/terminated with reason, message, since and exit code."""
    if not state:
        return None
    for name in ("running", "waiting", "terminated"):
        detail = state.get(name)
        if detail is not None:
            return {
                "state": name,
                "reason": detail.get("reason", ""),
                "message": detail.get("message", ""),
                "since": detail.get("startedAt") or detail.get("finishedAt"),
                "exitCode": detail.get("exitCode"),
            }
    return None


def describe_probe(probe: Obj | None) -> str:
    """A probe as ``kubectl describe`` words it."""
    if not probe:
        return ""
    if "httpGet" in probe:
        h = probe["httpGet"]
        scheme = str(h.get("scheme") or "HTTP").lower()
        what = f"http-get {scheme}://{h.get('host', '')}:{h.get('port', '')}{h.get('path', '')}"
    elif "tcpSocket" in probe:
        t = probe["tcpSocket"]
        what = f"tcp-socket {t.get('host', '')}:{t.get('port', '')}"
    elif "exec" in probe:
        what = "exec " + str((probe["exec"] or {}).get("command") or [])
    elif "grpc" in probe:
        g = probe["grpc"]
        what = f"grpc <pod>:{g.get('port', '')} {g.get('service', '')}".rstrip()
    else:
        what = "unknown"
    return (
        f"{what} delay={probe.get('initialDelaySeconds', 0)}s"
        f" timeout={probe.get('timeoutSeconds', 1)}s period={probe.get('periodSeconds', 10)}s"
        f" #success={probe.get('successThreshold', 1)} #failure={probe.get('failureThreshold', 3)}"
    )


def describe_port(port: Obj) -> str:
    text = f"{port.get('containerPort', '')}/{port.get('protocol', 'TCP')}"
    if port.get("name"):
        text += f" ({port['name']})"
    if port.get("hostPort"):
        text += f" host {port['hostPort']}"
    return text


def container(c: Obj, cs: Obj | None, *, init: bool = False) -> Obj:
    cs = cs or {}
    resources = c.get("resources") or {}
    probes = {
        kind: describe_probe(c.get(f"{kind}Probe"))
        for kind in ("liveness", "readiness", "startup")
        if c.get(f"{kind}Probe")
    }
    return {
        "name": c.get("name", ""),
        "image": c.get("image", ""),
        "imageID": cs.get("imageID", ""),
        "init": init,
        "sidecar": init and c.get("restartPolicy") == "Always",
        "ready": bool(cs.get("ready")),
        "started": cs.get("started"),
        "restarts": int(cs.get("restartCount") or 0),
        "state": container_state(cs.get("state")),
        "lastState": container_state(cs.get("lastState")),
        "ports": [describe_port(p) for p in c.get("ports") or []],
        "probes": probes,
        "requests": dict(resources.get("requests") or {}),
        "limits": dict(resources.get("limits") or {}),
        "command": list(c.get("command") or []),
        "args": list(c.get("args") or []),
        "envCount": len(c.get("env") or []),
        "envFrom": [
            {"kind": "ConfigMap" if "configMapRef" in ef else "Secret", **describe_env_from(ef)}
            for ef in c.get("envFrom") or []
        ],
        "volumeMounts": [
            {
                "name": m.get("name", ""),
                "mountPath": m.get("mountPath", ""),
                "readOnly": bool(m.get("readOnly")),
                "subPath": m.get("subPath", ""),
            }
            for m in c.get("volumeMounts") or []
        ],
    }


def describe_env_from(ef: Obj) -> Obj:
    ref = ef.get("configMapRef") or ef.get("secretRef") or {}
    return {"name": ref.get("name", ""), "prefix": ef.get("prefix", "")}


VOLUME_REFS: dict[str, tuple[str, str]] = {
    "configMap": ("ConfigMap", "name"),
    "secret": ("Secret", "secretName"),
    "persistentVolumeClaim": ("PersistentVolumeClaim", "claimName"),
}


def volume(lk: Lookup, v: Obj, namespace: str | None) -> Obj:
    """A volume: its type, a one-line source, and a link when it names an object."""
    kind = next((k for k in v if k != "name"), "")
    raw = v.get(kind)
    src: Obj = raw if isinstance(raw, dict) else {}
    out: dict[str, Any] = {"name": v.get("name", ""), "type": kind, "source": "", "link": None}
    if kind in VOLUME_REFS:
        ref_kind, field = VOLUME_REFS[kind]
        name = src.get(field, "")
        out["source"] = name
        out["link"] = lk.link("v1", ref_kind, name, namespace)
    elif kind == "hostPath":
        out["source"] = src.get("path", "")
    elif kind == "emptyDir":
        out["source"] = " ".join(f"{k}={v}" for k, v in src.items()) or "node disk"
    elif kind == "projected":
        out["source"] = ", ".join(
            next(iter(s), "") for s in src.get("sources") or [] if isinstance(s, dict)
        )
    return out


def summarize_pod(lk: Lookup, pod: Obj) -> Obj:
    sp, st, md = spec(pod), status(pod), meta(pod)
    ns = md.get("namespace")
    by_name = {cs.get("name"): cs for cs in st.get("containerStatuses") or []}
    init_by_name = {cs.get("name"): cs for cs in st.get("initContainerStatuses") or []}
    node = sp.get("nodeName") or ""
    requests = pod_requests(pod)
    return {
        "phase": st.get("phase", ""),
        "status": pod_status(pod),
        "podIP": st.get("podIP", ""),
        "podIPs": [p.get("ip") for p in st.get("podIPs") or []],
        "hostIP": st.get("hostIP", ""),
        "hostIPs": [p.get("ip") for p in st.get("hostIPs") or []],
        "qosClass": st.get("qosClass", ""),
        "startTime": st.get("startTime"),
        "node": lk.link("v1", "Node", node, None) if node else None,
        "serviceAccount": sp.get("serviceAccountName", ""),
        "restartPolicy": sp.get("restartPolicy", ""),
        "priorityClassName": sp.get("priorityClassName", ""),
        "initContainers": [
            container(c, init_by_name.get(c.get("name")), init=True)
            for c in sp.get("initContainers") or []
        ],
        "containers": [
            container(c, by_name.get(c.get("name"))) for c in sp.get("containers") or []
        ],
        "volumes": [volume(lk, v, ns) for v in sp.get("volumes") or []],
        "requests": {k: format_quantity(k, v) for k, v in sorted(requests.items())},
    }


async def services_selecting(lk: Lookup, pod: Obj) -> Related:
    """Services in the pod's namespace whose selector matches the pod's labels."""
    md = meta(pod)

    async def fetch() -> list[Obj]:
        services = await lk.list("v1", "Service", md.get("namespace"))
        return [
            {
                **lk.link("v1", "Service", meta(s).get("name", ""), md.get("namespace")),
                "type": spec(s).get("type", "ClusterIP"),
                "clusterIP": spec(s).get("clusterIP", ""),
                "ports": [
                    f"{p.get('port')}/{p.get('protocol', 'TCP')}"
                    for p in spec(s).get("ports") or []
                ],
            }
            for s in services
            if map_selects(spec(s).get("selector"), md.get("labels"))
        ]

    return await guarded("Services selecting this pod", "services", fetch())


@builds("", "Pod")
async def pod_section(lk: Lookup, pod: Obj) -> Section:
    return Section("pod", summarize_pod(lk, pod), [await services_selecting(lk, pod)])
