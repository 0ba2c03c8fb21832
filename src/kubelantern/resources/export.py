"""Export a list as YAML, JSON, CSV or TSV, streamed chunk by chunk.

A list page shows one page; an export is every object the page's filters
select (namespaces, label and field selectors, the text filter), across all
pages. It is read from the API server in ``limit``/``continue`` chunks as a
Table with ``includeObject=Object``, so each chunk carries both the columns
the page shows (for CSV/TSV) and the full objects (for YAML/JSON), and the
text filter matches exactly what it matches on the page. Only one chunk is
held at a time: the response is written as the chunks arrive, so 10,000 pods
never sit in memory.

YAML and JSON are a ``v1/List`` as ``kubectl get -o yaml`` writes it;
``metadata.managedFields`` is left out unless asked for (it is noise to a
reader and often half of each object).
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import orjson
import yaml

from kubelantern.clusters.client import ClusterClient
from kubelantern.clusters.credentials import Credentials
from kubelantern.clusters.discovery import ResourceType
from kubelantern.resources.listing import row_matches
from kubelantern.resources.table import Column, Row, TablePage, list_table
from kubelantern.yamltext import BlockDumper

FORMATS = {
    "yaml": "application/yaml; charset=utf-8",
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "tsv": "text/tab-separated-values; charset=utf-8",
}
SUFFIXES = (".yaml", ".csv", ".tsv")
# libyaml's emitter when PyYAML has it: several times faster on big exports.
DUMPER: type[yaml.SafeDumper] = BlockDumper  # multi-line strings as | blocks, like kubectl


def suffix_format(last_segment: str) -> tuple[str, str] | None:
    """``pods.yaml`` -> ``("pods", "yaml")``; None when the segment is no export."""
    for suffix in SUFFIXES:
        if last_segment.endswith(suffix) and len(last_segment) > len(suffix):
            return last_segment[: -len(suffix)], suffix[1:]
    return None


@dataclass(frozen=True)
class ExportQuery:
    """What to export: the list page's filters, and how to shape the output."""

    namespaces: list[str | None]  # [None]: the whole cluster (or a cluster-scoped kind)
    label_selector: str = ""
    field_selector: str = ""
    needle: str = ""
    chunk: int = 500
    managed_fields: bool = False


class ChunkReader:
    """Pages through every selected namespace; the first page is read eagerly.

    Reading the first page before the response starts lets a refusal (403) or a
    bad selector (400) become a proper status instead of a truncated download.
    """

    def __init__(
        self,
        client: ClusterClient,
        rt: ResourceType,
        query: ExportQuery,
        credentials: Credentials | None,
    ) -> None:
        self.client = client
        self.rt = rt
        self.query = query
        self.credentials = credentials
        self.first: TablePage | None = None
        self.columns: list[Column] = []

    async def _page(self, namespace: str | None, continue_token: str) -> TablePage:
        return await list_table(
            self.client,
            self.rt,
            namespace=namespace,
            credentials=self.credentials,
            limit=self.query.chunk,
            continue_token=continue_token,
            label_selector=self.query.label_selector,
            field_selector=self.query.field_selector,
            include_object=True,
        )

    async def start(self) -> None:
        """Read the first page; check every other namespace may be listed (one row each).

        A namespace refused half-way through would cut the download short with
        no way left to say why, so a refusal anywhere fails the export up front.
        """
        namespaces = self.query.namespaces
        self.first = await self._page(namespaces[0], "")
        self.columns = self.first.columns
        if len(namespaces) > 1:
            await asyncio.gather(*(self._probe(ns) for ns in namespaces[1:]))

    async def _probe(self, namespace: str | None) -> None:
        await list_table(
            self.client,
            self.rt,
            namespace=namespace,
            credentials=self.credentials,
            limit=1,
            label_selector=self.query.label_selector,
            field_selector=self.query.field_selector,
        )

    async def rows(self) -> AsyncIterator[list[Row]]:
        """Chunks of matching rows, in the API's order, namespace after namespace."""
        needle = self.query.needle.lower()
        for index, namespace in enumerate(self.query.namespaces):
            page = self.first if index == 0 and self.first is not None else None
            if page is None:
                page = await self._page(namespace, "")
            while True:
                self.columns = self.columns or page.columns
                rows = [r for r in page.rows if not needle or row_matches(r, needle)]
                if rows:
                    yield rows
                if not page.continue_token:
                    break
                page = await self._page(namespace, page.continue_token)
            self.first = None


def clean_object(obj: dict[str, Any], rt: ResourceType, *, managed_fields: bool) -> dict[str, Any]:
    """The object as ``kubectl get -o yaml`` prints it inside a List."""
    out = dict(obj)
    out.setdefault("apiVersion", rt.api_version)
    out.setdefault("kind", rt.kind)
    if not managed_fields and isinstance(out.get("metadata"), dict):
        out["metadata"] = {k: v for k, v in out["metadata"].items() if k != "managedFields"}
    # apiVersion and kind first, as kubectl writes them.
    head = {"apiVersion": out.pop("apiVersion"), "kind": out.pop("kind")}
    return {**head, **out}


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _line(delimiter: str, values: list[Any]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow([_cell(v) for v in values])
    return buf.getvalue()


async def stream(
    reader: ChunkReader,
    fmt: str,
    *,
    shape: Callable[[list[Column]], tuple[list[Column], Callable[[Row], list[Any]]]],
) -> AsyncIterator[bytes]:
    """The export's bytes; ``shape`` picks the page's columns and cells (CSV/TSV)."""
    rt = reader.rt
    managed = reader.query.managed_fields
    if fmt in ("csv", "tsv"):
        delimiter = "," if fmt == "csv" else "\t"
        columns, cells = shape(reader.columns)
        yield _line(delimiter, [c.name for c in columns]).encode()
        async for chunk in reader.rows():
            yield "".join(_line(delimiter, cells(row)) for row in chunk).encode()
        return
    if fmt == "json":
        yield b'{"apiVersion":"v1","kind":"List","metadata":{"resourceVersion":""},"items":['
        first = True
        async for chunk in reader.rows():
            parts = [
                orjson.dumps(clean_object(r.object or {}, rt, managed_fields=managed))
                for r in chunk
            ]
            yield (b"" if first else b",") + b",".join(parts)
            first = False
        yield b"]}\n"
        return
    # YAML, as kubectl: apiVersion, items, kind, metadata.
    started = False
    async for chunk in reader.rows():
        items = [clean_object(r.object or {}, rt, managed_fields=managed) for r in chunk]
        text = yaml.dump(
            items, Dumper=DUMPER, default_flow_style=False, sort_keys=False, allow_unicode=True
        )
        yield (b"" if started else b"apiVersion: v1\nitems:\n") + text.encode()
        started = True
    if not started:
        yield b"apiVersion: v1\nitems: []\n"
    yield b'kind: List\nmetadata:\n  resourceVersion: ""\n'
