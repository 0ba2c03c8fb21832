"""RBAC: a Role's rules; a binding's role (as a link, with its rules) and subjects."""

from __future__ import annotations

from kubelantern.resources.relations import Lookup, Obj, Related, guarded
from kubelantern.resources.sections.base import Section, builds, meta
from kubelantern.resources.sections.usage import (
    bindings_of_role,
    bindings_of_service_account,
)

RBAC = "rbac.authorization.k8s.io/v1"


def rules_table(role: Obj) -> list[Obj]:
    return [
        {
            "apiGroups": list(r.get("apiGroups") or []),
            "resources": list(r.get("resources") or []),
            "resourceNames": list(r.get("resourceNames") or []),
            "nonResourceURLs": list(r.get("nonResourceURLs") or []),
            "verbs": list(r.get("verbs") or []),
        }
        for r in role.get("rules") or []
    ]


@builds("rbac.authorization.k8s.io", "Role", "ClusterRole")
async def role_section(lk: Lookup, role: Obj) -> Section:
    aggregation = role.get("aggregationRule") or {}
    selectors = [
        ",".join(f"{k}={v}" for k, v in (s.get("matchLabels") or {}).items())
        for s in aggregation.get("clusterRoleSelectors") or []
    ]
    summary = {"rules": rules_table(role), "aggregation": selectors}
    return Section("role", summary, [await bindings_of_role(lk, role, str(role.get("kind")))])


@builds("", "ServiceAccount")
async def service_account_section(lk: Lookup, account: Obj) -> Section:
    """Its token and pull Secrets, and the bindings that grant it rights."""
    ns = meta(account).get("namespace")
    summary = {
        "automountToken": account.get("automountServiceAccountToken"),
        "secrets": [
            lk.link("v1", "Secret", s.get("name", ""), ns) for s in account.get("secrets") or []
        ],
        "imagePullSecrets": [
            lk.link("v1", "Secret", s.get("name", ""), ns)
            for s in account.get("imagePullSecrets") or []
        ],
    }
    return Section("serviceaccount", summary, [await bindings_of_service_account(lk, account)])


def subject(lk: Lookup, s: Obj, binding_ns: str | None) -> Obj:
    kind, name = s.get("kind", ""), s.get("name", "")
    ns = s.get("namespace") or (binding_ns if kind == "ServiceAccount" else None)
    url = lk.url("v1", "ServiceAccount", name, ns) if kind == "ServiceAccount" else None
    return {"kind": kind, "name": name, "namespace": ns, "url": url}


@builds("rbac.authorization.k8s.io", "RoleBinding", "ClusterRoleBinding")
async def binding_section(lk: Lookup, binding: Obj) -> Section:
    ns = meta(binding).get("namespace")
    ref = binding.get("roleRef") or {}
    kind, name = ref.get("kind", ""), ref.get("name", "")
    role_ns = ns if kind == "Role" else None

    async def fetch() -> list[Obj]:
        return rules_table(await lk.get(RBAC, kind, role_ns, name))

    rules: Related = await guarded(f"Rules of {kind} {name}", "rules", fetch())
    summary = {
        "roleRef": lk.link(RBAC, kind, name, role_ns),
        "subjects": [subject(lk, s, ns) for s in binding.get("subjects") or []],
    }
    return Section("binding", summary, [rules])
