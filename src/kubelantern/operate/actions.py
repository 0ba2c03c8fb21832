"""Object actions: which ones a person is offered, and doing them.

Each action names the SelfSubjectAccessReview checks it needs; the detail page
offers an action only if they all pass (the API server still decides on the
real request). Actions do what kubectl does, so the cluster cannot tell them
apart from it:

* delete: ``DELETE`` with ``propagationPolicy`` Foreground, Background or Orphan;
* scale: a merge patch of the ``scale`` subresource (any kind that has one);
* restart: ``kubectl.kubernetes.io/restartedAt`` on the pod template;
* pause/resume: ``spec.paused`` of a Deployment;
* rollback: the template of an older ReplicaSet revision copied back into the
  Deployment (``kubectl rollout undo``);
* suspend/resume and run now: ``spec.suspend`` of a CronJob, and a Job made
  from its ``jobTemplate``, owned by the CronJob and annotated
  ``cronjob.kubernetes.io/instantiate: manual`` (``kubectl create job --from``);
* cordon/uncordon: ``spec.unschedulable`` of a Node; drain: see ``drain.py``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson

from kubelantern import errors, urls
from kubelantern.auth.access import Check, Decision
from kubelantern.clusters.credentials import Credentials
from kubelantern.clusters.discovery import ResourceType
from kubelantern.clusters.store import Cluster

DEPLOYMENTS = "deployments.apps"
RESTARTABLE = frozenset({DEPLOYMENTS, "statefulsets.apps", "daemonsets.apps"})
CRONJOBS = "cronjobs.batch"
NODES = "nodes"
PROPAGATION = ("Background", "Foreground", "Orphan")
REVISION = "deployment.kubernetes.io/revision"
MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
# Annotations ``kubectl rollout undo`` does not copy from the ReplicaSet.
_ROLLBACK_SKIP = frozenset(
    {
        "kubectl.kubernetes.io/last-applied-configuration",
        REVISION,
        "deployment.kubernetes.io/revision-history",
        "deployment.kubernetes.io/desired-replicas",
        "deployment.kubernetes.io/max-replicas",
        "deprecated.deployment.rollback.to",
    }
)


@dataclass(frozen=True)
class Target:
    """The object an action is about."""

    cluster: Cluster
    credentials: Credentials | None
    rt: ResourceType
    namespace: str | None
    name: str

    @property
    def path(self) -> str:
        return self.rt.path(self.namespace, self.name)

    def check(self, verb: str, subresource: str = "") -> Check:
        return Check(
            verb=verb,
            resource=self.rt.plural,
            group=self.rt.group,
            namespace=self.namespace,
            name=self.name,
            subresource=subresource,
        )

    async def request(
        self, method: str, path: str, body: Any = None, **kwargs: Any
    ) -> dict[str, Any]:
        headers = dict(kwargs.pop("headers", {}) or {})
        if body is not None:
            headers.setdefault("Content-Type", "application/json")
        return await self.cluster.client.json(
            method,
            path,
            credentials=self.credentials,
            content=orjson.dumps(body) if body is not None else None,
            headers=headers,
            verb=kwargs.pop("verb", method.lower()),
            resource=kwargs.pop("resource", self.rt.name),
            namespace=self.namespace,
            **kwargs,
        )

    async def merge_patch(self, patch: dict[str, Any], subresource: str = "") -> dict[str, Any]:
        path = self.path + (f"/{subresource}" if subresource else "")
        return await self.request(
            "PATCH",
            path,
            patch,
            headers={"Content-Type": MERGE_PATCH},
            verb="patch",
            resource=self.rt.name + (f"/{subresource}" if subresource else ""),
        )


@dataclass(frozen=True)
class Offer:
    """An action as the detail page shows it."""

    name: str
    label: str
    checks: tuple[Check, ...]
    confirm: str = ""
    danger: bool = False


def offers(target: Target, obj: dict[str, Any]) -> list[Offer]:
    """The actions that make sense for this object, in button order."""
    rt, spec = target.rt, obj.get("spec") or {}
    what = f"{rt.kind} {target.name}"
    out: list[Offer] = []
    if "patch" in rt.verbs:
        out.append(Offer("edit", "Edit YAML", (target.check("patch"),)))
    if "scale" in rt.subresources:
        out.append(Offer("scale", "Scale", (target.check("patch", "scale"),)))
    if rt.name in RESTARTABLE:
        out.append(
            Offer(
                "restart",
                "Restart",
                (target.check("patch"),),
                confirm=f"Restart every pod of {what}?",
            )
        )
    if rt.name == DEPLOYMENTS:
        if spec.get("paused"):
            out.append(Offer("resume", "Resume rollout", (target.check("patch"),)))
        else:
            out.append(Offer("pause", "Pause rollout", (target.check("patch"),)))
        list_rs = Check("list", "replicasets", group="apps", namespace=target.namespace)
        out.append(Offer("rollback", "Roll back", (target.check("patch"), list_rs)))
    if rt.name == CRONJOBS:
        if spec.get("suspend"):
            out.append(Offer("resume", "Resume", (target.check("patch"),)))
        else:
            out.append(Offer("suspend", "Suspend", (target.check("patch"),)))
        create_job = Check("create", "jobs", group="batch", namespace=target.namespace)
        out.append(Offer("run", "Run now", (create_job,), confirm=f"Start a Job from {what} now?"))
    if rt.name == NODES:
        if spec.get("unschedulable"):
            out.append(Offer("uncordon", "Uncordon", (target.check("patch"),)))
        else:
            out.append(Offer("cordon", "Cordon", (target.check("patch"),)))
        evict = Check("create", "pods", subresource="eviction")
        list_pods = Check("list", "pods")
        out.append(Offer("drain", "Drain", (target.check("patch"), list_pods, evict), danger=True))
    if "delete" in rt.verbs:
        out.append(Offer("delete", "Delete", (target.check("delete"),), danger=True))
    return out


async def available(
    target: Target,
    can_all: Callable[[list[Check]], Awaitable[list[Decision]]],
    obj: dict[str, Any],
) -> list[dict[str, Any]]:
    """Every offer with ``allowed`` and, if not, the reason (for a disabled button).

    ``can_all`` answers for this user (the request's ``ClusterContext.can_all``).
    """
    result = []
    listed = offers(target, obj)
    all_decisions = await asyncio.gather(*(can_all(list(o.checks)) for o in listed))
    for offer, decisions in zip(listed, all_decisions, strict=True):
        refused = [d for d in decisions if not d.allowed]
        result.append(
            {
                "name": offer.name,
                "label": offer.label,
                "allowed": not refused,
                "reason": refused[0].reason if refused else "",
                "confirm": offer.confirm,
                "danger": offer.danger,
            }
        )
    return result


# ---- doing them ------------------------------------------------------------

Result = dict[str, Any]


async def delete(target: Target, fields: dict[str, Any]) -> Result:
    policy = str(fields.get("propagationPolicy") or "Background")
    if policy not in PROPAGATION:
        raise errors.BadRequest(f"propagationPolicy must be one of {', '.join(PROPAGATION)}")
    options: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "DeleteOptions",
        "propagationPolicy": policy,
    }
    if fields.get("gracePeriodSeconds") not in (None, ""):
        options["gracePeriodSeconds"] = int(fields["gracePeriodSeconds"])
    await target.request("DELETE", target.path, options, verb="delete")
    return {"message": f"Deleted {target.rt.kind} {target.name} (propagation {policy})."}


async def scale(target: Target, fields: dict[str, Any]) -> Result:
    try:
        replicas = int(fields.get("replicas", ""))
    except (TypeError, ValueError):
        raise errors.BadRequest("replicas must be a whole number, 0 or more") from None
    if replicas < 0:
        raise errors.BadRequest("replicas must be 0 or more")
    doc = await target.merge_patch({"spec": {"replicas": replicas}}, "scale")
    return {
        "message": f"Scaled {target.rt.kind} {target.name} to {replicas} replicas.",
        "replicas": (doc.get("spec") or {}).get("replicas", replicas),
    }


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def _refuse_if_paused(target: Target, doing: str) -> None:
    obj = await target.request("GET", target.path, verb="get")
    if (obj.get("spec") or {}).get("paused"):
        raise errors.Conflict(
            f"Deployment {target.name} is paused: resume it before you {doing} it.",
            status=409,
            cluster=target.cluster.slug,
        )


async def restart(target: Target, fields: dict[str, Any]) -> Result:
    if target.rt.name == DEPLOYMENTS:
        await _refuse_if_paused(target, "restart")
    stamp = _now()
    patch = {
        "spec": {
            "template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": stamp}}}
        }
    }
    await target.merge_patch(patch)
    return {
        "message": f"Restarting every pod of {target.rt.kind} {target.name}.",
        "restartedAt": stamp,
    }


async def pause(target: Target, fields: dict[str, Any]) -> Result:
    await target.merge_patch({"spec": {"paused": True}})
    return {"message": f"Paused the rollout of Deployment {target.name}."}


async def resume(target: Target, fields: dict[str, Any]) -> Result:
    if target.rt.name == CRONJOBS:
        await target.merge_patch({"spec": {"suspend": False}})
        return {"message": f"Resumed CronJob {target.name}: it runs on schedule again."}
    await target.merge_patch({"spec": {"paused": False}})
    return {"message": f"Resumed the rollout of Deployment {target.name}."}


async def suspend(target: Target, fields: dict[str, Any]) -> Result:
    await target.merge_patch({"spec": {"suspend": True}})
    return {"message": f"Suspended CronJob {target.name}: no new Jobs until resumed."}


def _revision(rs: dict[str, Any]) -> int:
    value = ((rs.get("metadata") or {}).get("annotations") or {}).get(REVISION, "")
    return int(value) if str(value).isdigit() else 0


async def revisions(target: Target, deployment: dict[str, Any]) -> list[dict[str, Any]]:
    """The Deployment's ReplicaSets, newest revision first (``kubectl rollout history``)."""
    uid = (deployment.get("metadata") or {}).get("uid")
    match = ((deployment.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    params = {"labelSelector": ",".join(f"{k}={v}" for k, v in match.items())} if match else None
    doc = await target.request(
        "GET",
        f"/apis/apps/v1/namespaces/{target.namespace}/replicasets",
        verb="list",
        resource="replicasets.apps",
        params=params,
    )
    owned = [
        rs
        for rs in doc.get("items") or []
        if any(o.get("uid") == uid for o in (rs.get("metadata") or {}).get("ownerReferences") or [])
    ]
    current = _revision({"metadata": deployment.get("metadata")})
    out = []
    for rs in sorted(owned, key=_revision, reverse=True):
        rev = _revision(rs)
        containers = ((rs.get("spec") or {}).get("template") or {}).get("spec", {}).get(
            "containers"
        ) or []
        out.append(
            {
                "revision": rev,
                "replicaSet": rs["metadata"]["name"],
                "current": rev == current,
                "images": [c.get("image", "") for c in containers],
                "changeCause": (
                    (rs["metadata"].get("annotations") or {}).get("kubernetes.io/change-cause", "")
                ),
                "created": rs["metadata"].get("creationTimestamp"),
            }
        )
    return out


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


async def rollback(target: Target, fields: dict[str, Any]) -> Result:
    deployment = await target.request("GET", target.path, verb="get")
    if (deployment.get("spec") or {}).get("paused"):
        raise errors.Conflict(
            f"Deployment {target.name} is paused: resume it before rolling back.",
            status=409,
            cluster=target.cluster.slug,
        )
    history = await revisions(target, deployment)
    current = next((h["revision"] for h in history if h["current"]), None)
    wanted = fields.get("revision")
    choice: dict[str, Any] | None
    if wanted in (None, "", 0, "0"):
        older = [h for h in history if not h["current"]]
        if not older:
            raise errors.BadRequest(
                f"Deployment {target.name} has no previous revision to roll back to."
            )
        choice = older[0]
    else:
        try:
            number = int(wanted)
        except (TypeError, ValueError):
            raise errors.BadRequest("revision must be a whole number") from None
        choice = next((h for h in history if h["revision"] == number), None)
        if choice is None:
            known = ", ".join(str(h["revision"]) for h in history) or "none"
            raise errors.BadRequest(
                f"Deployment {target.name} has no revision {number} (revisions: {known})."
            )
    if choice["revision"] == current:
        return {
            "message": f"Deployment {target.name} already runs revision {current}: nothing to do.",
            "revision": current,
        }
    rs = await target.request(
        "GET",
        f"/apis/apps/v1/namespaces/{target.namespace}/replicasets/{choice['replicaSet']}",
        verb="get",
        resource="replicasets.apps",
    )
    template = (rs.get("spec") or {}).get("template") or {}
    labels = dict((template.get("metadata") or {}).get("labels") or {})
    labels.pop("pod-template-hash", None)
    template = {**template, "metadata": {**(template.get("metadata") or {}), "labels": labels}}
    ops: list[dict[str, Any]] = [
        # Refused (422) if someone rolled out meanwhile: never undo a rollout we did not see.
        {"op": "test", "path": "/spec/template", "value": deployment["spec"]["template"]},
        {"op": "replace", "path": "/spec/template", "value": template},
    ]
    copied = {
        k: v
        for k, v in ((rs.get("metadata") or {}).get("annotations") or {}).items()
        if k not in _ROLLBACK_SKIP
    }
    if (deployment.get("metadata") or {}).get("annotations") is None:
        ops.append({"op": "add", "path": "/metadata/annotations", "value": copied})
    else:
        ops += [
            {"op": "add", "path": f"/metadata/annotations/{_escape(k)}", "value": v}
            for k, v in copied.items()
        ]
    await target.request(
        "PATCH", target.path, ops, headers={"Content-Type": JSON_PATCH}, verb="patch"
    )
    return {
        "message": f"Rolled Deployment {target.name} back to revision {choice['revision']} "
        f"(ReplicaSet {choice['replicaSet']}).",
        "revision": choice["revision"],
    }


async def run_now(target: Target, fields: dict[str, Any]) -> Result:
    cronjob = await target.request("GET", target.path, verb="get")
    meta = cronjob.get("metadata") or {}
    template = (cronjob.get("spec") or {}).get("jobTemplate") or {}
    tmeta = template.get("metadata") or {}
    suffix = secrets.token_hex(3)
    name = f"{target.name[: 63 - len('-manual-') - len(suffix)]}-manual-{suffix}"
    annotations = {
        **(tmeta.get("annotations") or {}),
        "cronjob.kubernetes.io/instantiate": "manual",
    }
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": target.namespace,
            "labels": tmeta.get("labels") or {},
            "annotations": annotations,
            "ownerReferences": [
                {
                    "apiVersion": "batch/v1",
                    "kind": "CronJob",
                    "name": meta.get("name"),
                    "uid": meta.get("uid"),
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": template.get("spec") or {},
    }
    created = await target.request(
        "POST",
        f"/apis/batch/v1/namespaces/{target.namespace}/jobs",
        job,
        verb="create",
        resource="jobs.batch",
    )
    job_name = (created.get("metadata") or {}).get("name", name)
    return {
        "message": f"Started Job {job_name} from CronJob {target.name}.",
        "job": job_name,
        "url": urls.object_url(target.cluster, "jobs.batch", target.namespace, job_name),
    }


async def cordon(target: Target, fields: dict[str, Any]) -> Result:
    await target.merge_patch({"spec": {"unschedulable": True}})
    return {"message": f"Cordoned node {target.name}: no new pods are scheduled on it."}


async def uncordon(target: Target, fields: dict[str, Any]) -> Result:
    await target.merge_patch({"spec": {"unschedulable": None}})
    return {"message": f"Uncordoned node {target.name}: pods may be scheduled on it again."}


Handler = Callable[[Target, dict[str, Any]], Any]
HANDLERS: dict[str, Handler] = {
    "delete": delete,
    "scale": scale,
    "restart": restart,
    "pause": pause,
    "resume": resume,
    "suspend": suspend,
    "rollback": rollback,
    "run": run_now,
    "cordon": cordon,
    "uncordon": uncordon,
}
# The audit log's verb for each action (what happened to the object).
VERBS = {"run": "create", "rollback": "rollback"}


def check_applicable(target: Target, action: str) -> None:
    """Refuse an action that does not exist for this kind, before asking the cluster."""
    kinds: dict[str, Callable[[ResourceType], bool]] = {
        "delete": lambda rt: "delete" in rt.verbs,
        "scale": lambda rt: "scale" in rt.subresources,
        "restart": lambda rt: rt.name in RESTARTABLE,
        "pause": lambda rt: rt.name == DEPLOYMENTS,
        "resume": lambda rt: rt.name in (DEPLOYMENTS, CRONJOBS),
        "rollback": lambda rt: rt.name == DEPLOYMENTS,
        "suspend": lambda rt: rt.name == CRONJOBS,
        "run": lambda rt: rt.name == CRONJOBS,
        "cordon": lambda rt: rt.name == NODES,
        "uncordon": lambda rt: rt.name == NODES,
        "drain": lambda rt: rt.name == NODES,
    }
    test = kinds.get(action)
    if test is None:
        raise errors.BadRequest(
            f"There is no action {action!r}. Actions: {', '.join(sorted(kinds))}."
        )
    if not test(target.rt):
        raise errors.BadRequest(f"{action} does not apply to {target.rt.name}.")
