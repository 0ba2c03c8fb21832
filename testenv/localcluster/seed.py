"""`seed`: server-side apply testenv/seed/*.yaml in order, then wait for the workloads."""

from __future__ import annotations

import argparse
import base64
import functools
import glob
import os
import time
from typing import Any

import yaml

from .certs import tls_pair
from .client import APIError, Kube, Obj
from .common import Fail, log, now_rfc3339, poll
from .layout import COMPONENTS, FIELD_MANAGER_SEED, REPO, Cluster

WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "Pod")


def prepare_seed_object(c: Cluster, kube: Kube, obj: Obj) -> Obj:
    """Fill in what static YAML cannot hold: TLS material, event times and uids."""
    md = obj.setdefault("metadata", {})
    hosts = (md.get("annotations") or {}).get("kubelantern.test/generate-tls")
    if obj["kind"] == "Secret" and hosts:
        crt, key = tls_pair(c, hosts)
        obj["data"] = dict(
            obj.get("data") or {},
            **{
                "tls.crt": base64.b64encode(crt).decode(),
                "tls.key": base64.b64encode(key).decode(),
            },
        )
    if obj["kind"] == "Event" and obj["apiVersion"] == "v1":
        now = now_rfc3339()
        obj.setdefault("firstTimestamp", now)
        obj.setdefault("lastTimestamp", now)
        inv = obj.get("involvedObject") or {}
        if inv.get("name") and not inv.get("uid"):
            ref = {
                "apiVersion": inv.get("apiVersion", "v1"),
                "kind": inv["kind"],
                "metadata": {
                    "name": inv["name"],
                    "namespace": inv.get("namespace") or md.get("namespace"),
                },
            }
            try:
                live = kube.get(kube.path_for(ref)[0], default=None)
            except Fail:
                live = None
            if live:
                inv["uid"] = live["metadata"]["uid"]
                inv.setdefault("resourceVersion", live["metadata"]["resourceVersion"])
    return obj


def wait_established(kube: Kube, crd_name: str, timeout: float = 60) -> None:
    def ok() -> bool:
        crd = kube.get(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{crd_name}")
        return any(
            cd["type"] == "Established" and cd["status"] == "True"
            for cd in crd.get("status", {}).get("conditions", [])
        )

    poll(ok, timeout, f"CRD {crd_name} to be Established")


def workload_ready(kube: Kube, obj: Obj) -> bool:
    """Whether a seeded workload is where the tests expect it (pods marked to fail: failing)."""
    path = kube.path_for(obj)[0]
    live = kube.get(path)
    s: dict[str, Any] = live.get("status") or {}
    spec: dict[str, Any] = live.get("spec") or {}
    md: dict[str, Any] = live["metadata"]
    fresh = bool(s.get("observedGeneration", 0) >= md.get("generation", 0))
    kind = obj["kind"]
    if kind == "Deployment":
        want = spec.get("replicas", 1)
        return (
            fresh and s.get("availableReplicas", 0) == want and s.get("updatedReplicas", 0) == want
        )
    if kind == "StatefulSet":
        want = spec.get("replicas", 1)
        return fresh and s.get("readyReplicas", 0) == want and s.get("availableReplicas", 0) == want
    if kind == "DaemonSet":
        return (
            fresh
            and s.get("desiredNumberScheduled", 0) > 0
            and s.get("numberAvailable", 0) == s["desiredNumberScheduled"]
        )
    if kind == "Job":
        return any(
            cd["type"] in ("Complete", "Failed") and cd["status"] == "True"
            for cd in s.get("conditions", [])
        )
    if kind == "Pod":
        ann = md.get("annotations") or {}
        failing = ann.get("kubelantern.test/fail") == "true" or any(
            ct["image"].endswith(":does-not-exist") for ct in spec.get("containers", [])
        )
        if failing:
            return bool(s.get("containerStatuses"))
        return s.get("phase") in ("Running", "Succeeded")
    return True


def cmd_seed(c: Cluster, args: argparse.Namespace) -> int:
    t0 = time.monotonic()
    st = c.load()
    if not st or not st.get("running") or set(c.live_components(st)) != set(COMPONENTS):
        raise Fail(
            f"cluster {c.name} is not running: run `testenv/cluster up --name {c.name}` first"
        )
    with Kube(c.kubeconfig_path("admin")) as kube:
        if not kube.readyz():
            raise Fail(f"cluster {c.name}: /readyz is not ok")
        files = sorted(
            glob.glob(os.path.join(args.dir, "*.yaml")) + glob.glob(os.path.join(args.dir, "*.yml"))
        )
        if not files:
            raise Fail(f"no manifests in {args.dir}")
        count = 0
        waits = []
        for path in files:
            with open(path) as f:
                docs = [d for d in yaml.safe_load_all(f) if d]
            for doc in docs:
                obj = prepare_seed_object(c, kube, doc)
                md = obj["metadata"]
                what = (
                    f"{obj['kind']} "
                    + (f"{md['namespace']}/" if md.get("namespace") else "")
                    + md["name"]
                )
                try:
                    kube.apply(obj, FIELD_MANAGER_SEED, wait=30, status=True)
                except APIError as e:
                    raise Fail(f"{os.path.relpath(path, REPO)}: {what}: {e}") from None
                count += 1
                if obj["kind"] == "CustomResourceDefinition":
                    wait_established(kube, obj["metadata"]["name"])
                if obj["kind"] in WORKLOADS:
                    waits.append(obj)
            log(f"applied {os.path.relpath(path, REPO)} ({len(docs)} objects)")

        for obj in waits:
            md = obj["metadata"]
            poll(
                functools.partial(workload_ready, kube, obj),
                args.timeout,
                f"{obj['kind']} {md.get('namespace', 'default')}/{md['name']} to be ready",
            )
    log(f"seeded {count} objects from {len(files)} files in {time.monotonic() - t0:.1f} s")
    return 0
