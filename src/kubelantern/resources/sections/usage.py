"""Who uses this object: the pods of a ConfigMap or Secret, the bindings of a
role or a ServiceAccount.

Kubernetes keeps these links only on the using side (a pod names its
ConfigMaps, a binding names its role and subjects), so each lookup lists the
users with the person's credentials and keeps the ones that point here. A
refused list says so in its section; the rest of the page still renders.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator

from kubelantern.resources.relations import Lookup, Obj, Related, brief_pod, guarded
from kubelantern.resources.sections.base import meta, spec

RBAC = "rbac.authorization.k8s.io/v1"
_CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


def _containers(pod: Obj) -> Iterator[Obj]:
    for field in _CONTAINER_LISTS:
        yield from spec(pod).get(field) or []


def config_uses(pod: Obj, kind: str, name: str) -> list[str]:
    """How ``pod`` uses the ConfigMap or Secret ``name`` (empty: it does not).

    Volumes (also projected ones), ``env[].valueFrom`` key references,
    ``envFrom`` and, for Secrets, ``imagePullSecrets``: each as a short phrase.
    """
    secret = kind == "Secret"
    ref_key, env_key, from_key = (
        ("secretName", "secretKeyRef", "secretRef")
        if secret
        else ("name", "configMapKeyRef", "configMapRef")
    )
    volume_key = "secret" if secret else "configMap"
    uses: list[str] = []
    for volume in spec(pod).get("volumes") or []:
        if (volume.get(volume_key) or {}).get(ref_key) == name:
            uses.append(f"volume {volume.get('name', '')}")
        for source in (volume.get("projected") or {}).get("sources") or []:
            if (source.get(volume_key) or {}).get("name") == name:
                uses.append(f"projected volume {volume.get('name', '')}")
    for container in _containers(pod):
        cname = container.get("name", "")
        for env in container.get("env") or []:
            ref = (env.get("valueFrom") or {}).get(env_key) or {}
            if ref.get("name") == name:
                uses.append(f"env {env.get('name', '')} ({cname})")
        for source in container.get("envFrom") or []:
            if (source.get(from_key) or {}).get("name") == name:
                uses.append(f"envFrom ({cname})")
    if secret:
        for pull in spec(pod).get("imagePullSecrets") or []:
            if pull.get("name") == name:
                uses.append("imagePullSecrets")
    return uses


async def pods_using_config(lk: Lookup, obj: Obj, kind: str) -> Related:
    """Pods in the object's namespace that mount it or read it into their environment."""
    md = meta(obj)
    name, ns = md.get("name", ""), md.get("namespace")

    async def fetch() -> list[Obj]:
        out = []
        for pod in await lk.list("v1", "Pod", ns):
            uses = config_uses(pod, kind, name)
            if uses:
                out.append({**brief_pod(lk, pod), "uses": uses})
        return out

    return await guarded(f"Pods using this {kind}", "pods", fetch())


def brief_binding(lk: Lookup, binding: Obj, kind: str) -> Obj:
    md = meta(binding)
    ref = binding.get("roleRef") or {}
    ns = md.get("namespace")
    role_ns = ns if ref.get("kind") == "Role" else None
    return {
        **lk.link(RBAC, kind, md.get("name", ""), ns),
        "role": lk.link(RBAC, ref.get("kind", ""), ref.get("name", ""), role_ns),
        "subjects": [
            f"{s.get('kind', '')} "
            + (f"{s['namespace']}/" if s.get("namespace") else "")
            + str(s.get("name", ""))
            for s in binding.get("subjects") or []
        ],
    }


async def _bindings(
    lk: Lookup, title: str, namespaces: list[str | None], keep: Callable[[Obj], bool]
) -> Related:
    """RoleBindings of ``namespaces`` (None: all) and ClusterRoleBindings that ``keep``."""

    async def fetch() -> list[Obj]:
        role_lists, cluster_list = await asyncio.gather(
            asyncio.gather(*(lk.list(RBAC, "RoleBinding", ns) for ns in namespaces)),
            lk.list(RBAC, "ClusterRoleBinding", None) if None in namespaces else _none(),
        )
        out = [brief_binding(lk, b, "ClusterRoleBinding") for b in cluster_list if keep(b)]
        for bindings in role_lists:
            out.extend(brief_binding(lk, b, "RoleBinding") for b in bindings if keep(b))
        return out

    return await guarded(title, "bindings", fetch())


async def _none() -> list[Obj]:
    return []


async def bindings_of_role(lk: Lookup, role: Obj, kind: str) -> Related:
    """A Role: the RoleBindings of its namespace. A ClusterRole: every binding naming it."""
    md = meta(role)
    name = md.get("name", "")

    def keep(binding: Obj) -> bool:
        ref = binding.get("roleRef") or {}
        return bool(ref.get("kind") == kind and ref.get("name") == name)

    namespaces: list[str | None] = [md.get("namespace")] if kind == "Role" else [None]
    return await _bindings(lk, f"Bindings of this {kind}", namespaces, keep)


async def bindings_of_service_account(lk: Lookup, account: Obj) -> Related:
    """Every RoleBinding and ClusterRoleBinding with this ServiceAccount as a subject.

    A binding in any namespace may name it (and a subject's namespace defaults
    to the binding's), so all namespaces are listed.
    """
    md = meta(account)
    name, ns = md.get("name", ""), md.get("namespace")

    def keep(binding: Obj) -> bool:
        own_ns = meta(binding).get("namespace")
        return any(
            s.get("kind") == "ServiceAccount"
            and s.get("name") == name
            and (s.get("namespace") or own_ns) == ns
            for s in binding.get("subjects") or []
        )

    return await _bindings(lk, "Bindings of this ServiceAccount", [None], keep)
