"""Paging of list pages: previous page, page number, total, page size.

The API server pages forward only (``continue``). To go back, the list URL
carries the way it came: ``prev`` is the comma-separated ``continue`` tokens
of the pages before this one (``.`` for the first page, which has none), so a
page's address is a permalink, Back works, and nothing is kept on the server.
Tokens are base64url (Kubernetes' own and Kubelantern's filtered-list ones),
so a comma never occurs in one; anything else is refused.

The total is known where the API server says how many are left
(``remainingItemCount``, which it leaves out for selectors and when it
cannot count cheaply) or on the last page; with a text filter it is not
(the server's count is before filtering).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlencode

from kubelantern import errors

FIRST = "."
MAX_HISTORY = 100
PAGE_SIZES = (20, 50, 100, 200, 500)
_TOKEN = re.compile(r"^[A-Za-z0-9_-]+$")


def parse_history(raw: str) -> list[str]:
    """``prev`` as tokens, ``""`` for the first page; BadRequest for anything else."""
    if not raw:
        return []
    out: list[str] = []
    for part in raw.split(","):
        if part == FIRST:
            out.append("")
        elif _TOKEN.match(part):
            out.append(part)
        else:
            raise errors.BadRequest("'prev' must be continue tokens separated by commas")
    return out[-MAX_HISTORY:]


def _join(tokens: list[str]) -> str:
    return ",".join(t or FIRST for t in tokens)


@dataclass(frozen=True)
class Pager:
    """Where this page is in the list, and the links to its neighbours."""

    page: int | None  # None: reached by a bare continue token, position unknown
    first_item: int | None
    total: int | None
    next_url: str
    prev_url: str
    first_url: str
    page_size: int

    def to_dict(self) -> dict[str, object]:
        return {
            "page": self.page,
            "firstItem": self.first_item,
            "total": self.total,
            "nextUrl": self.next_url,
            "prevUrl": self.prev_url,
            "firstUrl": self.first_url,
            "pageSize": self.page_size,
            "pageSizes": sorted({*PAGE_SIZES, self.page_size}),
        }


def pager(
    base: str,
    params: dict[str, str],
    *,
    limit: int,
    rows: int,
    next_token: str,
    remaining: int | None,
    filtered: bool,
) -> Pager:
    """Links and counts of one list page; ``params`` are the page's query parameters."""
    current = params.get("continue", "")
    history = parse_history(params.get("prev", ""))
    kept = {k: v for k, v in params.items() if k not in ("continue", "prev")}

    def link(token: str, before: list[str]) -> str:
        query = dict(kept)
        if token:
            query["continue"] = token
            if before:
                query["prev"] = _join(before)
        return base + ("?" + urlencode(query) if query else "")

    page: int | None = 1
    if current:
        page = len(history) + 1 if history else None
    next_url = link(next_token, [*history, current][-MAX_HISTORY:]) if next_token else ""
    prev_url = ""
    if current:
        prev_url = link(history[-1], history[:-1]) if history else link("", [])
    first_item = None if page is None else (page - 1) * limit + 1
    total = None
    if first_item is not None and not filtered:
        if remaining is not None:
            total = first_item - 1 + rows + remaining
        elif not next_token:
            total = first_item - 1 + rows
    if page is not None and filtered:
        first_item = None  # filtered pages hold up to `limit` matches each: positions vary
    return Pager(
        page=page,
        first_item=first_item,
        total=total,
        next_url=next_url,
        prev_url=prev_url,
        first_url=link("", []),
        page_size=limit,
    )
