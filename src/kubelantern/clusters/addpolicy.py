"""What a kubeconfig pasted into the UI may contain, and how many may be added.

A pasted kubeconfig is input from a person, but it makes *the server* act:
an ``exec`` plugin is a command the server runs, ``auth-provider`` and file
references read the server's disk, ``proxy-url`` and the server address make
it connect anywhere, ``insecure-skip-tls-verify`` and plain ``http://`` give
the credentials pasted with it to whoever sits on the path. Each is refused
unless the operator lifts that one refusal (``--added-cluster-allow``).

Desktop mode lifts them all by default: its only user owns the machine and
pastes their own kubeconfigs (with ``aws eks get-token``, a kind cluster on
127.0.0.1...), and only the browser holding the per-run key can post.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubelantern.clusters.addresses import ADDRESS_CLASSES, AddressRefused, check_url
from kubelantern.clusters.kubeconfig import KubeconfigError
from kubelantern.settings import Settings

CONTENT_CLASSES = (
    "exec",
    "auth-provider",
    "proxy-url",
    "http",
    "insecure-skip-tls-verify",
    "files",
)
ALLOW_CHOICES = (*CONTENT_CLASSES, *ADDRESS_CLASSES)

_FILE_KEYS = {
    "cluster": ("certificate-authority",),
    "user": ("client-certificate", "client-key", "tokenFile"),
}


class AddPolicyError(KubeconfigError):
    """A setting about adding clusters that cannot work (the start stops with it)."""


def _refuse(what: str, allow: str) -> KubeconfigError:
    return KubeconfigError(
        f"{what}; clusters added from the UI may not use that here (the operator can allow "
        f"it with --added-cluster-allow {allow})"
    )


@dataclass(frozen=True)
class AddPolicy:
    """The refusals the operator lifted, and the cap on added clusters."""

    allow: frozenset[str] = frozenset()
    max_clusters: int = 20

    @classmethod
    def from_settings(cls, settings: Settings, *, desktop: bool) -> AddPolicy:
        given = {a.strip() for a in settings.added_cluster_allow if a.strip()}
        unknown = given - {*ALLOW_CHOICES, "none"}
        if unknown:
            raise AddPolicyError(
                f"--added-cluster-allow: unknown {', '.join(sorted(unknown))}; "
                f"choose from {', '.join(ALLOW_CHOICES)} (or none)"
            )
        if not given:
            allow = frozenset(ALLOW_CHOICES) if desktop else frozenset()
        else:
            allow = frozenset(given - {"none"})
        return cls(allow=allow, max_clusters=max(0, settings.max_added_clusters))

    def check_server(self, url: str, *, what: str = "server") -> None:
        """Scheme first, then every address the host resolves to (no connection made)."""
        scheme = url.partition("://")[0].lower() if "://" in url else ""
        if scheme == "http":
            if "http" not in self.allow:
                raise _refuse(f"the {what} {url} is plain http://", "http")
        elif scheme != "https":
            raise KubeconfigError(f"the {what} {url!r} must start with https://")
        try:
            check_url(url, self.allow)
        except AddressRefused as exc:
            raise KubeconfigError(str(exc)) from exc

    def check_document(self, doc: Mapping[str, Any]) -> None:
        """Every cluster and user the contexts of ``doc`` use; raises KubeconfigError."""
        for item in doc.get("clusters") or []:
            body = item.get("cluster") or {}
            name = item.get("name")
            self._files(body, "cluster", name)
            if (
                body.get("insecure-skip-tls-verify")
                and "insecure-skip-tls-verify" not in self.allow
            ):
                raise _refuse(
                    f"cluster {name!r} skips TLS verification", "insecure-skip-tls-verify"
                )
            if body.get("proxy-url"):
                if "proxy-url" not in self.allow:
                    raise _refuse(f"cluster {name!r} goes through a proxy (proxy-url)", "proxy-url")
                self.check_server(str(body["proxy-url"]), what="proxy-url")
            self.check_server(str(body.get("server") or ""))
        for item in doc.get("users") or []:
            body = item.get("user") or {}
            name = item.get("name")
            self._files(body, "user", name)
            if body.get("exec") and "exec" not in self.allow:
                command = (body.get("exec") or {}).get("command")
                raise _refuse(
                    f"user {name!r} runs a credential plugin ({command!r}), a command the "
                    "server would run",
                    "exec",
                )
            if body.get("auth-provider") and "auth-provider" not in self.allow:
                raise _refuse(f"user {name!r} uses an auth-provider", "auth-provider")

    def _files(self, body: Mapping[str, Any], section: str, name: object) -> None:
        if "files" in self.allow:
            return
        for key in _FILE_KEYS[section]:
            if body.get(key):
                raise _refuse(
                    f"{section} {name!r} refers to a file on the server ({key}); paste a "
                    "kubeconfig with the data embedded (kubectl config view --raw --minify "
                    "--flatten)",
                    "files",
                )
