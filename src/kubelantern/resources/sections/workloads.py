"""Workloads: replicas, strategy, rollout status (kubectl's words), owned objects.

Deployment -> ReplicaSets -> Pods, StatefulSet/DaemonSet/ReplicaSet/Job -> Pods,
CronJob -> Jobs. Owned objects are found by the workload's selector and then
kept only if their ownerReferences name the workload, as the controllers do.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from typing import Any

from kubelantern import errors
from kubelantern.resources.relations import (
    Lookup,
    Obj,
    Related,
    attempt_all,
    brief_pod,
    failed,
    owned_by,
    pods_selected,
    selector_string,
)
from kubelantern.resources.sections.base import Section, builds, meta, spec, status

REVISION = "deployment.kubernetes.io/revision"


async def autoscalers_for(lk: Lookup, obj: Obj) -> Related:
    """HorizontalPodAutoscalers whose scaleTargetRef names this workload."""
    md = meta(obj)
    ns, name, kind = md.get("namespace"), md.get("name"), obj.get("kind")
    title, key = "Autoscalers", "autoscalers"
    try:
        hpas = await lk.list("autoscaling/v2", "HorizontalPodAutoscaler", ns)
    except errors.KubelanternError as exc:
        return failed(title, key, exc)
    items = []
    for hpa in hpas:
        sp, st = spec(hpa), status(hpa)
        ref = sp.get("scaleTargetRef") or {}
        if ref.get("kind") != kind or ref.get("name") != name:
            continue
        items.append(
            {
                **lk.link("autoscaling/v2", "HorizontalPodAutoscaler", meta(hpa)["name"], ns),
                "min": sp.get("minReplicas", 1),
                "max": sp.get("maxReplicas"),
                "current": st.get("currentReplicas"),
                "desired": st.get("desiredReplicas"),
            }
        )
    return Related(title, key, items)


async def claims_for(lk: Lookup, sts: Obj) -> Related:
    """The PVCs a StatefulSet made from its volumeClaimTemplates (<template>-<sts>-<n>)."""
    md = meta(sts)
    ns, name = md.get("namespace"), md.get("name", "")
    templates = [meta(t).get("name", "") for t in spec(sts).get("volumeClaimTemplates") or []]
    title, key = "Volume claims", "claims"
    if not templates:
        return Related(title, key, [])
    pattern = re.compile(
        "^(" + "|".join(re.escape(t) for t in templates) + ")-" + re.escape(name) + r"-\d+$"
    )
    try:
        pvcs = await lk.list("v1", "PersistentVolumeClaim", ns)
    except errors.KubelanternError as exc:
        return failed(title, key, exc)
    items = []
    for pvc in sorted(pvcs, key=lambda p: meta(p).get("name", "")):
        pvc_name = meta(pvc).get("name", "")
        if not pattern.match(pvc_name):
            continue
        st = status(pvc)
        items.append(
            {
                **lk.link("v1", "PersistentVolumeClaim", pvc_name, ns),
                "phase": st.get("phase", ""),
                "capacity": (st.get("capacity") or {}).get("storage", ""),
                "storageClass": spec(pvc).get("storageClassName") or "",
            }
        )
    return Related(title, key, items)


def images(obj: Obj) -> list[str]:
    pod_spec = spec(spec(obj).get("template") or {})
    return [c.get("image", "") for c in pod_spec.get("containers") or []]


def strategy(obj: Obj, key: str = "strategy") -> Obj:
    raw = spec(obj).get(key) or {}
    rolling = raw.get("rollingUpdate") or {}
    return {
        "type": raw.get("type", ""),
        "maxSurge": rolling.get("maxSurge"),
        "maxUnavailable": rolling.get("maxUnavailable"),
        "partition": rolling.get("partition"),
    }


def _rollout(message: str, done: bool | None) -> Obj:
    """kubectl's rollout status words, and whether the rollout is done (None: unknown)."""
    return {"message": message, "done": done}


def _observed(obj: Obj) -> bool:
    return int(meta(obj).get("generation") or 0) <= int(status(obj).get("observedGeneration") or 0)


