"""Read a write request's fields, whatever form they come in, within a size limit.

The same endpoint serves the editor's ``fetch`` (JSON), an htmx or plain HTML
form (urlencoded) and ``curl --data-binary @file.yaml`` (YAML, options in the
query string), so each view reads one dict of fields. The body is counted while
it streams in and refused past ``MAX_BODY`` with 413, before any parsing.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.requests import Request

from kubelantern import errors

MAX_BODY = 1 << 20  # 1 MiB: etcd stores objects up to ~1.5 MiB; nobody edits more by hand
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/plain")


def too_large(limit: int = MAX_BODY) -> errors.PayloadTooLarge:
    return errors.PayloadTooLarge(
        f"The request body is larger than {limit // 1024} KiB, the most Kubelantern accepts "
        "for one write. Split the YAML into several smaller ones."
    )


async def read_body(request: Request, limit: int = MAX_BODY) -> bytes:
    """The raw body, refused with 413 as soon as it exceeds ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _text(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise errors.BadRequest(
            f"The request body is not UTF-8 text (byte {exc.start} is invalid)."
        ) from None


async def read_fields(request: Request, limit: int = MAX_BODY) -> dict[str, Any]:
    """Query parameters, overridden by the body's fields (JSON, form or a YAML text)."""
    fields: dict[str, Any] = dict(request.query_params)
    body = await read_body(request, limit)
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not body:
        return fields
    if ctype == "application/json" or ctype.endswith("+json"):
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise errors.BadRequest(f"The request body is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise errors.BadRequest("The request body must be a JSON object of fields.")
        fields.update(data)
    elif ctype == "application/x-www-form-urlencoded":
        fields.update(parse_qsl(_text(body), keep_blank_values=True))
        fields.pop("_csrf", None)
    elif ctype in YAML_TYPES or not ctype:
        fields["yaml"] = _text(body)
    else:
        raise errors.BadRequest(
            f"Unsupported Content-Type {ctype!r}: send JSON, a form, or YAML (application/yaml)."
        )
    return fields


def flag(fields: dict[str, Any], name: str) -> bool:
    """A boolean field from JSON (true), a form ("on", "1") or a query string ("true")."""
    value = fields.get(name)
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def integer(fields: dict[str, Any], name: str, *, default: int | None = None) -> int:
    value = fields.get(name, default)
    if value is None or value == "":
        if default is not None:
            return default
        raise errors.BadRequest(f"{name} is required")
    if isinstance(value, bool):
        raise errors.BadRequest(f"{name} must be a whole number")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise errors.BadRequest(f"{name} must be a whole number, not {value!r}") from None
