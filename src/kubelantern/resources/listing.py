"""Lists as the UI needs them: one namespace, several, or all; filtered by text.

Kubernetes filters by label and field selectors itself; a text filter is ours.
It scans the whole list in API-sized chunks (``limit``/``continue``) and keeps
only matching rows, so the browser never receives 10,000 objects to search
through, and the server never holds more than one chunk at a time.
"""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass, field

import orjson

from kubelantern import errors
from kubelantern.clusters.client import ClusterClient
from kubelantern.clusters.credentials import Credentials
from kubelantern.clusters.discovery import ResourceType
from kubelantern.resources.table import Column, Row, TablePage, list_table

SCAN_CHUNK = 500


@dataclass(frozen=True)
class ListQuery:
    """What the user asked for: page size, selectors and a text filter."""

    limit: int = 100
    label_selector: str = ""
    field_selector: str = ""
    needle: str = ""
    include_object: bool = False  # rows carry full objects (a plugin's column processor)


@dataclass
class ListResult:
    columns: list[Column]
    rows: list[Row]
    resource_version: str = ""
    continue_token: str = ""
    remaining: int | None = None
    namespaces: list[str] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)  # namespace -> message
    truncated: list[str] = field(default_factory=list)  # namespaces with more rows
    scanned: int = 0


def row_matches(row: Row, needle: str) -> bool:
    """Case-insensitive match on name, namespace and every cell."""
    if needle in row.name.lower() or (row.namespace and needle in row.namespace.lower()):
        return True
    return any(cell is not None and needle in str(cell).lower() for cell in row.cells)


def _encode_token(api_continue: str, skip: int) -> str:
    raw = orjson.dumps({"c": api_continue, "s": skip})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str) -> tuple[str, int]:
    if not token:
        return "", 0
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        doc = orjson.loads(raw)
        return str(doc["c"]), int(doc["s"])
    except (ValueError, KeyError, TypeError):
        raise errors.BadRequest("the 'continue' token of this filtered list is not valid") from None


async def scan_filtered(
    client: ClusterClient,
    rt: ResourceType,
    *,
    namespace: str | None,
    credentials: Credentials | None,
    limit: int,
    needle: str,
    continue_token: str = "",
    label_selector: str = "",
    field_selector: str = "",
    include_object: bool = False,
) -> ListResult:
    """Up to ``limit`` rows matching ``needle``, scanning chunk by chunk."""
    api_continue, skip = _decode_token(continue_token)
    matches: list[Row] = []
    columns: list[Column] = []
    rv = ""
    scanned = 0
    while True:
        page = await list_table(
            client,
            rt,
            namespace=namespace,
            credentials=credentials,
            limit=SCAN_CHUNK,
            continue_token=api_continue,
            label_selector=label_selector,
            field_selector=field_selector,
            include_object=include_object,
        )
        columns = columns or page.columns
        rv = rv or page.resource_version
        scanned += len(page.rows)
        for index, row in enumerate(page.rows):
            if index < skip:
                continue
            if row_matches(row, needle):
                matches.append(row)
                if len(matches) == limit:
                    last = index == len(page.rows) - 1
                    token = ""
                    if not last:
                        token = _encode_token(api_continue, index + 1)
                    elif page.continue_token:
                        token = _encode_token(page.continue_token, 0)
                    return ListResult(columns, matches, rv, token, scanned=scanned)
        skip = 0
        if not page.continue_token:
            return ListResult(columns, matches, rv, "", scanned=scanned)
        api_continue = page.continue_token


async def list_one(
    client: ClusterClient,
    rt: ResourceType,
    query: ListQuery,
    *,
    namespace: str | None,
    credentials: Credentials | None,
    continue_token: str = "",
) -> ListResult:
    """One namespace (or the whole cluster), one page."""
    if query.needle:
        return await scan_filtered(
            client,
            rt,
            namespace=namespace,
            credentials=credentials,
            limit=query.limit,
            needle=query.needle.lower(),
            continue_token=continue_token,
            label_selector=query.label_selector,
            field_selector=query.field_selector,
            include_object=query.include_object,
        )
    page: TablePage = await list_table(
        client,
        rt,
        namespace=namespace,
        credentials=credentials,
        limit=query.limit,
        continue_token=continue_token,
        label_selector=query.label_selector,
        field_selector=query.field_selector,
        include_object=query.include_object,
    )
    return ListResult(
        page.columns,
        page.rows,
        page.resource_version,
        page.continue_token,
        page.remaining,
        scanned=len(page.rows),
    )


def _min_rv(values: list[str]) -> str:
    numeric = [int(v) for v in values if v.isdigit()]
    return str(min(numeric)) if numeric else (values[0] if values else "")


async def list_many(
    client: ClusterClient,
    rt: ResourceType,
    query: ListQuery,
    *,
    namespaces: list[str],
    credentials: Credentials | None,
) -> ListResult:
    """Several namespaces at once; a namespace that fails is reported, not fatal."""

    async def one(ns: str) -> ListResult | errors.KubelanternError:
        try:
            return await list_one(client, rt, query, namespace=ns, credentials=credentials)
        except errors.KubelanternError as exc:
            return exc

    results = await asyncio.gather(*(one(ns) for ns in namespaces))
    merged = ListResult(columns=[], rows=[], namespaces=list(namespaces))
    rvs: list[str] = []
    for ns, result in zip(namespaces, results, strict=True):
        if isinstance(result, errors.KubelanternError):
            merged.failures[ns] = result.message
            continue
        merged.columns = merged.columns or result.columns
        merged.rows.extend(result.rows)
        merged.scanned += result.scanned
        rvs.append(result.resource_version)
        if result.continue_token:
            merged.truncated.append(ns)
    if not merged.columns and merged.failures:
        first = next(r for r in results if isinstance(r, errors.KubelanternError))
        raise first
    merged.rows.sort(key=lambda r: (r.namespace or "", r.name))
    merged.resource_version = _min_rv(rvs)
    return merged