def deployment_rollout(d: Obj) -> Obj:
    """``kubectl rollout status deployment`` (its message and whether it is done)."""
    name, sp, st = meta(d).get("name"), spec(d), status(d)
    if not _observed(d):
        return _rollout("Waiting for deployment spec update to be observed...", False)
    for cond in st.get("conditions") or []:
        if cond.get("type") == "Progressing" and cond.get("reason") == "ProgressDeadlineExceeded":
            return _rollout(f'deployment "{name}" exceeded its progress deadline', False)
    want = int(sp.get("replicas", 1))
    updated = int(st.get("updatedReplicas") or 0)
    total = int(st.get("replicas") or 0)
    available = int(st.get("availableReplicas") or 0)
    wait = f'Waiting for deployment "{name}" rollout to finish: '
    if updated < want:
        return _rollout(wait + f"{updated} out of {want} new replicas have been updated...", False)
    if total > updated:
        return _rollout(wait + f"{total - updated} old replicas are pending termination...", False)
    if available < updated:
        return _rollout(wait + f"{available} of {updated} updated replicas are available...", False)
    return _rollout(f'deployment "{name}" successfully rolled out', True)


def daemonset_rollout(ds: Obj) -> Obj:
    """``kubectl rollout status daemonset``."""
    name, st = meta(ds).get("name"), status(ds)
    if (spec(ds).get("updateStrategy") or {}).get("type", "RollingUpdate") != "RollingUpdate":
        return _rollout("rollout status is only available for RollingUpdate strategy type", None)
    if not _observed(ds):
        return _rollout("Waiting for daemon set spec update to be observed...", False)
    desired = int(st.get("desiredNumberScheduled") or 0)
    updated = int(st.get("updatedNumberScheduled") or 0)
    available = int(st.get("numberAvailable") or 0)
    wait = f'Waiting for daemon set "{name}" rollout to finish: '
    if updated < desired:
        return _rollout(wait + f"{updated} out of {desired} new pods have been updated...", False)
    if available < desired:
        return _rollout(wait + f"{available} of {desired} updated pods are available...", False)
    return _rollout(f'daemon set "{name}" successfully rolled out', True)


def statefulset_rollout(sts: Obj) -> Obj:
    """``kubectl rollout status statefulset``."""
    sp, st = spec(sts), status(sts)
    strat = sp.get("updateStrategy") or {}
    if strat.get("type", "RollingUpdate") != "RollingUpdate":
        return _rollout("rollout status is only available for RollingUpdate strategy type", None)
    if not st.get("observedGeneration") or not _observed(sts):
        return _rollout("Waiting for statefulset spec update to be observed...", False)
    want = int(sp.get("replicas", 1))
    ready = int(st.get("readyReplicas") or 0)
    updated = int(st.get("updatedReplicas") or 0)
    if ready < want:
        return _rollout(f"Waiting for {want - ready} pods to be ready...", False)
    partition = (strat.get("rollingUpdate") or {}).get("partition")
    if partition is not None:
        if updated < want - int(partition):
            return _rollout(
                "Waiting for partitioned roll out to finish: "
                f"{updated} out of {want - int(partition)} new pods have been updated...",
                False,
            )
        return _rollout(
            f"partitioned roll out complete: {updated} new pods have been updated...", True
        )
    revision = st.get("updateRevision", "")
    if revision != st.get("currentRevision", ""):
        return _rollout(
            "waiting for statefulset rolling update to complete "
            f"{updated} pods at revision {revision}...",
            False,
        )
    return _rollout(
        f"statefulset rolling update complete {ready} pods at revision {revision}...", True
    )


def brief_replicaset(lk: Lookup, rs: Obj) -> Obj:
    md, st = meta(rs), status(rs)
    return {
        **lk.link("apps/v1", "ReplicaSet", md.get("name", ""), md.get("namespace")),
        "revision": (md.get("annotations") or {}).get(REVISION, ""),
        "desired": int(spec(rs).get("replicas", 1)),
        "current": int(st.get("replicas") or 0),
        "ready": int(st.get("readyReplicas") or 0),
        "images": images(rs),
        "created": md.get("creationTimestamp"),
    }


def _revision(item: Obj) -> int:
    try:
        return int(item.get("revision") or 0)
    except ValueError:
        return 0


