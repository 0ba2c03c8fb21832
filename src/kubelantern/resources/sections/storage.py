"""PersistentVolumeClaim and PersistentVolume: status, capacity, modes, class, binding."""

from __future__ import annotations

from kubelantern.resources.relations import Lookup, Obj, Related, brief_pod, guarded
from kubelantern.resources.sections.base import Section, builds, meta, spec, status


def storage_class(lk: Lookup, name: str | None) -> Obj | None:
    return lk.link("storage.k8s.io/v1", "StorageClass", name, None) if name else None


async def pods_using_claim(lk: Lookup, ns: str | None, claim: str) -> Related:
    """Pods in the claim's namespace that mount it."""

    async def fetch() -> list[Obj]:
        pods = await lk.list("v1", "Pod", ns)
        return [
            brief_pod(lk, p)
            for p in pods
            if any(
                (v.get("persistentVolumeClaim") or {}).get("claimName") == claim
                for v in spec(p).get("volumes") or []
            )
        ]

    return await guarded("Pods using this claim", "pods", fetch())


@builds("", "PersistentVolumeClaim")
async def pvc_section(lk: Lookup, pvc: Obj) -> Section:
    md, sp, st = meta(pvc), spec(pvc), status(pvc)
    ns = md.get("namespace")
    volume = sp.get("volumeName") or ""
    summary = {
        "phase": st.get("phase", ""),
        "capacity": (st.get("capacity") or {}).get("storage", ""),
        "requested": ((sp.get("resources") or {}).get("requests") or {}).get("storage", ""),
        "accessModes": list(st.get("accessModes") or sp.get("accessModes") or []),
        "storageClassName": sp.get("storageClassName") or "",
        "storageClass": storage_class(lk, sp.get("storageClassName")),
        "volumeMode": sp.get("volumeMode", "Filesystem"),
        "volume": lk.link("v1", "PersistentVolume", volume, None) if volume else None,
    }
    return Section("pvc", summary, [await pods_using_claim(lk, ns, md.get("name", ""))])


SOURCE_FIELDS = ("path", "server", "driver", "volumeHandle", "pdName", "volumeID", "fsType")


@builds("", "PersistentVolume")
async def pv_section(lk: Lookup, pv: Obj) -> Section:
    sp, st = spec(pv), status(pv)
    claim = sp.get("claimRef") or {}
    skip = {
        "capacity",
        "accessModes",
        "claimRef",
        "persistentVolumeReclaimPolicy",
        "storageClassName",
        "volumeMode",
        "nodeAffinity",
        "mountOptions",
        "volumeAttributesClassName",
    }
    source_type = next((k for k in sp if k not in skip), "")
    raw = sp.get(source_type)
    source: Obj = raw if isinstance(raw, dict) else {}
    summary = {
        "phase": st.get("phase", ""),
        "reason": st.get("reason", ""),
        "message": st.get("message", ""),
        "capacity": (sp.get("capacity") or {}).get("storage", ""),
        "accessModes": list(sp.get("accessModes") or []),
        "reclaimPolicy": sp.get("persistentVolumeReclaimPolicy", ""),
        "storageClassName": sp.get("storageClassName") or "",
        "storageClass": storage_class(lk, sp.get("storageClassName")),
        "volumeMode": sp.get("volumeMode", "Filesystem"),
        "claim": lk.link(
            "v1", "PersistentVolumeClaim", claim.get("name", ""), claim.get("namespace")
        )
        if claim.get("name")
        else None,
        "sourceType": source_type,
        "source": {k: source[k] for k in SOURCE_FIELDS if k in source},
    }
    return Section("pv", summary)
