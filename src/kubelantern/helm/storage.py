"""Reading releases from the API server with the person's own credentials.

Releases live in Secrets, so reading them needs ``list secrets``: someone
without it sees why (``SecretsRefused``) instead of an empty page. The list
asks only for records not superseded (``status!=superseded``): the current
revision of each release, plus a failed or pending one if any.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from kubelantern import errors
from kubelantern.clusters.client import ClusterClient
from kubelantern.clusters.credentials import Credentials
from kubelantern.helm.release import Release, from_secret

CURRENT = "owner=helm,status!=superseded"


class SecretsRefused(errors.Forbidden):
    """Helm keeps releases in Secrets; this person may not read them here."""


def _secrets_path(namespace: str | None) -> str:
    return f"/api/v1/namespaces/{namespace}/secrets" if namespace else "/api/v1/secrets"


async def _list(
    client: ClusterClient,
    credentials: Credentials | None,
    namespace: str | None,
    selector: str,
) -> list[Release]:
    releases: list[Release] = []
    token = ""
    while True:
        params: dict[str, str | int | list[str]] = {"labelSelector": selector, "limit": 250}
        if token:
            params["continue"] = token
        try:
            doc = await client.json(
                "GET",
                _secrets_path(namespace),
                params=params,
                credentials=credentials,
                verb="list",
                resource="secrets",
                namespace=namespace,
            )
        except errors.Forbidden as exc:
            where = f"in namespace {namespace}" if namespace else "in all namespaces"
            raise SecretsRefused(
                f"Helm keeps its releases in Secrets, and you may not list secrets {where} "
                f"(RBAC: list secrets). {exc.message}",
                status=403,
            ) from None
        for item in doc.get("items") or []:
            if item.get("type") != "helm.sh/release.v1":
                continue
            try:
                releases.append(from_secret(item))
            except errors.BadRequest:
                continue  # a damaged record must not hide every other release
        token = str((doc.get("metadata") or {}).get("continue") or "")
        if not token:
            return releases


def latest(releases: list[Release]) -> list[Release]:
    """The highest revision of each (namespace, name), sorted as `helm list` sorts."""
    best: dict[tuple[str, str], Release] = {}
    for rel in releases:
        key = (rel.namespace, rel.name)
        if key not in best or rel.revision > best[key].revision:
            best[key] = rel
    return sorted(best.values(), key=lambda r: (r.namespace, r.name))


@dataclass
class ReleaseList:
    releases: list[Release]
    namespaces: list[str] = field(default_factory=list)  # [] = all
    failures: dict[str, str] = field(default_factory=dict)


async def list_releases(
    client: ClusterClient,
    credentials: Credentials | None,
    namespaces: list[str],
    fallback: list[str],
) -> ReleaseList:
    """Releases in ``namespaces`` (all if empty); if all is refused, in ``fallback``."""
    if not namespaces:
        try:
            return ReleaseList(latest(await _list(client, credentials, None, CURRENT)))
        except SecretsRefused:
            if not fallback:
                raise
            namespaces = fallback
    results = await asyncio.gather(
        *(_list(client, credentials, ns, CURRENT) for ns in namespaces), return_exceptions=True
    )
    found: list[Release] = []
    failures: dict[str, str] = {}
    for ns, result in zip(namespaces, results, strict=True):
        if isinstance(result, errors.KubelanternError):
            failures[ns] = result.message
        elif isinstance(result, BaseException):
            raise result
        else:
            found.extend(result)
    if failures and len(failures) == len(namespaces):
        raise SecretsRefused(next(iter(failures.values())), status=403)
    return ReleaseList(latest(found), list(namespaces), failures)


async def history(
    client: ClusterClient, credentials: Credentials | None, namespace: str, name: str
) -> list[Release]:
    """Every stored revision of one release, oldest first (404 when there is none)."""
    revisions = await _list(client, credentials, namespace, f"owner=helm,name={name}")
    revisions = [r for r in revisions if r.name == name]
    if not revisions:
        raise errors.NotFound(
            f"no Helm release {name} in namespace {namespace}", status=404, reason="NotFound"
        )
    return sorted(revisions, key=lambda r: r.revision)