@builds("apps", "Deployment")
async def deployment_section(lk: Lookup, d: Obj) -> Section:
    md, sp, st = meta(d), spec(d), status(d)
    ns, uid = md.get("namespace"), md.get("uid", "")
    selector = selector_string(sp.get("selector")) or ""
    (rs_raw, pods_raw), hpas = await asyncio.gather(
        attempt_all(
            lk.list("apps/v1", "ReplicaSet", ns, label_selector=selector),
            lk.list("v1", "Pod", ns, label_selector=selector),
        ),
        autoscalers_for(lk, d),
    )
    if isinstance(rs_raw, errors.KubelanternError):
        replicasets = failed("ReplicaSets", "replicasets", rs_raw)
        rs_uids: set[str] = set()
    else:
        mine = [rs for rs in rs_raw if owned_by(rs, [uid])]
        rs_uids = {meta(rs).get("uid", "") for rs in mine}
        briefs = sorted((brief_replicaset(lk, rs) for rs in mine), key=_revision, reverse=True)
        replicasets = Related("ReplicaSets", "replicasets", briefs)
    if isinstance(pods_raw, errors.KubelanternError):
        pods = failed("Pods", "pods", pods_raw)
    else:
        pods = Related("Pods", "pods", [brief_pod(lk, p) for p in pods_raw if owned_by(p, rs_uids)])
    summary = {
        "replicas": {
            "desired": int(sp.get("replicas", 1)),
            "current": int(st.get("replicas") or 0),
            "ready": int(st.get("readyReplicas") or 0),
            "updated": int(st.get("updatedReplicas") or 0),
            "available": int(st.get("availableReplicas") or 0),
            "unavailable": int(st.get("unavailableReplicas") or 0),
        },
        "strategy": strategy(d),
        "selector": selector,
        "images": images(d),
        "paused": bool(sp.get("paused")),
        "minReadySeconds": int(sp.get("minReadySeconds") or 0),
        "revisionHistoryLimit": sp.get("revisionHistoryLimit"),
        "progressDeadlineSeconds": sp.get("progressDeadlineSeconds"),
        "revision": (md.get("annotations") or {}).get(REVISION, ""),
        "rollout": deployment_rollout(d),
    }
    return Section("workload", summary, [replicasets, pods, hpas])


@builds("apps", "ReplicaSet")
async def replicaset_section(lk: Lookup, rs: Obj) -> Section:
    md, sp, st = meta(rs), spec(rs), status(rs)
    selector = selector_string(sp.get("selector")) or ""
    pods = await pods_selected(lk, md.get("namespace"), selector, owner_uids={md.get("uid", "")})
    summary = {
        "replicas": {
            "desired": int(sp.get("replicas", 1)),
            "current": int(st.get("replicas") or 0),
            "ready": int(st.get("readyReplicas") or 0),
            "available": int(st.get("availableReplicas") or 0),
        },
        "selector": selector,
        "images": images(rs),
        "revision": (md.get("annotations") or {}).get(REVISION, ""),
    }
    return Section("workload", summary, [pods])


@builds("apps", "StatefulSet")
async def statefulset_section(lk: Lookup, sts: Obj) -> Section:
    md, sp, st = meta(sts), spec(sts), status(sts)
    ns = md.get("namespace")
    selector = selector_string(sp.get("selector")) or ""
    pods, claims, hpas = await asyncio.gather(
        pods_selected(lk, ns, selector, owner_uids={md.get("uid", "")}),
        claims_for(lk, sts),
        autoscalers_for(lk, sts),
    )
    service = sp.get("serviceName") or ""
    summary = {
        "replicas": {
            "desired": int(sp.get("replicas", 1)),
            "current": int(st.get("replicas") or 0),
            "ready": int(st.get("readyReplicas") or 0),
            "updated": int(st.get("updatedReplicas") or 0),
            "available": int(st.get("availableReplicas") or 0),
        },
        "strategy": strategy(sts, "updateStrategy"),
        "selector": selector,
        "images": images(sts),
        "service": lk.link("v1", "Service", service, ns) if service else None,
        "podManagementPolicy": sp.get("podManagementPolicy", ""),
        "currentRevision": st.get("currentRevision", ""),
        "updateRevision": st.get("updateRevision", ""),
        "volumeClaimTemplates": [
            meta(t).get("name", "") for t in sp.get("volumeClaimTemplates") or []
        ],
        "rollout": statefulset_rollout(sts),
    }
    return Section("workload", summary, [pods, claims, hpas])


@builds("apps", "DaemonSet")
async def daemonset_section(lk: Lookup, ds: Obj) -> Section:
    md, sp, st = meta(ds), spec(ds), status(ds)
    selector = selector_string(sp.get("selector")) or ""
    pods = await pods_selected(lk, md.get("namespace"), selector, owner_uids={md.get("uid", "")})
    template_spec = spec(sp.get("template") or {})
    summary = {
        "replicas": {
            "desired": int(st.get("desiredNumberScheduled") or 0),
            "current": int(st.get("currentNumberScheduled") or 0),
            "ready": int(st.get("numberReady") or 0),
            "updated": int(st.get("updatedNumberScheduled") or 0),
            "available": int(st.get("numberAvailable") or 0),
            "misscheduled": int(st.get("numberMisscheduled") or 0),
        },
        "strategy": strategy(ds, "updateStrategy"),
        "selector": selector,
        "images": images(ds),
        "nodeSelector": dict(template_spec.get("nodeSelector") or {}),
        "rollout": daemonset_rollout(ds),
    }
    return Section("workload", summary, [pods])


