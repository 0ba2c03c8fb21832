"""Links from a pod's page to its dashboards (Grafana, logs, traces...), as a section.

Each link is a URL template; ``{cluster}``, ``{namespace}``, ``{name}``,
``{node}`` and ``{app}`` (the ``app`` label) are filled in, URL-quoted:

    --plugin-setting 'dashboards.links=Grafana=https://grafana.example.com/d/pod?var-ns={namespace}&var-pod={name}'

Several links are separated by commas (``Title=URL,Title=URL``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from kubelantern import Context, DetailSection, Resource, Setting, hookimpl

NAME = "dashboards"
DEFAULT = [
    "Grafana=https://grafana.example.com/d/k8s-pod?var-cluster={cluster}"
    "&var-namespace={namespace}&var-pod={name}",
    "Logs=https://logs.example.com/search?q=kubernetes.pod_name%3A{name}",
]

TEMPLATE = """
<ul class="dashboard-links">
{% for link in links %}
  <li><a href="{{ link.url }}" target="_blank" rel="noopener"
         data-dashboard="{{ link.title }}">{{ link.title }}</a></li>
{% endfor %}
</ul>
"""


@hookimpl
def register_plugin_settings() -> list[Setting]:
    return [
        Setting("links", "Title=URL template pairs, comma-separated.", DEFAULT, type="list"),
        Setting("title", "Title of the section.", "Dashboards"),
    ]


def links_for(templates: list[str], values: dict[str, str]) -> list[dict[str, str]]:
    quoted = {k: quote(v, safe="") for k, v in values.items()}
    out = []
    for item in templates:
        title, sep, url = item.partition("=")
        if not sep:
            continue
        try:
            out.append({"title": title.strip(), "url": url.strip().format(**quoted)})
        except (KeyError, IndexError, ValueError):
            continue  # a template naming a value we do not have: leave that link out
    return out


@hookimpl
def detail_sections(ctx: Context, resource: Resource, obj: dict[str, Any]) -> list[DetailSection]:
    if resource.name != "pods" or ctx.cluster is None:
        return []
    settings = ctx.plugin_settings(NAME)
    meta = obj.get("metadata") or {}
    values = {
        "cluster": ctx.cluster.name,
        "namespace": meta.get("namespace") or "",
        "name": meta.get("name") or "",
        "node": (obj.get("spec") or {}).get("nodeName") or "",
        "app": (meta.get("labels") or {}).get("app", ""),
    }
    links = links_for(settings["links"], values)
    return [
        DetailSection(
            settings["title"],
            html=ctx.render_string(TEMPLATE, links=links),
            data={"links": links},
            id="dashboards",
            after="metadata",
        )
    ]
