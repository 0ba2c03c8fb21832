"""Server-side Table lists: the same columns ``kubectl get`` prints.

Asking the API server for ``as=Table`` gives its own printers' columns (and a
CRD's ``additionalPrinterColumns``) without shipping every object in full.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from kubelantern.clusters.client import ClusterClient
from kubelantern.clusters.credentials import Credentials
from kubelantern.clusters.discovery import ResourceType

TABLE_ACCEPT = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"


@dataclass(frozen=True)
class Column:
    name: str
    type: str = "string"
    format: str = ""
    description: str = ""
    priority: int = 0

    @property
    def is_age(self) -> bool:
        return self.name == "Age" or (self.type == "date" and self.name.lower() == "age")

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "format": self.format,
            "description": self.description,
            "priority": self.priority,
        }


@dataclass
class Row:
    name: str
    namespace: str | None
    cells: list[Any]
    created: str | None = None
    uid: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    # The row's object as the Table carried it: metadata only, unless the list
    # asked for includeObject=Object (a plugin's column processor needs it).
    object: dict[str, Any] | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "namespace": self.namespace,
            "cells": self.cells,
            "created": self.created,
            "uid": self.uid,
            "labels": self.labels,
        }


@dataclass
class TablePage:
    columns: list[Column]
    rows: list[Row]
    resource_version: str = ""
    continue_token: str = ""
    remaining: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "columns": [c.to_dict() for c in self.columns],
            "rows": [r.to_dict() for r in self.rows],
            "resourceVersion": self.resource_version,
            "continue": self.continue_token,
            "remainingItemCount": self.remaining,
        }


def _row_from_metadata(
    meta: dict[str, Any], cells: list[Any], obj: dict[str, Any] | None = None
) -> Row:
    return Row(
        name=meta.get("name", ""),
        namespace=meta.get("namespace"),
        cells=cells,
        created=meta.get("creationTimestamp"),
        uid=meta.get("uid"),
        labels=meta.get("labels") or {},
        object=obj,
    )


def parse_table(doc: dict[str, Any]) -> TablePage:
    """Turn a meta.k8s.io Table (or a plain List, for servers without Table) into a page."""
    meta = doc.get("metadata") or {}
    if doc.get("kind") != "Table":
        columns = [Column("Name"), Column("Age", type="date")]
        rows = []
        for item in doc.get("items") or []:
            m = item.get("metadata") or {}
            cells = [m.get("name", ""), m.get("creationTimestamp")]
            rows.append(_row_from_metadata(m, cells, item))
    else:
        columns = [
            Column(
                name=c.get("name", ""),
                type=c.get("type", "string"),
                format=c.get("format", ""),
                description=c.get("description", ""),
                priority=int(c.get("priority", 0)),
            )
            for c in doc.get("columnDefinitions") or []
        ]
        rows = [
            _row_from_metadata(
                (r.get("object") or {}).get("metadata") or {}, r.get("cells") or [], r.get("object")
            )
            for r in doc.get("rows") or []
        ]
    return TablePage(
        columns=columns,
        rows=rows,
        resource_version=meta.get("resourceVersion", ""),
        continue_token=meta.get("continue", ""),
        remaining=meta.get("remainingItemCount"),
    )


async def list_table(
    client: ClusterClient,
    rt: ResourceType,
    *,
    namespace: str | None = None,
    credentials: Credentials | None = None,
    limit: int = 100,
    continue_token: str = "",
    label_selector: str = "",
    field_selector: str = "",
    include_object: bool = False,
) -> TablePage:
    """One page of a list, as a Table (``include_object``: rows carry full objects)."""
    params: dict[str, str | int | list[str]] = {"limit": limit}
    if include_object:
        params["includeObject"] = "Object"
    if continue_token:
        params["continue"] = continue_token
    if label_selector:
        params["labelSelector"] = label_selector
    if field_selector:
        params["fieldSelector"] = field_selector
    response = await client.request(
        "GET",
        rt.path(namespace),
        params=params,
        headers={"Accept": TABLE_ACCEPT},
        credentials=credentials,
        verb="list",
        resource=rt.name,
        namespace=namespace,
    )
    return parse_table(orjson.loads(response.content))