def seconds_between(start: str | None, end: str | None) -> int | None:
    if not start:
        return None
    try:
        a = dt.datetime.fromisoformat(start.replace("Z", "+00:00"))
        b = (
            dt.datetime.fromisoformat(end.replace("Z", "+00:00"))
            if end
            else dt.datetime.now(dt.UTC)
        )
    except ValueError:
        return None
    return max(0, int((b - a).total_seconds()))


def job_result(job: Obj) -> str:
    """Complete, Failed, Suspended or Running, from the Job's true conditions."""
    true = {c.get("type") for c in status(job).get("conditions") or [] if c.get("status") == "True"}
    for cond in ("Complete", "Failed", "Suspended"):
        if cond in true:
            return cond
    if "FailureTarget" in true:
        return "Failing"
    if "SuccessCriteriaMet" in true:
        return "Completing"
    return "Suspended" if spec(job).get("suspend") else "Running"


def brief_job(lk: Lookup, job: Obj) -> Obj:
    md, sp, st = meta(job), spec(job), status(job)
    return {
        **lk.link("batch/v1", "Job", md.get("name", ""), md.get("namespace")),
        "result": job_result(job),
        "completions": f"{int(st.get('succeeded') or 0)}/{sp.get('completions', 1)}",
        "active": int(st.get("active") or 0),
        "failed": int(st.get("failed") or 0),
        "startTime": st.get("startTime"),
        "completionTime": st.get("completionTime"),
        "durationSeconds": seconds_between(st.get("startTime"), st.get("completionTime")),
        "created": md.get("creationTimestamp"),
    }


@builds("batch", "Job")
async def job_section(lk: Lookup, job: Obj) -> Section:
    md, sp = meta(job), spec(job)
    selector = selector_string(sp.get("selector")) or ""
    pods = await pods_selected(lk, md.get("namespace"), selector, owner_uids={md.get("uid", "")})
    summary: dict[str, Any] = brief_job(lk, job)
    summary.update(
        parallelism=sp.get("parallelism", 1),
        backoffLimit=sp.get("backoffLimit", 6),
        completionMode=sp.get("completionMode", "NonIndexed"),
        suspend=bool(sp.get("suspend")),
        images=images(job),
    )
    return Section("job", summary, [pods])


@builds("batch", "CronJob")
async def cronjob_section(lk: Lookup, cj: Obj) -> Section:
    md, sp, st = meta(cj), spec(cj), status(cj)
    ns, uid = md.get("namespace"), md.get("uid", "")
    (jobs_raw,) = await attempt_all(lk.list("batch/v1", "Job", ns))
    last_result = ""
    if isinstance(jobs_raw, errors.KubelanternError):
        jobs = failed("Jobs", "jobs", jobs_raw)
    else:
        briefs = [brief_job(lk, j) for j in jobs_raw if owned_by(j, [uid])]
        briefs.sort(key=lambda j: str(j.get("created") or ""), reverse=True)
        jobs = Related("Jobs", "jobs", briefs)
        finished = [j for j in briefs if j["result"] in ("Complete", "Failed")]
        last_result = finished[0]["result"] if finished else ""
    job_template = spec(sp.get("jobTemplate") or {})
    summary = {
        "schedule": sp.get("schedule", ""),
        "timeZone": sp.get("timeZone") or "",
        "suspend": bool(sp.get("suspend")),
        "concurrencyPolicy": sp.get("concurrencyPolicy", "Allow"),
        "startingDeadlineSeconds": sp.get("startingDeadlineSeconds"),
        "successfulJobsHistoryLimit": sp.get("successfulJobsHistoryLimit", 3),
        "failedJobsHistoryLimit": sp.get("failedJobsHistoryLimit", 1),
        "lastScheduleTime": st.get("lastScheduleTime"),
        "lastSuccessfulTime": st.get("lastSuccessfulTime"),
        "active": [
            lk.link("batch/v1", "Job", ref.get("name", ""), ref.get("namespace") or ns)
            for ref in st.get("active") or []
        ],
        "lastResult": last_result,
        "images": images({"spec": job_template}),
    }
    return Section("cronjob", summary, [jobs])
