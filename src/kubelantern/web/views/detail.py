"""The detail page of any object: metadata, relations, kind-specific sections, YAML."""

from __future__ import annotations

from typing import Any

import orjson
import yaml
from starlette.requests import Request
from starlette.responses import Response

from kubelantern import errors
from kubelantern.auth import credentials_for
from kubelantern.clusters.store import Cluster
from kubelantern.web.render import render
from kubelantern.web.views.resources import list_url


def clean_object(obj: dict[str, Any], *, managed_fields: bool) -> dict[str, Any]:
    """The object as a person wants to read it: managedFields hidden unless asked."""
    if managed_fields:
        return obj
    meta = dict(obj.get("metadata") or {})
    meta.pop("managedFields", None)
    return {**obj, "metadata": meta}


def to_yaml(obj: dict[str, Any]) -> str:
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return str(yaml.dump(obj, Dumper=dumper, sort_keys=False, default_flow_style=False))


async def detail_view(
    request: Request, cluster: Cluster, resource: str, namespace: str | None, name: str
) -> Response:
    creds = credentials_for(request, cluster)
    rt = await cluster.discovery.resolve(resource, creds)
    if rt.namespaced and not namespace:
        raise errors.BadRequest(
            f"{rt.name} is namespaced: use /c/{cluster.slug}/namespaces/<ns>/{rt.name}/{name}",
            cluster=cluster.slug,
        )
    response = await cluster.client.request(
        "GET",
        rt.path(namespace if rt.namespaced else None, name),
        credentials=creds,
        verb="get",
        resource=rt.name,
        namespace=namespace if rt.namespaced else None,
    )
    managed = request.query_params.get("managedFields") in ("1", "true")
    obj = clean_object(orjson.loads(response.content), managed_fields=managed)
    meta = obj.get("metadata") or {}
    data = {
        "clusterName": cluster.slug,
        "resource": rt.to_dict(),
        "namespace": meta.get("namespace"),
        "name": meta.get("name", name),
        "object": obj,
        "listUrl": list_url(cluster.slug, rt, namespace),
    }
    if request.scope.get("kl_json"):
        return render(request, "detail.html", data)
    data["yaml"] = to_yaml(obj)
    return render(request, "detail.html", data)
