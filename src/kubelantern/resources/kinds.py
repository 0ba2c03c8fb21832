"""How kinds are grouped in the sidebar, the way Headlamp's and Lens's users know them.

Built-in kinds are placed by name; everything else that discovery reports is a
custom resource, grouped by API group (Gateway API kinds go under Network).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kubelantern.clusters.discovery import DiscoveryResult, ResourceType

# (section, [resource names in kubectl spelling, in display order])
SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Cluster", ("nodes", "namespaces", "events")),
    (
        "Workloads",
        (
            "pods",
            "deployments.apps",
            "statefulsets.apps",
            "daemonsets.apps",
            "replicasets.apps",
            "jobs.batch",
            "cronjobs.batch",
        ),
    ),
    (
        "Network",
        (
            "services",
            "endpointslices.discovery.k8s.io",
            "ingresses.networking.k8s.io",
            "ingressclasses.networking.k8s.io",
            "networkpolicies.networking.k8s.io",
        ),
    ),
    (
        "Storage",
        (
            "persistentvolumeclaims",
            "persistentvolumes",
            "storageclasses.storage.k8s.io",
            "volumeattachments.storage.k8s.io",
            "csidrivers.storage.k8s.io",
        ),
    ),
    (
        "Configuration",
        (
            "configmaps",
            "secrets",
            "horizontalpodautoscalers.autoscaling",
            "poddisruptionbudgets.policy",
            "resourcequotas",
            "limitranges",
            "priorityclasses.scheduling.k8s.io",
            "runtimeclasses.node.k8s.io",
            "leases.coordination.k8s.io",
            "mutatingwebhookconfigurations.admissionregistration.k8s.io",
            "validatingwebhookconfigurations.admissionregistration.k8s.io",
        ),
    ),
    (
        "Access control",
        (
            "serviceaccounts",
            "roles.rbac.authorization.k8s.io",
            "rolebindings.rbac.authorization.k8s.io",
            "clusterroles.rbac.authorization.k8s.io",
            "clusterrolebindings.rbac.authorization.k8s.io",
        ),
    ),
)

GATEWAY_GROUP = "gateway.networking.k8s.io"

# API groups that ship with Kubernetes itself; kinds of any other group are custom.
BUILTIN_GROUPS = frozenset(
    {
        "",
        "apps",
        "batch",
        "autoscaling",
        "policy",
        "admissionregistration.k8s.io",
        "apiextensions.k8s.io",
        "apiregistration.k8s.io",
        "authentication.k8s.io",
        "authorization.k8s.io",
        "certificates.k8s.io",
        "coordination.k8s.io",
        "discovery.k8s.io",
        "events.k8s.io",
        "flowcontrol.apiserver.k8s.io",
        "internal.apiserver.k8s.io",
        "networking.k8s.io",
        "node.k8s.io",
        "rbac.authorization.k8s.io",
        "resource.k8s.io",
        "scheduling.k8s.io",
        "storage.k8s.io",
        "storagemigration.k8s.io",
    }
)


@dataclass
class SidebarEntry:
    rt: ResourceType
    label: str
    allowed: bool | None = None  # None: unknown (no review yet)

    def to_dict(self) -> dict[str, object]:
        return {
            "resource": self.rt.name,
            "label": self.label,
            "kind": self.rt.kind,
            "namespaced": self.rt.namespaced,
            "allowed": self.allowed,
        }


@dataclass
class SidebarSection:
    title: str
    entries: list[SidebarEntry] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        return {"title": self.title, "entries": [e.to_dict() for e in self.entries]}


def build_sidebar(discovery: DiscoveryResult) -> list[SidebarSection]:
    """Sections of listable kinds, in display order."""
    by_name = {rt.name: rt for rt in discovery.types if rt.listable}
    placed: set[str] = set()
    sections: list[SidebarSection] = []
    for title, names in SECTIONS:
        section = SidebarSection(title)
        for name in names:
            rt = by_name.get(name)
            if rt is not None:
                section.entries.append(SidebarEntry(rt, rt.label))
                placed.add(name)
        if title == "Network":
            for rt in sorted(by_name.values(), key=lambda r: r.kind):
                if rt.group == GATEWAY_GROUP:
                    section.entries.append(SidebarEntry(rt, rt.label))
                    placed.add(rt.name)
        sections.append(section)
    custom: dict[str, list[ResourceType]] = {}
    for rt in by_name.values():
        if rt.name not in placed and rt.group not in BUILTIN_GROUPS:
            custom.setdefault(rt.group, []).append(rt)
    for group in sorted(custom):
        section = SidebarSection(f"Custom: {group}")
        for rt in sorted(custom[group], key=lambda r: r.kind):
            section.entries.append(SidebarEntry(rt, rt.label))
        sections.append(section)
    return [s for s in sections if s.entries]


# Everyone may create these (system:basic-user): asking the API server about
# oneself is no reason to offer "Create".
_SELF_REVIEWS = {
    "selfsubjectaccessreviews",
    "selfsubjectrulesreviews",
    "selfsubjectreviews",
}


def rules_allow_creating(rules: list[dict[str, object]]) -> bool:
    """Whether RulesReview rules let the person create any kind of object at all.

    Only a hint for showing "Create": the API server still decides each object.
    """
    for rule in rules:
        verbs = rule.get("verbs") or []
        resources = rule.get("resources") or []
        if not isinstance(verbs, list) or not isinstance(resources, list):
            continue
        if "*" not in verbs and "create" not in verbs:
            continue
        if any(r == "*" or str(r).split("/")[0] not in _SELF_REVIEWS for r in resources):
            return True
    return False


def rule_allows(rules: list[dict[str, object]], verb: str, rt: ResourceType) -> bool:
    """Whether SelfSubjectRulesReview resource rules grant ``verb`` on the kind."""
    for rule in rules:
        verbs = rule.get("verbs") or []
        groups = rule.get("apiGroups") or []
        resources = rule.get("resources") or []
        names = rule.get("resourceNames") or []
        if names:
            continue  # restricted to named objects: not a list permission
        if not isinstance(verbs, list) or not isinstance(groups, list):
            continue
        if not isinstance(resources, list):
            continue
        if (
            ("*" in verbs or verb in verbs)
            and ("*" in groups or rt.group in groups)
            and ("*" in resources or rt.plural in resources)
        ):
            return True
    return False
