"""The detail page of any object: metadata, relations, kind-specific sections, YAML.

One GET of the object (errors go to web/errors.py: not found, forbidden naming
verb and resource, unreachable), then everything around it concurrently with
the user's credentials: events, owned and selected objects, the kind's own
section. A lookup the user may not do shows "not permitted" in its section;
the page still renders.

Live updates: the body (``detail/_body.html``, inside ``#detail-body``) is
re-rendered alone when the request has ``HX-Request`` and ``?fragment=1``, so
the page can refresh it with htmx when a watch event arrives.

Secrets: values are redacted from the object, its YAML and the JSON twin;
``?reveal=<key>`` returns one decoded value (the API server authorizes that
GET again), so a value only ever leaves on an explicit request.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from kubelantern import errors, urls, yamltext
from kubelantern.clusters.discovery import ResourceType
from kubelantern.clusters.store import Cluster
from kubelantern.resources import sections
from kubelantern.resources.relations import Lookup, conditions, events_of, owners
from kubelantern.resources.sections.config import redact_secret, reveal
from kubelantern.web import plugin_calls
from kubelantern.web.context import cluster_context
from kubelantern.web.nav import nav_context
from kubelantern.web.render import render, wants_json
from kubelantern.web.views import proxy
from kubelantern.web.views.actions import detail_actions

log = logging.getLogger(__name__)


def clean_object(obj: dict[str, Any], *, managed_fields: bool) -> dict[str, Any]:
    """The object as a person wants to read it: managedFields hidden unless asked."""
    if managed_fields:
        return obj
    meta = dict(obj.get("metadata") or {})
    meta.pop("managedFields", None)
    return {**obj, "metadata": meta}


def to_yaml(obj: dict[str, Any]) -> str:
    return yamltext.dump(obj)


def is_secret(rt: ResourceType) -> bool:
    return rt.group == "" and rt.kind == "Secret"


def metadata_facts(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata") or {}
    return {
        "name": meta.get("name"),
        "namespace": meta.get("namespace"),
        "created": meta.get("creationTimestamp"),
        "uid": meta.get("uid"),
        "resourceVersion": meta.get("resourceVersion"),
        "generation": meta.get("generation"),
        "deletionTimestamp": meta.get("deletionTimestamp"),
        "labels": dict(meta.get("labels") or {}),
        "annotations": dict(meta.get("annotations") or {}),
        "finalizers": list(meta.get("finalizers") or []),
        "helmRelease": helm_release_of(meta),
    }


def helm_release_of(meta: dict[str, Any]) -> dict[str, str] | None:
    """The Helm release that owns an object (Helm 3.2+ annotates each one it applies)."""
    annotations = meta.get("annotations") or {}
    name = annotations.get("meta.helm.sh/release-name")
    namespace = annotations.get("meta.helm.sh/release-namespace")
    if not name or not namespace:
        return None
    return {"name": str(name), "namespace": str(namespace)}


async def kind_section(lk: Lookup, rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
    """The kind's own section; a bug in one builder must not take the page down."""
    try:
        section = await sections.build(lk, rt, obj)
    except errors.KubelanternError as exc:
        return {"section": None, "related": [], "sectionError": exc.message}
    except Exception:
        log.exception("section builder for %s failed", rt.name)
        return {
            "section": None,
            "related": [],
            "sectionError": f"Could not summarize this {rt.kind}.",
        }
    if section is None:
        return {"section": None, "related": [], "sectionError": ""}
    return {
        "section": {"template": section.template, "summary": section.summary},
        "related": [r.to_dict() for r in section.related],
        "sectionError": "",
    }


async def reveal_view(
    request: Request, cluster: Cluster, obj: dict[str, Any], key: str
) -> Response:
    meta = obj.get("metadata") or {}
    value = reveal(obj, key)
    if value is None:
        raise errors.NotFound(
            f"secret {meta.get('name')} has no key {key!r}", status=404, cluster=cluster.slug
        )
    data = {
        "clusterName": cluster.slug,
        "namespace": meta.get("namespace"),
        "name": meta.get("name"),
        **value,
    }
    fragment = bool(request.headers.get("HX-Request"))
    return render(
        request,
        "detail/reveal.html" if fragment else "detail/reveal_page.html",
        data,
        headers={"Cache-Control": "no-store"},
    )


async def detail_view(
    request: Request, cluster: Cluster, resource: str, namespace: str | None, name: str
) -> Response:
    ctx = cluster_context(request, cluster)
    creds = ctx.credentials
    rt = await ctx.resolve(resource)
    if rt.namespaced and not namespace:
        raise errors.BadRequest(
            f"{rt.name} is namespaced: the URL needs /namespaces/<namespace>/ before {rt.name}",
            cluster=cluster.slug,
        )
    ns = namespace if rt.namespaced else None
    response = await cluster.client.request(
        "GET",
        rt.path(ns, name),
        credentials=creds,
        verb="get",
        resource=rt.name,
        namespace=ns,
    )
    raw = orjson.loads(response.content)
    q = request.query_params
    if is_secret(rt) and "reveal" in q:
        return await reveal_view(request, cluster, raw, q["reveal"])

    fragment = bool(request.headers.get("HX-Request")) and q.get("fragment") == "1"
    html = not wants_json(request)
    lk = Lookup(
        cluster,
        creds,
        await ctx.discovery(),
        identity=ctx.identity,
        object_readable=True,  # read above with these credentials
    )

    async def nothing() -> dict[str, Any]:
        return {}

    # The fragment is the body only: no sidebar, and the action buttons stay as they are.
    events, section, nav, actions, extra, opens = await asyncio.gather(
        events_of(lk, raw),
        kind_section(lk, rt, raw),
        nav_context(request, cluster, ns, current=rt.name) if html and not fragment else nothing(),
        detail_actions(request, cluster, rt, raw) if not fragment else nothing(),
        plugin_calls.detail_sections(
            request, cluster, rt, redact_secret(raw) if is_secret(rt) else raw
        ),
        proxy.open_links(request, cluster, rt.name, raw) if rt.group == "" else nothing(),
    )
    managed = q.get("managedFields") in ("1", "true")
    shown = redact_secret(raw) if is_secret(rt) else raw
    obj = clean_object(shown, managed_fields=managed)
    meta = obj.get("metadata") or {}
    data: dict[str, Any] = {
        "clusterName": cluster.slug,
        "resource": rt.to_dict(),
        "namespace": meta.get("namespace"),
        "name": meta.get("name", name),
        "listUrl": urls.list_url(cluster, rt, ns),
        "metadata": metadata_facts(obj),
        "owners": owners(lk, raw),
        "conditions": conditions(raw),
        "events": events.to_dict(),
        **section,
        "managedFields": managed,
        "object": obj,
    }
    data.update(actions)
    data.update(extra)  # plugins' sections: pluginSections, hiddenSections
    data.update(opens)  # "Open" on service and pod ports: openPorts, openAccess
    if not html:
        return render(request, "detail.html", data)
    data["yaml"] = to_yaml(obj)
    if fragment:
        return render(request, "detail/_body.html", data)
    return render(request, "detail.html", data, context={"nav": nav or None})
